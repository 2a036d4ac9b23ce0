"""The Spark evaluator against the in-process one, on the very same lists.

The default suite keeps one small-shape parity test (and the bad-input checks): the JVM is
shared (``conftest.spark``) and every new Spark query plan costs seconds on two busy cores.
The edge cases and ml-100k run in the slow suite.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest

from recsys.data.split import stratified_split
from recsys.data.types import Dataset
from recsys.errors import ConfigError, DataError
from recsys.evaluation.metrics import ranking_metrics
from recsys.evaluation.protocol import EvalPlan, PreparedSplit, evaluate, prepare_split
from recsys.models import create_model
from recsys.spark import Exchange, metrics

TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def small_split(ml_100k: Dataset) -> PreparedSplit:
    """ml-100k's 60 first users, Microsoft Recommenders' stratified split (seed 42)."""
    ratings = ml_100k.ratings.filter(pl.col("user_id") <= 60)
    split = stratified_split(ratings, ratio=0.75, by="item", seed=42)
    return prepare_split(split, dataclasses.replace(ml_100k, ratings=ratings), "small", 42)


def assert_same_frames(local: pl.DataFrame, spark: pl.DataFrame) -> None:
    """Same users, columns and null pattern; every value within ``TOLERANCE``."""
    assert local.columns == spark.columns and local.height == spark.height
    assert local["user_id"].to_list() == spark["user_id"].to_list()
    for column in local.columns[1:]:
        left, right = local[column], spark[column]
        assert left.is_null().to_list() == right.is_null().to_list(), column
        difference = np.abs(left.drop_nulls().to_numpy() - right.drop_nulls().to_numpy())
        assert difference.max(initial=0.0) <= TOLERANCE, (column, difference.max())


def test_spark_evaluation_equals_in_process(spark: object, small_split: PreparedSplit) -> None:
    """Ranking at two cut-offs and rating metrics, per user and overall (item-kNN rates too)."""
    model = create_model("item_knn").fit(small_split.train)
    plan = EvalPlan((5, 10), ranking=True, rating=True, beyond_k=None)
    local = evaluate(model, small_split, plan)
    on_spark = evaluate(model, small_split, dataclasses.replace(plan, engine="spark"))
    assert local.recs.equals(on_spark.recs)
    assert_same_frames(local.per_user, on_spark.per_user)
    timing = {"recommend_ms", "predict_s"}
    assert set(local.metrics) == set(on_spark.metrics)
    for key in set(local.metrics) - timing:
        assert abs(local.metrics[key] - on_spark.metrics[key]) <= TOLERANCE, key


@pytest.mark.slow
def test_edge_cases_match(spark: object) -> None:
    """A user without recommendations (zeros), one without relevant items (nulls), lists
    shorter than k, ``min_k`` recall: the two evaluators agree on every one."""
    recs = pl.DataFrame({"user_id": [1, 1, 1, 2, 2], "item_id": [10, 11, 12, 10, 13],
                         "rank": [1, 2, 3, 1, 2]})
    truth = pl.DataFrame({"user_id": [1, 1, 2, 3, 3], "item_id": [11, 14, 13, 10, 11]})
    users = np.array([1, 2, 3, 4])
    local = pl.DataFrame({"user_id": users})
    for k in (2, 3):
        frame = ranking_metrics(recs, truth, k, users=users, recall_denominator="min_k")
        local = local.join(frame.drop("n_relevant"), on="user_id")
    with Exchange() as exchange:
        spark_users = exchange.to_spark(pl.DataFrame({"user_id": users}), "u")
        frame = metrics.ranking_metrics(exchange.to_spark(recs, "r"),
                                        exchange.to_spark(truth, "t"), spark_users, [2, 3],
                                        "min_k")
        on_spark = exchange.to_polars(frame.drop("n_relevant"), "m").sort("user_id")
    assert_same_frames(local, on_spark)
    assert local.filter(pl.col("user_id") == 4)["ndcg@3"].is_null().all()
    assert local.filter(pl.col("user_id") == 3)["ndcg@3"].to_list() == [0.0]


def test_bad_input_is_refused(spark: object) -> None:
    with pytest.raises(ConfigError, match="engine must be one of"):
        EvalPlan((10,), True, False, None, engine="dask")
    predictions = pl.DataFrame({"user_id": [1, 2], "item_id": [1, 2], "rating": [4.0, 3.0],
                                "prediction": [float("nan"), 3.0]})
    with Exchange() as exchange, pytest.raises(DataError, match="1 prediction"):
        metrics.rating_summary(exchange.to_spark(predictions, "p"))
    with Exchange() as exchange, pytest.raises(ConfigError, match="recall_denominator"):
        frame = exchange.to_spark(predictions, "p")
        metrics.ranking_metrics(frame, frame, frame, [10], "some")
