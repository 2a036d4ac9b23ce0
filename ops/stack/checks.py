"""The checks of the stack test, in order; each returns what it saw or raises a StackError."""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ops.stack.commands import Compose, StackError, docker
from ops.stack.journey import visit_app
from ops.stack.probes import (
    APP,
    PUSHGATEWAY,
    SlackStandIn,
    app_samples,
    champion_version,
    http_get,
    prometheus_query,
    wait_until,
)

__all__ = ["SERVICES", "DATASET", "RETRAIN", "Stack", "Check", "CHECKS", "wait_healthy"]


SERVICES = ("app", "mlflow", "trainer", "postgres", "prometheus", "pushgateway", "alertmanager")
DATASET = "ml-100k"
MODEL = f"recsys-{DATASET}"
EXPERIMENT = f"app-live-{DATASET}"
RETRAIN = ("python", "-m", "pipelines.retrain", "--dataset", DATASET)  # the documented command
RESUME_RUN_ID = "stack-test-resume"
# The compose profile `spark`: a standalone master and worker from our image; the lab's driver
# runs the published row of the Spark spec against spark://spark-master:7077.
SPARK_SERVICES = ("spark-master", "spark-worker")
SPARK_MASTER_UI = "http://127.0.0.1:8088/json/"
SPARK_MASTER = "spark://spark-master:7077"
SPARK_SPEC = "benchmarks/specs/spark-ml100k.yaml"
SPARK_ROW = "ALS (Spark, rank 10)"
SPARK_RESULTS = "/data/results/spark-ml100k"
SPARK_RUN_TIMEOUT_S = 1200
_RESULTS_MARK = "==results.csv=="
DRIFT_JOB = "recsys-stack-test"
UP_TIMEOUT_S = 600
HEALTHY_TIMEOUT_S = 300
RETRAIN_TIMEOUT_S = 900
SCRAPE_TIMEOUT_S = 120
SLACK_TIMEOUT_S = 240
DOWN_TIMEOUT_S = 300


@dataclass
class Stack:
    """The running stack and what the checks learnt so far."""

    compose: Compose
    slack: SlackStandIn
    shots: Path
    figures: dict[str, str] = field(default_factory=dict)
    champion: int | None = None
    drift_pushed_at: float | None = None

    def champion_or_fail(self) -> int:
        """The champion version the documented run produced (a failed earlier check says why)."""
        if self.champion is None:
            raise StackError(f"no champion of {MODEL} known: the retraining check failed")
        return self.champion


@dataclass(frozen=True)
class Check:
    """One named check; ``fatal``: the checks after it cannot run when it fails."""

    name: str
    run: Callable[[Stack], str]
    fatal: bool = False


def _statuses(compose: Compose) -> dict[str, str]:
    return {c["Service"]: c.get("Health") or c.get("State", "?") for c in compose.containers()}


def _healthy(compose: Compose) -> bool:
    statuses = _statuses(compose)
    broken = {s: v for s, v in statuses.items() if v in ("unhealthy", "exited", "dead")}
    if broken:
        logs = compose("logs", "--no-color", "--tail", "40", *broken, timeout=60, check=False)
        raise StackError(f"services {broken} (all: {statuses}); their logs:\n{logs.stdout}")
    return all(statuses.get(service) == "healthy" for service in SERVICES)


def wait_healthy(compose: Compose) -> float:
    """``compose up -d`` and wait until every service's healthcheck passes; the seconds taken."""
    start = time.monotonic()
    compose("up", "--detach", "--no-build", "--pull", "never", timeout=UP_TIMEOUT_S)
    deadline = start + HEALTHY_TIMEOUT_S
    while not _healthy(compose):
        if time.monotonic() > deadline:
            raise StackError(f"not every service healthy within {HEALTHY_TIMEOUT_S} s: "
                             f"{_statuses(compose)}")
        time.sleep(1)
    return time.monotonic() - start


def up_and_healthy(stack: Stack) -> str:
    """`up -d` on fresh volumes; every service healthy (the time is a figure)."""
    seconds = wait_healthy(stack.compose)
    stack.figures["time to healthy (cold volumes)"] = f"{seconds:.1f} s"
    return f"{len(SERVICES)} services healthy in {seconds:.1f} s"


def app_health(stack: Stack) -> str:
    """Streamlit's own health endpoint of the app container."""
    body = http_get(f"{APP}/_stcore/health")
    if body.strip() != "ok":
        raise StackError(f"/_stcore/health answered {body!r}, expected 'ok'")
    return "/_stcore/health: ok"


def push_drift(stack: Stack) -> str:
    """A run whose drift score is above its threshold, pushed early: alerts take ~1 min."""
    from recsys.monitoring.push import push_pipeline_metrics

    push_pipeline_metrics(PUSHGATEWAY, DRIFT_JOB, {
        "status": True, "duration_seconds": 1.0,
        "drift_scores": {"rating_psi": 0.9}, "drift_thresholds": {"rating_psi": 0.25},
    }, grouping={"dataset": DATASET})
    stack.drift_pushed_at = time.time()
    return f"job {DRIFT_JOB}: recsys_drift_score{{check=rating_psi}} 0.9 > threshold 0.25"


def documented_retrain(stack: Stack) -> str:
    """The one command README documents, through the trainer service."""
    start = time.monotonic()
    stack.compose("run", "--rm", "-T", "trainer", *RETRAIN, timeout=RETRAIN_TIMEOUT_S)
    return f"`docker compose run --rm trainer {' '.join(RETRAIN)}`: exit 0 in " \
           f"{time.monotonic() - start:.1f} s"


def mlflow_champion(stack: Stack) -> str:
    """The MLflow container's registry holds a version aliased champion."""
    stack.champion = champion_version(MODEL)
    if stack.champion is None:
        raise StackError(f"MLflow has no 'champion' alias on {MODEL}")
    return f"MLflow: {MODEL} version {stack.champion} has alias champion"


def _model_info(champion: int) -> str:
    """The app's ``recsys_model_info`` sample of the champion; it must name its version."""
    samples = app_samples("recsys_model_info")
    wanted = {"model": "champion", "version": str(champion), "dataset": DATASET}
    if not any(labels == wanted and value == 1 for labels, value in samples):
        raise StackError(f"the app's metrics lack recsys_model_info{wanted} 1; it has {samples}")
    return f"recsys_model_info{{model=champion, version={champion}, dataset={DATASET}}} 1"


def app_serves_champion(stack: Stack) -> str:
    """A browser visit gets the champion's recommendations; the app's metrics show it."""
    champion = stack.champion_or_fail()
    visit_app(APP, DATASET, stack.shots)
    requests = [value for labels, value in app_samples("recsys_requests_total")
                if labels.get("model") == "champion"]
    if not requests or requests[0] < 1:
        raise StackError("the app's metrics show no request served by model 'champion'")
    return (f"Persona view: 'Top 10 from champion'; recsys_requests_total{{model=champion}} "
            f"{requests[0]:.0f}; {_model_info(champion)}")


def prometheus_scraped(stack: Stack) -> str:
    """Prometheus scraped the app (its champion requests) and the Pushgateway (the run)."""
    queries = ['up{job="recsys-app"} == 1', 'up{job="pushgateway"} == 1',
               'recsys_requests_total{job="recsys-app", model="champion"}',
               f'recsys_pipeline_status{{job="recsys-retrain", dataset="{DATASET}"}} == 1']
    for promql in queries:
        wait_until(lambda q=promql: prometheus_query(q), SCRAPE_TIMEOUT_S, f"Prometheus: {promql}")
    return "Prometheus has " + "; ".join(queries)


def drift_reaches_slack(stack: Stack) -> str:
    """The pushed drift fires DriftAboveThreshold, which reaches the Slack stand-in."""
    pushed = stack.drift_pushed_at
    if pushed is None:
        raise StackError("no drift was pushed (see the check above)")

    def ours() -> list[tuple[float, dict]]:
        return [(at, a) for at, a in stack.slack.messages("DriftAboveThreshold")
                if f"job: `{DRIFT_JOB}`" in a.get("text", "")]

    arrived, attachment = wait_until(ours, SLACK_TIMEOUT_S, "our drift alert at Slack")[0]
    channels = {payload.get("channel") for _, payload in stack.slack.received}
    if channels != {"#recsys-alerts"}:
        raise StackError(f"Slack messages went to {channels}, expected only #recsys-alerts")
    stack.figures["drift push -> Slack message"] = f"{arrived - pushed:.0f} s"
    return (f"{attachment['title']!r} in #recsys-alerts, {arrived - pushed:.0f} s after the push "
            f"(Prometheus evaluation + Alertmanager group_wait)")


def _lines(process: object, sink: queue.Queue) -> None:
    for line in process.stdout:  # type: ignore[attr-defined]
        sink.put(line)
    sink.put(None)


def _kill_when(compose: Compose, name: str, marker: str) -> str:
    """Start the retraining as container ``name``; SIGKILL it once ``marker`` is logged."""
    process = compose.popen("run", "--rm", "-T", "--name", name, "trainer", *RETRAIN,
                            "--run-id", RESUME_RUN_ID)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(process, lines), daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + RETRAIN_TIMEOUT_S
    try:
        while (line := lines.get(timeout=max(deadline - time.monotonic(), 0.1))) is not None:
            seen.append(line)
            if marker in line:
                docker("kill", name)
                return f"killed at {marker!r} (exit {process.wait(timeout=120)})"
    except queue.Empty:
        process.kill()
        raise StackError(f"no {marker!r} within {RETRAIN_TIMEOUT_S} s") from None
    raise StackError(f"the run ended before {marker!r}:\n{''.join(seen[-20:])}")


def killed_trainer_resumes(stack: Stack) -> str:
    """SIGKILL the command mid-run; the same command resumes it; the champion stays."""
    champion = stack.champion_or_fail()
    name = f"{stack.compose.project}-killed-trainer"
    killed = _kill_when(stack.compose, name, "step gate: running")
    leftover = docker("ps", "-aq", "--filter", f"name=^{name}$").stdout.strip()
    if leftover:
        raise StackError(f"the killed trainer container {name} was left behind")
    rerun = stack.compose("run", "--rm", "-T", "trainer", *RETRAIN, "--run-id", RESUME_RUN_ID,
                          timeout=RETRAIN_TIMEOUT_S)
    out = rerun.stdout + rerun.stderr  # the pipeline logs to stderr
    if "split: done already" not in out or "publish: done in" not in out:
        raise StackError(f"the re-run did not resume the killed run:\n{out[-3000:]}")
    after = champion_version(MODEL)
    if after != champion:
        raise StackError(f"the champion moved from v{champion} to v{after}")
    return f"{killed}; re-run resumed (ingest..evaluate skipped) and finished; champion v{after}"


def _event_counts() -> dict[str, int]:
    from recsys.ab.events import EventStore

    password = os.environ.get("POSTGRES_PASSWORD", "recsys")
    store = EventStore(f"postgresql+psycopg://recsys:{password}@127.0.0.1:5432/events")
    try:
        return {kind: store.events(EXPERIMENT, kind).height for kind in ("exposures", "feedback")}
    finally:
        store.close()


def _anonymous_volumes(compose: Compose) -> list[str]:
    """Volumes the image's VOLUME gave containers that mount nothing there (e.g. mlflow's /data).

    ``down`` keeps them, like the named ones, and ``up`` makes new ones: removed by hand.
    """
    ids = docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={compose.project}")
    if not ids.stdout.split():
        return []
    containers = json.loads(docker("inspect", *ids.stdout.split()).stdout)
    return [m["Name"] for c in containers for m in c["Mounts"]
            if m["Type"] == "volume" and not m["Name"].startswith(f"{compose.project}_")]


def _down_keeping_volumes(compose: Compose) -> None:
    """``compose down`` (named volumes kept), then the anonymous ones it leaves are removed."""
    anonymous = _anonymous_volumes(compose)
    compose("down", timeout=DOWN_TIMEOUT_S)
    if anonymous:
        docker("volume", "rm", *anonymous)


def restart_keeps_state(stack: Stack) -> str:
    """`down` then `up`: the champion, the A/B events and Prometheus' samples survive."""
    champion = stack.champion_or_fail()
    events = _event_counts()
    if not all(events.values()):
        raise StackError(f"no A/B events of {EXPERIMENT} to keep: {events}")
    before = time.time()
    series = f'recsys_pipeline_status{{job="recsys-retrain", dataset="{DATASET}"}}'
    if not prometheus_query(series, at=before):
        raise StackError(f"Prometheus has no {series} to keep")
    _down_keeping_volumes(stack.compose)
    seconds = wait_healthy(stack.compose)
    stack.figures["time to healthy (after down/up)"] = f"{seconds:.1f} s"
    kept = {"champion": champion_version(MODEL) == champion,
            "A/B events": _event_counts() == events,
            "Prometheus data": bool(prometheus_query(series, at=before))}
    if not all(kept.values()):
        raise StackError(f"lost across down/up: {[k for k, ok in kept.items() if not ok]}")
    return (f"after down/up (healthy in {seconds:.1f} s): champion v{champion}, {events} events, "
            f"{series} at the pre-restart time")



def _alive_workers() -> int:
    """Workers the Spark master counts ALIVE (its web UI's JSON)."""
    return int(json.loads(http_get(SPARK_MASTER_UI)).get("aliveworkers", 0))


def _spark_run(compose: Compose) -> tuple[dict, str]:
    """The driver container runs the spec's published row; its report's context and table."""
    compose("--profile", "spark", "run", "--rm", "--no-deps", "spark-driver", "recsys", "bench",
            "run", SPARK_SPEC, "--models", SPARK_ROW, "--no-mlflow", "--no-progress",
            "--output", SPARK_RESULTS, timeout=SPARK_RUN_TIMEOUT_S)
    shown = compose("--profile", "spark", "run", "--rm", "--no-deps", "spark-driver", "sh", "-c",
                    f"cat {SPARK_RESULTS}/context.json; echo {_RESULTS_MARK}; "
                    f"cat {SPARK_RESULTS}/results.csv", timeout=120).stdout
    context, _, table = shown.partition(_RESULTS_MARK)
    return json.loads(context[context.index("{"):]), table


def spark_cluster(stack: Stack) -> str:
    """`--profile spark`: master and worker of our image; a spec's row computed on the cluster."""
    compose = stack.compose
    start = time.monotonic()
    try:
        compose("--profile", "spark", "up", "--detach", "--no-build", "--pull", "never",
                *SPARK_SERVICES, timeout=UP_TIMEOUT_S)
        wait_until(lambda: _alive_workers() >= 1, HEALTHY_TIMEOUT_S,
                   "a worker registered with the Spark master")
        up_s = time.monotonic() - start
        context, table = _spark_run(compose)
    finally:
        compose("--profile", "spark", "rm", "--stop", "--force", *SPARK_SERVICES,
                timeout=DOWN_TIMEOUT_S, check=False)
    engine = context.get("engine", {})
    if engine.get("master") != SPARK_MASTER:
        raise StackError(f"the run's engine was {engine}, expected master {SPARK_MASTER}")
    rows = [line for line in table.splitlines() if line.startswith(f'"{SPARK_ROW}"')]
    if not rows:
        raise StackError(f"no {SPARK_ROW!r} row in {SPARK_RESULTS}/results.csv:\n{table}")
    run_s = time.monotonic() - start - up_s
    stack.figures["Spark cluster up / spec row on it"] = f"{up_s:.0f} s / {run_s:.0f} s"
    return (f"master + worker up in {up_s:.0f} s; {SPARK_ROW} of {SPARK_SPEC} on "
            f"{engine['master']} (Spark {engine.get('version')}) in {run_s:.0f} s")


CHECKS = (
    Check("stack up, every healthcheck healthy", up_and_healthy, fatal=True),
    Check("app answers /_stcore/health", app_health),
    Check("drift above its threshold pushed to the Pushgateway", push_drift),
    Check("documented retraining command", documented_retrain),
    Check("MLflow holds the champion", mlflow_champion),
    Check("app serves the champion (browser, metrics)", app_serves_champion),
    Check("Prometheus scraped the app and the Pushgateway", prometheus_scraped),
    Check("drift alert reaches the Slack stand-in", drift_reaches_slack),
    Check("killed trainer re-runs without clean-up, champion unchanged", killed_trainer_resumes),
    Check("down + up keeps champion, A/B events, Prometheus data", restart_keeps_state),
    Check("Spark profile: master + worker of our image run a spec's row", spark_cluster),
)
