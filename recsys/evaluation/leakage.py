"""What a split lets through from the test side, and what the Catalog's rule leaves of it.

A split can be free of shared (user, movie) pairs and still leak through two channels, both
measured here on top of :mod:`recsys.evaluation.protocol`:

- the training ratings *newer* than a test rating (:func:`~recsys.evaluation.protocol.
  newer_share`; each protocol's policy is :data:`~recsys.evaluation.protocol.FUTURE_POLICY`);
- the tags that describe a test pair: a tag written by the user whose held-out rating is the
  target tells a content model where that user went (the cold-items leak of issue #11). Counted
  on the whole tags table, then on what :func:`~recsys.evaluation.protocol.known_tags` keeps for
  the training-time Catalog (zero when the leak is closed).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from recsys.data.types import Split
from recsys.errors import DataError
from recsys.evaluation.protocol import FUTURE_POLICY, known_tags, newer_share

__all__ = ["LeakageSummary", "tags_on_test_pairs", "leakage_summary"]

PAIR = ["user_id", "item_id"]


@dataclass(frozen=True)
class LeakageSummary:
    """Leakage measures of one split (tag counts are 0 when no tags table is given)."""

    protocol: str
    policy: str  # what the protocol keeps from the future, in words
    train: int
    test: int
    newer_training_share: float  # mean over test ratings of the share of train ratings newer
    test_item_tags: int  # tags (whole table) on movies that have a test rating
    test_pair_tags: int  # of those, tags whose (user, movie) pair is a test rating: the leak
    catalog_test_pair_tags: int  # test-pair tags still in the training-time Catalog


def tags_on_test_pairs(split: Split, tags: pl.DataFrame) -> pl.DataFrame:
    """Tags whose (user, movie) pair is a test rating: what a content feature must not see."""
    pairs = split.test.select(PAIR).unique()
    return tags.join(pairs.cast(dict(tags.select(PAIR).schema)), on=PAIR, how="semi")


def leakage_summary(split: Split, tags: pl.DataFrame | None = None) -> LeakageSummary:
    """Both channels of ``split``; tag counts against ``tags`` when given. Needs timestamps."""
    for name, frame in (("train", split.train), ("test", split.test)):
        if "timestamp" not in frame.columns:
            raise DataError(f"split {split.protocol!r}: the {name} part has no timestamp column")
    item_tags = pair_tags = catalog_tags = 0
    if tags is not None:
        test_items = split.test["item_id"].unique().cast(tags["item_id"].dtype).implode()
        item_tags = tags.filter(pl.col("item_id").is_in(test_items)).height
        pair_tags = tags_on_test_pairs(split, tags).height
        catalog_tags = tags_on_test_pairs(split, known_tags(tags, split)).height
    return LeakageSummary(
        protocol=split.protocol,
        policy=FUTURE_POLICY.get(split.protocol, "not stated"),
        train=split.train.height,
        test=split.test.height,
        newer_training_share=newer_share(split.train["timestamp"].to_numpy(),
                                         split.test["timestamp"].to_numpy()),
        test_item_tags=item_tags,
        test_pair_tags=pair_tags,
        catalog_test_pair_tags=catalog_tags,
    )
