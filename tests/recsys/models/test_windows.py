"""Rating-order windows, and the autoencoders that train on them and score by their mixture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
import torch

from recsys.data.types import Interactions
from recsys.errors import ConfigError, DataError
from recsys.models import create_model
from recsys.models.neural import dense
from recsys.models.windows import scoring_centres, time_ranks, training_centres, window_rows


def _history(seed: int = 5) -> tuple[sp.csr_matrix, np.ndarray]:
    """A 25 × 30 random rating matrix and a timestamp per entry, with ties."""
    rng = np.random.default_rng(seed)
    x = sp.random(25, 30, density=0.3, format="csr", random_state=rng, dtype=np.float32)
    x.data[:] = 4.0
    return x, rng.integers(0, 6, x.nnz).astype(np.float64)


def _time_order(x: sp.csr_matrix, times: np.ndarray, row: int) -> list[int]:
    """Row ``row``'s movies by time, equal times by movie index (a plain sort per row)."""
    span = slice(x.indptr[row], x.indptr[row + 1])
    return [item for _, item in sorted(zip(times[span], x.indices[span], strict=True))]


def test_time_ranks_number_each_users_ratings_in_time_order() -> None:
    x, times = _history()
    ranks = time_ranks(x, times)
    assert (ranks.indptr == x.indptr).all() and (ranks.indices == x.indices).all()
    for row in range(x.shape[0]):
        by_rank = ranks.indices[ranks.indptr[row]:ranks.indptr[row + 1]][
            np.argsort(ranks.data[ranks.indptr[row]:ranks.indptr[row + 1]])]
        assert by_rank.tolist() == _time_order(x, times, row)
        assert sorted(ranks[row].data) == list(range(1, x[row].nnz + 1))


@pytest.mark.parametrize("half", [0, 1, 3])
def test_windows_are_runs_of_the_rows_movies_in_rating_order(half: int) -> None:
    """Each window is the slice of the row's time-ordered movies around its centre; a movie
    missing from the row (carved out for validation) is in none of its windows."""
    x, times = _history()
    rows = x.copy()
    rows.data[::4] = 0  # a quarter of the ratings left out of the rows windows are cut from
    rows.eliminate_zeros()
    centres = scoring_centres(np.diff(rows.indptr), 2)
    windows = window_rows(time_ranks(x, times), rows, half, centres)
    assert windows.shape == (len(centres[0]), x.shape[1])
    for window, (owner, at) in enumerate(zip(*centres, strict=True)):
        kept = set(rows[owner].indices)
        order = [item for item in _time_order(x, times, owner) if item in kept]
        expected = order[max(at - half, 0):at + half + 1]
        assert sorted(windows[window].indices) == sorted(expected)
    assert set(np.unique(windows.data)) == {1.0}


def test_centres_cover_each_row_and_stay_inside_it() -> None:
    counts = np.array([0, 1, 5, 7])
    owners, positions = scoring_centres(counts, 3)
    assert list(zip(owners.tolist(), positions.tolist(), strict=True)) == [
        (1, 0), (2, 0), (2, 3), (3, 0), (3, 3), (3, 6)]
    owners, positions = training_centres(counts, 4, np.random.default_rng(0))
    assert owners.tolist() == [1] * 4 + [2] * 4 + [3] * 4
    assert ((positions >= 0) & (positions < counts[owners])).all()


# -- the autoencoders on windows ------------------------------------------------------------
@pytest.mark.parametrize("name", ["mult_vae", "mult_dae"])
def test_window_scores_are_the_mixture_of_history_and_window_distributions(
    name: str, small_train: Interactions
) -> None:
    """Scores of a known user are log(mix · p(·|history) + (1 − mix) · mean p(·|window)),
    the windows cut every window // 3 of its ratings in time order; a folded-in history
    (no timestamps) is scored by p(·|history) alone."""
    train = small_train
    model = create_model(name, hidden=32, latent=8, epochs=2, window=3, window_mix=0.3,
                         seed=0).fit(train)
    users = np.arange(4)
    rows = train.matrix[users]
    with torch.no_grad():
        history = torch.softmax(model.net_(dense(rows))[0], dim=1).numpy()
        expected = []
        for user in users:
            order = np.array(_time_order(train.matrix, train.times, user))
            cut = [order[max(c - 3, 0):c + 4] for c in range(0, len(order), 1)]
            x = np.zeros((len(cut), train.shape[1]), dtype=np.float32)
            for r, items in enumerate(cut):
                x[r, items] = 1.0
            windows = torch.softmax(model.net_(torch.from_numpy(x))[0], dim=1).numpy().mean(0)
            expected.append(np.log(0.3 * history[user] + 0.7 * windows))
    np.testing.assert_allclose(model._score(users, rows), np.array(expected), rtol=2e-4,
                               atol=2e-5)
    folded = model._score(np.full(2, -2), rows[:2])
    np.testing.assert_allclose(folded, np.log(history[:2]), rtol=2e-4, atol=2e-5)


def test_window_training_loss_falls_saves_and_reloads(small_train: Interactions,
                                                      tmp_path: Path) -> None:
    train = small_train
    model = create_model("mult_vae", hidden=64, latent=16, epochs=6, batch_size=128,
                         lr=3e-3, window=5, seed=1).fit(train)
    losses = [point["loss"] for point in model.learning_curve()]
    assert losses[-1] < losses[0]
    loaded = type(model).load(model.save(tmp_path / "windowed"))
    users = train.user_ids[:20]
    assert loaded.recommend(users, k=10).equals(model.recommend(users, k=10))
    history = pl.DataFrame({"item_id": train.item_ids[:5], "rating": [4.0] * 5})
    assert loaded.recommend_for_history(history, k=5).height == 5
    again = create_model("mult_vae", hidden=64, latent=16, epochs=6, batch_size=128,
                         lr=3e-3, window=5, seed=1).fit(train)
    assert again.recommend(users, k=10).equals(model.recommend(users, k=10))  # seeded


def test_window_scores_read_only_the_movies_of_the_rows_scored(
    small_train: Interactions
) -> None:
    """Early stopping scores the fit part of a carve: scoring rows with ratings left out gives
    exactly the scores of a model whose rating order never held those ratings."""
    train = small_train
    model = create_model("mult_dae", hidden=32, latent=8, epochs=2, window=4, seed=2).fit(train)
    kept = np.random.default_rng(3).random(train.matrix.nnz) < 0.7
    carved = train.keeping(kept)
    users = np.arange(10)
    scores = model._score(users, carved.matrix[users])
    model.ranks_ = time_ranks(carved.matrix, carved.times)
    np.testing.assert_array_equal(model._score(users, carved.matrix[users]), scores)


def test_window_needs_timestamps_and_sane_settings(small_ratings: pl.DataFrame) -> None:
    untimed = Interactions.from_frame(small_ratings.drop("timestamp"))
    with pytest.raises(DataError, match="mult_vae with window needs each training rating's "
                                        "timestamp.*window=None"):
        create_model("mult_vae", epochs=1, window=5).fit(untimed)
    for bad in ({"window": 0}, {"window": -3}, {"windows": 0}, {"window_mix": 1.5},
                {"window_mix": -0.1}, {"window": 2.5}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            create_model("mult_dae", **bad)
