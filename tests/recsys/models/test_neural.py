"""The PyTorch models: they learn (loss falls, the checkerboard's withheld movie ranks first),
are deterministic under a seed, stop early on ratings carved from training, persist weights
with their config and learning curve, and leave torch's global state alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import torch

from recsys.data.types import Interactions
from recsys.models import Recommender, create_model
from recsys.models.neural import (
    VALID_METRIC,
    NeuralRecommender,
    carve_validation,
    epoch_listener,
)
from recsys.models.sampled import UniformBPR, independent_runs

# Small networks that learn the 20 × 16 checkerboard in about a second each.
CHECKERBOARD_PARAMS: dict[str, dict[str, Any]] = {
    "mult_vae": {"hidden": 16, "latent": 4, "epochs": 30, "batch_size": 10, "lr": 3e-2,
                 "total_anneal_steps": 50},
    "mult_dae": {"hidden": 16, "latent": 4, "epochs": 30, "batch_size": 10, "lr": 3e-2},
    "recvae": {"hidden": 16, "latent": 4, "epochs": 8, "batch_size": 10, "lr": 3e-2},
    "neumf": {"factors": 4, "layers": [8, 4], "epochs": 20, "batch_size": 64, "lr": 3e-2},
    "two_tower": {"dim": 8, "epochs": 15, "batch_size": 32, "lr": 3e-2},
    "bpr_uniform": {"factors": 4, "epochs": 15, "lr": 0.1},
}
NEURAL = sorted(CHECKERBOARD_PARAMS)
# One or two quick epochs on the 40 × 60 real slice.
TINY: dict[str, dict[str, Any]] = {
    name: {**params, "epochs": 2, "batch_size": 256} for name, params in CHECKERBOARD_PARAMS.items()
}


@pytest.mark.parametrize("name", NEURAL)
def test_loss_falls_and_the_withheld_item_ranks_first(name: str, checkerboard: Any) -> None:
    model = create_model(name, **CHECKERBOARD_PARAMS[name]).fit(checkerboard.train)
    losses = [point["loss"] for point in model.learning_curve()]
    assert len(losses) == CHECKERBOARD_PARAMS[name]["epochs"]
    assert losses[-1] < 0.9 * losses[0]
    users = np.array(sorted(checkerboard.held_out))
    top = model.recommend(users, k=1)
    assert dict(zip(top["user_id"].to_list(), top["item_id"].to_list(), strict=True)) == (
        checkerboard.held_out
    )


@pytest.mark.parametrize("name", NEURAL)
def test_the_seed_decides_the_weights_and_global_state_is_left_alone(
    name: str, small_train: Interactions
) -> None:
    threads, rng_state = torch.get_num_threads(), torch.get_rng_state()

    def weights(seed: int) -> dict[str, np.ndarray]:
        model = create_model(name, seed=seed, threads=threads + 1, **TINY[name])
        return model.fit(small_train)._get_state()

    first, again, other = weights(3), weights(3), weights(4)
    assert all(np.array_equal(first[key], again[key]) for key in first)
    assert not all(np.allclose(first[key], other[key]) for key in first)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.get_rng_state(), rng_state)


@pytest.mark.parametrize("name", NEURAL)
def test_save_load_keeps_weights_config_and_curve(
    name: str, small_train: Interactions, tmp_path: Path
) -> None:
    model = create_model(name, **TINY[name]).fit(small_train)
    loaded = Recommender.load(model.save(tmp_path / name))
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    assert loaded.learning_curve() == model.learning_curve()
    users = small_train.user_ids[:4]
    assert loaded.recommend(users, k=5).equals(model.recommend(users, k=5))


@pytest.mark.parametrize("name", NEURAL)
def test_an_epoch_listener_hears_every_epoch_inside_its_block_only(
    name: str, small_train: Interactions
) -> None:
    heard: list[tuple[str, int, int, dict[str, float]]] = []
    model = create_model(name, **TINY[name])
    with epoch_listener(lambda *event: heard.append(event)):
        model.fit(small_train)
    assert [(n, e, total) for n, e, total, _ in heard] == [(name, 1, 2), (name, 2, 2)]
    assert [point for *_, point in heard] == model.learning_curve()
    model.fit(small_train)  # outside the block: no listener
    assert len(heard) == 2


@pytest.mark.parametrize("name", ["mult_dae", "neumf"])
def test_early_stopping_keeps_the_best_epoch_on_ratings_carved_from_training(
    name: str, small_train: Interactions
) -> None:
    """Training stops ``patience`` epochs after the best validation epoch, whose weights are
    kept: re-scoring the same carve (the model's first draw from its seed) gives the best."""
    params = {**CHECKERBOARD_PARAMS[name], "epochs": 200, "patience": 2, "valid_fraction": 0.2}
    model = create_model(name, **params).fit(small_train)
    scores = [point[VALID_METRIC] for point in model.learning_curve()]
    assert len(scores) < params["epochs"]
    assert len(scores) - 1 - int(np.argmax(scores)) == params["patience"]
    fit, valid = carve_validation(small_train.matrix, 0.2, np.random.default_rng(params.get(
        "seed", 42)))
    assert fit.nnz + valid.nnz == small_train.nnz and not fit.multiply(valid).nnz
    assert isinstance(model, NeuralRecommender)
    assert model._validation_score(fit, valid) == pytest.approx(max(scores), abs=1e-9)


def test_carving_keeps_a_rating_of_every_user() -> None:
    frame = pl.DataFrame({"user_id": [1, 1, 2, 3, 3, 3], "item_id": [1, 2, 1, 1, 2, 3],
                          "rating": [1.0] * 6})
    matrix = Interactions.from_frame(frame).matrix
    fit, valid = carve_validation(matrix, 0.99, np.random.default_rng(0))
    assert (np.diff(fit.indptr) >= 1).all()
    assert fit.nnz + valid.nnz == matrix.nnz


def test_bpr_skips_negatives_the_user_rated() -> None:
    """Every movie rated by every user: each drawn negative is skipped, so nothing is learned
    (zero loss, the seeded initial weights whatever the number of epochs)."""
    users, items = np.meshgrid(np.arange(1, 6), np.arange(1, 5), indexing="ij")
    full = Interactions.from_frame(pl.DataFrame({
        "user_id": users.ravel(), "item_id": items.ravel(), "rating": [4.0] * users.size}))

    def fitted(epochs: int) -> Recommender:
        return create_model("bpr_uniform", factors=4, epochs=epochs).fit(full)

    once, thrice = fitted(1), fitted(3)
    assert [point["loss"] for point in thrice.learning_curve()] == [0.0] * 3
    assert all(np.array_equal(value, thrice._get_state()[key])
               for key, value in once._get_state().items())


def test_independent_runs_break_where_a_row_repeats() -> None:
    """A run ends where a row of the run repeats (movie 5, then user 3); user 0's second step
    joins the second run, which has not touched it."""
    rows = np.array([[0, 5, 6], [1, 7, 8], [2, 5, 9], [3, 10, 11], [0, 12, 13], [3, 14, 15]])
    assert independent_runs(rows) == [0, 2, 5, 6]
    assert independent_runs(np.zeros((0, 3), dtype=np.int64)) == [0, 0]


def test_bpr_epoch_is_one_sgd_step_per_triple_in_order(
    small_train: Interactions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One epoch equals LearnBPR's loop over the same triples, one triple after another."""
    params = {"factors": 3, "lr": 0.1, "regularization": 0.01, "seed": 5}
    drawn: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    starts: list[dict[str, np.ndarray]] = []  # the weights before the first epoch
    draw, begin = UniformBPR._triples, UniformBPR._start
    monkeypatch.setattr(UniformBPR, "_triples",
                        lambda self, n_items: drawn.append(draw(self, n_items)) or drawn[-1])
    monkeypatch.setattr(UniformBPR, "_start", lambda self, matrix: starts.append(
        {k: v.copy() for k, v in self._get_state().items()}) or begin(self, matrix))
    trained = create_model("bpr_uniform", epochs=1, **params).fit(small_train)._get_state()
    start = starts[0]
    p, q = start["net.users.weight"].copy(), start["net.items.weight"].copy()
    b = start["net.bias.weight"][:, 0].copy()
    lr, reg = params["lr"], params["regularization"]
    for u, i, j in zip(*drawn[0], strict=True):
        z = 1.0 / (1.0 + np.exp(p[u] @ (q[i] - q[j]) + b[i] - b[j]))
        pu = p[u].copy()
        p[u] += lr * (z * (q[i] - q[j]) - reg * p[u])
        q[i] += lr * (z * pu - reg * q[i])
        q[j] += lr * (-z * pu - reg * q[j])
        b[i] += lr * (z - reg * b[i])
        b[j] += lr * (-z - reg * b[j])
    assert len(drawn[0][0]) > 100
    np.testing.assert_allclose(trained["net.users.weight"], p, atol=1e-5)
    np.testing.assert_allclose(trained["net.items.weight"], q, atol=1e-5)
    np.testing.assert_allclose(trained["net.bias.weight"][:, 0], b, atol=1e-5)
