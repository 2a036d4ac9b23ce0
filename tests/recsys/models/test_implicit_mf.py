"""ALS and BPR: exact fold-in and explanations against ``implicit``, checkerboard, determinism."""

from __future__ import annotations

import warnings

import implicit.utils
import numpy as np
import polars as pl
import pytest
from implicit.cpu.als import AlternatingLeastSquares

from recsys.data.types import Interactions
from recsys.models import create_model
from recsys.models.explanation import ExplanationKind
from recsys.models.implicit_mf import ImplicitALS

FAST = {"als": {"factors": 8, "iterations": 10}, "bpr": {"factors": 8, "iterations": 200}}
# Two taste groups: rank-2 models (more factors let ALS memorise each user's exact row).
CHECKERBOARD = {"als": {"factors": 2, "iterations": 10}, "bpr": {"factors": 2, "iterations": 200}}


@pytest.fixture(scope="module")
def als(small_train: Interactions) -> ImplicitALS:
    return create_model("als", factors=8, iterations=5, alpha=3.0).fit(small_train)


def _implicit_twin(model: ImplicitALS) -> AlternatingLeastSquares:
    """implicit's own model holding our factors (regularization as ours, alpha 1: see module)."""
    twin = AlternatingLeastSquares(
        factors=model.params.factors, regularization=model.params.regularization, num_threads=1
    )
    twin.user_factors, twin.item_factors = model.user_factors_, model.item_factors_
    return twin


def test_confidence_is_one_plus_alpha_times_rating(als: ImplicitALS) -> None:
    row = als.train_.matrix[:1]
    np.testing.assert_allclose(als._confidence(row).data, 1.0 + 3.0 * row.data)


def test_fold_in_solves_the_users_least_squares_exactly(als: ImplicitALS) -> None:
    """Our numpy solve equals implicit's Cholesky ``recalculate_user`` on the same row."""
    user = 4
    history = als.train_.to_frame().filter(pl.col("user_id") == int(als.train_.user_ids[user]))
    folded = als.recommend_for_history(history, k=als.train_.shape[1], exclude_seen=False)
    factors = _implicit_twin(als).recalculate_user(0, als._confidence(als.train_.matrix[user]))
    expected = np.asarray(factors).ravel() @ als.item_factors_.T
    got = dict(zip(folded["item_id"].to_list(), folded["score"].to_list(), strict=True))
    np.testing.assert_allclose(
        [got[int(i)] for i in als.train_.item_ids], expected, rtol=1e-3, atol=1e-5
    )


def test_explanations_match_implicit(als: ImplicitALS) -> None:
    user, item = 2, 7
    row = als.train_.matrix[user]
    ours = als.explain(int(als.train_.user_ids[user]), int(als.train_.item_ids[item]), top=3)
    score, top, _ = _implicit_twin(als).explain(0, als._confidence(row), item, N=3)
    assert ours.score == pytest.approx(score, rel=1e-4)
    assert [r.item_id for r in ours.rated_items] == [
        int(als.train_.item_ids[i]) for i, _ in top
    ]
    assert [r.contribution for r in ours.rated_items] == pytest.approx(
        [s for _, s in top], rel=1e-4
    )
    assert ours.kind is ExplanationKind.RATED_ITEMS


@pytest.mark.parametrize("name", ["als", "bpr"])
def test_checkerboard_withheld_item_ranks_first(name: str, checkerboard) -> None:
    model = create_model(name, **CHECKERBOARD[name]).fit(checkerboard.train)
    users = np.array(sorted(checkerboard.held_out))
    top = model.recommend(users, k=1)
    assert dict(zip(top["user_id"].to_list(), top["item_id"].to_list(), strict=True)) == (
        checkerboard.held_out
    )
    # Item neighbours stay within the taste group: same parity of the item index.
    similar = model.similar_items([101, 102], k=3)
    parity = (similar["similar_item_id"] - 101) % 2 == (similar["item_id"] - 101) % 2
    assert parity.all()


@pytest.mark.parametrize("name", ["als", "bpr"])
def test_seed_decides_the_factors(name: str, small_train: Interactions) -> None:
    first = create_model(name, seed=1, **FAST[name]).fit(small_train)
    again = create_model(name, seed=1, **FAST[name]).fit(small_train)
    other = create_model(name, seed=2, **FAST[name]).fit(small_train)
    np.testing.assert_array_equal(first.item_factors_, again.item_factors_)
    assert not np.allclose(first.item_factors_, other.item_factors_)


def test_fit_is_quiet(small_train: Interactions, monkeypatch, capsys) -> None:
    """No BLAS-threads warning (threadpool limited during fit) and no progress bar."""
    monkeypatch.setattr(implicit.utils, "_checked_blas_config", False)  # re-arm the check
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        create_model("als", **FAST["als"]).fit(small_train)
        create_model("bpr", **FAST["bpr"]).fit(small_train)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_als_factors_do_not_depend_on_the_threads(small_train: Interactions) -> None:
    one, two = (create_model("als", factors=8, iterations=3, threads=n).fit(small_train)
                for n in (1, 2))
    np.testing.assert_array_equal(one.user_factors_, two.user_factors_)
    np.testing.assert_array_equal(one.item_factors_, two.item_factors_)
