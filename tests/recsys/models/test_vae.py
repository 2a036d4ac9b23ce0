"""Mult-VAE specifics: it beats popularity on a real leave-out; its KL weight is annealed."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recsys.data.types import Dataset, Interactions
from recsys.models import Recommender, create_model


@pytest.fixture(scope="module")
def leave_out(ml_small: Dataset) -> tuple[Interactions, pl.DataFrame]:
    """ml-latest-small (movies with ≥ 10 ratings), 20% of each user's ratings held out."""
    ratings = ml_small.ratings.filter(pl.len().over("item_id") >= 10)
    held = np.random.default_rng(0).random(ratings.height) < 0.2
    train = Interactions.from_frame(ratings.filter(~held))
    test = ratings.filter(held).join(
        pl.DataFrame({"user_id": train.user_ids.astype(np.int32)}), on="user_id", how="semi"
    )
    return train, test


def _recall_at(model: Recommender, test: pl.DataFrame, k: int) -> float:
    """Mean over users of hits@k / min(k, #held out)."""
    users = test["user_id"].unique().sort()
    recs = model.recommend(users.to_numpy(), k=k)
    hits = recs.join(test, on=["user_id", "item_id"]).group_by("user_id").len("hits")
    held = test.group_by("user_id").len("held").join(hits, on="user_id", how="left")
    return float((held["hits"].fill_null(0) / held["held"].clip(upper_bound=k)).mean())


def test_beats_most_popular_on_a_leave_out(leave_out) -> None:
    train, test = leave_out
    vae = create_model(
        "mult_vae", hidden=200, latent=64, lr=3e-3, batch_size=64, epochs=4, seed=0
    ).fit(train)
    popular = create_model("most_popular").fit(train)
    vae_recall, popular_recall = _recall_at(vae, test, 20), _recall_at(popular, test, 20)
    assert vae_recall > popular_recall + 0.02, (vae_recall, popular_recall)


def test_beta_is_annealed_linearly_to_the_cap() -> None:
    model = create_model("mult_vae", total_anneal_steps=100, anneal_cap=0.2)
    assert [model._beta(s) for s in (0, 10, 20, 500)] == pytest.approx([0.0, 0.1, 0.2, 0.2])
    assert create_model("mult_vae", total_anneal_steps=0)._beta(0) == 0.2
