"""The Surprise wrappers: same numbers as Surprise itself, a faithful Trainset, persistence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import surprise
from surprise.model_selection import PredefinedKFold

from recsys.data.types import Interactions
from recsys.errors import ConfigError
from recsys.models import Recommender, available_models, create_model
from recsys.models.surprise_models import (
    SURPRISE_MODELS,
    KNNBaselineParams,
    build_trainset,
    surprise_kwargs,
)

SEED = 7
# (registry name, the same algorithm built by hand, Surprise's default parameters)
DIRECT: list[tuple[str, Callable[[], surprise.AlgoBase]]] = [
    ("surprise_svd", lambda: surprise.SVD(random_state=SEED)),
    ("surprise_nmf", lambda: surprise.NMF(random_state=SEED)),
    ("surprise_co_clustering", lambda: surprise.CoClustering(random_state=SEED)),
    ("surprise_baseline_only", lambda: surprise.BaselineOnly(verbose=False)),
]
# Scored pair by pair through Surprise (or SVD++'s long fit): 10-40 s each on 2 busy cores.
SLOW_DIRECT: list[tuple[str, Callable[[], surprise.AlgoBase]]] = [
    ("surprise_slope_one", surprise.SlopeOne),
    ("surprise_knn_baseline", lambda: surprise.KNNBaseline(verbose=False)),
    ("surprise_svdpp", lambda: surprise.SVDpp(random_state=SEED, cache_ratings=True)),
    ("surprise_knn_basic", lambda: surprise.KNNBasic(verbose=False)),
    ("surprise_knn_with_means", lambda: surprise.KNNWithMeans(verbose=False)),
]


@pytest.fixture(scope="module")
def u1_surprise(mirror_dir: Path) -> tuple[surprise.Trainset, list]:
    """u1.base / u1.test loaded the way Surprise's own examples load them."""
    folder = mirror_dir / "ml-100k"
    data = surprise.Dataset.load_from_folds(
        [(str(folder / "u1.base"), str(folder / "u1.test"))], surprise.Reader("ml-100k")
    )
    return next(PredefinedKFold().split(data))


@pytest.fixture(scope="module")
def u1_train(u1: tuple[pl.DataFrame, pl.DataFrame]) -> Interactions:
    return Interactions.from_frame(u1[0])


def _rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.sqrt(np.mean((predicted - actual) ** 2)))


def _check_same_as_surprise(
    name: str,
    direct: Callable[[], surprise.AlgoBase],
    u1: tuple[pl.DataFrame, pl.DataFrame],
    u1_train: Interactions,
    u1_surprise: tuple[surprise.Trainset, list],
) -> None:
    test = u1[1]
    ours = create_model(name, seed=SEED).fit(u1_train).predict(test["user_id"], test["item_id"])
    trainset, testset = u1_surprise
    theirs = np.array([p.est for p in direct().fit(trainset).test(testset)])
    actual = test["rating"].to_numpy().astype(np.float64)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    assert _rmse(ours, actual) == pytest.approx(_rmse(theirs, actual), abs=1e-6)


@pytest.mark.parametrize(("name", "direct"), DIRECT, ids=[n for n, _ in DIRECT])
def test_u1_predictions_equal_surprise(name, direct, u1, u1_train, u1_surprise) -> None:
    _check_same_as_surprise(name, direct, u1, u1_train, u1_surprise)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "direct"), SLOW_DIRECT, ids=[n for n, _ in SLOW_DIRECT])
def test_u1_predictions_equal_surprise_slow(name, direct, u1, u1_train, u1_surprise) -> None:
    _check_same_as_surprise(name, direct, u1, u1_train, u1_surprise)


def test_normal_predictor_fits_surprises_distribution(u1, u1_train, u1_surprise) -> None:
    """Same mean and sigma as Surprise; our draws are seeded per user, Surprise's global."""
    model = create_model("surprise_normal_predictor", seed=SEED).fit(u1_train)
    theirs = surprise.NormalPredictor().fit(u1_surprise[0])
    assert model.algo_.sigma == pytest.approx(theirs.sigma, abs=1e-12)
    assert model.algo_.trainset.global_mean == pytest.approx(theirs.trainset.global_mean)
    test = u1[1]
    rmse = _rmse(model.predict(test["user_id"], test["item_id"]), test["rating"].to_numpy())
    assert rmse == pytest.approx(1.52, abs=0.05)  # Surprise's published ml-100k figure


def test_every_algorithm_is_registered() -> None:
    names = {spec.name for spec in SURPRISE_MODELS}
    assert len(names) == 10 and names <= set(available_models())


def test_trainset_numbers_ids_as_surprise_does() -> None:
    """Inner ids by first appearance in the (user, item)-sorted list; empty rows are unknown."""
    frame = pl.DataFrame(
        {"user_id": [10, 10, 30, 30], "item_id": [7, 5, 5, 9], "rating": [4.0, 2.0, 3.0, 1.5]}
    )
    train = Interactions.from_frame(frame, users=[20], items=[8])  # user 20, item 8: no ratings
    trainset, user_inner, item_inner = build_trainset(train)
    # Our rows: users [10, 20, 30]; columns: items [5, 7, 8, 9].
    assert user_inner.tolist() == [0, -1, 1, -1]
    assert item_inner.tolist() == [0, 1, -1, 2, -1]
    assert dict(trainset.ur) == {0: [(0, 2.0), (1, 4.0)], 1: [(0, 3.0), (2, 1.5)]}
    assert dict(trainset.ir) == {0: [(0, 2.0), (1, 3.0)], 1: [(0, 4.0)], 2: [(1, 1.5)]}
    assert (trainset.n_users, trainset.n_items, trainset.n_ratings) == (2, 3, 4)
    assert trainset.rating_scale == (1.5, 4.0)
    assert trainset.to_inner_uid(30) == 1 and trainset.to_inner_iid(9) == 2
    assert trainset.global_mean == pytest.approx(2.625)


def test_baseline_only_fallbacks_and_clipping() -> None:
    """Unknown user → mu + b_i, unknown item → mu + b_u, both unknown → mu (as Surprise)."""
    frame = pl.DataFrame(
        {"user_id": [1, 1, 2, 3], "item_id": [1, 2, 1, 2], "rating": [5.0, 4.0, 1.0, 2.0]}
    )
    model = create_model("surprise_baseline_only").fit(Interactions.from_frame(frame))
    algo, mu = model.algo_, 3.0
    expected = [
        mu + algo.bu[0] + algo.bi[0],
        mu + algo.bi[algo.trainset.to_inner_iid(2)],
        mu + algo.bu[algo.trainset.to_inner_uid(3)],
        mu,
    ]
    got = model.predict([1, 99, 3, 99], [1, 2, 99, 99])
    np.testing.assert_allclose(got, np.clip(expected, 1.0, 5.0))


@pytest.mark.parametrize("name", [s.name for s in SURPRISE_MODELS])
def test_top_n_scores_equal_rating_predictions(name: str, small_train: Interactions) -> None:
    """The batched scoring path and the pairwise prediction path agree for every algorithm."""
    model = create_model(name, seed=SEED).fit(small_train)
    users = small_train.user_ids[:3]
    recs = model.recommend(users, k=10, exclude_seen=False)
    np.testing.assert_allclose(
        recs["score"], model.predict(recs["user_id"], recs["item_id"]), rtol=1e-12
    )


@pytest.mark.parametrize("name", ["surprise_svdpp", "surprise_knn_with_means"])
def test_reloaded_model_is_a_working_surprise_algorithm(
    name: str, small_train: Interactions, tmp_path: Path
) -> None:
    """Array models are rebuilt from npz, the others refit; both answer Surprise's predict."""
    model = create_model(name, seed=SEED).fit(small_train)
    loaded = Recommender.load(model.save(tmp_path / name))
    user, item = (int(small_train.user_ids[2]), int(small_train.item_ids[5]))
    assert loaded.algo_.predict(user, item).est == pytest.approx(
        model.algo_.predict(user, item).est, abs=1e-12
    )
    assert loaded.predict([user], [item])[0] == pytest.approx(model.algo_.predict(user, item).est)
    assert not any(p.suffix == ".pkl" for p in (tmp_path / name).iterdir())


def test_options_are_grouped_for_surprise() -> None:
    params = KNNBaselineParams(similarity="pearson_baseline", user_based=False, reg_u=5.0)
    kwargs = surprise_kwargs(params, surprise.KNNBaseline)
    assert kwargs["sim_options"] == {
        "name": "pearson_baseline", "user_based": False, "min_support": 1, "shrinkage": 100
    }
    assert kwargs["bsl_options"]["reg_u"] == 5.0 and kwargs["bsl_options"]["method"] == "als"
    assert (kwargs["k"], kwargs["min_k"], kwargs["verbose"]) == (40, 1, False)
    assert "random_state" not in kwargs and "seed" not in kwargs
    assert surprise_kwargs(create_model("surprise_svd", seed=3).params, surprise.SVD)[
        "random_state"
    ] == 3


def test_bad_options_fail_loudly() -> None:
    with pytest.raises(ConfigError, match="similarity"):
        create_model("surprise_knn_basic", similarity="jaccard")
    with pytest.raises(ConfigError, match="baseline_method"):
        create_model("surprise_baseline_only", baseline_method="newton")
    with pytest.raises(ConfigError, match="lr_al"):
        create_model("surprise_svd", lr_al=0.1)
