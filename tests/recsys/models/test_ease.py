"""EASE: the closed form by hand, fold-in, and a ranking sanity check on ml-100k."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from recsys.data.types import Interactions
from recsys.errors import ConfigError, DataError
from recsys.linalg import PROXIMITY_FLOOR, gram_matrix, proximity_gram
from recsys.models import create_model

FRAME = pl.DataFrame(
    {
        "user_id": [1, 1, 2, 2, 2, 3, 3, 4],
        "item_id": [1, 2, 1, 2, 3, 2, 3, 1],
        "rating": [5.0, 4.0, 3.0, 5.0, 4.0, 2.0, 5.0, 4.0],
    }
)


def closed_form(x: np.ndarray, reg: float) -> np.ndarray:
    """Steck (2019), eq. 8, in float64: B = I - P diagMat(1 / diag(P))."""
    p = np.linalg.inv(x.T @ x + reg * np.eye(x.shape[1]))
    return np.eye(x.shape[1]) - p / np.diag(p)


@pytest.mark.parametrize("binary", [True, False])
def test_weights_equal_the_closed_form(binary: bool) -> None:
    train = Interactions.from_frame(FRAME)
    model = create_model("ease", reg=2.0, binary=binary).fit(train)
    x = train.matrix.toarray()
    expected = closed_form((x > 0).astype(float) if binary else x, 2.0)
    np.testing.assert_allclose(model.weights_, expected, rtol=1e-5, atol=1e-6)
    assert model.weights_.dtype == np.float32 and not np.diag(model.weights_).any()


def test_scores_explain_and_similar_items() -> None:
    model = create_model("ease", reg=2.0).fit(Interactions.from_frame(FRAME))
    b = model.weights_
    order = [2, 3] if b[0, 1] > b[0, 2] else [3, 2]
    recs = model.recommend([4], k=2)  # user 4 has only item 1: the scores are row 0 of B
    assert recs["item_id"].to_list() == order
    np.testing.assert_allclose(recs["score"], np.sort(b[0, 1:])[::-1], rtol=1e-6)
    explanation = model.explain(4, 2)
    assert explanation.rated_items[0].item_id == 1
    assert explanation.rated_items[0].rating == 4.0
    similar = model.similar_items([1], k=2)
    assert similar["similar_item_id"].to_list() == order


def test_invalid_params_raise() -> None:
    with pytest.raises(ConfigError):
        create_model("ease", reg=0.0)
    with pytest.raises(ConfigError, match="max_items"):
        create_model("ease", max_items=0)


def test_ease_ranks_held_out_movies_far_above_popularity(mirror_dir: Path) -> None:
    """Sanity on ml-100k: 20% of each user's ratings held out at random, recall@20."""
    ratings = pl.read_csv(
        mirror_dir / "ml-100k" / "u.data", separator="\t", has_header=False,
        new_columns=["user_id", "item_id", "rating", "timestamp"],
    )
    rng = np.random.default_rng(0)
    held = pl.Series(rng.random(ratings.height) < 0.2)
    train, test = ratings.filter(~held), ratings.filter(held)
    interactions = Interactions.from_frame(train)
    test = test.filter(pl.col("item_id").is_in(interactions.item_ids.tolist()))
    users = test["user_id"].unique().sort().to_numpy()

    def recall(name: str, **params: float) -> float:
        recs = create_model(name, **params).fit(interactions).recommend(users, k=20)
        hits = recs.join(test, on=["user_id", "item_id"]).group_by("user_id").len()
        sizes = test.group_by("user_id").len().rename({"len": "n"})
        per_user = sizes.join(hits, on="user_id", how="left").fill_null(0)
        return float((per_user["len"] / per_user["n"].clip(upper_bound=20)).mean())

    ease, popular = recall("ease", reg=300.0), recall("most_popular")
    assert ease > 0.30 and ease > 1.3 * popular, (ease, popular)  # measured 0.456 vs 0.226


def test_gram_matrix_equals_the_sparse_product(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("recsys.linalg._BLOCK_CELLS", 3 * 7)  # 3 rows a block
    rng = np.random.default_rng(3)
    x = sp.csr_matrix((rng.random((12, 7)) < 0.4) * rng.integers(1, 6, (12, 7)), dtype=np.float32)
    gram = gram_matrix(x)
    assert gram.dtype == np.float32
    np.testing.assert_array_equal(gram, (x.T @ x).toarray())


@pytest.fixture(scope="module")
def restricted(small_train: Interactions) -> tuple[object, object, np.ndarray]:
    """EASE on the 25 most-rated of the 60 items, plain EASE, and the item rating counts."""
    counts = np.diff(small_train.matrix.tocsc().indptr)
    plain = create_model("ease", reg=50.0).fit(small_train)
    return create_model("ease", reg=50.0, max_items=25).fit(small_train), plain, counts


def test_max_items_covering_every_item_is_plain_ease(small_train: Interactions) -> None:
    n = small_train.shape[1]
    plain = create_model("ease", reg=50.0, max_items=None).fit(small_train)
    for max_items in (n, n + 1):
        same = create_model("ease", reg=50.0, max_items=max_items).fit(small_train)
        assert same.covered_ is None
        np.testing.assert_array_equal(same.weights_, plain.weights_)
        users = small_train.user_ids
        assert same.recommend(users, k=10).equals(plain.recommend(users, k=10))


def test_restricted_ease_is_ease_on_the_most_rated_items(
    small_train: Interactions, restricted: tuple
) -> None:
    model, _, counts = restricted
    order = np.lexsort((np.arange(len(counts)), -counts))
    np.testing.assert_array_equal(model.covered_, np.sort(order[:25]))
    x = (small_train.matrix[:, model.covered_].toarray() > 0).astype(float)
    np.testing.assert_allclose(model.weights_, closed_form(x, 50.0), rtol=1e-4, atol=1e-6)


def test_uncovered_items_rank_after_covered_ones_by_popularity(
    small_train: Interactions, restricted: tuple
) -> None:
    model, _, counts = restricted
    user = int(small_train.user_ids[0])
    recs = model.recommend([user], k=small_train.shape[1])
    ranked = small_train.item_index(recs["item_id"].to_numpy())
    is_covered = np.isin(ranked, model.covered_)
    assert is_covered[: is_covered.sum()].all()  # every covered item comes first
    tail = counts[ranked[~is_covered]]
    assert (np.diff(tail) <= 0).all() and np.isfinite(recs["score"].to_numpy()).all()


def test_restricted_ease_similar_items_explain_and_round_trip(
    small_train: Interactions, restricted: tuple, tmp_path: Path
) -> None:
    model, _, _ = restricted
    cold = int(np.setdiff1d(np.arange(small_train.shape[1]), model.covered_)[0])
    cold_id, warm_id = small_train.item_ids[cold], small_train.item_ids[model.covered_[0]]
    assert model.similar_items([cold_id], k=5).is_empty()
    similar = model.similar_items([warm_id], k=30)["similar_item_id"].to_numpy()
    assert len(similar) == 24 and np.isin(small_train.item_index(similar), model.covered_).all()
    user = int(small_train.user_ids[0])
    assert model.explain(user, int(cold_id)).rated_items == ()
    loaded = type(model).load(model.save(tmp_path / "ease"))
    np.testing.assert_array_equal(loaded.covered_, model.covered_)
    users = small_train.user_ids
    assert loaded.recommend(users, k=10).equals(model.recommend(users, k=10))


def test_batches_ranked_in_parallel_give_the_serial_lists() -> None:
    from threadpoolctl import threadpool_limits

    from recsys.models.base import scoring_threads

    rng = np.random.default_rng(5)
    frame = pl.DataFrame({"user_id": rng.integers(0, 1_300, 30_000),
                          "item_id": rng.integers(0, 300, 30_000),
                          "rating": rng.integers(1, 6, 30_000).astype(float)})
    train = Interactions.from_frame(frame)
    model = create_model("ease", reg=20.0, max_items=200).fit(train)  # > 2 batches of users
    users = train.user_ids
    with threadpool_limits(limits=1):
        assert scoring_threads() == 1
        serial = model.recommend(users, k=20)
    assert model.parallel_scoring and scoring_threads() >= 1
    assert model.recommend(users, k=20).equals(serial)
    assert serial["user_id"].unique(maintain_order=True).to_list() == users.tolist()


def test_a_dense_inverse_beyond_lapacks_reach_is_refused_not_crashed() -> None:
    from recsys.linalg import spd_inverse

    too_big = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), (23_171, 23_171), (0, 0))
    with pytest.raises(ConfigError, match="max_items"):
        spd_inverse(too_big)  # 2.0 GiB: refused before LAPACK sees it
    np.testing.assert_allclose(spd_inverse(np.eye(3, dtype=np.float32) * 2), np.eye(3) / 2)


def test_saved_dense_weights_are_memory_mapped(tmp_path: Path) -> None:
    """A loaded EASE maps its weights file (a server reads only the rows it scores); a model
    saved with the weights inside its npz still loads."""
    train = Interactions.from_frame(FRAME)
    model = create_model("ease", reg=2.0).fit(train)
    loaded = type(model).load(model.save(tmp_path / "ease"))
    assert isinstance(loaded.weights_, np.memmap) and not loaded.weights_.flags.writeable
    with np.load(tmp_path / "ease" / "arrays.npz") as arrays:
        assert "state_weights" not in arrays.files
    np.testing.assert_array_equal(loaded.weights_, model.weights_)
    users = np.array([1, 2, 3])
    assert loaded.recommend(users, 2).equals(model.recommend(users, 2))
    (tmp_path / "ease" / "weights.npy").unlink()  # the layout saved before
    with np.load(tmp_path / "ease" / "arrays.npz") as arrays:
        np.savez(tmp_path / "ease" / "arrays.npz", **arrays, state_weights=model.weights_)
    assert type(model).load(tmp_path / "ease").recommend(users, 2).equals(
        model.recommend(users, 2))


# -- proximity: co-rated pairs weighted by their distance in the user's rating order ---------
def _random_history(seed: int = 3) -> tuple[sp.csr_matrix, np.ndarray]:
    """A 30 × 12 random rating matrix and a timestamp per entry, with ties."""
    rng = np.random.default_rng(seed)
    x = sp.random(30, 12, density=0.4, format="csr", random_state=rng, dtype=np.float64)
    x.data = rng.integers(1, 6, x.nnz).astype(np.float64)
    return x, rng.integers(0, 8, x.nnz).astype(np.float64)


def brute_force_proximity(x: sp.csr_matrix, times: np.ndarray, tau: float) -> np.ndarray:
    """Σ_u x_ui x_uj exp(-|rank_ui - rank_uj| / τ) by a loop over every pair of every row,
    leaving out the pairs whose kernel is under the floor."""
    gram = np.zeros((x.shape[1], x.shape[1]))
    for row in range(x.shape[0]):
        span = slice(x.indptr[row], x.indptr[row + 1])
        items, values, when = x.indices[span], x.data[span], times[span]
        rank = pl.Series(when).rank("average").to_numpy() - 1.0
        for a in range(len(items)):
            for b in range(len(items)):
                weight = np.exp(-abs(rank[a] - rank[b]) / tau)
                if weight < PROXIMITY_FLOOR:
                    continue
                gram[items[a], items[b]] += values[a] * values[b] * weight
    return gram


@pytest.mark.parametrize("tau", [0.5, 3.0])
def test_proximity_gram_equals_the_pairwise_sum(tau: float) -> None:
    x, times = _random_history()
    np.testing.assert_allclose(proximity_gram(x, times, tau), brute_force_proximity(x, times, tau),
                               rtol=1e-5, atol=1e-5)


def test_proximity_gram_tends_to_the_gram_matrix_and_restricts_to_columns() -> None:
    x, times = _random_history()
    np.testing.assert_allclose(proximity_gram(x, times, 1e9), (x.T @ x).toarray(), rtol=1e-5)
    full = proximity_gram(x, times, 2.0)
    columns = np.array([1, 4, 5, 9])
    np.testing.assert_array_equal(proximity_gram(x, times, 2.0, columns),
                                  full[np.ix_(columns, columns)])


def test_proximity_ranks_what_was_rated_next_to_a_movie_first() -> None:
    """Users 1-4 rate movies 1, 2, 3 in that order, users 5-6 rate 1, 3, 2: movies 2 and 3
    are co-rated with 1 equally often, so plain EASE ties them for user 7, who has rated 1
    only; by rating order 2 was rated next to 1 more often, and comes first."""
    rows = [(user, item, at) for user in range(1, 7)
            for at, item in enumerate((1, 2, 3) if user <= 4 else (1, 3, 2))]
    frame = pl.DataFrame(rows + [(7, 1, 0)], schema=["user_id", "item_id", "timestamp"],
                         orient="row").with_columns(rating=pl.lit(4.0))
    train = Interactions.from_frame(frame)
    plain = create_model("ease", reg=1.0).fit(train)
    near = create_model("ease", reg=1.0, proximity=1.0).fit(train)
    assert plain.weights_[0, 1] == pytest.approx(plain.weights_[0, 2], rel=1e-6)
    assert near.weights_[0, 1] > near.weights_[0, 2]
    assert near.recommend([7], k=1)["item_id"].to_list() == [2]
    at_once = Interactions.from_frame(frame.with_columns(timestamp=pl.lit(0)))
    np.testing.assert_allclose(create_model("ease", reg=1.0, proximity=1.0).fit(at_once).weights_,
                               plain.weights_, rtol=1e-6)  # one sitting: a set, plain EASE


def test_proximity_needs_timestamps_and_a_positive_tau() -> None:
    with pytest.raises(DataError, match="timestamp"):
        create_model("ease", proximity=5.0).fit(Interactions.from_frame(FRAME))
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ConfigError, match="proximity"):
            create_model("ease", proximity=bad)


def test_proximity_ease_learns_inside_ensembles_saves_and_reloads(
    small_ratings: pl.DataFrame, tmp_path: Path
) -> None:
    """The ensembles' validation carves keep the timestamps their proximity components read."""
    train = Interactions.from_frame(small_ratings)
    near = {"name": "ease", "params": {"reg": 50.0, "proximity": 10.0}}
    blend = create_model("hybrid_blend", components=[near, {"name": "most_popular"}]).fit(train)
    assert blend.recommend(train.user_ids[:3], k=5).height == 15
    model = create_model("ease", **near["params"]).fit(train)
    loaded = type(model).load(model.save(tmp_path / "near"))
    assert loaded.params.proximity == 10.0
    assert loaded.recommend(train.user_ids, k=10).equals(model.recommend(train.user_ids, k=10))


def test_timestamps_that_are_not_all_known_are_no_order() -> None:
    timed = FRAME.with_columns(timestamp=pl.Series([1.0, 2.0, 3.0, float("nan"), 5.0, 6.0,
                                                    7.0, 8.0]))
    assert Interactions.from_frame(timed).times is None
    assert Interactions.from_frame(timed.with_columns(timestamp=pl.lit(None))).times is None
