"""The duplicates policy: one rating per (user, movie), the latest; never a sum. A frame that
cannot hold ratings is refused when Interactions are built from it."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recsys.data.types import Interactions, count_duplicate_pairs, keep_latest_ratings
from recsys.errors import ArgumentError, DataError


def _ratings(rows: list[tuple[int, int, float, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=["user_id", "item_id", "rating", "timestamp"], orient="row"
    ).with_columns(pl.col("rating").cast(pl.Float32))


def test_keep_latest_by_timestamp_keeps_other_rows_in_order() -> None:
    frame = _ratings([(1, 10, 4.0, 200), (2, 10, 3.0, 50), (1, 10, 2.0, 100), (1, 11, 5.0, 1)])
    kept, dropped = keep_latest_ratings(frame)
    assert dropped == 1
    assert kept.rows() == [(1, 10, 4.0, 200), (2, 10, 3.0, 50), (1, 11, 5.0, 1)]


def test_equal_timestamps_or_none_keep_the_last_row() -> None:
    frame = _ratings([(1, 10, 4.0, 7), (1, 10, 2.0, 7)])
    assert keep_latest_ratings(frame)[0].rows() == [(1, 10, 2.0, 7)]
    untimed = frame.drop("timestamp")
    assert keep_latest_ratings(untimed)[0].rows() == [(1, 10, 2.0)]


def test_no_duplicates_is_the_same_frame() -> None:
    frame = _ratings([(1, 10, 4.0, 1), (1, 11, 2.0, 2)])
    kept, dropped = keep_latest_ratings(frame)
    assert dropped == 0 and kept is frame


def test_interactions_never_sum_a_repeated_rating() -> None:
    frame = _ratings([(1, 10, 4.0, 100), (1, 10, 4.0, 200), (1, 11, 3.0, 5)])
    matrix = Interactions.from_frame(frame).matrix
    assert matrix.nnz == 2
    assert matrix.toarray().tolist() == [[4.0, 3.0]]  # not 8.0, still on the scale


def test_duplicate_pairs_are_counted_in_file_order_or_sorted() -> None:
    rng = np.random.default_rng(3)
    users = rng.integers(0, 30, 2_000).astype(np.int32)
    items = rng.integers(0, 2**31 - 1, 2_000).astype(np.int32) % 40  # ids up to 39
    expected = 2_000 - len(set(zip(users.tolist(), items.tolist(), strict=True)))
    order = np.lexsort((items, users))  # how MovieLens files are sorted
    assert expected > 0
    assert count_duplicate_pairs(users, items) == expected
    assert count_duplicate_pairs(users[order], items[order]) == expected
    big = np.array([2**31 - 1, 0], dtype=np.int32)  # the largest ids do not collide
    assert count_duplicate_pairs(big, big[::-1].copy()) == 0
    assert count_duplicate_pairs(np.array([], np.int32), np.array([], np.int32)) == 0


def _times_by_pair(train: Interactions) -> dict[tuple[int, int], float]:
    coo = train.matrix.tocoo()
    return {(int(train.user_ids[r]), int(train.item_ids[c])): t
            for r, c, t in zip(coo.row, coo.col, train.times, strict=True)}


def test_each_rating_keeps_its_timestamp_through_sorting_and_carving() -> None:
    frame = _ratings([(2, 30, 4.0, 9), (1, 20, 3.0, 5), (2, 10, 5.0, 7), (1, 10, 2.0, 1),
                      (1, 10, 1.0, 3)])  # unsorted, and (1, 10) twice: the latest is kept
    train = Interactions.from_frame(frame)
    expected = {(2, 30): 9.0, (1, 20): 5.0, (2, 10): 7.0, (1, 10): 3.0}
    assert _times_by_pair(train) == expected
    kept = train.keeping(train.matrix.data != 5.0)  # every rating but (2, 10)'s 5 stars
    assert _times_by_pair(kept) == {pair: t for pair, t in expected.items() if pair != (2, 10)}
    assert kept.matrix.nnz == 3 and kept.shape == train.shape
    assert Interactions.from_frame(frame.drop("timestamp")).times is None


@pytest.mark.parametrize(("column", "value", "message"), [
    ("rating", float("nan"), r"ratings rating: 1 row\(s\) lack a finite number, e\.g\. "
                             r"\{'user_id': 2, 'item_id': 11, 'rating': nan"),
    ("rating", None, "ratings rating: 1 row"),
    ("rating", float("inf"), "ratings rating: 1 row"),
    ("user_id", None, r"ratings user_id: 1 row\(s\) lack an integral id"),
    ("item_id", 11.5, r"ratings item_id: 1 row\(s\) lack an integral id.*'item_id': 11\.5"),
])
def test_a_rating_without_a_number_or_an_id_is_refused(column: str, value: object,
                                                       message: str) -> None:
    frame = _ratings([(1, 10, 4.0, 1), (2, 11, 3.0, 2), (3, 12, 5.0, 3)])
    frame = frame.with_columns(pl.col(column).cast(pl.Float64))
    frame = frame.with_columns(pl.when(pl.col("timestamp") == 2).then(value)
                               .otherwise(pl.col(column)).alias(column))
    with pytest.raises(DataError, match=message):
        Interactions.from_frame(frame)


def test_integral_float_ids_and_a_missing_timestamp_are_fine() -> None:
    frame = _ratings([(1, 10, 4.0, 1), (2, 11, 3.0, 2)])
    built = Interactions.from_frame(frame.with_columns(pl.col("item_id").cast(pl.Float64),
                                                       pl.lit(None).alias("timestamp")))
    assert built.item_ids.tolist() == [10, 11] and built.times is None


def test_a_frame_of_another_kind_or_with_text_columns_is_refused() -> None:
    frame = _ratings([(1, 10, 4.0, 1)])
    with pytest.raises(ArgumentError, match=r"got pandas\.DataFrame"):
        Interactions.from_frame(frame.to_pandas())
    with pytest.raises(DataError, match=r"\{'user_id': 'String'\} are not numeric"):
        Interactions.from_frame(frame.with_columns(pl.col("user_id").cast(pl.Utf8)))
    with pytest.raises(DataError, match=r"lacks column\(s\) \['rating'\]"):
        Interactions.from_frame(frame.drop("rating"))
