"""What a split lets through from the test side: newer ratings and the tags of test pairs.

A split can be free of shared (user, movie) pairs and still leak. Two measures, both pure
functions of a :class:`~recsys.data.types.Split`:

- how much of the training part is *newer* than the test ratings (a random or per-user holdout
  trains on other users' future; a global temporal cut trains on none of it);
- which tags describe a test pair: a tag written by the user whose held-out rating is the target
  tells a content model where that user went (the cold-items study's leak, issue #11).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from recsys.data.types import Split
from recsys.errors import DataError

__all__ = ["LeakageSummary", "newer_training_share", "tags_on_test_pairs", "leakage_summary"]

PAIR = ["user_id", "item_id"]


@dataclass(frozen=True)
class LeakageSummary:
    """Leakage measures of one split (``tags`` counts are 0 when no tags table is given)."""

    protocol: str
    train: int
    test: int
    newer_training_share: float  # mean over test ratings of the share of train ratings newer
    test_item_tags: int  # tags on movies that have a test rating
    test_pair_tags: int  # of those, tags whose (user, movie) pair is a test rating


def newer_training_share(split: Split) -> float:
    """Mean, over test ratings, of the share of training ratings strictly newer than it.

    0.0 for a global temporal cut; about one half for a random holdout. Needs ``timestamp``.
    """
    for name, frame in (("train", split.train), ("test", split.test)):
        if "timestamp" not in frame.columns:
            raise DataError(f"split {split.protocol!r}: the {name} part has no timestamp column")
    train = np.sort(split.train["timestamp"].to_numpy())
    test = split.test["timestamp"].to_numpy()
    if train.size == 0 or test.size == 0:
        return 0.0
    newer = train.size - np.searchsorted(train, test, side="right")
    return float(newer.mean() / train.size)


def tags_on_test_pairs(split: Split, tags: pl.DataFrame) -> pl.DataFrame:
    """Tags whose (user, movie) pair is a test rating: what a content feature must not see."""
    pairs = split.test.select(PAIR).unique()
    return tags.join(pairs.cast(dict(tags.select(PAIR).schema)), on=PAIR, how="semi")


def leakage_summary(split: Split, tags: pl.DataFrame | None = None) -> LeakageSummary:
    """Both leakage measures of ``split`` (tag counts against ``tags`` when given)."""
    item_tags = pair_tags = 0
    if tags is not None:
        test_items = split.test["item_id"].unique().cast(tags["item_id"].dtype).implode()
        item_tags = tags.filter(pl.col("item_id").is_in(test_items)).height
        pair_tags = tags_on_test_pairs(split, tags).height
    return LeakageSummary(
        protocol=split.protocol,
        train=split.train.height,
        test=split.test.height,
        newer_training_share=newer_training_share(split),
        test_item_tags=item_tags,
        test_pair_tags=pair_tags,
    )
