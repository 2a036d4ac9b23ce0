"""Leakage tests: nothing from the test side of a split (ratings, tags, the future after a cut)
reaches a model, a feature or a tuning step, for every protocol of the splitter registry."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from recsys.bench import runner
from recsys.bench.spec import BenchmarkSpec
from recsys.data.types import Dataset, TrainingData
from recsys.errors import ArgumentError, ConfigError, UnsupportedError
from recsys.evaluation.protocol import (
    FUTURE_POLICY,
    SPLITTERS,
    EvalPlan,
    make_splits,
    newer_share,
    prepare_split,
)
from recsys.models import create_model

N_USERS, N_ITEMS, PER_USER = 40, 50, 15
PARAMS: dict[str, dict[str, Any]] = {  # small enough for 40 users
    "kfold": {"k": 3},
    "cold_start_users": {"user_fraction": 0.25, "n_known": 3},
    "cold_start_items": {"fraction": 0.2},
    "leave_last_n": {"n": 3},
    "strong_generalization": {"n_test": 5, "n_valid": 3, "min_positives": 3},
}


def _token(user: int, item: int) -> str:
    return f"pair{user}x{item}"


@pytest.fixture(scope="module")
def tagged() -> Dataset:
    """Every rating carries a tag unique to its (user, movie) pair, written a second later;
    a tag on a movie the user never rated is written too (never known at training time)."""
    rng = np.random.default_rng(7)
    rows, tags = [], []
    for user in range(1, N_USERS + 1):
        items = rng.choice(np.arange(1, N_ITEMS + 1), PER_USER, replace=False)
        for step, item in enumerate(items):
            stamp = 1_000_000 + 50_000 * user + 1_000 * step
            rows.append((user, int(item), float(rng.integers(1, 11)) / 2, stamp))
            tags.append((user, int(item), _token(user, int(item)), stamp + 1))
        tags.append((user, N_ITEMS + 1, "unrated", 2_000_000))
    ratings = pl.DataFrame(rows, schema=["user_id", "item_id", "rating", "timestamp"],
                           orient="row").with_columns(
        pl.col("user_id", "item_id").cast(pl.Int32), pl.col("rating").cast(pl.Float32))
    movies = pl.DataFrame({"item_id": np.arange(1, N_ITEMS + 2, dtype=np.int32)}).with_columns(
        title=pl.format("Movie {}", "item_id"), year=pl.lit(1999, pl.Int32),
        genres=pl.lit(["Drama"], pl.List(pl.String)))
    tag_frame = pl.DataFrame(tags, schema=["user_id", "item_id", "tag", "timestamp"],
                             orient="row").with_columns(pl.col("user_id", "item_id").cast(pl.Int32))
    return Dataset("synthetic-tagged", ratings, movies, tags=tag_frame, synthetic=True)


def _pairs(frame: pl.DataFrame) -> set[tuple[int, int]]:
    return set(zip(frame["user_id"].to_list(), frame["item_id"].to_list(), strict=True))


@pytest.mark.parametrize("protocol", sorted(SPLITTERS))
def test_no_test_rating_or_tag_reaches_training(protocol: str, tagged: Dataset) -> None:
    for split in make_splits(protocol, PARAMS.get(protocol, {}), tagged.ratings, seed=3):
        prepared = prepare_split(split, tagged, full_catalog=True)
        test_pairs = _pairs(split.test)
        assert not _pairs(prepared.interactions.to_frame()) & test_pairs
        known = prepared.train.catalog.tags
        assert known is not None and not _pairs(known) & test_pairs
        assert _pairs(known) <= _pairs(split.train)  # only tags of training ratings
        assert "unrated" not in known["tag"].to_list()
        first_test = dict(split.test.group_by("user_id").agg(pl.col("timestamp").min()).rows())
        cut = split.params.get("cut_timestamp")
        for user, stamp in known.select("user_id", "timestamp").rows():
            if cut is not None:
                assert stamp < cut
            elif protocol == "leave_last_n":
                assert stamp < first_test.get(user, np.inf)
        assert prepared.future["policy"] == FUTURE_POLICY[protocol]


@pytest.mark.parametrize("protocol", sorted(SPLITTERS))
def test_content_features_never_hold_a_test_tag(protocol: str, tagged: Dataset) -> None:
    split = make_splits(protocol, PARAMS.get(protocol, {}), tagged.ratings, seed=3)[0]
    prepared = prepare_split(split, tagged, full_catalog=True)
    model = create_model("content", representation="tfidf", min_df=1).fit(prepared.train)
    vocabulary = set(model.feature_names_.tolist())
    leaked = {_token(u, i) for u, i in _pairs(split.test)} & vocabulary
    assert not leaked
    assert {_token(u, i) for u, i in _pairs(split.train)} & vocabulary  # tags do arrive


def test_the_benchmark_runner_fits_and_tunes_on_training_only(
    tagged: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every fit of a run — tuning candidates included — sees no test pair and no test tag."""
    fits: list[TrainingData] = []

    def recording(name: str, **params: Any):
        model = create_model(name, **params)
        original = model.fit

        def fit(train: TrainingData):
            fits.append(TrainingData.of(train))
            return original(train)

        model.fit = fit
        return model

    monkeypatch.setattr(runner, "create_model", recording)
    spec = BenchmarkSpec.from_dict({
        "name": "leak-check", "dataset": "synthetic-tagged", "full_catalog": True,
        "protocol": {"kind": "cold_start_items", "params": {"fraction": 0.2}},
        "seeds": [5], "k": [5], "metrics": ["ndcg@5"],
        "models": [{"name": "content", "params": {"min_df": 1}, "tune": {
            "metric": "ndcg@5", "grid": {"damping": [0.0, 5.0]},
            "validation": {"kind": "random_holdout", "params": {"test_fraction": 0.2}}}}],
    })
    runner.run_benchmark(spec, dataset=tagged, tracking=False, progress=False)
    outer = make_splits("cold_start_items", {"fraction": 0.2}, tagged.ratings, seed=5)[0]
    test_pairs = _pairs(outer.test)
    assert len(fits) == 3  # two tuning candidates and the final fit
    for data in fits:
        assert not _pairs(data.interactions.to_frame()) & test_pairs
        assert not _pairs(data.catalog.tags) & test_pairs


def test_strong_generalization_scores_held_out_users_from_their_history(
    tagged: Dataset,
) -> None:
    """The held-out users are unknown to the model; each is scored by folding in the history,
    whose movies are never recommended back, and the truth is the rest of the user's movies."""
    from recsys.evaluation.protocol import EvalPlan, evaluate

    params = PARAMS["strong_generalization"]
    split = make_splits("strong_generalization", params, tagged.ratings, seed=3)[0]
    data = prepare_split(split, tagged)
    assert data.histories is not None and len(data.users) > 0
    assert not set(data.users.tolist()) & set(data.interactions.user_ids.tolist())
    assert _pairs(data.truth) == _pairs(split.test)
    model = create_model("ease", reg=10.0).fit(data.train)
    result = evaluate(model, data, EvalPlan((5,), ranking=True, rating=False, beyond_k=None))
    assert set(result.recs["user_id"].to_list()) == set(data.users.tolist())
    assert not _pairs(result.recs) & _pairs(split.history)
    user = int(data.users[0])
    alone = model.recommend_for_history(
        split.history.filter(pl.col("user_id") == user), k=5, user_id=user)
    assert alone.equals(result.recs.filter(pl.col("user_id") == user))
    assert 0.0 <= result.metrics["ndcg@5"] <= 1.0
    with pytest.raises(UnsupportedError, match="cannot fold in"):
        evaluate(create_model("bias").fit(data.train), data,
                 EvalPlan((5,), ranking=True, rating=False, beyond_k=None))


def test_future_share_is_measured() -> None:
    assert newer_share(np.array([1, 2, 3, 4]), np.array([2, 4])) == pytest.approx((0.5 + 0) / 2)
    assert newer_share(np.array([1, 2]), np.array([5])) == 0.0


def test_leave_last_n_states_the_future_it_keeps(tagged: Dataset) -> None:
    split = make_splits("leave_last_n", {"n": 3}, tagged.ratings, seed=0)[0]
    future = prepare_split(split, tagged).future
    assert "other users' ratings made after them" in future["policy"]
    assert 0 < future["train_newer_than_test_share"] < 1
    temporal = make_splits("temporal_global", {"test_fraction": 0.2}, tagged.ratings, seed=0)[0]
    assert prepare_split(temporal, tagged).future["train_newer_than_test_share"] == 0.0


def test_unknown_protocols_and_params_are_refused(tagged: Dataset) -> None:
    with pytest.raises(ConfigError, match="unknown protocol 'stratified'"):
        make_splits("stratified", {}, tagged.ratings, 0)
    with pytest.raises(ConfigError, match="ratio_typo"):
        make_splits("stratified_split", {"ratio_typo": 0.5}, tagged.ratings, 0)


@pytest.mark.parametrize(("kind", "params", "expected"), [
    ("strong_generalization", {"n_test": "10"}, "parameter n_test: expected int, got str"),
    ("strong_generalization", {"n_test": 10.5}, "parameter n_test: expected int, got float"),
    ("strong_generalization", {"n_test": 10, "threshold": float("nan")}, "got nan"),
    ("strong_generalization", {"n_test": 10, "min_positives": 0}, "min_positives=0"),
    ("stratified_split", {"ratio": "0.75"}, "parameter ratio: expected float"),
    ("stratified_split", {"by": "movie"}, "'movie' is not one of"),
    ("kfold", {"k": True}, "parameter k: expected int, got bool"),
])
def test_protocol_params_of_the_wrong_type_are_refused_by_name(
    kind: str, params: dict, expected: str, tagged: Dataset
) -> None:
    with pytest.raises(ConfigError, match=expected):
        make_splits(kind, params, tagged.ratings, 0)


def test_evaluation_scores_users_in_bounded_chunks_with_identical_results(
    tagged: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every model scores at most _BATCH_USERS users at once (never users × items for all of
    them), and the chunk size changes no metric and no recommended list."""
    from recsys.evaluation.protocol import EvalPlan, evaluate
    from recsys.models import base

    split = make_splits("leave_last_n", {"n": 3}, tagged.ratings, seed=0)[0]
    data = prepare_split(split, tagged)
    model = create_model("ease", reg=10.0).fit(data.train)
    plan = EvalPlan((5, 10), ranking=True, rating=False, beyond_k=10)
    whole = evaluate(model, data, plan)
    sizes: list[int] = []
    score = type(model)._score

    def spy(self: Any, users: np.ndarray, rows: Any) -> np.ndarray:
        sizes.append(len(users))
        return score(self, users, rows)

    monkeypatch.setattr(base, "_BATCH_USERS", 7)
    monkeypatch.setattr(type(model), "_score", spy)
    chunked = evaluate(model, data, plan)
    assert max(sizes) == 7 and sum(sizes) == len(data.users) > 7
    assert chunked.recs.equals(whole.recs)
    metrics = [k for k in whole.metrics if "@" in k]  # polars sums may differ in the last bit
    assert [chunked.metrics[k] for k in metrics] == pytest.approx(
        [whole.metrics[k] for k in metrics], rel=1e-12)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"ks": (0,)}, "ks"),
        ({"ks": 10}, "ks"),
        ({"ks": ("10",)}, "ks"),
        ({"ks": (True,)}, "ks"),
        ({"ks": ()}, "ks"),
        ({"ranking": "no"}, "ranking"),
        ({"rating": 1}, "rating"),
        ({"serving": "yes"}, "serving"),
        ({"beyond_k": 0}, "beyond_k"),
        ({"beyond_k": 1.5}, "beyond_k"),
        ({"recall_denominator": "bogus"}, "recall_denominator"),
    ],
)
def test_eval_plan_refuses_careless_settings(arguments: dict, named: str) -> None:
    settings = {"ks": (10,), "ranking": True, "rating": False, "beyond_k": None} | arguments
    with pytest.raises(ArgumentError, match=named):
        EvalPlan(**settings)


@pytest.mark.parametrize("metric", ["ndcg@x", "ndcg@0", "ndcg@-5", None, 10])
def test_eval_plan_for_metric_refuses_careless_metrics(metric: object) -> None:
    with pytest.raises(ArgumentError, match="metric|ks"):
        EvalPlan.for_metric(metric)


def test_eval_plan_keeps_list_cutoffs_as_a_tuple() -> None:
    assert EvalPlan([5, 10], True, False, None).ks == (5, 10)


@pytest.mark.parametrize("params", [None, [("test_fraction", 0.2)], "test_fraction=0.2"])
def test_make_splits_refuses_params_that_are_not_a_dict(params: object) -> None:
    ratings = pl.DataFrame({"user_id": [1, 2], "item_id": [1, 2], "rating": [4.0, 3.0]})
    with pytest.raises(ArgumentError, match="params"):
        make_splits("random_holdout", params, ratings, 0)
