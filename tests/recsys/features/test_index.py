"""The faiss index against brute force, without self-matches, persisted with write_index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.errors import ConfigError
from recsys.features import ItemIndex
from recsys.features.base import l2_normalise


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
