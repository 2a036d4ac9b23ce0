"""The faiss index against brute force, without self-matches, persisted with write_index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recsys.errors import ArgumentError, ConfigError, DataError
from recsys.features import ItemIndex
from recsys.features.base import ItemFeatures, l2_normalise


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return l2_normalise(np.random.default_rng(1).normal(size=(500, 16)))


def test_flat_search_is_exact(vectors: np.ndarray) -> None:
    index = ItemIndex.build(vectors)
    idx, scores = index.search(vectors[:20], 5)
    brute = vectors[:20] @ vectors.T
    np.testing.assert_array_equal(idx, np.argsort(-brute, axis=1)[:, :5])
    np.testing.assert_allclose(scores, np.sort(brute, axis=1)[:, ::-1][:, :5], rtol=1e-5)


def test_neighbours_leave_the_item_out(vectors: np.ndarray) -> None:
    index = ItemIndex.build(vectors)
    rows = np.arange(30)
    idx, scores = index.neighbours(rows, 4)
    assert idx.shape == (30, 4) and not (idx == rows[:, None]).any()
    brute = vectors[rows] @ vectors.T
    brute[rows, rows] = -np.inf
    np.testing.assert_array_equal(idx[:, 0], brute.argmax(axis=1))


def test_hnsw_finds_the_nearest(vectors: np.ndarray) -> None:
    index = ItemIndex.build(vectors, kind="hnsw")
    idx, _ = index.neighbours(np.arange(100), 1)
    brute = vectors[:100] @ vectors.T
    np.fill_diagonal(brute[:, :100], -np.inf)
    assert (idx[:, 0] == brute.argmax(axis=1)).mean() >= 0.95


def test_save_and_load(vectors: np.ndarray, tmp_path: Path) -> None:
    index = ItemIndex.build(vectors)
    loaded = ItemIndex.load(index.save(tmp_path / "index.faiss"))
    assert loaded.size == 500
    np.testing.assert_array_equal(loaded.search(vectors[:3], 3)[0], index.search(vectors[:3], 3)[0])
    with pytest.raises(ConfigError):
        ItemIndex.build(vectors, kind="ivf")


def test_careless_vectors_queries_and_rows_are_named(vectors: np.ndarray) -> None:
    # NaN vectors used to be indexed and NaN queries answered with ids -1 and scores -3.4e38;
    # a query of another width failed a faiss assertion; row -1 was read as the last row
    index = ItemIndex.build(vectors)
    with pytest.raises(DataError, match="vectors hold 16 NaN or infinite"):
        ItemIndex.build(np.full((1, 16), np.nan))
    with pytest.raises(ArgumentError, match="vectors must be a matrix of numbers"):
        ItemIndex.build([["a"]])
    with pytest.raises(DataError, match="queries hold 16 NaN"):
        index.search(np.full((1, 16), np.nan), 3)
    with pytest.raises(ArgumentError, match="queries must have 16 columns"):
        index.search(np.zeros((1, 5)), 3)
    with pytest.raises(ArgumentError, match="k must be a positive integer"):
        index.search(vectors[:1], 0)
    for row in (-1, 500):
        with pytest.raises(ArgumentError, match=r"rows must be indexed rows in \[0, 500\)"):
            index.neighbours(np.array([row]), 3)
    assert index.search(vectors[:1], 900)[0].shape == (1, 500)  # at most every row


def test_careless_item_ids_and_cutoffs_are_named() -> None:
    movies = pl.DataFrame({"item_id": [1, 2], "genres": [["Drama"], ["Comedy", "Drama"]]})
    features = ItemFeatures.from_genres(movies)
    with pytest.raises(ArgumentError, match="item_id must be integer ids"):
        features.vector("1")  # used to be read as movie 1
    with pytest.raises(ArgumentError, match="item_ids must be integer ids"):
        features.align([float("nan")])
    with pytest.raises(ArgumentError, match="n must be a positive integer"):
        features.top_features(2, n=-1)  # used to return every feature but the last
    with pytest.raises(ArgumentError, match="movies must be a polars DataFrame"):
        ItemFeatures.from_genres(movies.to_pandas())
    assert features.positions([]).shape == (0,)
