"""Leakage measures: known answers on a toy split, and the channels of the real protocols."""

from __future__ import annotations

import polars as pl
import pytest

from recsys.data.split import cold_start_items, leave_last_n, temporal_global
from recsys.data.types import Dataset, Split
from recsys.errors import DataError
from recsys.evaluation.leakage import leakage_summary, tags_on_test_pairs


def _frame(rows: list[tuple[int, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"user_id": pl.Int32, "item_id": pl.Int32,
                                      "timestamp": pl.Int64}, orient="row")


def test_known_answers_on_a_toy_split() -> None:
    train = _frame([(1, 10, 100), (1, 11, 200), (2, 10, 300), (2, 12, 400)])
    test = _frame([(1, 12, 250), (2, 11, 50)])  # 2 of 4 training ratings newer; 4 of 4
    split = Split(train=train, test=test, protocol="random_holdout")
    tags = pl.DataFrame({"user_id": [1, 1, 2, 3], "item_id": [12, 10, 11, 12],
                         "tag": ["a", "b", "c", "d"], "timestamp": [0, 0, 0, 0]},
                        schema_overrides={"user_id": pl.Int32, "item_id": pl.Int32})
    assert sorted(tags_on_test_pairs(split, tags)["tag"]) == ["a", "c"]
    summary = leakage_summary(split, tags)
    assert summary.newer_training_share == pytest.approx((2 / 4 + 4 / 4) / 2)
    assert (summary.test_item_tags, summary.test_pair_tags) == (3, 2)  # items 11 and 12
    assert summary.catalog_test_pair_tags == 0 and "nothing is ordered" in summary.policy


def test_no_timestamp_is_an_error() -> None:
    frame = pl.DataFrame({"user_id": [1], "item_id": [1]})
    with pytest.raises(DataError, match="no timestamp"):
        leakage_summary(Split(train=frame, test=frame, protocol="toy"))


def test_protocols_on_ml_latest_small(ml_small: Dataset) -> None:
    temporal = leakage_summary(temporal_global(ml_small.ratings), ml_small.tags)
    assert temporal.newer_training_share == 0.0
    last = leakage_summary(leave_last_n(ml_small.ratings, n=5), ml_small.tags)
    assert 0.5 < last.newer_training_share < 0.6  # issue #11: 53.8%
    cold = leakage_summary(cold_start_items(ml_small.ratings, 0.1, seed=42), ml_small.tags)
    assert (cold.test_pair_tags, cold.test_item_tags) == (389, 407)  # the leak of issue #11
    assert (cold.catalog_test_pair_tags, temporal.catalog_test_pair_tags) == (0, 0)  # closed
