"""Ranking and rating metrics computed on Spark frames, defined as :mod:`recsys.evaluation.metrics`.

The same definitions, column names and null rules as the in-process metrics (see that module's
docstring), so that the two evaluators agree to floating-point rounding on the same lists:
recommendations ``[user_id, item_id, rank]``, truth ``[user_id, item_id]``, predictions
``[user_id, item_id, rating, prediction]``. Everything stays in Spark; only the per-user rows
(one per evaluated user) and the global sums leave it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from recsys.arguments import check_cutoff
from recsys.errors import ConfigError, DataError
from recsys.evaluation.metrics import RECALL_DENOMINATORS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = ["ranking_metrics", "rating_metrics", "rating_summary"]


def ranking_metrics(
    recs: DataFrame,
    truth: DataFrame,
    users: DataFrame,
    ks: Sequence[int],
    recall_denominator: str = "all",
) -> DataFrame:
    """Per-user top-k precision, recall, NDCG, MAP (both variants), MRR and hit rate, every k.

    One row per row of ``users`` (``[user_id]``), the columns of each k in the order of ``ks``;
    null metrics for a user without a relevant item, zeros for one without a recommendation (as
    the in-process ``ranking_metrics``). One join and one window serve every cut-off: the hits
    within the top k are a prefix of the hits within the top max(k).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ks = [check_cutoff(k) for k in ks]
    if recall_denominator not in RECALL_DENOMINATORS:
        raise ConfigError(
            f"recall_denominator must be one of {RECALL_DENOMINATORS}, got {recall_denominator!r}"
        )
    relevant = _ids(truth).distinct()
    hits = (
        _ids(recs, "rank").where(F.col("rank") <= max(ks))
        .join(relevant, ["user_id", "item_id"])
        .withColumn("hit_no", F.row_number().over(Window.partitionBy("user_id").orderBy("rank")))
        .groupBy("user_id")
        .agg(*[statistic for k in ks for statistic in _hit_statistics(k)])
    )
    per_user = (
        users.select(F.col("user_id").cast("bigint")).distinct()
        .join(relevant.groupBy("user_id").agg(F.count("*").alias("n_relevant")), "user_id",
              "left")
        .join(hits, "user_id", "left")
    )
    per_user = per_user.fillna(0, [c for c in per_user.columns if c != "user_id"])
    return per_user.select("user_id",
                           *[c for k in ks for c in _ranking_columns(k, recall_denominator)],
                           F.col("n_relevant").cast("bigint"))


def _hit_statistics(k: int) -> list[Column]:
    """Per user, over the hits ranked within ``k``: count, sum of precision@rank, DCG, first."""
    from pyspark.sql import functions as F

    within = F.col("rank") <= k
    return [
        F.count(F.when(within, 1)).alias(f"hits_{k}"),
        F.sum(F.when(within, F.col("hit_no") / F.col("rank"))).alias(f"ap_sum_{k}"),
        F.sum(F.when(within, 1.0 / F.log2(F.col("rank") + 1))).alias(f"dcg_{k}"),
        F.min(F.when(within, F.col("rank"))).alias(f"first_hit_{k}"),
    ]


def _ids(frame: DataFrame, *extra: str) -> DataFrame:
    from pyspark.sql import functions as F

    return frame.select(F.col("user_id").cast("bigint"), F.col("item_id").cast("bigint"),
                        *extra)


def _ranking_columns(k: int, recall_denominator: str) -> list[Column]:
    from pyspark.sql import functions as F

    n_rel, hits = F.col("n_relevant").cast("double"), F.col(f"hits_{k}").cast("double")
    capped = F.least(n_rel, F.lit(float(k)))
    # ideal DCG of min(k, n_relevant) hits, summed in rank order as the in-process cumsum
    ideal = F.aggregate(F.sequence(F.lit(1), capped.cast("int")), F.lit(0.0),
                        lambda acc, i: acc + 1.0 / F.log2(i + 1))
    ap_sum, first = F.col(f"ap_sum_{k}"), F.col(f"first_hit_{k}").cast("double")
    values = {
        f"precision@{k}": hits / k,
        f"recall@{k}": hits / (n_rel if recall_denominator == "all" else capped),
        f"ndcg@{k}": F.col(f"dcg_{k}") / ideal,
        f"map@{k}": ap_sum / capped,
        f"map_recommenders@{k}": ap_sum / n_rel,
        f"mrr@{k}": F.when(first > 0, 1.0 / first).otherwise(0.0),
        f"hit_rate@{k}": F.when(hits > 0, 1.0).otherwise(0.0),
    }
    return [F.when(n_rel > 0, value.cast("double")).alias(name) for name, value in values.items()]


def _errors(predictions: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    return predictions.select(
        F.col("user_id").cast("bigint"),
        (F.col("prediction").cast("double") - F.col("rating").cast("double")).alias("error"),
    )


def rating_metrics(predictions: DataFrame) -> DataFrame:
    """Per-user RMSE, MAE and count ``n`` from ``[user_id, item_id, rating, prediction]``."""
    from pyspark.sql import functions as F

    return _errors(predictions).groupBy("user_id").agg(
        F.sqrt(F.avg(F.col("error") ** 2)).alias("rmse"), F.avg(F.abs("error")).alias("mae"),
        F.count("*").cast("bigint").alias("n"),
    )


def rating_summary(predictions: DataFrame) -> dict[str, float]:
    """Global RMSE and MAE over every prediction (as Surprise and Spark's evaluator report)."""
    from pyspark.sql import functions as F

    error = F.col("error")
    bad = error.isNull() | F.isnan(error) | (F.abs(error) == float("inf"))
    row = _errors(predictions).agg(
        F.sqrt(F.avg(error**2)).alias("rmse"), F.avg(F.abs(error)).alias("mae"),
        F.count("*").alias("n"), F.sum(bad.cast("int")).alias("bad"),
    ).first()
    if not row["n"]:
        raise DataError("Cannot summarise an empty predictions frame")
    if row["bad"]:
        raise DataError(f"{row['bad']} prediction(s) are missing or not finite: every model must "
                        "return a finite fallback (e.g. the global mean) for unknown ids")
    return {"rmse": float(row["rmse"]), "mae": float(row["mae"])}
