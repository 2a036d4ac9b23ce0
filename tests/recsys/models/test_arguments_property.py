"""Property-based: generated careless arguments to the public verbs always get a RecsysError
(never a raw NumPy/TypeError traceback, never a silent answer), and valid ones a sane answer."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.data.types import Interactions
from recsys.errors import ArgumentError, RecsysError, UnknownIdError
from recsys.models import Recommender, create_model

PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
non_integral = st.floats(allow_nan=True, allow_infinity=True).filter(
    lambda x: not float(x).is_integer()
)
bad_scalar = st.one_of(non_integral, st.text(max_size=5), st.none(), st.booleans())
bad_ids = st.one_of(
    bad_scalar,
    st.lists(bad_scalar, min_size=1, max_size=4),
    st.lists(st.lists(st.integers(-5, 5), min_size=2, max_size=2), min_size=1, max_size=3),
)
bad_k = st.one_of(
    st.floats(allow_nan=True),
    st.text(max_size=3),
    st.booleans(),
    st.none(),
    st.integers(max_value=0),
)


@pytest.fixture(scope="module")
def knn(small_train: Interactions) -> Recommender:
    return create_model("item_knn", k=20).fit(small_train)


@pytest.fixture(scope="module")
def svd(small_train: Interactions) -> Recommender:
    return create_model("surprise_svd", n_factors=8, n_epochs=3).fit(small_train)


@PROPERTY
@given(ids=bad_ids)
def test_bad_ids_raise_argument_errors(knn: Recommender, svd: Recommender, ids: Any) -> None:
    with pytest.raises(ArgumentError):
        knn.recommend(ids)
    with pytest.raises(ArgumentError):
        knn.similar_items(ids)
    with pytest.raises(ArgumentError):
        svd.predict(ids, ids)


@PROPERTY
@given(k=bad_k)
def test_bad_cutoffs_raise_argument_errors(knn: Recommender, k: Any) -> None:
    user = int(knn.train_.user_ids[0])
    with pytest.raises(ArgumentError):
        knn.recommend([user], k=k)
    with pytest.raises(ArgumentError):
        knn.similar_items(knn.train_.item_ids[:1], k=k)


@PROPERTY
@given(picks=st.lists(st.integers(0, 39), min_size=1, max_size=12), k=st.integers(1, 70))
def test_known_users_in_any_order_get_one_list_each(
    knn: Recommender, picks: list[int], k: int
) -> None:
    ids = knn.train_.user_ids[picks]
    recs = knn.recommend(ids, k=k)
    answered = list(dict.fromkeys(recs["user_id"].to_list()))
    # each user once, in the order asked (a user who has seen every item gets no row)
    assert answered == [u for u in dict.fromkeys(ids.tolist()) if u in answered]
    per_user = recs.group_by("user_id", maintain_order=True).agg("rank")
    for ranks in per_user["rank"]:
        assert list(ranks) == list(range(1, len(ranks) + 1)) and len(ranks) <= k


@PROPERTY
@given(ids=st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=5))
def test_any_integer_ids_are_answered_or_named_unknown(knn: Recommender, ids: list[int]) -> None:
    try:
        recs = knn.recommend(ids)
    except UnknownIdError as error:
        assert "Unknown user id" in str(error)
    else:
        assert set(recs["user_id"].to_list()) <= set(ids)


@PROPERTY
@given(
    items=st.lists(st.integers(-3, 200_000), min_size=1, max_size=6),
    ratings=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=6, max_size=6),
)
def test_histories_are_answered_or_refused_clearly(
    knn: Recommender, items: list[int], ratings: list[float]
) -> None:
    history = pl.DataFrame({"item_id": items, "rating": ratings[: len(items)]})
    try:
        recs = knn.recommend_for_history(history, k=5)
    except RecsysError as error:
        assert isinstance(error, ArgumentError | UnknownIdError)
    else:
        low, high = knn.train_.rating_scale
        assert np.isfinite(ratings[: len(items)]).all()
        assert all(low <= r <= high for r in ratings[: len(items)])
        assert recs.height <= 5
