"""Stacked rating prediction: a ridge blend of registered rating models (the Netflix-prize recipe).

``rating_blend`` holds out a random ``valid_fraction`` of the training ratings, fits every
component on the rest, and learns ridge weights that map the components' predictions of the
held-out ratings (plus meta-features) to the true ratings. The components are then refit on
all of the training data and blended with those weights. Weights are therefore learned inside
each training fold only, never on a test fold.

Meta-features (``meta_features=True``) let the weights depend on how much data backs a
prediction: ``s_u = log(1 + n_u)`` and ``s_i = log(1 + n_i)`` (training ratings of the user
and of the item), and every prediction times each of them. Counts on the reduced fit are
rescaled by ``1 / (1 - valid_fraction)`` so that they match the full-data counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys.data.types import Catalog, Interactions
from recsys.errors import ConfigError, RecsysError
from recsys.models.base import Capability
from recsys.models.ensemble import Ensemble, component_spec
from recsys.models.registry import get_model_class, register

__all__ = ["RatingBlend", "blend_features", "ridge_weights"]

log = logging.getLogger(__name__)

_MIN_HELD = 10  # fewer held-out ratings than this cannot fit the blend


def blend_features(
    predictions: np.ndarray, user_support: np.ndarray, item_support: np.ndarray, meta: bool
) -> np.ndarray:
    """Design matrix ``[1, P, (s_u, s_i, P·s_u, P·s_i)]`` for predictions ``P`` (n × models)."""
    columns = [np.ones((len(predictions), 1)), predictions]
    if meta:
        s_u, s_i = np.log1p(user_support)[:, None], np.log1p(item_support)[:, None]
        columns += [s_u, s_i, predictions * s_u, predictions * s_i]
    return np.hstack(columns)


def ridge_weights(features: np.ndarray, target: np.ndarray, ridge: float) -> np.ndarray:
    """Ridge regression with an unpenalised intercept (first column): the weight vector."""
    penalty = np.full(features.shape[1], float(ridge))
    penalty[0] = 0.0
    gram = features.T @ features + np.diag(penalty)
    return np.linalg.solve(gram, features.T @ target)


def _holdout(train: Interactions, fraction: float, rng: np.random.Generator
             ) -> tuple[Interactions, np.ndarray, np.ndarray, np.ndarray]:
    """A random ``fraction`` of the ratings held out: (rest, held users, items, ratings)."""
    coo = train.matrix.tocoo()
    held = rng.random(coo.nnz) < fraction
    if held.sum() < _MIN_HELD or held.all():
        raise RecsysError(f"rating_blend: {int(held.sum())} of {coo.nnz} ratings held out; "
                          f"the training data is too small for valid_fraction={fraction}")
    return (train.keeping(~held), coo.row[held], coo.col[held],
            coo.data[held].astype(np.float64))


@register
class RatingBlend(Ensemble):
    """Ridge-stacked rating models; weights learned on a holdout carved from the training data."""

    name = "rating_blend"
    capabilities: ClassVar[Capability] = Capability.RATING | Capability.TOP_N

    @dataclass(frozen=True)
    class Params:
        components: tuple = (
            {"name": "surprise_svd",
             "params": {"n_factors": 100, "n_epochs": 30, "lr_all": 0.01, "reg_all": 0.1}},
            {"name": "item_knn", "params": {"similarity": "pearson_baseline", "k": 50,
                                            "shrinkage": 200.0, "centering": "baseline"}},
            {"name": "user_knn", "params": {"similarity": "pearson_baseline", "k": 50,
                                            "shrinkage": 200.0, "centering": "baseline"}},
            {"name": "bias", "params": {}},
        )
        meta_features: bool = True
        ridge: float = 1.0
        valid_fraction: float = 0.2
        seed: int = 42

        def __post_init__(self) -> None:
            specs = tuple(component_spec(s, f"rating_blend component {i}")
                          for i, s in enumerate(self.components))
            object.__setattr__(self, "components", specs)
            not_rating = [s["name"] for s in specs
                          if not get_model_class(s["name"]).capabilities & Capability.RATING]
            if not specs or not_rating:
                raise ConfigError(f"rating_blend needs >= 1 component and only rating models; "
                                  f"got {len(specs)} component(s), non-rating: {not_rating}")

    def _specs(self) -> list[dict[str, Any]]:
        return list(self.params.components)

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        p = self.params
        inner, users, items, ratings = _holdout(train, p.valid_fraction, self.rng_)
        self.components_ = self._fit_components(inner, catalog)
        scale = 1.0 / (1.0 - p.valid_fraction)
        features = self._features(users, items, inner.matrix, scale)
        self.weights_ = ridge_weights(features, ratings, p.ridge)
        fitted = np.clip(features @ self.weights_, ratings.min(), ratings.max())
        log.info("rating_blend: %d weights on %d held-out ratings (holdout rmse %.4f)",
                 len(self.weights_), len(ratings), np.sqrt(np.mean((fitted - ratings) ** 2)))
        self.components_ = self._fit_components(train, catalog)
        self._set_scale()

    def _set_scale(self) -> None:
        data = self.train_.matrix.data
        self.scale_ = (float(data.min()), float(data.max()))

    def _features(self, users: np.ndarray, items: np.ndarray, matrix: sp.csr_matrix,
                  support_scale: float = 1.0) -> np.ndarray:
        """Blend features of (user, item) index pairs; -1 marks an unknown id (support 0)."""
        predictions = np.column_stack([m._predict(users, items) for m in self.components_])
        user_count = np.append(np.diff(matrix.indptr), 0) * support_scale
        item_count = np.append(np.bincount(matrix.indices, minlength=matrix.shape[1]), 0)
        return blend_features(predictions, user_count[users], item_count[items] * support_scale,
                              self.params.meta_features)

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        estimates = self._features(users, items, self.train_.matrix) @ self.weights_
        return np.clip(estimates, *self.scale_)

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        n_items = self.train_.shape[1]
        pairs_u, pairs_i = np.repeat(users, n_items), np.tile(np.arange(n_items), len(users))
        return self._predict(pairs_u, pairs_i).reshape(len(users), n_items)

    def _get_state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.weights_ = state["weights"]
        self._set_scale()
