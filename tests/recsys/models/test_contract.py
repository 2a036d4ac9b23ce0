"""The behavioural contract every registered model honours (parametrized over the registry).

A model added to the registry is covered automatically. Give it small, fast hyper-parameters
in ``FAST_PARAMS`` and list it in ``CHECKERBOARD`` if it learns item co-occurrence. Peers that
need the optional ``peers`` install run in the slow suite (CI installs the extra there) and are
skipped where their library is missing.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from recsys.data.types import Dataset, Interactions, TrainingData
from recsys.errors import (
    ArgumentError,
    DataError,
    NotFittedError,
    RecsysError,
    UnknownIdError,
    UnsupportedError,
)
from recsys.models import Capability, Recommender, available_models, create_model
from recsys.models.base import RECOMMENDATION_SCHEMA, SIMILARITY_SCHEMA, Explanation
from recsys.models.peers import PeerRecommender
from recsys.models.registry import get_model_class
from recsys.service.explanations import describe

FAST_PARAMS: dict[str, dict[str, Any]] = {
    "item_knn": {"k": 20},
    "user_knn": {"k": 20},
    "ease": {"reg": 10.0},
    "rp3beta": {"k": 20},
    "als": {"factors": 8, "iterations": 3},
    "bpr": {"factors": 8, "iterations": 10},
    "mult_vae": {"hidden": 32, "latent": 8, "epochs": 2, "batch_size": 16},
    "mult_dae": {"hidden": 32, "latent": 8, "epochs": 2, "batch_size": 16},
    "recvae": {"hidden": 16, "latent": 8, "epochs": 1, "batch_size": 16},
    "neumf": {"factors": 4, "layers": [8, 4], "epochs": 1, "batch_size": 256},
    "two_tower": {"dim": 8, "epochs": 1, "batch_size": 128},
    "bpr_uniform": {"factors": 8, "epochs": 2},
    "surprise_svd": {"n_factors": 8, "n_epochs": 3},
    "surprise_svdpp": {"n_factors": 4, "n_epochs": 2},
    "surprise_nmf": {"n_factors": 4, "n_epochs": 5},
    "surprise_co_clustering": {"n_epochs": 3},
    "hybrid_blend": {"components": [{"name": "ease", "params": {"reg": 10.0}},
                                    {"name": "content", "params": {}}]},
    "hybrid_switch": {"collaborative": {"name": "ease", "params": {"reg": 10.0}}},
    "hybrid_collective_ease": {"reg": 10.0},
    "rating_blend": {"components": [{"name": "bias", "params": {}},
                                    {"name": "item_knn", "params": {"k": 20}}]},
    "peer:cornac.bpr": {"k": 8, "max_iter": 5},
    "peer:cornac.bivae": {"k": 4, "encoder_structure": [8], "n_epochs": 2, "batch_size": 16},
    "peer:implicit.als": {"factors": 8, "iterations": 3},
    "peer:implicit.bpr": {"factors": 8, "iterations": 10},
    "peer:lenskit.item_knn": {"feedback": "implicit"},
    "peer:lenskit.implicit_mf": {"embedding_size": 8, "epochs": 3},
    "peer:spark.als": {"rank": 4, "maxIter": 3},
    "peer:surprise.svd": {"n_factors": 8, "n_epochs": 3},
}
# Models that learn co-occurrence and must rank the withheld checkerboard item first.
CHECKERBOARD = {"item_knn", "user_knn", "ease", "rp3beta", "peer:lenskit.item_knn"}
# Models whose fold-in of a known user's history reproduces that user's scores exactly
# (an ALS fold-in re-solves the user factors, so it only approximates the trained ones).
FOLD_IN_EXACT = {"item_knn", "ease", "rp3beta", "most_popular", "content", "hybrid_blend",
                 "mult_vae", "mult_dae", "recvae", "two_tower",
                 "hybrid_switch", "hybrid_collective_ease"}
# Models whose explanation decomposes a re-solved score rather than the trained one.
SCORE_RESOLVED = {"als"}
K = 5


def _case(name: str) -> Any:
    """``name``, or for a peer of the optional install: slow, and skipped when it is missing."""
    cls = get_model_class(name)
    if not (issubclass(cls, PeerRecommender) and cls.extra):
        return name
    missing = pytest.mark.skipif(not cls.available(), reason=cls.missing_message())
    return pytest.param(name, marks=[pytest.mark.slow, missing])


MODELS = [_case(name) for name in available_models()]


def make(name: str) -> Recommender:
    """A fresh model with its fast test parameters."""
    return create_model(name, **FAST_PARAMS.get(name, {}))


@pytest.fixture(scope="module", params=MODELS)
def fitted(
    request: pytest.FixtureRequest, small_train: Interactions, ml_small: Dataset
) -> Recommender:
    """Each registered model, fitted once on the small real slice (catalogue: ml_small)."""
    return make(request.param).fit(TrainingData.for_serving(small_train, ml_small))


@pytest.fixture(scope="module")
def users(small_train: Interactions) -> np.ndarray:
    """A few known user ids."""
    return small_train.user_ids[[0, 3, 7, 12]]


def seen_pairs(train: Interactions) -> set[tuple[int, int]]:
    frame = train.to_frame()
    return set(zip(frame["user_id"].to_list(), frame["item_id"].to_list(), strict=True))


@pytest.mark.parametrize("name", MODELS)
def test_fit_returns_self(name: str, checkerboard: Any, ml_small: Dataset) -> None:
    model = make(name)
    assert model.fit(TrainingData.for_serving(checkerboard.train, ml_small)) is model
    users = checkerboard.train.user_ids[:2]
    n_items = checkerboard.train.shape[1]
    recs = model.recommend(users, k=n_items, exclude_seen=False)
    assert set(recs["item_id"].to_list()) <= set(checkerboard.train.item_ids.tolist())


@pytest.mark.parametrize("name", MODELS)
def test_not_fitted_raises(name: str) -> None:
    model = make(name)
    with pytest.raises(NotFittedError):
        model.recommend([1], k=K)
    with pytest.raises(NotFittedError):
        model.save("/nonexistent/never-written")


def test_schema_k_and_ranks(fitted: Recommender, users: np.ndarray) -> None:
    recs = fitted.recommend(users, k=K)
    assert recs.schema == pl.Schema(RECOMMENDATION_SCHEMA)
    per_user = recs.group_by("user_id").agg(pl.col("rank"), pl.col("score"))
    assert set(per_user["user_id"]) == set(users.tolist())
    for ranks, scores in zip(per_user["rank"], per_user["score"], strict=True):
        assert list(ranks) == list(range(1, len(ranks) + 1)) and len(ranks) <= K
        assert all(a >= b for a, b in zip(scores, scores[1:], strict=False))


def test_seen_items_excluded_unless_asked(fitted: Recommender, users: np.ndarray) -> None:
    seen = seen_pairs(fitted.train_)
    n_items = fitted.train_.shape[1]
    excluded = fitted.recommend(users, k=n_items)
    pairs = set(zip(excluded["user_id"].to_list(), excluded["item_id"].to_list(), strict=True))
    assert not pairs & seen
    included = fitted.recommend(users, k=n_items, exclude_seen=False)
    pairs = set(zip(included["user_id"].to_list(), included["item_id"].to_list(), strict=True))
    assert pairs & seen


def test_unknown_user_raises(fitted: Recommender) -> None:
    with pytest.raises(UnknownIdError):
        fitted.recommend([-12345], k=K)


def test_batch_equals_single_user(fitted: Recommender, users: np.ndarray) -> None:
    batch = fitted.recommend(users, k=K)
    singles = pl.concat([fitted.recommend([u], k=K) for u in users])
    assert batch.drop("score").equals(singles.drop("score"))  # BLAS may differ by an ulp
    np.testing.assert_allclose(batch["score"], singles["score"], rtol=1e-5)


def test_deterministic_under_seed(
    fitted: Recommender, users: np.ndarray, ml_small: Dataset
) -> None:
    again = fitted.clone().fit(TrainingData.for_serving(fitted.train_, ml_small))
    assert again.recommend(users, k=K).equals(fitted.recommend(users, k=K))


def test_save_load_round_trip(fitted: Recommender, users: np.ndarray, tmp_path: Path) -> None:
    loaded = Recommender.load(fitted.save(tmp_path / fitted.name))
    assert type(loaded) is type(fitted) and loaded.get_params() == fitted.get_params()
    assert type(type(fitted).load(tmp_path / fitted.name)) is type(fitted)
    other = get_model_class("ease" if fitted.name == "most_popular" else "most_popular")
    with pytest.raises(DataError, match=f"holds a saved {fitted.name}, not a {other.__name__}"):
        other.load(tmp_path / fitted.name)
    assert loaded.recommend(users, k=K).equals(fitted.recommend(users, k=K))
    if fitted.supports(Capability.RATING):
        items = fitted.train_.item_ids[:5]
        us = np.resize(users, len(items))
        np.testing.assert_array_equal(loaded.predict(us, items), fitted.predict(us, items))


def test_a_damaged_saved_model_is_a_clear_error(fitted: Recommender, tmp_path: Path) -> None:
    """Each file of the saved folder, overwritten or deleted in turn: a RecsysError naming it."""
    saved = fitted.save(tmp_path / "saved")
    for file in sorted(p.relative_to(saved) for p in saved.rglob("*") if p.is_file()):
        for damage in ("overwritten", "deleted"):
            copy = shutil.copytree(saved, tmp_path / f"{damage}-{'-'.join(file.parts)}")
            if damage == "deleted":
                (copy / file).unlink()
            else:
                (copy / file).write_bytes(b"\x00not what was saved")
            with pytest.raises(RecsysError, match=re.escape(str(file.name))):
                Recommender.load(copy)


def test_rating_capability(fitted: Recommender, users: np.ndarray) -> None:
    items = fitted.train_.item_ids[:3]
    us = np.resize(users, 3)
    if not fitted.supports(Capability.RATING):
        with pytest.raises(UnsupportedError):
            fitted.predict(us, items)
        return
    low, high = fitted.train_.matrix.data.min(), fitted.train_.matrix.data.max()
    predictions = fitted.predict(np.append(us, -999), np.append(items, -999))
    assert predictions.shape == (4,) and np.isfinite(predictions).all()
    assert ((predictions >= low) & (predictions <= high)).all()


def test_similar_items_capability(fitted: Recommender) -> None:
    items = fitted.train_.item_ids[:2]
    if not fitted.supports(Capability.SIMILAR_ITEMS):
        with pytest.raises(UnsupportedError):
            fitted.similar_items(items, k=K)
        return
    similar = fitted.similar_items(items, k=K)
    assert similar.schema == pl.Schema(SIMILARITY_SCHEMA)
    assert not (similar["item_id"] == similar["similar_item_id"]).any()
    assert similar.group_by("item_id").len()["len"].max() <= K


def test_explain_capability(fitted: Recommender, users: np.ndarray) -> None:
    item = int(fitted.recommend(users[:1], k=1)["item_id"][0])
    if not fitted.supports(Capability.EXPLAIN):
        with pytest.raises(UnsupportedError):
            fitted.explain(int(users[0]), item)
        return
    explanation = fitted.explain(int(users[0]), item)
    assert isinstance(explanation, Explanation)
    assert explanation.item_id == item and describe(explanation, _placeholder_titles)


def _placeholder_titles(item_ids: list[int]) -> list[str]:
    return [f"movie {i}" for i in item_ids]


def test_explanation_is_of_the_ranking_score(fitted: Recommender, users: np.ndarray) -> None:
    """The evidence explains the very score the item was ranked by (ALS re-solves the user's
    factors to decompose the score, so its explanation is of the folded-in score)."""
    if not fitted.supports(Capability.EXPLAIN) or fitted.name in SCORE_RESOLVED:
        pytest.skip(f"{fitted.name}: no explanation of the trained score")
    recs = fitted.recommend(users[:1], k=K)
    for item, score in zip(recs["item_id"].to_list(), recs["score"].to_list(), strict=True):
        assert fitted.explain(int(users[0]), item).score == pytest.approx(score, rel=1e-4,
                                                                          abs=1e-6)


def test_explain_for_history_capability(fitted: Recommender, users: np.ndarray) -> None:
    """A history is explained like a known user (exactly so where fold-in is exact)."""
    user = int(users[0])
    history = fitted.train_.to_frame().filter(pl.col("user_id") == user)
    item = int(fitted.recommend([user], k=1)["item_id"][0])
    if not (fitted.supports(Capability.EXPLAIN) and fitted.supports(Capability.FOLD_IN)):
        with pytest.raises(UnsupportedError):
            fitted.explain_for_history(history, item)
        return
    folded = fitted.explain_for_history(history, item)
    assert folded.item_id == item and folded.kind == fitted.explain(user, item).kind
    if fitted.name in FOLD_IN_EXACT:
        assert _same(folded, fitted.explain(user, item))


def _same(a: Explanation, b: Explanation) -> bool:
    """Equal evidence up to float rounding (the folded-in row is float32 like the trained one)."""
    return a.kind == b.kind and a.score == pytest.approx(b.score, rel=1e-4, abs=1e-6) and [
        r.item_id for r in a.rated_items] == [r.item_id for r in b.rated_items] and [
        f.name for f in a.features] == [f.name for f in b.features]


def test_fold_in_capability(fitted: Recommender, users: np.ndarray) -> None:
    """Folding in a known user's own history excludes it (and, where exact, matches)."""
    user = int(users[0])
    history = fitted.train_.to_frame().filter(pl.col("user_id") == user)
    if not fitted.supports(Capability.FOLD_IN):
        with pytest.raises(UnsupportedError):
            fitted.recommend_for_history(history, k=K)
        return
    folded = fitted.recommend_for_history(history, k=K, user_id=user)
    assert folded.schema == pl.Schema(RECOMMENDATION_SCHEMA)
    assert folded["rank"].to_list() == list(range(1, K + 1))
    assert not set(folded["item_id"].to_list()) & set(history["item_id"].to_list())
    if fitted.name not in FOLD_IN_EXACT:
        return
    expected = fitted.recommend([user], k=K)
    assert folded["item_id"].to_list() == expected["item_id"].to_list()
    np.testing.assert_allclose(folded["score"], expected["score"], rtol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_checkerboard_withheld_item_ranks_first(name: str, checkerboard: Any) -> None:
    if name not in CHECKERBOARD:
        pytest.skip(f"{name} is not expected to learn co-occurrence (see CHECKERBOARD)")
    model = make(name).fit(checkerboard.train)
    users = np.array(sorted(checkerboard.held_out))
    top = model.recommend(users, k=1)
    assert dict(zip(top["user_id"].to_list(), top["item_id"].to_list(), strict=True)) == (
        checkerboard.held_out
    )


# -- the public argument rules (recsys.arguments), honoured by every model -----------------
BAD_K = [10.5, "10", 0, -1, True, None, 10.0]
BAD_IDS = [["abc"], [1.5], None, "7", [[1, 2]], [True], [None], 2**70]


@pytest.mark.parametrize("k", BAD_K)
def test_k_must_be_a_positive_integer(fitted: Recommender, users: np.ndarray, k: Any) -> None:
    with pytest.raises(ArgumentError, match="k must be a positive integer"):
        fitted.recommend(users, k=k)


def test_numpy_integers_are_fine(fitted: Recommender, users: np.ndarray) -> None:
    expected = fitted.recommend(users, k=K)
    as_numpy = fitted.recommend(users.astype(np.int32), k=np.int64(K))
    assert as_numpy.equals(expected)
    assert fitted.recommend(pl.Series(users), k=K).equals(expected)


@pytest.mark.parametrize("ids", BAD_IDS, ids=repr)
def test_ids_must_be_integers(fitted: Recommender, ids: Any) -> None:
    with pytest.raises(ArgumentError, match="user_ids"):
        fitted.recommend(ids, k=K)


def test_a_repeated_user_is_answered_once(fitted: Recommender, users: np.ndarray) -> None:
    twice = fitted.recommend([users[1], users[0], users[1]], k=K)
    assert twice.equals(fitted.recommend([users[1], users[0]], k=K))
    assert not twice.select(pl.struct("user_id", "item_id").is_duplicated().any()).item()


def test_a_history_of_unknown_movies_is_refused(fitted: Recommender) -> None:
    if not fitted.supports(Capability.FOLD_IN):
        pytest.skip(f"{fitted.name} does not fold in histories")
    history = pl.DataFrame({"item_id": [-1, -2], "rating": [4.0, 5.0]})
    with pytest.raises(UnknownIdError, match="None of the 2 movie"):
        fitted.recommend_for_history(history, k=K)


@pytest.mark.parametrize(
    "history",
    [
        {"item_id": [1], "rating": [4.0]},  # not a frame
        pl.DataFrame({"item_id": [1]}),  # no rating column
        pl.DataFrame({"item_id": [], "rating": []}),
        pl.DataFrame({"item_id": [1.5], "rating": [4.0]}),
        pl.DataFrame({"item_id": [1], "rating": [float("nan")]}),
        pl.DataFrame({"item_id": [1], "rating": [99.0]}),
        pl.DataFrame({"item_id": [1], "rating": ["good"]}),
    ],
    ids=["dict", "no-rating", "empty", "float-id", "nan", "off-scale", "text"],
)
def test_a_malformed_history_is_refused(fitted: Recommender, history: Any) -> None:
    if not fitted.supports(Capability.FOLD_IN):
        pytest.skip(f"{fitted.name} does not fold in histories")
    with pytest.raises(ArgumentError, match="history"):
        fitted.recommend_for_history(history, k=K)


def test_predict_needs_pairs_of_equal_length(fitted: Recommender, users: np.ndarray) -> None:
    if not fitted.supports(Capability.RATING):
        pytest.skip(f"{fitted.name} does not predict ratings")
    items = fitted.train_.item_ids[:3]
    with pytest.raises(ArgumentError, match="same length"):
        fitted.predict(users[:2], items)
    with pytest.raises(ArgumentError, match="item_ids"):
        fitted.predict(users[:1], [1.5])


def test_similar_items_checks_ids_and_k(fitted: Recommender) -> None:
    if not fitted.supports(Capability.SIMILAR_ITEMS):
        pytest.skip(f"{fitted.name} does not compute item similarities")
    item = fitted.train_.item_ids[0]
    assert fitted.similar_items([item, item], k=K).equals(fitted.similar_items([item], k=K))
    with pytest.raises(ArgumentError, match="k must"):
        fitted.similar_items([item], k=2.5)
    with pytest.raises(ArgumentError, match="item_ids"):
        fitted.similar_items(["x"], k=K)


def test_explain_takes_one_user_and_one_item(fitted: Recommender, users: np.ndarray) -> None:
    if not fitted.supports(Capability.EXPLAIN):
        pytest.skip(f"{fitted.name} cannot explain")
    item = int(fitted.train_.item_ids[0])
    with pytest.raises(ArgumentError, match="user_id must be one integer id"):
        fitted.explain(list(users[:2]), item)
    with pytest.raises(ArgumentError, match="top must"):
        fitted.explain(int(users[0]), item, top=0)


def _with_unrated_movies() -> Interactions:
    """Twenty users' ratings of movies 1-30; movies 31-35 are in the catalogue, never rated."""
    rng = np.random.default_rng(0)
    rows = [(user, int(item), float(rng.integers(1, 6))) for user in range(1, 21)
            for item in rng.choice(30, 8, replace=False) + 1]
    ratings = pl.DataFrame(rows, schema=["user_id", "item_id", "rating"], orient="row")
    return Interactions.from_frame(ratings, items=np.arange(1, 36))


@pytest.mark.parametrize("name", ["item_knn", "ease", "rp3beta", "als"])
def test_a_history_that_scores_every_movie_alike_is_refused(name: str) -> None:
    model = create_model(name, **FAST_PARAMS.get(name, {})).fit(_with_unrated_movies())
    unrated = pl.DataFrame({"item_id": [33], "rating": [4.0]})
    with pytest.raises(ArgumentError, match=f"history gives {name} nothing to rank by"):
        model.recommend_for_history(unrated, k=K)  # it was the catalogue in id order, score 0
    rated = pl.DataFrame({"item_id": [3, 5], "rating": [4.0, 2.0]})
    assert model.recommend_for_history(rated, k=K)["score"].n_unique() > 1


def test_a_model_that_ranks_without_the_history_still_answers() -> None:
    model = create_model("most_popular").fit(_with_unrated_movies())
    unrated = pl.DataFrame({"item_id": [33], "rating": [4.0]})
    assert model.recommend_for_history(unrated, k=K).height == K
