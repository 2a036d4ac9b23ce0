"""The Pareto points of a summary: models without a number are left out, careless calls refused."""

from __future__ import annotations

import polars as pl
import pytest

from recsys.bench.plots import pareto_points
from recsys.errors import ArgumentError

SUMMARY = pl.DataFrame({"model": ["a", "b", "c", "d"], "ndcg@10": [0.3, float("nan"), 0.1, 0.2],
                        "fit_s": [2.0, 1.0, 3.0, float("nan")]})


def test_models_with_a_nan_metric_or_fit_time_are_not_on_the_front() -> None:
    points = pareto_points(SUMMARY, "ndcg@10")
    assert points["model"].to_list() == ["a", "c"]
    assert points.filter(pl.col("front"))["model"].to_list() == ["a"]


@pytest.mark.parametrize(("summary", "metric", "expected"), [
    (SUMMARY, "ndcg@11", r"summary lacks column\(s\) \['ndcg@11'\]"),
    (SUMMARY.drop("fit_s"), "ndcg@10", r"summary lacks column\(s\) \['fit_s'\]"),
    (SUMMARY.to_pandas(), "ndcg@10", "summary must be a polars DataFrame, got DataFrame"),
    (SUMMARY.with_columns(pl.col("ndcg@10").cast(pl.String)), "ndcg@10",
     r"summary column\(s\) \['ndcg@10'\] must hold numbers"),
])
def test_a_careless_summary_is_refused(summary: object, metric: str, expected: str) -> None:
    with pytest.raises(ArgumentError, match=expected):
        pareto_points(summary, metric)
