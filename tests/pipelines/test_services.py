"""End to end on ml-100k: the CLI against a real MLflow server, Prometheus stack and fake Slack.

Slow (several pipeline processes): ``make test-slow``. The shifted dataset lowers every rating
of the newest 20 % by one star; its DriftAboveThreshold alert must arrive at the fake Slack,
and the latency from the pipeline's push to Slack is printed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml
from service_fixtures import MONITORING, Stack, fake_slack, launch_monitoring

from pipelines.config import PipelineConfig
from pipelines.runner import STEPS

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[2]
JOB = "recsys-retrain"


@pytest.fixture(scope="module")
def mlflow_url(start_service: Callable, free_port: Callable[[], int],
               tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real MLflow tracking server (SQLite backend, one worker, no job runner)."""
    tmp = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    service = start_service("mlflow", [
        "env", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false", sys.executable, "-m", "mlflow",
        "server", "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}",
        "--default-artifact-root", (tmp / "artifacts").as_uri(), "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1",
    ])
    service.wait_ready(f"http://127.0.0.1:{port}/health", timeout=120)
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def stack(tool: Callable[[str], str], free_port: Callable[[], int], start_service: Callable,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Pushgateway, Alertmanager, Prometheus and the fake Slack (no app: its target is down)."""
    for name in MONITORING:
        tool(name)
    slack = fake_slack()
    ports = {name: free_port() for name in (*MONITORING, "recsys-app")}
    try:
        yield launch_monitoring(start_service, tmp_path_factory.mktemp("stack"), slack, ports)
    finally:
        slack.server.shutdown()
        slack.server.server_close()


@pytest.fixture(scope="module")
def run_cli(mirror_dir: Path, mlflow_url: str, stack: Stack,
            tmp_path_factory: pytest.TempPathFactory) -> Callable[..., subprocess.Popen]:
    """``run_cli(run_id, config)``: start ``python -m pipelines.retrain`` for one run.

    Runs whose id starts with ``own-`` get a data dir of their own (e.g. other raw data).
    """
    shared = tmp_path_factory.mktemp("cli-data")

    def start(run_id: str, config: PipelineConfig) -> subprocess.Popen:
        data_dir = data_dir_of(shared, run_id)
        data_dir.mkdir(exist_ok=True)
        path = data_dir / f"{run_id}.yaml"
        path.write_text(yaml.safe_dump(config.to_dict()))
        env = os.environ | {
            "RECSYS_DATA_DIR": str(data_dir), "RECSYS_DATA_MIRROR": str(mirror_dir),
            "RECSYS_MLFLOW_TRACKING_URI": mlflow_url, "RECSYS_PUSHGATEWAY_URL": stack.pushgateway,
        }
        return subprocess.Popen(
            [sys.executable, "-m", "pipelines.retrain", "--config", str(path), "--run-id",
             run_id], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)

    start.data_dir = shared  # type: ignore[attr-defined]
    return start


def data_dir_of(shared: Path, run_id: str) -> Path:
    return shared / run_id if run_id.startswith("own-") else shared


def finish(process: subprocess.Popen, timeout: float = 600) -> str:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-4000:]
    return output


def run_folder(run_cli: Any, run_id: str) -> Path:
    return data_dir_of(run_cli.data_dir, run_id) / "runs" / "ml-100k" / run_id


def summary(run_cli: Any, run_id: str, step: str) -> dict[str, Any]:
    return json.loads((run_folder(run_cli, run_id) / step / "_done.json").read_text())["summary"]


def test_pipeline_gates_registers_and_publishes(
    run_cli: Any, config_factory: Callable[..., PipelineConfig], mlflow_url: str, stack: Stack
) -> None:
    started = time.perf_counter()
    finish(run_cli("e1", config_factory({"random": {}})))
    first = time.perf_counter() - started
    finish(run_cli("e2", config_factory({"ease": {"reg": 500.0}})))
    finish(run_cli("e3", config_factory({"most_popular": {}})))
    print(f"\nml-100k pipeline, first run (random, no champion): {first:.1f} s; "
          f"all three runs {time.perf_counter() - started:.1f} s")

    assert summary(run_cli, "e2", "gate")["promote"] is True
    kept = summary(run_cli, "e3", "gate")
    assert (kept["champion_model"], kept["promote"]) == ("ease", False)

    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlflow_url)
    champion = client.get_model_version_by_alias("recsys-ml-100k", "champion")
    assert str(champion.version) == "2" and champion.tags["model"] == "ease"
    third = client.get_model_version("recsys-ml-100k", "3")
    assert third.tags["gate.promote"] == "False" and third.tags["model"] == "most_popular"

    ease_ndcg = kept["champion_metrics"]["ndcg@10"]
    (series,) = stack.wait_for('recsys_champion_metric{metric="ndcg@10", dataset="ml-100k"}')
    assert float(series["value"][1]) == pytest.approx(ease_ndcg)
    assert stack.wait_for(f'recsys_eval_metric{{job="{JOB}", model="most_popular", '
                          'metric="ndcg@10"}')
    (rows,) = stack.wait_for("recsys_pipeline_data_rows")
    assert rows["value"][1] == "100000"
    (status,) = stack.wait_for("recsys_pipeline_status")
    assert status["value"][1] == "1"


def shifted_mirror(mirror_dir: Path, folder: Path) -> Path:
    """A copy of ml-100k whose newest 20 % of ratings are one star lower (at least 1)."""
    target = folder / "ml-100k"
    shutil.copytree(mirror_dir / "ml-100k", target)
    data = pl.read_csv(target / "u.data", separator="\t", has_header=False,
                       new_columns=["user", "item", "rating", "timestamp"])
    cut = np.quantile(data["timestamp"].to_numpy(), 0.8)
    shifted = data.with_columns(
        pl.when(pl.col("timestamp") >= cut).then((pl.col("rating") - 1).clip(1, 5))
        .otherwise(pl.col("rating")).alias("rating"))
    shifted.write_csv(target / "u.data", separator="\t", include_header=False)
    return folder


def test_drift_alert_for_shifted_data_reaches_slack(
    run_cli: Any, config_factory: Callable[..., PipelineConfig], mirror_dir: Path,
    stack: Stack, tmp_path: Path,
) -> None:
    source = shifted_mirror(mirror_dir, tmp_path)
    config = config_factory({"most_popular": {}},
                            ingest={"source": str(source), "allow_unverified": True},
                            registry={"model_name": "recsys-shifted-{dataset}"})
    finish(run_cli("own-shifted", config))
    drift = summary(run_cli, "own-shifted", "drift")
    assert "rating_psi" in drift["alerts"]
    pushed_at = json.loads((run_folder(run_cli, "own-shifted") / "publish" / "_done.json")
                           .read_text())["finished_at"]

    stack.wait_for('ALERTS{alertname="DriftAboveThreshold", check="rating_psi", '
                   'alertstate="firing"}', timeout=60)
    deadline = time.monotonic() + 60
    arrived = []
    while not arrived and time.monotonic() < deadline:
        arrived = [(t, p) for t, p in stack.slack.received
                   if p["attachments"][0]["title"] == "[FIRING:1] DriftAboveThreshold (rating_psi)"]
        time.sleep(0.1)
    assert arrived, "the rating_psi drift alert did not reach Slack within 60 s"
    arrived_at, payload = arrived[0]
    print(f"\nshifted ml-100k: rating_psi {drift['scores']['rating_psi']:.3f}; "
          f"push -> Slack {arrived_at - pushed_at:.2f} s")
    assert arrived_at - pushed_at < 30
    assert payload["channel"] == "#recsys-alerts"
    assert "rating_psi" in payload["attachments"][0]["text"]


def test_killed_run_resumes_where_it_stopped(
    run_cli: Any, config_factory: Callable[..., PipelineConfig],
) -> None:
    config = config_factory({"most_popular": {}},
                            registry={"model_name": "recsys-resume-{dataset}"})
    process = run_cli("killed", config)
    train_marker = run_folder(run_cli, "killed") / "train" / "_done.json"
    deadline = time.monotonic() + 300
    while not train_marker.exists() and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0][-4000:]
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    folder = run_folder(run_cli, "killed")
    done = {step: json.loads((folder / step / "_done.json").read_text())["finished_at"]
            for step in STEPS if (folder / step / "_done.json").exists()}
    assert "train" in done and "publish" not in done

    output = finish(run_cli("killed", config))
    for step, stamp in done.items():
        assert json.loads((folder / step / "_done.json").read_text())["finished_at"] == stamp
        assert f"step {step}: done already" in output
    assert all((folder / step / "_done.json").exists() for step in STEPS)
