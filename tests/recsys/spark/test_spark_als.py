"""Spark MLlib ALS on ml-100k in local[2]: top-k in Spark, evaluator parity, the published row.

Slow (each ALS fit takes tens of seconds on two busy cores); the small parity test of the
default suite is ``test_parity.py``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recsys.bench.spec import load_spec
from recsys.data.split import stratified_split
from recsys.data.types import Dataset
from recsys.evaluation.metrics import aggregate, ranking_metrics
from recsys.evaluation.protocol import EvalPlan, PreparedSplit, evaluate, prepare_split
from recsys.models import create_model
from recsys.models.base import Recommender
from recsys.spark import Exchange
from recsys.spark.evaluation import ranking_per_user
from tests.recsys.spark.test_parity import TOLERANCE, assert_same_frames

pytestmark = pytest.mark.slow
# Microsoft Recommenders' "ALS (Spark, rank 10)" row, its settings and its split, with the
# reproduction goals: all from the spec (their 2020 run had no ALS seed, so pyspark's
# hash("ALS"), random in every Python process; its split is reco_utils' of 2020).
SPEC = load_spec(Path(__file__).resolve().parents[3] / "benchmarks" / "specs" / "spark-ml100k.yaml")
ROW = next(m for m in SPEC.models if m.published)
PUBLISHED = next(r.metrics for r in SPEC.published.rows if r.label == ROW.published)
THEIR_SETTINGS = ROW.params
ALS_SEEDS = (0, 1, 2, 3, 4)


@pytest.fixture(scope="module")
def split_100k(ml_100k: Dataset) -> PreparedSplit:
    split = stratified_split(ml_100k.ratings, **SPEC.protocol.params)
    return prepare_split(split, ml_100k, "ml-100k", 42)


@pytest.fixture(scope="module")
def als(spark: object, split_100k: PreparedSplit) -> Recommender:
    return create_model("peer:spark.als", **THEIR_SETTINGS, seed=42).fit(split_100k.train)


def test_top_k_in_spark_equals_in_process_top_k(als: Recommender,
                                                split_100k: PreparedSplit) -> None:
    users = split_100k.users
    with Exchange() as exchange:
        spark_users = exchange.to_spark(pl.DataFrame({"user_id": users}), "users")
        in_spark = exchange.to_polars(als.spark_recommend(exchange, spark_users, 10), "top")
    in_process = als.recommend(users, 10).sort("user_id", "rank")
    assert in_process.height == len(users) * 10
    in_spark = in_spark.sort("user_id", "rank")
    # the same lists; the float64 products agree to rounding (BLAS blocks by the row count)
    assert in_spark.drop("score").equals(in_process.drop("score"))
    assert np.allclose(in_spark["score"], in_process["score"], rtol=1e-12, atol=0)
    seen = split_100k.interactions.to_frame().select(pl.col("user_id", "item_id").cast(pl.Int64))
    assert in_spark.join(seen, on=["user_id", "item_id"], how="semi").is_empty()


def test_spark_evaluator_equals_in_process_on_spark_lists(
    als: Recommender, split_100k: PreparedSplit
) -> None:
    per_user, recs, _ = ranking_per_user(als, split_100k.users, split_100k.truth, (10,), "all")
    local = ranking_metrics(recs, split_100k.truth, 10, users=split_100k.users).drop("n_relevant")
    assert_same_frames(local, per_user)
    on_spark = aggregate(per_user)
    assert all(abs(on_spark[k] - v) <= TOLERANCE for k, v in aggregate(local).items())


def test_published_row_is_reproduced_by_the_mean_over_seeds(spark: object,
                                                             split_100k: PreparedSplit) -> None:
    """The published row is one ALS seed: the mean over five seeds meets every reproduction
    goal of the spec (within 0.005 of nDCG@10, P@10 and the RMSE, 0.003 of R@10, 0.001 of MAP
    on the published split; on today's split the mean nDCG@10 is 0.0075 below)."""
    plan = EvalPlan((10,), ranking=True, rating=True, beyond_k=None, engine="local")
    runs = [evaluate(create_model("peer:spark.als", **THEIR_SETTINGS, seed=seed)
                     .fit(split_100k.train), split_100k, plan).metrics for seed in ALS_SEEDS]
    goals = [g for g in SPEC.goals if g.reference == "published" and g.compare == "abs_diff"]
    assert {g.metric for g in goals} == set(PUBLISHED)
    for goal in goals:
        mean = float(np.mean([run[goal.metric] for run in runs]))
        assert abs(mean - PUBLISHED[goal.metric]) <= goal.value, (goal.metric, mean)


def test_saved_model_ranks_in_spark_as_fitted(als: Recommender, split_100k: PreparedSplit,
                                              tmp_path: object) -> None:
    loaded = Recommender.load(als.save(tmp_path / "als"))  # type: ignore[operator]
    plan = EvalPlan((10,), ranking=True, rating=False, beyond_k=None, engine="spark")
    scoped = dataclasses.replace(split_100k, users=split_100k.users[:50])
    assert evaluate(loaded, scoped, plan).recs.equals(evaluate(als, scoped, plan).recs)
