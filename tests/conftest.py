"""Shared fixtures: the local MovieLens mirror and small real datasets built from it."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from recsys.data.types import Dataset

REPO_ROOT = Path(__file__).resolve().parents[1]


def _mirror() -> Path:
    configured = os.environ.get("RECSYS_DATA_MIRROR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "data" / "movielens"


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """Folder holding extracted MovieLens releases (ml-latest-small, ml-100k)."""
    path = _mirror()
    if not (path / "ml-latest-small" / "ratings.csv").exists():
        pytest.fail(f"MovieLens mirror not found at {path}: set RECSYS_DATA_MIRROR")
    return path


@pytest.fixture(scope="session")
def ml_small(mirror_dir: Path) -> Dataset:
    """ml-latest-small as a canonical Dataset (ratings + movies), read from the mirror."""
    folder = mirror_dir / "ml-latest-small"
    ratings = pl.read_csv(folder / "ratings.csv").select(
        pl.col("userId").cast(pl.Int32).alias("user_id"),
        pl.col("movieId").cast(pl.Int32).alias("item_id"),
        pl.col("rating").cast(pl.Float32),
        pl.col("timestamp").cast(pl.Int64),
    )
    movies = pl.read_csv(folder / "movies.csv").select(
        pl.col("movieId").cast(pl.Int32).alias("item_id"),
        pl.col("title").str.replace(r"\s*\(\d{4}\)\s*$", "").alias("title"),
        pl.col("title").str.extract(r"\((\d{4})\)\s*$").cast(pl.Int32).alias("year"),
        pl.col("genres").str.split("|").list.filter(pl.element() != "(no genres listed)"),
    )
    return Dataset(name="ml-latest-small", ratings=ratings, movies=movies)
