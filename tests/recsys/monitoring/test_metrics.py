"""The app's Prometheus metrics: counting, timing, errors, model info and the HTTP server."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from recsys.errors import ArgumentError, ConfigError, UnknownIdError
from recsys.monitoring import metrics
from recsys.monitoring.metrics import REGISTRY


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_timed_counts_requests_and_observes_latency() -> None:
    for _ in range(3):
        with metrics.timed("t-ok", endpoint="similar"):
            pass
    assert sample("recsys_requests_total", model="t-ok", endpoint="similar") == 3
    assert sample("recsys_recommend_latency_seconds_count", model="t-ok") == 3
    assert sample("recsys_recommend_latency_seconds_bucket", model="t-ok", le="0.005") == 3
    assert sample("recsys_errors_total", model="t-ok", kind="UnknownIdError") is None


def test_timed_counts_errors_by_kind_and_reraises() -> None:
    with pytest.raises(UnknownIdError), metrics.timed("t-err"):
        raise UnknownIdError("user 7 unknown")
    assert sample("recsys_errors_total", model="t-err", kind="UnknownIdError") == 1
    assert sample("recsys_requests_total", model="t-err", endpoint="recommend") == 1
    assert sample("recsys_recommend_latency_seconds_count", model="t-err") == 1


def test_feedback_and_model_info() -> None:
    metrics.record_feedback("exp-1", "B", "like")
    metrics.record_feedback("exp-1", "B", "like")
    assert sample("recsys_feedback_events_total", experiment="exp-1", arm="B", event="like") == 2
    metrics.set_model_info("t-info", "3", "ml-100k")
    metrics.set_model_info("t-info", "4", "ml-100k")
    assert sample("recsys_model_info", model="t-info", version="4", dataset="ml-100k") == 1
    assert sample("recsys_model_info", model="t-info", version="3", dataset="ml-100k") is None
    metrics.set_model_info("t-info", "1", "ml-latest-small")  # same name, another dataset
    assert sample("recsys_model_info", model="t-info", version="4", dataset="ml-100k") == 1
    assert sample("recsys_model_info", model="t-info", version="1", dataset="ml-latest-small") == 1


def test_metrics_server_is_idempotent_and_serves_the_registry() -> None:
    port = metrics.start_metrics_server(0, addr="127.0.0.1")
    assert metrics.start_metrics_server(0, addr="127.0.0.1") == port
    assert metrics.start_metrics_server(port, addr="127.0.0.1") == port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        other = probe.getsockname()[1]
    with pytest.raises(ConfigError, match="already runs"):
        metrics.start_metrics_server(other)
    with metrics.timed("t-http"):
        pass
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'recsys_requests_total{endpoint="recommend",model="t-http"} 1.0' in body
    assert "process_cpu_seconds_total" in body


@pytest.mark.parametrize(("port", "expected"), [
    ("8000", "port must be an integer >= 0"),
    (-1, "port must be an integer >= 0"),
    (True, "port must be an integer >= 0"),
    (70000, "port must be in 0-65535"),
])
def test_a_careless_metrics_port_is_refused(port: object, expected: str) -> None:
    with pytest.raises(ArgumentError, match=expected):
        metrics.start_metrics_server(port)
