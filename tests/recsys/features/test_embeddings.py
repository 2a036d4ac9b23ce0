"""Text embeddings with the real all-MiniLM-L6-v2 on a 50-movie slice, and the disk cache."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from recsys.data.types import Dataset
from recsys.features import movie_embeddings
from recsys.features.embeddings import load_encoder, movie_documents
from recsys.settings import Settings


@pytest.fixture(scope="module")
def encoder() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        return load_encoder(Settings(), device="cpu")


@pytest.fixture(scope="module")
def slice_50(ml_small: Dataset) -> Dataset:
    """Toy Story, Toy Story 2 and 48 other movies."""
    ids = [1, 3114, *ml_small.movies["item_id"].to_list()[1:49]]
    movies = ml_small.movies.filter(pl.col("item_id").is_in(ids))
    return dataclasses.replace(ml_small, movies=movies)


def test_documents(slice_50: Dataset) -> None:
    docs = movie_documents(slice_50)
    assert docs.height == 50
    toy_story = docs.filter(pl.col("item_id") == 1)["document"][0]
    assert toy_story.startswith("Toy Story (1995). Genres: Adventure, Animation, Children, Comedy,")
    assert "Tags: pixar" in toy_story


def test_embeddings_are_cached_and_meaningful(
    slice_50: Dataset, encoder: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    encode = encoder.encode
    monkeypatch.setattr(encoder, "encode", lambda *a, **kw: calls.append(1) or encode(*a, **kw))
    settings = Settings(data_dir=tmp_path)
    first = movie_embeddings(slice_50, settings=settings, encoder=encoder, progress=False)
    assert first.matrix.shape == (50, 384) and calls == [1]
    np.testing.assert_allclose(np.linalg.norm(first.matrix, axis=1), 1.0, rtol=1e-5)
    cached = list((tmp_path / "cache" / "embeddings").glob("*.npy"))
    assert [p.name.startswith(f"all-MiniLM-L6-v2-{slice_50.manifest_hash[:16]}-")
            for p in cached] == [True]
    second = movie_embeddings(slice_50, settings=settings, encoder=encoder, progress=False)
    assert calls == [1]  # served from the cache: no second encoding
    np.testing.assert_array_equal(second.matrix, first.matrix)
    sims = first.matrix @ first.vector(1)
    sims[first.positions([1])[0]] = -1.0
    assert first.item_ids[sims.argmax()] == 3114  # Toy Story's nearest is Toy Story 2
