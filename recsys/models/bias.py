"""The bias baseline: global mean plus regularised user and item biases.

The biases are fitted by the alternating closed-form updates of Surprise's
``BaselineOnly`` (``baseline_als`` in ``optimize_baselines.pyx``), vectorised: each epoch
sets every item bias, then every user bias, to its regularised mean residual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.data.types import Catalog, Interactions
from recsys.errors import ConfigError
from recsys.models.base import Capability, Recommender
from recsys.models.registry import register

__all__ = ["Baselines", "BiasRecommender", "als_biases"]


@dataclass(frozen=True)
class Baselines:
    """mu + b_u + b_i, plus the rating scale seen in training (for clipping)."""

    mu: float
    user_bias: np.ndarray
    item_bias: np.ndarray
    low: float
    high: float

    def estimate(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """mu + b_u + b_i, where an index of -1 (unknown) contributes no bias."""
        est = np.full(len(users), self.mu, dtype=np.float64)
        known_u, known_i = users >= 0, items >= 0
        est[known_u] += self.user_bias[users[known_u]]
        est[known_i] += self.item_bias[items[known_i]]
        return est

    def clip(self, estimates: np.ndarray) -> np.ndarray:
        """Clip estimates into the training rating scale, as Surprise does."""
        return np.clip(estimates, self.low, self.high)

    def to_state(self) -> dict[str, np.ndarray]:
        """Arrays for npz persistence."""
        return {
            "mu_scale": np.array([self.mu, self.low, self.high]),
            "user_bias": self.user_bias,
            "item_bias": self.item_bias,
        }

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> Baselines:
        """Inverse of :meth:`to_state`."""
        mu, low, high = (float(v) for v in state["mu_scale"])
        return cls(mu, state["user_bias"], state["item_bias"], low, high)


def als_biases(
    matrix: sp.csr_matrix, reg_u: float = 15.0, reg_i: float = 10.0, n_epochs: int = 10
) -> Baselines:
    """Surprise's ALS baselines on a user × item rating matrix (defaults as in Surprise)."""
    if matrix.nnz == 0:
        raise ConfigError("Cannot fit biases on an empty rating matrix")
    coo = matrix.tocoo()
    users, items = coo.row, coo.col
    ratings = coo.data.astype(np.float64)
    n_users, n_items = matrix.shape
    mu = float(ratings.mean())
    count_u = np.bincount(users, minlength=n_users)
    count_i = np.bincount(items, minlength=n_items)
    user_bias = np.zeros(n_users)
    item_bias = np.zeros(n_items)
    for _ in range(n_epochs):
        residual = ratings - mu - user_bias[users]
        item_bias = np.bincount(items, weights=residual, minlength=n_items) / (reg_i + count_i)
        residual = ratings - mu - item_bias[items]
        user_bias = np.bincount(users, weights=residual, minlength=n_users) / (reg_u + count_u)
    return Baselines(mu, user_bias, item_bias, float(ratings.min()), float(ratings.max()))


@register
class BiasRecommender(Recommender):
    """Global mean + user bias + item bias; top-N ranks items by their bias."""

    name = "bias"
    capabilities = Capability.RATING | Capability.TOP_N

    @dataclass(frozen=True)
    class Params:
        reg_u: float = 15.0
        reg_i: float = 10.0
        n_epochs: int = 10
        seed: int = 42

        def __post_init__(self) -> None:
            if self.reg_u < 0 or self.reg_i < 0 or self.n_epochs < 1:
                raise ConfigError(
                    f"bias needs reg_u, reg_i >= 0 and n_epochs >= 1, got {self}"
                )

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        p = self.params
        self.baselines_ = als_biases(train.matrix, p.reg_u, p.reg_i, p.n_epochs)

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        b = self.baselines_
        return b.mu + b.user_bias[users][:, None] + b.item_bias[None, :]

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.baselines_.clip(self.baselines_.estimate(users, items))

    def _get_state(self) -> dict[str, np.ndarray]:
        return self.baselines_.to_state()

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.baselines_ = Baselines.from_state(state)
