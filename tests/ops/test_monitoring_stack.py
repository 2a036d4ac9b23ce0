"""Integration: real Prometheus + Pushgateway + Alertmanager on 127.0.0.1, a fake Slack.

The repo's own configs are used, rewritten only for ports, 1 s intervals and the webhook
file. A drift report computed on shifted ml-latest-small ratings is pushed through
``push_pipeline_metrics``; the DriftAboveThreshold alert must reach the local HTTP server
that stands in for Slack, in Slack's payload format. The app's metrics are served in-process
by ``start_metrics_server`` and scraped, so that every Grafana panel's PromQL returns data.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from service_fixtures import MONITORING, Stack, fake_slack, launch_monitoring

from recsys.data.types import Dataset
from recsys.errors import UnknownIdError
from recsys.monitoring import metrics
from recsys.monitoring.drift import DriftReport, drift_report
from recsys.monitoring.push import push_pipeline_metrics
from recsys.service import RecommenderService, prepare_dataset
from recsys.settings import Settings

JOB = "recsys-retrain"


def serve_app_traffic(stop: threading.Event) -> None:
    """Stand-in for app users: requests, an occasional failure and A/B feedback."""
    step = 0
    while not stop.wait(0.02):
        step += 1
        with metrics.timed("it-ease"):
            time.sleep(0.002)
        if step % 5 == 0:
            with contextlib.suppress(UnknownIdError), metrics.timed("it-ease", "explain"):
                raise UnknownIdError("user 0 unknown")  # counted in recsys_errors_total
            metrics.record_feedback("it-exp", "B" if step % 2 else "A", "like")


@pytest.fixture(scope="module")
def served(mirror_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RecommenderService:
    """The app's own loading path: opening the service publishes ``recsys_model_info``."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("served"), data_mirror=mirror_dir)
    prepare_dataset("ml-latest-small", settings, {"most_popular": {}})
    return RecommenderService.open("ml-latest-small", settings)


@pytest.fixture(scope="module")
def stack(
    tool: Callable[[str], str],
    free_port: Callable[[], int],
    start_service: Callable,
    tmp_path_factory: pytest.TempPathFactory,
    served: RecommenderService,
) -> Iterator[Stack]:
    for name in MONITORING:
        tool(name)  # skip early when the stack is not installed
    tmp = tmp_path_factory.mktemp("monitoring-stack")
    slack = fake_slack()
    ports = {name: free_port() for name in ("prometheus", "pushgateway", "alertmanager")}
    ports["recsys-app"] = metrics.start_metrics_server(0, addr="127.0.0.1")
    stop = threading.Event()
    traffic = threading.Thread(target=serve_app_traffic, args=(stop,), daemon=True)
    traffic.start()
    try:
        running = launch_monitoring(start_service, tmp, slack, ports)
        # Prometheus applies new scrape targets on a 5 s tick: wait until it scrapes everything,
        # so that the alert latency below is the steady-state one.
        running.wait_for('count(up == 1) == 4')
        yield running
    finally:
        stop.set()
        traffic.join(timeout=5)
        slack.server.shutdown()
        slack.server.server_close()


@pytest.fixture(scope="module")
def shifted_drift(ml_small: Dataset) -> DriftReport:
    """Drift of ml-latest-small against itself with every rating 1.5 stars lower."""
    reference = ml_small.ratings
    current = reference.with_columns((pl.col("rating") - 1.5).clip(0.5, 5.0))
    report = drift_report(reference, current)
    assert report.alerts() == ["rating_psi"]
    return report


def push_full_run(stack: Stack, drift: DriftReport) -> float:
    """Push one successful run with every pipeline metric; returns the push time."""
    pushed_at = time.time()
    push_pipeline_metrics(stack.pushgateway, JOB, {
        "status": True, "duration_seconds": 42.0, "data_rows": 100_836,
        "eval_metrics": {"ease": {"ndcg@10": 0.33, "recall@10": 0.21},
                         "most_popular": {"ndcg@10": 0.15, "recall@10": 0.09}},
        "drift_scores": drift.scores(), "drift_thresholds": drift.thresholds(),
        "champion_metrics": {"ndcg@10": 0.33, "recall@10": 0.21},
    })
    return pushed_at


def test_drift_alert_reaches_slack(stack: Stack, shifted_drift: DriftReport) -> None:
    pushed_at = push_full_run(stack, shifted_drift)

    (series,) = stack.wait_for(f'recsys_drift_score{{job="{JOB}", check="rating_psi"}}')
    assert float(series["value"][1]) == pytest.approx(shifted_drift["rating_psi"].score)
    (status,) = stack.wait_for(f'recsys_pipeline_status{{job="{JOB}"}}')
    assert status["value"][1] == "1"
    stack.wait_for('ALERTS{alertname="DriftAboveThreshold", alertstate="firing"}')
    fired_at = time.time()

    assert stack.slack.arrived.wait(timeout=60), "no Slack notification within 60 s"
    arrived_at, payload = stack.slack.received[0]
    latency = arrived_at - pushed_at
    print(f"\nDriftAboveThreshold: push -> firing in Prometheus {fired_at - pushed_at:.2f} s, "
          f"-> Slack webhook {latency:.2f} s")
    assert latency < 30

    # Slack's incoming-webhook payload as Alertmanager sends it, with our template
    assert payload["channel"] == "#recsys-alerts"
    assert payload["username"] == "recsys-alertmanager"
    (attachment,) = payload["attachments"]
    assert attachment["title"] == "[FIRING:1] DriftAboveThreshold (rating_psi)"
    assert attachment["color"] == "warning"
    assert "*Data drift on rating_psi: score " in attachment["text"]
    assert "• check: `rating_psi`" in attachment["text"]
    assert {"fallback", "mrkdwn_in"} <= set(attachment)
    titles = {p["attachments"][0]["title"] for _, p in stack.slack.received}
    assert all("rating_psi" in title for title in titles)  # no other check crossed its line


def test_served_model_versions_panel_shows_the_loaded_models(
    stack: Stack, served: RecommenderService, panel_queries: list[tuple[str, str, str]]
) -> None:
    (expr,) = [e for _, title, e in panel_queries if title == "Served model versions"]
    series = stack.wait_for(expr)
    labels = {(s["metric"]["model"], s["metric"]["dataset"], s["metric"]["version"])
              for s in series}
    card = served.cards["most_popular"]
    assert ("most_popular", "ml-latest-small", card.trained_at) in labels


def test_every_grafana_panel_returns_data(
    stack: Stack, shifted_drift: DriftReport, panel_queries: list[tuple[str, str, str]]
) -> None:
    push_full_run(stack, shifted_drift)
    deadline = time.monotonic() + 30
    pending = [(d, t, e.replace("$__rate_interval", "15s")) for d, t, e in panel_queries]
    while pending and time.monotonic() < deadline:
        pending = [(d, t, e) for d, t, e in pending if not stack.query(e)]
        if pending:
            time.sleep(0.5)
    missing = [f"{d} / {t}: {e}" for d, t, e in pending]
    assert not missing, "panels without data:\n" + "\n".join(missing)
    assert len(panel_queries) >= 20


def test_failed_run_alerts_and_keeps_the_last_success(stack: Stack) -> None:
    success = {"status": True, "duration_seconds": 9.0, "finished_at": 1_700_000_000.0}
    push_pipeline_metrics(stack.pushgateway, JOB, success)
    stack.wait_for("recsys_pipeline_last_success_timestamp_seconds == 1700000000")
    push_pipeline_metrics(stack.pushgateway, JOB, {"status": False, "duration_seconds": 3.0})
    stack.wait_for(f'recsys_pipeline_status{{job="{JOB}"}} == 0')
    (kept,) = stack.query("recsys_pipeline_last_success_timestamp_seconds")
    assert float(kept["value"][1]) == 1_700_000_000  # pushadd kept the earlier success
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        failed = [p for _, p in stack.slack.received
                  if p["attachments"][0]["title"].endswith("RetrainingFailed")]
        if failed:
            break
        time.sleep(0.2)
    assert failed, "RetrainingFailed did not reach Slack within 30 s"
    assert failed[0]["attachments"][0]["color"] == "danger"  # severity critical
