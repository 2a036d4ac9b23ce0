"""Segment breakdowns: users by training activity, items by popularity (head / long tail).

Defaults:

* ``user_activity_segments(thresholds=(20, 100))``: ``cold`` users have fewer than 20 training
  ratings, ``medium`` 20–99, ``heavy`` 100 or more. MovieLens only keeps users with ≥ 20
  ratings in total, so after a 75/25 or 80/20 split "cold" means "about the minimum".
* ``item_popularity_segments(head_share=0.2)``: the ``head`` is the 20 % of catalogue items
  with the most training ratings (ties broken by item id), the rest is the ``tail``
  (Abdollahpouri et al. 2019's short head / long tail split).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from recsys.arguments import check_cutoff, check_number
from recsys.data.types import Interactions, require_columns
from recsys.errors import ConfigError, DataError
from recsys.evaluation.metrics import _top, metric_columns

__all__ = [
    "USER_SEGMENTS",
    "item_popularity_segments",
    "metrics_by_segment",
    "tail_share",
    "user_activity_segments",
]

USER_SEGMENTS = ("cold", "medium", "heavy")


def user_activity_segments(
    train: Interactions, thresholds: Sequence[int] = (20, 100)
) -> pl.DataFrame:
    """``[user_id, n_ratings, segment]``: cold (< t0), medium (t0 ≤ n < t1), heavy (≥ t1)."""
    wrong = ConfigError(f"thresholds must be two increasing positive counts (cold < t0 ≤ "
                        f"medium < t1 ≤ heavy), got {thresholds!r}")
    if isinstance(thresholds, str) or not isinstance(thresholds, Sequence) or len(
            thresholds) != 2:
        raise wrong
    bounds = [check_cutoff(t, f"thresholds[{i}]") for i, t in enumerate(thresholds)]
    if bounds[0] >= bounds[1]:
        raise wrong
    counts = np.diff(train.matrix.indptr).astype(np.int64)
    labels = np.asarray(USER_SEGMENTS)[np.searchsorted(np.asarray(bounds), counts, "right")]
    return pl.DataFrame(
        {"user_id": train.user_ids, "n_ratings": counts, "segment": labels}
    )


def item_popularity_segments(train: Interactions, head_share: float = 0.2) -> pl.DataFrame:
    """``[item_id, n_ratings, segment]``: the top ``head_share`` of items by ratings are head."""
    check_number(head_share, "head_share", 0.0, 1.0)
    counts = np.diff(train.matrix.tocsc().indptr).astype(np.int64)
    n_head = int(round(head_share * len(counts)))
    order = np.lexsort((train.item_ids, -counts))
    is_head = np.zeros(len(counts), dtype=bool)
    is_head[order[:n_head]] = True
    return pl.DataFrame(
        {
            "item_id": train.item_ids,
            "n_ratings": counts,
            "segment": np.where(is_head, "head", "tail"),
        }
    )


def metrics_by_segment(
    per_user: pl.DataFrame, segments: pl.DataFrame, segment_col: str = "segment"
) -> pl.DataFrame:
    """Mean of every metric column per segment, with the number of users in each.

    ``n_users`` counts users with at least one non-null metric (as :func:`aggregate` does).
    String columns of ``per_user`` (e.g. ``model``) become extra group keys. Users missing
    from ``segments`` fall into segment ``"unknown"``.
    """
    require_columns(segments, ("user_id", segment_col), "segments", text=(segment_col,))
    metrics = metric_columns(per_user)
    if not metrics:
        raise DataError(f"No metric column in the per-user frame {per_user.columns}")
    labels = [n for n, t in per_user.schema.items() if t == pl.String and n != segment_col]
    joined = per_user.with_columns(pl.col("user_id").cast(pl.Int64)).join(
        segments.select(pl.col("user_id").cast(pl.Int64), pl.col(segment_col).cast(pl.String)),
        on="user_id",
        how="left",
    )
    keys = [*labels, segment_col]
    return (
        joined.with_columns(pl.col(segment_col).fill_null("unknown"))
        .group_by(keys)
        .agg(
            pl.any_horizontal(pl.col(metrics).is_not_null()).sum().cast(pl.Int64).alias("n_users"),
            pl.col(metrics).mean(),
        )
        .sort(keys)
    )


def tail_share(recs: pl.DataFrame, item_segments: pl.DataFrame) -> float:
    """Average share of long-tail items per list (APLT); items not segmented count as tail."""
    require_columns(item_segments, ("item_id", "segment"), "item_segments", text=("segment",))
    flags = _top(recs).join(
        item_segments.select(pl.col("item_id").cast(pl.Int64), "segment"), on="item_id",
        how="left",
    )
    if flags.is_empty():
        return float("nan")
    per_user = flags.group_by("user_id").agg((pl.col("segment") != "head").fill_null(True).mean())
    return float(per_user["segment"].mean())
