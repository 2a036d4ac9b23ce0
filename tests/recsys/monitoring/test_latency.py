"""The read side of the metrics: Prometheus' histogram_quantile and per-model latency."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Histogram

from recsys.errors import ArgumentError
from recsys.monitoring.metrics import histogram_quantile, latency_summary


def test_histogram_quantile_matches_prometheus() -> None:
    bounds = np.array([0.1, 0.2, 0.4])
    cumulative = np.array([2.0, 6.0, 8.0, 10.0])  # the last is +Inf
    # p50: rank 5 inside (0.1, 0.2] holding ranks 2..6 -> 0.1 + 0.1 * 3/4.
    assert histogram_quantile(0.5, bounds, cumulative) == pytest.approx(0.175)
    assert histogram_quantile(0.95, bounds, cumulative) == pytest.approx(0.4)
    assert np.isnan(histogram_quantile(0.5, bounds, np.zeros(4)))


def test_latency_summary_reads_a_registry() -> None:
    registry = CollectorRegistry()
    latency = Histogram("recsys_recommend_latency_seconds", "t", ["model"],
                        buckets=(0.01, 0.1), registry=registry)
    for seconds in (0.005, 0.05, 0.05, 0.05):
        latency.labels(model="ease").observe(seconds)
    frame = latency_summary(registry)
    assert frame["model"].to_list() == ["ease"] and frame["requests"][0] == 4
    assert frame["mean_ms"][0] == pytest.approx(38.75)
    assert frame["p50_ms"][0] == pytest.approx(10 + 90 * (2 - 1) / 3)


BOUNDS, COUNTS = np.array([0.1, 0.2, 0.4]), np.array([2.0, 6.0, 8.0, 10.0])


@pytest.mark.parametrize(("q", "bounds", "cumulative", "expected"), [
    (1.5, BOUNDS, COUNTS, r"q must be a quantile in \[0, 1\], got 1.5"),
    (-0.5, BOUNDS, COUNTS, r"q must be a quantile in \[0, 1\]"),
    (float("nan"), BOUNDS, COUNTS, "q must be a finite number"),
    ("0.5", BOUNDS, COUNTS, "q must be a finite number"),
    (0.5, BOUNDS, COUNTS[:3], r"3 bound\(s\) and 3 count\(s\)"),
    (0.5, np.array([]), np.array([1.0]), r"0 bound\(s\) and 1 count\(s\)"),
    (0.5, BOUNDS, np.array([2.0, np.nan, 8.0, 10.0]), "cumulative must be finite"),
])
def test_a_careless_quantile_call_is_refused(q: object, bounds: np.ndarray,
                                             cumulative: np.ndarray, expected: str) -> None:
    with pytest.raises(ArgumentError, match=expected):
        histogram_quantile(q, bounds, cumulative)
