"""Prometheus metrics of the serving app: latency, traffic, errors, feedback and model versions.

Every metric lives in one dedicated :data:`REGISTRY`, created once at import. Streamlit re-runs
page scripts but imports this module once per process, so nothing is registered twice; tests
and other processes never collide with ``prometheus_client``'s global default registry.
:func:`latency_summary` reads the latency histogram back (per model p50/p95) for the app.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator

import numpy as np
import polars as pl
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client import start_http_server as _start_http_server

from recsys.arguments import check_count, check_number, check_numbers
from recsys.errors import ArgumentError, ConfigError

__all__ = [
    "REGISTRY",
    "RECOMMEND_LATENCY",
    "REQUESTS",
    "ERRORS",
    "FEEDBACK_EVENTS",
    "MODEL_INFO",
    "LATENCY_BUCKETS",
    "LATENCY_METRIC",
    "start_metrics_server",
    "timed",
    "histogram_quantile",
    "latency_summary",
    "record_feedback",
    "set_model_info",
]

log = logging.getLogger(__name__)

# Seconds; dense below 0.5 s where interactive recommendations should land.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENCY_METRIC = "recsys_recommend_latency_seconds"

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

RECOMMEND_LATENCY = Histogram(
    LATENCY_METRIC,
    "Wall time of one recommendation request, per model.",
    ["model"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
REQUESTS = Counter(
    "recsys_requests", "Requests served, per model and endpoint.", ["model", "endpoint"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "recsys_errors", "Failed requests, per model and exception kind.", ["model", "kind"],
    registry=REGISTRY,
)
FEEDBACK_EVENTS = Counter(
    "recsys_feedback_events",
    "Feedback events of online A/B tests (impression, click, like, ...).",
    ["experiment", "arm", "event"],
    registry=REGISTRY,
)
MODEL_INFO = Gauge(
    "recsys_model_info",
    "Always 1; the labels say which model version and dataset the app serves.",
    ["model", "version", "dataset"],
    registry=REGISTRY,
)

_lock = threading.Lock()
_server_port: int | None = None
_served_versions: dict[tuple[str, str], str] = {}  # (model, dataset) -> version


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> int:
    """Serve :data:`REGISTRY` on ``addr:port`` once per process and return the bound port.

    Calling it again (every Streamlit rerun does) is a no-op; ``port=0`` picks a free port.
    Asking for a different port once a server runs is a configuration error, and so is a port
    outside 0-65535; a port another process holds is an ``OSError``.
    """
    global _server_port
    if check_count(port, "port") > 65535:
        raise ArgumentError(f"port must be in 0-65535, got {port}")
    with _lock:
        if _server_port is None:
            server, _thread = _start_http_server(port, addr=addr, registry=REGISTRY)
            _server_port = int(server.server_port)
            log.info("metrics server listening on %s:%d", addr, _server_port)
        elif port not in (0, _server_port):
            raise ConfigError(
                f"metrics server already runs on port {_server_port}; cannot also start it on "
                f"{port} in the same process (expected the same port or 0)"
            )
        return _server_port


@contextlib.contextmanager
def timed(model: str, endpoint: str = "recommend") -> Iterator[None]:
    """Count a request of ``model`` at ``endpoint`` and observe its latency, failures included.

    An exception is counted in ``recsys_errors_total{kind=<exception class>}`` and re-raised.
    """
    REQUESTS.labels(model=model, endpoint=endpoint).inc()
    start = time.perf_counter()
    try:
        yield
    except Exception as error:
        ERRORS.labels(model=model, kind=type(error).__name__).inc()
        raise
    finally:
        RECOMMEND_LATENCY.labels(model=model).observe(time.perf_counter() - start)


def record_feedback(experiment: str, arm: str, event: str) -> None:
    """Count one feedback event of an A/B experiment arm (e.g. ``like`` on arm ``B``)."""
    FEEDBACK_EVENTS.labels(experiment=experiment, arm=arm, event=event).inc()


def set_model_info(model: str, version: str, dataset: str) -> None:
    """Publish which version of ``model`` is served on ``dataset``, replacing the previous one.

    The app serves the same model names on several datasets at once: each (model, dataset)
    keeps its own series.
    """
    with _lock:
        previous = _served_versions.get((model, dataset))
        if previous is not None and previous != version:
            MODEL_INFO.remove(model, previous, dataset)
        _served_versions[(model, dataset)] = version
    MODEL_INFO.labels(model=model, version=version, dataset=dataset).set(1)


# -- the read side: live latency from a registry -------------------------------------------------
def histogram_quantile(q: float, bounds: np.ndarray, cumulative: np.ndarray) -> float:
    """Prometheus' ``histogram_quantile``: linear interpolation inside the bucket holding q.

    ``bounds`` are the finite upper bounds, ``cumulative`` the counts of each bucket including
    the ``+Inf`` one last. NaN without observations; the largest finite bound above it.
    ArgumentError unless ``q`` is in [0, 1] and the bounds and counts are finite numbers,
    one count more than bounds.
    """
    q = check_number(q, "q")
    if not 0 <= q <= 1:
        raise ArgumentError(f"q must be a quantile in [0, 1], got {q!r}")
    bounds, cumulative = check_numbers(bounds, "bounds"), check_numbers(cumulative, "cumulative")
    if not len(bounds) or len(cumulative) != len(bounds) + 1:
        raise ArgumentError(f"bounds must hold at least one finite bound and cumulative one "
                            f"count per bound and the +Inf one, got {len(bounds)} bound(s) and "
                            f"{len(cumulative)} count(s)")
    total = cumulative[-1]
    if total <= 0:
        return float("nan")
    rank = q * total
    index = int(np.searchsorted(cumulative, rank, side="left"))
    if index >= len(bounds):
        return float(bounds[-1])
    lower = 0.0 if index == 0 else float(bounds[index - 1])
    below = 0.0 if index == 0 else float(cumulative[index - 1])
    inside = float(cumulative[index]) - below
    fraction = (rank - below) / inside if inside > 0 else 1.0
    return lower + (float(bounds[index]) - lower) * fraction


def latency_summary(registry: CollectorRegistry,
                    metric: str = LATENCY_METRIC) -> pl.DataFrame:
    """Per model: requests, mean and p50/p95 latency (ms) of the histogram ``metric``."""
    buckets: dict[str, list[tuple[float, float]]] = {}
    sums: dict[str, float] = {}
    for family in registry.collect():
        if family.name != metric:
            continue
        for sample in family.samples:
            model = sample.labels.get("model", "")
            if sample.name.endswith("_bucket"):
                buckets.setdefault(model, []).append((float(sample.labels["le"]), sample.value))
            elif sample.name.endswith("_sum"):
                sums[model] = sample.value
    rows = []
    for model, pairs in sorted(buckets.items()):
        pairs.sort()
        bounds = np.array([b for b, _ in pairs if np.isfinite(b)])
        cumulative = np.array([c for _, c in pairs])
        count = float(cumulative[-1])
        if count == 0:
            continue
        rows.append({
            "model": model, "requests": int(count),
            "mean_ms": 1000 * sums.get(model, 0.0) / count,
            "p50_ms": 1000 * histogram_quantile(0.5, bounds, cumulative),
            "p95_ms": 1000 * histogram_quantile(0.95, bounds, cumulative),
        })
    schema = {"model": pl.String(), "requests": pl.Int64(), "mean_ms": pl.Float64(),
              "p50_ms": pl.Float64(), "p95_ms": pl.Float64()}
    return pl.DataFrame(rows, schema=schema)
