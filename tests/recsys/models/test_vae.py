"""Mult-VAE: beats popularity on a real leave-out, folds in natively, leaves torch's state alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from recsys.data.types import Dataset, Interactions
from recsys.models import Recommender, create_model
from recsys.models.vae import MultVAE

SMALL = {"hidden": 32, "latent": 8, "epochs": 3, "batch_size": 8}


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


def test_checkerboard_withheld_item_ranks_first(checkerboard) -> None:
    model = create_model("mult_vae", hidden=16, latent=4, epochs=200, batch_size=20, lr=1e-2)
    model.fit(checkerboard.train)
    users = np.array(sorted(checkerboard.held_out))
    top = model.recommend(users, k=1)
    assert dict(zip(top["user_id"].to_list(), top["item_id"].to_list(), strict=True)) == (
        checkerboard.held_out
    )


def test_fold_in_of_a_known_history_reproduces_its_scores(small_train: Interactions) -> None:
    model = create_model("mult_vae", **SMALL).fit(small_train)
    user = int(small_train.user_ids[5])
    history = small_train.to_frame().filter(pl.col("user_id") == user)
    folded = model.recommend_for_history(history, k=10, user_id=user)
    expected = model.recommend([user], k=10)
    assert folded["item_id"].to_list() == expected["item_id"].to_list()
    np.testing.assert_allclose(folded["score"], expected["score"], rtol=1e-5)


def test_fit_leaves_torch_global_state_alone(small_train: Interactions) -> None:
    threads, rng_state = torch.get_num_threads(), torch.get_rng_state()
    create_model("mult_vae", threads=threads + 1, **SMALL).fit(small_train)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.get_rng_state(), rng_state)


def test_seed_decides_the_weights(small_train: Interactions) -> None:
    def weights(seed: int) -> np.ndarray:
        model = create_model("mult_vae", seed=seed, **SMALL).fit(small_train)
        return model._get_state()["net.output.weight"]

    np.testing.assert_array_equal(weights(3), weights(3))
    assert not np.allclose(weights(3), weights(4))


def test_weights_are_saved_as_plain_arrays(small_train: Interactions, tmp_path: Path) -> None:
    model = create_model("mult_vae", **SMALL).fit(small_train)
    loaded = Recommender.load(model.save(tmp_path / "vae"))
    assert isinstance(loaded, MultVAE)
    with np.load(tmp_path / "vae" / "arrays.npz", allow_pickle=False) as arrays:
        assert arrays["state_net.encoder.weight"].shape == (32, small_train.shape[1])
    users = small_train.user_ids[:4]
    assert loaded.recommend(users, k=5).equals(model.recommend(users, k=5))


def test_beta_is_annealed_linearly_to_the_cap() -> None:
    model = create_model("mult_vae", total_anneal_steps=100, anneal_cap=0.2)
    assert [model._beta(s) for s in (0, 10, 20, 500)] == pytest.approx([0.0, 0.1, 0.2, 0.2])
    assert create_model("mult_vae", total_anneal_steps=0)._beta(0) == 0.2
