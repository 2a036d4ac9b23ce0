"""User-activity and item-popularity segments on tiny hand-made frames."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recsys.data.types import Interactions
from recsys.errors import ConfigError
from recsys.evaluation.segments import (
    item_popularity_segments,
    metrics_by_segment,
    tail_share,
    user_activity_segments,
)


def _train(counts_per_user: dict[int, int]) -> Interactions:
    users = np.concatenate([np.full(n, u) for u, n in counts_per_user.items()])
    items = np.concatenate([np.arange(n) for n in counts_per_user.values()])
    return Interactions.from_frame(
        pl.DataFrame({"user_id": users, "item_id": items, "rating": np.ones(len(users))})
    )


def test_user_activity_boundaries() -> None:
    train = _train({1: 19, 2: 20, 3: 99, 4: 100})
    segments = user_activity_segments(train)
    # cold < 20 ≤ medium < 100 ≤ heavy
    assert segments.rows() == [
        (1, 19, "cold"), (2, 20, "medium"), (3, 99, "medium"), (4, 100, "heavy")
    ]
    custom = user_activity_segments(train, thresholds=(50, 100))
    assert custom["segment"].to_list() == ["cold", "cold", "medium", "heavy"]
    with pytest.raises(ConfigError):
        user_activity_segments(train, thresholds=(100, 20))


def test_item_popularity_head_and_tail() -> None:
    # item i is rated by the users 1..(10 - i): counts 10, 9, ..., 1 for items 0..9;
    # item 1 and item 2 get one extra rating each → counts 10, 10, 9, 7, 6, ...
    ratings = pl.DataFrame(
        {
            "user_id": np.concatenate([np.arange(10 - i) for i in range(10)] + [[20, 21]]),
            "item_id": np.concatenate([np.full(10 - i, i) for i in range(10)] + [[1, 2]]),
            "rating": 1.0,
        }
    )
    segments = item_popularity_segments(Interactions.from_frame(ratings), head_share=0.2)
    # 20 % of 10 items = 2: items 0 and 1 (both 10 ratings; item 2 has 9)
    assert segments.filter(pl.col("segment") == "head")["item_id"].to_list() == [0, 1]
    assert segments["n_ratings"].head(3).to_list() == [10, 10, 9]
    for share in (1.0, 0, "0.2", float("nan")):  # text used to raise a raw TypeError
        with pytest.raises(ConfigError, match="head_share must be"):
            item_popularity_segments(Interactions.from_frame(ratings), head_share=share)
    for thresholds in ((20.5, 100), ("a", "b"), None, (100, 20)):
        with pytest.raises(ConfigError, match="thresholds"):
            user_activity_segments(Interactions.from_frame(ratings), thresholds)


def test_metrics_by_segment_means_and_counts() -> None:
    segments = pl.DataFrame({"user_id": [1, 2, 3], "segment": ["cold", "cold", "heavy"]})
    per_user = pl.DataFrame(
        {
            "model": ["m"] * 4,
            "user_id": [1, 2, 3, 4],
            "ndcg@10": [0.2, 0.4, None, 0.9],
            "n_relevant": [3, 2, 0, 5],
        }
    )
    result = metrics_by_segment(per_user, segments)
    # cold: (0.2 + 0.4) / 2; heavy: only a null row → 0 users; user 4 is not segmented
    assert result.rows() == [
        ("m", "cold", 2, pytest.approx(0.3)),
        ("m", "heavy", 0, None),
        ("m", "unknown", 1, 0.9),
    ]


def test_tail_share() -> None:
    items = pl.DataFrame({"item_id": [1, 2, 3], "segment": ["head", "tail", "tail"]})
    recs = pl.DataFrame(
        {"user_id": [1, 1, 2, 2], "item_id": [1, 2, 3, 99], "rank": [1, 2, 1, 2]}
    )
    # user 1: 1 tail of 2; user 2: item 3 tail, item 99 unknown → tail: 2 of 2 → mean 0.75
    assert tail_share(recs, items) == pytest.approx(0.75)
