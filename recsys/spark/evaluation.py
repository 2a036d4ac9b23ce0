"""The Spark side of :func:`recsys.evaluation.protocol.evaluate` (``EvalPlan.engine == "spark"``).

The truth, the evaluated users and the recommendation lists go to Spark as Parquet; the metrics
are computed there (:mod:`recsys.spark.metrics`); the per-user rows and the top-k lists come
back. A model that ranks in Spark (:class:`SparkRanker`, e.g. ``peer:spark.als``) computes its
top-k per user there, training items excluded; any other model's lists are its own
``recommend`` output, so both evaluators score the very same lists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import polars as pl

from recsys.evaluation import cost
from recsys.models.base import Recommender
from recsys.settings import Settings
from recsys.spark import metrics
from recsys.spark.session import Exchange

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["SparkRanker", "ranking_per_user", "rating_per_user"]


@runtime_checkable
class SparkRanker(Protocol):
    """A model whose top-k per user is computed in Spark."""

    def spark_recommend(self, exchange: Exchange, users: DataFrame, k: int) -> DataFrame:
        """``[user_id, item_id, score, rank]`` for ``users`` (``[user_id]``), seen excluded."""
        ...


def ranking_per_user(
    model: Recommender,
    users: np.ndarray,
    truth: pl.DataFrame,
    ks: tuple[int, ...],
    recall_denominator: str,
    settings: Settings | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, float]:
    """Per-user ranking metrics at every ``k``, the top-max(k) lists and their seconds."""
    with Exchange(settings) as exchange:
        spark_users = exchange.to_spark(pl.DataFrame({"user_id": users}), "users")
        recs, spent = cost.measure(_recommend, model, exchange, spark_users, users, max(ks),
                                   trace=False)
        spark_recs = exchange.to_spark(recs, "recs")
        spark_truth = exchange.to_spark(truth, "truth")
        per_user = metrics.ranking_metrics(spark_recs, spark_truth, spark_users, ks,
                                           recall_denominator).drop("n_relevant")
        result = exchange.to_polars(per_user, "per_user").sort("user_id")
    return result, recs, spent.seconds


def _recommend(
    model: Recommender, exchange: Exchange, spark_users: DataFrame, users: np.ndarray, k: int
) -> pl.DataFrame:
    if isinstance(model, SparkRanker):
        recs = exchange.to_polars(model.spark_recommend(exchange, spark_users, k), "top_k")
        return recs.sort("user_id", "rank")
    return model.recommend(users, k, True)


def rating_per_user(
    predictions: pl.DataFrame, settings: Settings | None = None
) -> tuple[dict[str, float], pl.DataFrame]:
    """Global RMSE/MAE and per-user ``[user_id, rmse, mae, n_test_ratings]``, from Spark."""
    with Exchange(settings) as exchange:
        frame = exchange.to_spark(predictions, "predictions")
        summary = metrics.rating_summary(frame)
        per_user = exchange.to_polars(metrics.rating_metrics(frame), "rating_per_user")
    return summary, per_user.rename({"n": "n_test_ratings"}).sort("user_id")
