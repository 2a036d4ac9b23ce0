"""Baselines every benchmark includes: random, most-popular and the bias baseline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.data.types import Catalog, Interactions
from recsys.models.base import Capability, Recommender
from recsys.models.explanation import Explanation, ExplanationKind, Popularity
from recsys.models.registry import register

__all__ = ["RandomRecommender", "MostPopular"]


@register
class RandomRecommender(Recommender):
    """Uniformly random scores: the floor any model must beat."""

    name = "random"
    capabilities = Capability.TOP_N

    @dataclass(frozen=True)
    class Params:
        seed: int = 42

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        self.n_items_ = train.shape[1]

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        # Seeded per user so that batch and single-user calls agree.
        return np.stack(
            [
                np.random.default_rng([self.params.seed, int(u) & 0x7FFFFFFF]).random(self.n_items_)
                for u in users
            ]
        ) if len(users) else np.empty((0, self.n_items_))

    def _get_state(self) -> dict[str, np.ndarray]:
        return {}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.n_items_ = self.train_.shape[1]


@register
class MostPopular(Recommender):
    """Items ranked by how many users rated them (optionally above a rating threshold)."""

    name = "most_popular"
    capabilities = Capability.TOP_N | Capability.FOLD_IN | Capability.EXPLAIN

    @dataclass(frozen=True)
    class Params:
        min_rating: float = 0.0
        seed: int = 42

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        counts = np.asarray((train.matrix > self.params.min_rating).sum(axis=0)).ravel()
        self.popularity_ = counts.astype(np.float64)

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        return np.tile(self.popularity_, (len(users), 1))

    def _explain(self, user: int, row: sp.csr_matrix, item: int, top: int) -> Explanation:
        """The item's score is its number of raters, the same for everyone."""
        count = int(self.popularity_[item])
        return Explanation(ExplanationKind.POPULARITY, int(self.train_.item_ids[item]),
                           float(count), popularity=Popularity(count, self.params.min_rating))

    def _get_state(self) -> dict[str, np.ndarray]:
        return {"popularity": self.popularity_}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.popularity_ = state["popularity"]
