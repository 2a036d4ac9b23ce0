"""Argument checks: a history keeps each movie's last rating, in the order of those ratings;
a block of histories is sparse or a 2-D array of finite, non-negative values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from recsys.arguments import check_history, check_names, check_path, check_rows
from recsys.data.types import Interactions
from recsys.errors import ArgumentError
from recsys.models import create_model


def test_a_history_keeps_each_movies_last_rating_in_order() -> None:
    history = pl.DataFrame({"item_id": [1, 2, 1, 3, 2], "rating": [1.0, 2.0, 3.0, 4.0, 5.0]})
    checked = check_history(history, (0.5, 5.0))
    assert checked["item_id"].to_list() == [1, 3, 2]
    assert checked["rating"].to_list() == [3.0, 4.0, 5.0]
    rng = np.random.default_rng(11)
    for size in (1, 2, 7, 40):
        frame = pl.DataFrame({"item_id": rng.integers(0, 6, size),
                              "rating": rng.integers(1, 11, size) / 2.0})
        expected = frame.unique("item_id", keep="last", maintain_order=True)
        got = check_history(frame, (0.5, 5.0))
        assert got["item_id"].to_list() == expected["item_id"].to_list()
        assert got["rating"].to_list() == expected["rating"].to_list()


@pytest.mark.parametrize(("rows", "message"), [
    ([[0.0, 1.0, 0.0]], "SciPy sparse matrix or a 2-D NumPy array, got list"),
    (np.ones((2, 3)), r"1 users × 3 items \(the model's\), got \(2, 3\)"),
    (np.array([["a", "b", "c"]]), "real numbers"),
    (sp.csr_matrix(np.array([[np.nan, 1.0, 0.0]])), r"finite ratings .* got \[nan\]"),
    (np.array([[0.0, -1.0, 2.0]]), r"not negative, got \[-1.0\]"),
    (np.array([[np.inf, 1.0, 0.0]]), r"got \[inf\]"),
])
def test_a_careless_block_of_histories_is_refused(rows: object, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        check_rows(rows, (1, 3))


def test_recommend_for_rows_answers_a_dense_block_as_its_sparse_twin() -> None:
    ratings = pl.DataFrame({"user_id": [1, 1, 2, 2, 3, 3, 3], "item_id": [1, 2, 2, 3, 1, 3, 4],
                            "rating": [5.0, 4.0, 3.0, 5.0, 4.0, 4.0, 2.0]})
    model = create_model("ease", reg=1.0).fit(Interactions.from_frame(ratings))
    dense = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    users = np.array([-1, -2])
    expected = model.recommend_for_rows(users, sp.csr_matrix(dense), k=2)
    assert model.recommend_for_rows(users, dense, k=2).equals(expected)
    assert model.recommend_for_rows(users, sp.coo_matrix(dense), k=2).equals(expected)
    with pytest.raises(ArgumentError, match="rows must be a SciPy"):
        model.recommend_for_rows(users, dense.tolist(), k=2)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: check_path(None, "folder"), "folder must be a path"),
    (lambda: check_path(3, "folder"), "folder must be a path .* got int 3"),
    (lambda: check_path(["a"], "folder"), "folder must be a path"),
    (lambda: check_names("ease", "models"), "models must be a list of names"),
    (lambda: check_names(["ease", 3], "models"), "models must be a list of names"),
    (lambda: check_names(None, "models"), "models must be a list of names"),
])
def test_a_careless_path_or_list_of_names_is_refused(call: object, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        call()


def test_paths_and_names_pass_through() -> None:
    assert check_path("a/b", "folder") == Path("a/b")
    assert check_names(("ease", "als"), "models") == ["ease", "als"]
