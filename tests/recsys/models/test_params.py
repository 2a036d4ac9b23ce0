"""Careless hyper-parameters and training data get a ConfigError naming them, for every model.

Parametrized over the registry, so a model added later is covered: a value of the wrong type
(a string for a number, a float for a count, NaN or infinity), a count below one, a negative
penalty or a learning rate of zero is refused when the model is created, never deep inside
fit as a raw TypeError, a LAPACK message or silent nonsense.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import numpy as np
import polars as pl
import pytest

from recsys.data.types import Interactions
from recsys.errors import ArgumentError, ConfigError
from recsys.models import available_models, create_model, get_model_class
from recsys.models.base import _RANGES

# One value outside each rule of the shared table, by the rule's expectation.
_OUTSIDE = {">= 1": 0, ">= 0": -1, "> 0": 0.0, "in [0, 1)": 1.0, "in (0, 1)": 0.0, "in [0, 1]": 1.5,
            "a non-empty list of widths >= 1": []}
# A value of the wrong kind for each scalar type hint.
_WRONG_KIND = {int: ["7", 2.5, True], float: ["0.1", float("nan"), float("inf")],
               bool: ["yes", 1], str: [3]}


def _fields(name: str) -> list[tuple[str, Any]]:
    params = get_model_class(name).Params
    hints = typing.get_type_hints(params)
    return [(f.name, hints[f.name]) for f in dataclasses.fields(params)]


MODELS = [name for name in available_models() if not name.startswith("peer:")]


@pytest.mark.parametrize("name", MODELS)
def test_a_value_of_the_wrong_type_names_the_parameter(name: str) -> None:
    for field, hint in _fields(name):
        for value in _WRONG_KIND.get(hint, []):
            with pytest.raises(ConfigError, match=rf"parameter {field}: expected"):
                create_model(name, **{field: value})


@pytest.mark.parametrize("name", MODELS)
def test_a_value_out_of_range_names_the_parameter(name: str) -> None:
    """The shared table's rule, or the model's own check where it has one first."""
    checked = [(field, _RANGES[field][1]) for field, _ in _fields(name) if field in _RANGES]
    for field, expected in checked:
        with pytest.raises(ConfigError, match=rf"\b{field}\b"):
            create_model(name, **{field: _OUTSIDE[expected]})


def test_numpy_scalars_become_python_numbers() -> None:
    """Grids built with NumPy (np.int64 is no int) are accepted and stored as plain numbers."""
    model = create_model("item_knn", k=np.int64(20), shrinkage=np.float32(10))
    assert type(model.params.k) is int and model.params.k == 20
    assert type(model.params.shrinkage) is float
    assert create_model("mult_vae", dropout=np.float64(0.25)).params.dropout == 0.25


def test_the_neural_range_table_covers_the_deep_models() -> None:
    """Each deep model's counts and rates are in the table, so none trains on nonsense."""
    for name in ("mult_vae", "mult_dae", "recvae", "neumf", "two_tower", "bpr_uniform"):
        numeric = {field for field, hint in _fields(name)
                   if hint in (int, float) and field != "seed"}
        assert numeric <= set(_RANGES), (name, numeric - set(_RANGES))


@pytest.mark.parametrize("name", MODELS)
def test_fitting_on_no_ratings_is_refused(name: str) -> None:
    empty = Interactions.from_frame(pl.DataFrame(
        {"user_id": [1], "item_id": [1], "rating": [4.0], "timestamp": [0]}).head(0))
    with pytest.raises(ArgumentError, match="at least one rating"):
        create_model(name).fit(empty)
