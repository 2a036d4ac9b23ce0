"""rating_blend: the ridge stacking of rating models (known answers and a real-data check)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recsys.data.types import Interactions
from recsys.errors import ConfigError
from recsys.models import create_model
from recsys.models.stacking import blend_features, ridge_weights

FAST_COMPONENTS = (
    {"name": "bias", "params": {}},
    {"name": "item_knn", "params": {"similarity": "pearson_baseline", "k": 50,
                                    "shrinkage": 100.0, "centering": "baseline"}},
    {"name": "surprise_svd", "params": {"n_factors": 50, "n_epochs": 20, "lr_all": 0.01,
                                        "reg_all": 0.1}},
)


def test_blend_features_known_values() -> None:
    predictions = np.array([[3.0, 4.0], [2.0, 5.0]])
    plain = blend_features(predictions, np.array([0.0, 1.0]), np.array([3.0, 0.0]), meta=False)
    np.testing.assert_allclose(plain, [[1, 3, 4], [1, 2, 5]])
    meta = blend_features(predictions, np.array([np.e - 1, 0.0]), np.array([0.0, np.e - 1]),
                          meta=True)
    # columns: 1, p1, p2, s_u, s_i, p1·s_u, p2·s_u, p1·s_i, p2·s_i with s = log(1 + n)
    np.testing.assert_allclose(meta, [[1, 3, 4, 1, 0, 3, 4, 0, 0],
                                      [1, 2, 5, 0, 1, 0, 0, 2, 5]])


def test_ridge_weights_exact_fit_and_penalty() -> None:
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(50), rng.normal(size=(50, 2))])
    y = x @ np.array([0.5, 0.3, 0.7])
    np.testing.assert_allclose(ridge_weights(x, y, 0.0), [0.5, 0.3, 0.7], atol=1e-10)
    # x = [-1, 1], y = [0, 2]: intercept 1 (unpenalised), slope Σxy / (Σx² + λ) = 2 / (2 + 2)
    design = np.array([[1.0, -1.0], [1.0, 1.0]])
    np.testing.assert_allclose(ridge_weights(design, np.array([0.0, 2.0]), 2.0), [1.0, 0.5])


def test_rejects_non_rating_components_and_bad_fraction() -> None:
    with pytest.raises(ConfigError, match="non-rating"):
        create_model("rating_blend", components=[{"name": "ease", "params": {}}])
    with pytest.raises(ConfigError, match="valid_fraction"):
        create_model("rating_blend", valid_fraction=1.0)
    with pytest.raises(ConfigError):
        create_model("rating_blend", components=[{"name": "bias", "parms": {}}])


def _rmse(model, test: pl.DataFrame) -> float:
    predicted = model.predict(test["user_id"].to_numpy(), test["item_id"].to_numpy())
    return float(np.sqrt(np.mean((predicted - test["rating"].to_numpy()) ** 2)))


def test_blend_beats_every_component_on_u1(u1: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    base, test = u1
    train = Interactions.from_frame(base)
    blend = create_model("rating_blend", components=FAST_COMPONENTS, seed=0).fit(train)
    assert blend.weights_.shape == (1 + 3 + 2 + 6,)
    alone = [_rmse(create_model(c["name"], **c["params"]).fit(train), test)
             for c in FAST_COMPONENTS]
    blended = _rmse(blend, test)
    assert blended < min(alone) - 0.003, (blended, alone)
    predicted = blend.predict(test["user_id"].to_numpy(), test["item_id"].to_numpy())
    assert predicted.min() >= 1.0 and predicted.max() <= 5.0
