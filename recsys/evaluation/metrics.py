"""Accuracy and beyond-accuracy metrics as pure, vectorised functions over polars frames.

Inputs use the library's schemas: recommendations ``[user_id, item_id, rank]`` (rank from 1,
as ``Recommender.recommend`` returns them) and held-out truth ``[user_id, item_id]`` (callers
filter by a rating threshold first). Per-user results are kept so that significance tests and
segment breakdowns are possible; the cut-off is part of every column name (``ndcg@10``).

Conventions (the ones Microsoft Recommenders and Spark use unless said otherwise):

* ``precision@k = hits / k`` even when a list is shorter than ``k``.
* ``recall@k = hits / n_relevant`` (``recall_denominator="all"``) or
  ``hits / min(k, n_relevant)`` (``"min_k"``, Liang et al. 2018, the Mult-VAE protocol).
* ``ndcg@k``: binary relevance, ``1 / log2(rank + 1)`` discount, ideal DCG over
  ``min(k, n_relevant)`` hits.
* ``map@k = sum over hits of precision@rank / min(k, n_relevant)`` (Spark's / Recommenders'
  ``map_at_k``).
* ``map_recommenders@k = sum over hits in the top k of precision@rank / n_relevant``: Microsoft
  Recommenders' ``map`` function, the "MAP" column of their MovieLens benchmark table.
* ``mrr@k = 1 / rank of the first hit``; ``hit_rate@k = 1`` when there is at least one hit.

A user evaluated but with no relevant item gets a row with null metrics: such rows are left out
of every mean and counted by :func:`aggregate` as ``n_users_excluded``. A user with relevant
items but no recommendation gets zeros.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.arguments import check_cutoff, check_ids
from recsys.data.types import Interactions, count_duplicate_pairs, require_columns
from recsys.errors import ConfigError, DataError
from recsys.features.base import ItemFeatures, row_sq_norms

__all__ = [
    "ItemFeatures",
    "aggregate",
    "average_popularity",
    "beyond_accuracy",
    "catalog_coverage",
    "gini_index",
    "intra_list_diversity",
    "item_popularity",
    "metric_columns",
    "novelty",
    "novelty_per_user",
    "ranking_metrics",
    "rating_metrics",
    "rating_summary",
]

logger = logging.getLogger(__name__)

RECALL_DENOMINATORS = ("all", "min_k")
_ILD_BATCH_USERS = 2048


# -- helpers --------------------------------------------------------------------------------
def _check_recommendations(recs: pl.DataFrame) -> None:
    """Ranks are positive integers, unique per user; an item appears once per user.

    Anything else (tied ranks, ranks from 0, a repeated item) would give precision > 1,
    recall > 1 or an infinite NDCG, so it is refused instead of scored.
    """
    if recs.is_empty():
        return
    rank = recs["rank"]
    if not rank.dtype.is_integer() or rank.null_count() or int(rank.min()) < 1:
        raise DataError(
            f"recommendations need integer ranks from 1 without nulls, got dtype {rank.dtype} "
            f"with minimum {rank.min()} and {rank.null_count()} null(s)"
        )
    users = recs["user_id"].to_numpy()
    for column, what in (("rank", "rank"), ("item_id", "item")):
        repeated = count_duplicate_pairs(users, recs[column].to_numpy())
        if repeated:
            raise DataError(
                f"recommendations repeat a {what} within a user's list {repeated:,} time(s): "
                f"expected unique {column} values per user_id (as Recommender.recommend returns)"
            )


def _ids(frame: pl.DataFrame, *extra: str) -> pl.DataFrame:
    """``user_id`` and ``item_id`` as Int64 (ratings are Int32, recommendations Int64)."""
    return frame.select(
        pl.col("user_id").cast(pl.Int64), pl.col("item_id").cast(pl.Int64), *extra
    )


def _top(recs: pl.DataFrame, k: int | None = None) -> pl.DataFrame:
    require_columns(recs, ("user_id", "item_id", "rank"), "recommendations")
    _check_recommendations(recs)
    top = _ids(recs, "rank")
    return top if k is None else top.filter(pl.col("rank") <= k)


def _nullable(values: np.ndarray) -> pl.Series:
    return pl.Series(values.astype(np.float64), nan_to_null=True)


def metric_columns(frame: pl.DataFrame) -> list[str]:
    """The metric columns of a per-user frame: every floating-point column.

    Ids, counts (``n_relevant``, ``n``) and labels (``model``, ``segment``) are never floats.
    """
    return [name for name, dtype in frame.schema.items() if dtype.is_float()]


# -- ranking accuracy -----------------------------------------------------------------------
def ranking_metrics(
    recs: pl.DataFrame,
    truth: pl.DataFrame,
    k: int,
    users: Sequence[int] | np.ndarray | pl.Series | None = None,
    recall_denominator: str = "all",
) -> pl.DataFrame:
    """Per-user top-``k`` accuracy: precision, recall, NDCG, MAP (two variants), MRR, hit rate.

    One row per evaluated user: the users in ``truth``, or ``users`` when given. Only
    recommendations with ``rank <= k`` count; each (user, item) must appear at most once in
    ``recs``. See the module docstring for the exact definitions.
    """
    k = check_cutoff(k)
    if recall_denominator not in RECALL_DENOMINATORS:
        raise ConfigError(
            f"recall_denominator must be one of {RECALL_DENOMINATORS}, got {recall_denominator!r}"
        )
    require_columns(truth, ("user_id", "item_id"), "truth")
    relevant = _ids(truth).unique()
    evaluated = _evaluated_users(relevant, users)
    per_user = (
        evaluated.join(relevant.group_by("user_id").agg(pl.len().alias("n_relevant")),
                       on="user_id", how="left")
        .join(_hit_statistics(_top(recs, k), relevant), on="user_id", how="left")
        .with_columns(pl.col("n_relevant", "hits", "ap_sum", "dcg").fill_null(0))
    )
    columns = _ranking_columns(per_user, k, recall_denominator)
    n_excluded = int((per_user["n_relevant"] == 0).sum())
    if n_excluded:
        logger.info("%d evaluated user(s) have no relevant item: their metrics are null",
                    n_excluded)
    return pl.DataFrame(
        {"user_id": per_user["user_id"], **columns,
         "n_relevant": per_user["n_relevant"].cast(pl.Int64)}
    )


def _evaluated_users(relevant: pl.DataFrame, users: Any) -> pl.DataFrame:
    if users is None:
        return relevant.select("user_id").unique().sort("user_id")
    ids = np.unique(check_ids(users, "users"))
    return pl.DataFrame({"user_id": ids}, schema={"user_id": pl.Int64})


def _hit_statistics(top: pl.DataFrame, relevant: pl.DataFrame) -> pl.DataFrame:
    """Per user: number of hits, sum of precision@rank over hits, DCG, rank of the first hit."""
    return (
        top.join(relevant, on=["user_id", "item_id"], how="inner")
        .sort("user_id", "rank")
        .with_columns(pl.int_range(1, pl.len() + 1).over("user_id").alias("hit_no"))
        .group_by("user_id")
        .agg(
            pl.len().alias("hits"),
            (pl.col("hit_no") / pl.col("rank")).sum().alias("ap_sum"),
            (1.0 / (pl.col("rank") + 1).log(2)).sum().alias("dcg"),
            pl.col("rank").min().alias("first_hit"),
        )
    )


# The ranking metrics every ``ranking_metrics`` call computes, each as ``<name>@<k>``.
RANKING_METRICS = ("precision", "recall", "ndcg", "map", "map_recommenders", "mrr", "hit_rate")


def _ranking_columns(
    per_user: pl.DataFrame, k: int, recall_denominator: str
) -> dict[str, pl.Series]:
    n_rel = per_user["n_relevant"].to_numpy().astype(np.float64)
    hits = per_user["hits"].to_numpy().astype(np.float64)
    ap_sum = per_user["ap_sum"].to_numpy().astype(np.float64)
    dcg = per_user["dcg"].to_numpy().astype(np.float64)
    first_hit = per_user["first_hit"].fill_null(0).to_numpy().astype(np.float64)
    ideal = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])
    capped = np.minimum(n_rel, k)
    has_relevant = n_rel > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        recall_base = n_rel if recall_denominator == "all" else capped
        values = (
            hits / k,
            hits / recall_base,
            dcg / ideal[capped.astype(np.int64)],
            ap_sum / capped,
            ap_sum / n_rel,
            np.where(first_hit > 0, 1.0 / first_hit, 0.0),
            (hits > 0).astype(np.float64),
        )
    return {f"{name}@{k}": _nullable(np.where(has_relevant, v, np.nan))
            for name, v in zip(RANKING_METRICS, values, strict=True)}


# -- rating accuracy ------------------------------------------------------------------------
def _checked_predictions(predictions: pl.DataFrame) -> pl.DataFrame:
    require_columns(predictions, ("user_id", "item_id", "rating", "prediction"), "predictions")
    finite = predictions.select(
        pl.col("rating", "prediction").cast(pl.Float64).is_finite().all()
    ).row(0)
    if not all(finite):
        raise DataError(
            "predictions contain missing or non-finite values: every model must return a "
            "finite fallback (e.g. the global mean) for unknown users and items"
        )
    return predictions.with_columns(
        (pl.col("prediction").cast(pl.Float64) - pl.col("rating").cast(pl.Float64))
        .alias("error")
    )


def rating_metrics(predictions: pl.DataFrame) -> pl.DataFrame:
    """Per-user RMSE and MAE from ``[user_id, item_id, rating, prediction]``."""
    return (
        _checked_predictions(predictions)
        .group_by("user_id")
        .agg(
            (pl.col("error") ** 2).mean().sqrt().alias("rmse"),
            pl.col("error").abs().mean().alias("mae"),
            pl.len().cast(pl.Int64).alias("n"),
        )
        .with_columns(pl.col("user_id").cast(pl.Int64))
        .sort("user_id")
    )


def rating_summary(predictions: pl.DataFrame) -> dict[str, float]:
    """Global RMSE and MAE over all ratings (as Surprise reports them), R², explained variance.

    ``r2 = 1 - SS_res / SS_tot``; ``explained_variance = 1 - Var(rating - prediction) /
    Var(rating)`` (population variances, as scikit-learn and Microsoft Recommenders compute).
    """
    frame = _checked_predictions(predictions)
    if frame.is_empty():
        raise DataError("Cannot summarise an empty predictions frame")
    error = frame["error"].to_numpy()
    rating = frame["rating"].to_numpy().astype(np.float64)
    total_var = float(rating.var())
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - float(np.mean(error**2)) / total_var
        explained = 1.0 - float(error.var()) / total_var
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2": r2,
        "explained_variance": explained,
        "n": int(len(error)),
    }


def aggregate(per_user: pl.DataFrame) -> dict[str, float]:
    """Mean of every metric (float) column over users; null metrics are skipped.

    Adds ``n_users`` (rows with at least one metric) and ``n_users_excluded`` (rows whose
    metrics are all null, e.g. users without any relevant held-out item).
    """
    metrics = metric_columns(per_user)
    if not metrics:
        raise DataError(f"No metric column to aggregate among {per_user.columns}")
    excluded = per_user.select(pl.all_horizontal(pl.col(metrics).is_null()).sum()).item()
    means = per_user.select(pl.col(metrics).mean()).row(0, named=True)
    result: dict[str, float] = {
        name: float("nan") if value is None else float(value) for name, value in means.items()
    }
    result["n_users"] = per_user.height - int(excluded)
    result["n_users_excluded"] = int(excluded)
    return result


# -- beyond accuracy ------------------------------------------------------------------------
def item_popularity(train: Interactions) -> pl.DataFrame:
    """``[item_id, count, share]``: training users who rated each item, and their share of users."""
    counts = np.diff(train.matrix.tocsc().indptr).astype(np.int64)
    return pl.DataFrame(
        {
            "item_id": train.item_ids,
            "count": counts,
            "share": counts / max(train.shape[0], 1),
        }
    )


def catalog_coverage(recs: pl.DataFrame, n_items: int) -> float:
    """Share of the ``n_items`` catalogue items that appear in at least one list."""
    if not isinstance(n_items, int | np.integer) or isinstance(n_items, bool) or n_items < 1:
        raise ConfigError(f"n_items must be a positive int, got {n_items!r}")
    return _top(recs)["item_id"].n_unique() / n_items


def _per_user_mean(values: pl.DataFrame, column: str) -> float:
    """Mean over users of the within-list mean of ``column`` (NaN without recommendations)."""
    if values.is_empty():
        return float("nan")
    return float(values.group_by("user_id").agg(pl.col(column).mean())[column].mean())


def _with_popularity(recs: pl.DataFrame, item_popularity: pl.DataFrame) -> pl.DataFrame:
    require_columns(item_popularity, ("item_id", "count", "share"), "item_popularity")
    popularity = item_popularity.select(
        pl.col("item_id").cast(pl.Int64), pl.col("count").cast(pl.Float64),
        pl.col("share").cast(pl.Float64),
    )
    return _top(recs).join(popularity, on="item_id", how="left").with_columns(
        pl.col("count", "share").fill_null(0.0)
    )


def novelty_per_user(recs: pl.DataFrame, item_popularity: pl.DataFrame) -> pl.DataFrame:
    """``[user_id, novelty]``: each list's mean self-information ``-log2(share)``.

    ``share`` is the share of training users who rated the item; items that no training user
    rated count as the rarest rated item (their self-information would otherwise be infinite).
    """
    joined = _with_popularity(recs, item_popularity)
    shares = item_popularity["share"].cast(pl.Float64)
    floor = shares.filter(shares > 0).min()
    floor = 1.0 if floor is None else float(floor)
    info = -pl.when(pl.col("share") > 0).then(pl.col("share")).otherwise(floor).log(2)
    return joined.group_by("user_id").agg(info.mean().alias("novelty")).sort("user_id")


def novelty(recs: pl.DataFrame, item_popularity: pl.DataFrame) -> float:
    """Mean self-information of the lists (:func:`novelty_per_user`), averaged over users."""
    per_user = novelty_per_user(recs, item_popularity)
    return float(per_user["novelty"].mean()) if per_user.height else float("nan")


def average_popularity(recs: pl.DataFrame, item_popularity: pl.DataFrame) -> float:
    """Average recommendation popularity (ARP): mean training count of listed items, per user."""
    return _per_user_mean(_with_popularity(recs, item_popularity), "count")


def gini_index(recs: pl.DataFrame, n_items: int | None = None) -> float:
    """Gini index of how often each item is recommended (0 = uniform, → 1 = concentrated).

    With ``n_items`` the catalogue items never recommended count as zeros; otherwise only the
    recommended items are compared. ``G = Σ (2i - n - 1) x_i / (n Σ x)`` over ascending counts.
    """
    counts = np.sort(_top(recs).group_by("item_id").len()["len"].to_numpy().astype(np.float64))
    if n_items is not None:
        if n_items < len(counts):
            raise ConfigError(f"n_items={n_items} is below the {len(counts)} recommended items")
        counts = np.concatenate([np.zeros(n_items - len(counts)), counts])
    n = len(counts)
    if n == 0 or counts.sum() == 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * counts) / (n * counts.sum()))


def intra_list_diversity(recs: pl.DataFrame, item_features: ItemFeatures) -> float:
    """Mean over users of ``1 - mean pairwise cosine similarity`` within each list.

    Items without a (non-zero) feature vector are dropped from their list; lists left with
    fewer than two items are skipped. Uses ``Σ_{i≠j} cos = ||Σ v_i||² - Σ ||v_i||²`` over unit
    vectors, so no pairwise matrix is built; users are processed in batches.
    """
    top = _top(recs).sort("user_id")
    _, row_user = np.unique(top["user_id"].to_numpy(), return_inverse=True)
    items = top["item_id"].to_numpy()
    n_users = int(row_user.max()) + 1 if len(row_user) else 0
    bounds = np.searchsorted(row_user, np.arange(0, n_users + _ILD_BATCH_USERS, _ILD_BATCH_USERS))
    ild = np.concatenate(
        [np.empty(0)]
        + [
            _ild_block(item_features, items[lo:hi], row_user[lo:hi])
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
            if hi > lo
        ]
    )
    ild = ild[np.isfinite(ild)]
    return float(ild.mean()) if len(ild) else float("nan")


def _ild_block(features: ItemFeatures, items: np.ndarray, row_user: np.ndarray) -> np.ndarray:
    """ILD of the lists of one batch of users (``row_user`` holds consecutive user codes)."""
    unit, usable = features.unit_rows(items)
    owner = row_user - row_user[0]
    n_block = int(owner[-1]) + 1
    indicator = sp.csr_matrix(
        (usable.astype(np.float64), (owner, np.arange(len(owner)))), shape=(n_block, len(owner))
    )
    sum_sq = row_sq_norms(indicator @ unit)
    n = np.bincount(owner[usable], minlength=n_block).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_cos = (sum_sq - n) / (n * (n - 1))
    return np.where(n >= 2, 1.0 - mean_cos, np.nan)


def beyond_accuracy(
    recs: pl.DataFrame,
    train: Interactions,
    item_features: ItemFeatures | None = None,
    k: int | None = None,
) -> dict[str, float]:
    """Coverage, novelty, ARP, Gini (and ILD given features) of the top-``k`` lists.

    ``k`` defaults to the longest list; the catalogue is the training item vocabulary.
    """
    if k is None:
        k = int(recs["rank"].max() or 1) if not recs.is_empty() else 1
    k = check_cutoff(k)
    top = _top(recs, k)
    popularity = item_popularity(train)
    n_items = train.shape[1]
    result = {
        f"coverage@{k}": catalog_coverage(top, n_items),
        f"novelty@{k}": novelty(top, popularity),
        f"arp@{k}": average_popularity(top, popularity),
        f"gini@{k}": gini_index(top, n_items=max(n_items, top["item_id"].n_unique())),
    }
    if item_features is not None:
        result[f"ild@{k}"] = intra_list_diversity(top, item_features)
    return result
