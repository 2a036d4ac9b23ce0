"""Argument checks: a history keeps each movie's last rating, in the order of those ratings."""

from __future__ import annotations

import numpy as np
import polars as pl

from recsys.arguments import check_history


def test_a_history_keeps_each_movies_last_rating_in_order() -> None:
    history = pl.DataFrame({"item_id": [1, 2, 1, 3, 2], "rating": [1.0, 2.0, 3.0, 4.0, 5.0]})
    checked = check_history(history, (0.5, 5.0))
    assert checked["item_id"].to_list() == [1, 3, 2]
    assert checked["rating"].to_list() == [3.0, 4.0, 5.0]
    rng = np.random.default_rng(11)
    for size in (1, 2, 7, 40):
        frame = pl.DataFrame({"item_id": rng.integers(0, 6, size),
                              "rating": rng.integers(1, 11, size) / 2.0})
        expected = frame.unique("item_id", keep="last", maintain_order=True)
        got = check_history(frame, (0.5, 5.0))
        assert got["item_id"].to_list() == expected["item_id"].to_list()
        assert got["rating"].to_list() == expected["rating"].to_list()
