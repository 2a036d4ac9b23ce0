"""User- and item-kNN: hand-computed answers and exact agreement with scikit-surprise."""

from __future__ import annotations

import logging
import time

import numpy as np
import polars as pl
import pytest
from surprise import Dataset, KNNBaseline, KNNBasic, KNNWithMeans, Reader

from recsys.data.types import Interactions
from recsys.errors import ConfigError
from recsys.models import create_model
from recsys.models.explanation import ExplanationKind

log = logging.getLogger(__name__)

# u1: i1=5, i2=3 | u2: i1=4, i2=3, i3=2 | u3: i1=1, i3=5
TINY = pl.DataFrame(
    {
        "user_id": [1, 1, 2, 2, 2, 3, 3],
        "item_id": [1, 2, 1, 2, 3, 1, 3],
        "rating": [5.0, 3.0, 4.0, 3.0, 2.0, 1.0, 5.0],
    }
)
SURPRISE = {"none": KNNBasic, "mean": KNNWithMeans, "baseline": KNNBaseline}


def fit_tiny(**params: object) -> object:
    return create_model("user_knn", similarity="msd", **params).fit(Interactions.from_frame(TINY))


def test_user_knn_known_answers() -> None:
    # msd(u1,u2) = 1/(1/2 + 1) = 2/3 (diffs 1, 0); msd(u1,u3) = 1/(16 + 1) = 1/17
    # none, k=2: (2/3·2 + 1/17·5) / (2/3 + 1/17) = 83/37; k=1: only u2 -> 2
    assert fit_tiny(centering="none").predict([1], [3])[0] == pytest.approx(83 / 37)
    assert fit_tiny(centering="none", k=1).predict([1], [3])[0] == pytest.approx(2.0)
    # mean (means 4, 3, 3): 4 + (2/3·(2-3) + 1/17·(5-3)) / (37/51) = 4 - 28/37
    assert fit_tiny(centering="mean").predict([1], [3])[0] == pytest.approx(4 - 28 / 37)
    # min_k=3 is impossible with 2 raters: KNNBasic falls back to the global mean 23/7
    assert fit_tiny(centering="none", min_k=3).predict([1], [3])[0] == pytest.approx(23 / 7)


def test_unknown_ids_fall_back_like_surprise() -> None:
    none, baseline = fit_tiny(centering="none"), fit_tiny(centering="baseline")
    assert none.predict([99], [1])[0] == pytest.approx(23 / 7)  # impossible: global mean
    b = baseline.baselines_
    assert baseline.predict([99], [1])[0] == pytest.approx(b.mu + b.item_bias[0])
    assert baseline.predict([1], [99])[0] == pytest.approx(b.mu + b.user_bias[0])


def test_invalid_params_raise() -> None:
    with pytest.raises(ConfigError, match="similarity"):
        create_model("item_knn", similarity="euclid")
    with pytest.raises(ConfigError, match="centering"):
        create_model("user_knn", centering="median")
    with pytest.raises(ConfigError, match="unknown parameter"):
        create_model("user_knn", normalize=True)


def surprise_fit(algo: type, frame: pl.DataFrame, **sim_options: object) -> object:
    reader = Reader(rating_scale=(1, 5))
    data = Dataset.load_from_df(frame.select("user_id", "item_id", "rating").to_pandas(), reader)
    return algo(sim_options=dict(sim_options), verbose=False).fit(data.build_full_trainset())


CASES = [
    ("user_knn", dict(similarity="msd", centering="none"), {}),
    ("user_knn", dict(similarity="msd", centering="mean"), {}),
    ("user_knn", dict(similarity="msd", centering="baseline"), {}),
    ("user_knn", dict(similarity="pearson", centering="mean", k=10, min_k=2, min_support=3),
     {"name": "pearson", "min_support": 3}),
    ("item_knn", dict(similarity="cosine", centering="none", k=20),
     {"name": "cosine", "user_based": False}),
    ("item_knn", dict(similarity="pearson_baseline", centering="baseline", shrinkage=50),
     {"name": "pearson_baseline", "user_based": False, "shrinkage": 50}),
]


@pytest.mark.parametrize(("name", "params", "sim_options"), CASES)
def test_predictions_equal_surprise_on_a_u1_slice(
    u1: tuple[pl.DataFrame, pl.DataFrame], name: str, params: dict, sim_options: dict
) -> None:
    """Every prediction (not just the RMSE) equals Surprise's on a slice of ml-100k u1."""
    train, test = (f.filter((pl.col("user_id") <= 100) & (pl.col("item_id") <= 600)) for f in u1)
    model = create_model(name, **params).fit(Interactions.from_frame(train))
    ours = model.predict(test["user_id"].to_numpy(), test["item_id"].to_numpy())
    algo = surprise_fit(SURPRISE[params["centering"]], train, **sim_options)
    algo.k, algo.min_k = params.get("k", 40), params.get("min_k", 1)
    theirs = [algo.predict(u, i).est for u, i in test.select("user_id", "item_id").iter_rows()]
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "centering", "sim_options"),
    [
        ("user_knn", "none", {}),
        ("user_knn", "mean", {}),
        ("user_knn", "baseline", {}),
        ("item_knn", "baseline", {"name": "pearson_baseline", "user_based": False}),
    ],
)
def test_rmse_matches_surprise_on_u1(
    u1: tuple[pl.DataFrame, pl.DataFrame], name: str, centering: str, sim_options: dict
) -> None:
    """Surprise's defaults (k=40, min_k=1, msd or pearson_baseline/100) on the whole u1 fold."""
    train, test = u1
    similarity = sim_options.get("name", "msd")
    start = time.perf_counter()
    model = create_model(name, similarity=similarity, centering=centering)
    model.fit(Interactions.from_frame(train))
    our_fit = time.perf_counter() - start
    ours = model.predict(test["user_id"].to_numpy(), test["item_id"].to_numpy())
    start = time.perf_counter()
    algo = surprise_fit(SURPRISE[centering], train, **sim_options)
    their_fit = time.perf_counter() - start
    theirs = [algo.predict(u, i).est for u, i in test.select("user_id", "item_id").iter_rows()]
    truth = test["rating"].to_numpy()
    our_rmse = float(np.sqrt(np.mean((ours - truth) ** 2)))
    their_rmse = float(np.sqrt(np.mean((np.array(theirs) - truth) ** 2)))
    log.warning("%s %s: RMSE ours %.5f surprise %.5f; fit ours %.3fs surprise %.3fs",
                name, centering, our_rmse, their_rmse, our_fit, their_fit)
    assert abs(our_rmse - their_rmse) <= 0.005


@pytest.fixture(scope="module")
def item_knn(small_train: Interactions) -> object:
    return create_model("item_knn", similarity="cosine", shrinkage=10, k=20).fit(small_train)


def test_item_knn_similar_items_follow_the_similarity_matrix(item_knn: object) -> None:
    item = int(item_knn.train_.item_ids[0])
    similar = item_knn.similar_items([item], k=5)
    row = item_knn.sim_[0].toarray().ravel()
    expected = item_knn.train_.item_ids[np.argsort(-row, kind="stable")[:5]]
    assert similar["similar_item_id"].to_list() == expected.tolist()
    np.testing.assert_allclose(similar["score"], np.sort(row)[::-1][:5])


def test_item_knn_explain_names_the_rated_neighbours(item_knn: object) -> None:
    user = int(item_knn.train_.user_ids[0])
    item = int(item_knn.recommend([user], k=1)["item_id"][0])
    explanation = item_knn.explain(user, item, top=3)
    rated = item_knn.train_.to_frame().filter(pl.col("user_id") == user)
    ratings = dict(zip(rated["item_id"].to_list(), rated["rating"].to_list(), strict=True))
    assert 1 <= len(explanation.rated_items) <= 3
    for r in explanation.rated_items:
        assert ratings[r.item_id] == r.rating  # a neighbour the user rated
    weights = [r.contribution for r in explanation.rated_items]
    assert weights == sorted(weights, reverse=True)
    assert explanation.kind is ExplanationKind.RATED_ITEMS


def test_item_knn_top_n_scores_by_hand() -> None:
    """Top-N score = sum of the k-pruned similarities to the user's rated items."""
    model = create_model("item_knn", similarity="jaccard", k=1).fit(Interactions.from_frame(TINY))
    # jaccard: i1={u1,u2,u3}, i2={u1,u2}, i3={u2,u3}: J(1,2) = J(1,3) = 2/3, J(2,3) = 1/3.
    # k=1 keeps i3's best neighbour (i1, 2/3); u1 rated i1 and i2 -> score(i3) = 2/3
    recs = model.recommend([1], k=1)
    assert recs["item_id"].to_list() == [3]
    assert recs["score"][0] == pytest.approx(2 / 3)


def test_user_knn_explain_lists_similar_users() -> None:
    explanation = fit_tiny(centering="none").explain(1, 3)
    closest = explanation.neighbourhood.closest
    assert [u.user_id for u in closest] == [2, 3]
    assert closest[0].similarity == pytest.approx(2 / 3)



@pytest.mark.parametrize("name", ["item_knn", "user_knn"])
def test_top_k_only_ranks_and_explains_like_the_full_model(
    small_train: Interactions, name: str
) -> None:
    """Storing only the k nearest changes nothing that uses only the k nearest."""
    params = dict(similarity="cosine", shrinkage=10, k=8, centering="none")
    full = create_model(name, **params).fit(small_train)
    top = create_model(name, top_k_only=True, **params).fit(small_train)
    assert top.sim_.nnz <= 8 * top.sim_.shape[0] < full.sim_.nnz
    assert (top.top_ != full.top_).nnz == 0
    users = small_train.user_ids
    assert top.recommend(users, k=10).equals(full.recommend(users, k=10))
    if name == "item_knn":
        items = small_train.item_ids[:10]
        assert top.similar_items(items, k=8).equals(full.similar_items(items, k=8))


@pytest.mark.parametrize("name", ["item_knn", "user_knn"])
def test_top_k_only_predicts_like_the_full_model_when_k_covers_everyone(
    small_train: Interactions, name: str
) -> None:
    n = max(small_train.shape)
    params = dict(similarity="msd", centering="baseline", k=n)
    full = create_model(name, **params).fit(small_train)
    top = create_model(name, top_k_only=True, **params).fit(small_train)
    frame = small_train.to_frame()
    users, items = frame["user_id"].to_numpy(), frame["item_id"].to_numpy()[::-1]
    np.testing.assert_array_equal(top.predict(users, items), full.predict(users, items))
