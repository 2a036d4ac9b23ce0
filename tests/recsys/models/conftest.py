"""Small fixtures for model tests: the checkerboard, a small real slice, ml-100k's u1 fold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recsys.data.types import Dataset, Interactions

U_COLUMNS = ["user_id", "item_id", "rating", "timestamp"]


@dataclass(frozen=True)
class Checkerboard:
    """Even users liked even items, odd users odd items; one liked item per user held out."""

    train: Interactions
    held_out: dict[int, int]  # user id -> withheld item id


def make_checkerboard(n_users: int = 20, n_items: int = 16) -> Checkerboard:
    """The known-answer fixture of the implicit library, with ratings 3-5 and raw ids from 1."""
    held = {u: 2 * ((u // 2) % (n_items // 2)) + u % 2 for u in range(n_users)}
    users, items = np.meshgrid(np.arange(n_users), np.arange(n_items), indexing="ij")
    liked = (users % 2 == items % 2) & (items != np.vectorize(held.get)(users))
    frame = pl.DataFrame(
        {
            "user_id": users[liked] + 1,
            "item_id": items[liked] + 101,
            "rating": (3 + (users[liked] + items[liked] // 2) % 3).astype(np.float32),
        }
    )
    held_ids = {u + 1: i + 101 for u, i in held.items()}
    return Checkerboard(Interactions.from_frame(frame), held_ids)


@pytest.fixture(scope="session")
def checkerboard() -> Checkerboard:
    """20 users × 16 items in two disjoint taste groups."""
    return make_checkerboard()


@pytest.fixture(scope="session")
def small_ratings(ml_small: Dataset) -> pl.DataFrame:
    """A dense-ish real slice: the 60 most popular movies × the 40 users rating most of them."""
    ratings = ml_small.ratings
    top_items = ratings.group_by("item_id").len().sort(["len", "item_id"], descending=[True, False])
    kept = ratings.join(top_items.head(60).select("item_id"), on="item_id", how="semi")
    top_users = kept.group_by("user_id").len().sort(["len", "user_id"], descending=[True, False])
    return kept.join(top_users.head(40).select("user_id"), on="user_id", how="semi")


@pytest.fixture(scope="session")
def small_train(small_ratings: pl.DataFrame) -> Interactions:
    """``small_ratings`` as Interactions."""
    return Interactions.from_frame(small_ratings)


def read_u_file(path: Path) -> pl.DataFrame:
    """One of ml-100k's tab-separated ``u*.base`` / ``u*.test`` files."""
    return pl.read_csv(path, separator="\t", has_header=False, new_columns=U_COLUMNS)


@pytest.fixture(scope="session")
def u1(mirror_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ml-100k's predefined first fold: (u1.base, u1.test)."""
    folder = mirror_dir / "ml-100k"
    return read_u_file(folder / "u1.base"), read_u_file(folder / "u1.test")
