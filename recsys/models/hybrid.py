"""Hybrid recommenders: blending, switching and feature combination.

- ``hybrid_blend``: a weighted sum of registered models' scores, each normalised per user
  (z-score or min-max); a model with no opinion on an item (a collaborative model on an item
  nobody rated, content on an item without a vector) contributes its average. The weights are
  learned on a validation split carved from the training ratings (a grid over the simplex
  scored by NDCG@k), then every component is refit on all of the training data. Sub-models
  are saved in sub-folders.
- ``hybrid_switch``: a cold-user model (most-popular by default) for users with fewer than
  ``min_ratings`` ratings (alone: no cold-item slot for them), the collaborative model
  otherwise, with items nobody rated scored by content.
- ``hybrid_collective_ease`` (feature combination in one model) lives beside EASE in
  :mod:`recsys.models.collective_ease`.

Cold items in both ensembles: items nobody rated are scored by the components that can score
them (their mean z-score), plus an offset learned on the validation split, and each user's best
unseen cold item is lifted to at least rank ``cold_item_rank`` (default 10, 0: off), so new
movies get exposure even where the validation split prices them low.

The shared machinery (normalisation, validation splits, cold items): :mod:`recsys.models.ensemble`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys.data.types import Catalog, Interactions
from recsys.errors import ConfigError
from recsys.models.base import Capability
from recsys.models.ensemble import (
    NORMALIZATIONS,
    Ensemble,
    best_candidate,
    cold_items,
    component_spec,
    shared_capabilities,
    simplex_grid,
)
from recsys.models.explanation import (
    Explanation,
    ExplanationKind,
    Switch,
    SwitchRule,
)
from recsys.models.registry import get_model_class, register

__all__ = ["HybridBlend", "HybridSwitch"]

log = logging.getLogger(__name__)

@register
class HybridBlend(Ensemble):
    """Weighted blend of per-user-normalised scores of any registered models."""

    name = "hybrid_blend"
    capabilities: ClassVar[Capability] = (
        Capability.TOP_N | Capability.FOLD_IN | Capability.EXPLAIN | Capability.COLD_START_ITEMS
    )

    @dataclass(frozen=True)
    class Params:
        components: tuple = (
            {"name": "ease", "params": {"reg": 250.0}},
            {"name": "content", "params": {"representation": "tfidf"}},
        )
        weights: tuple = ()  # empty: learn them on a validation split
        cold_item_offset: float | None = None  # None: learned on the validation split
        cold_item_rank: int = 10  # each user's best cold item ranks here or better (0: off)
        normalization: str = "zscore"
        valid_fraction: float = 0.2
        grid_step: float = 0.1
        k: int = 10  # weights and offset maximise NDCG@k on the validation split
        seed: int = 42

        def __post_init__(self) -> None:
            specs = tuple(component_spec(s, f"hybrid_blend component {i}")
                          for i, s in enumerate(self.components))
            object.__setattr__(self, "components", specs)
            object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
            if len(specs) < 1 or (self.weights and len(self.weights) != len(specs)):
                raise ConfigError(f"hybrid_blend needs >= 1 component and one weight per "
                                  f"component (or none); got {len(specs)} and {self.weights}")
            if self.normalization not in NORMALIZATIONS:
                raise ConfigError(f"hybrid_blend: normalization in {NORMALIZATIONS} expected, "
                                  f"got {self.normalization!r}")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        specs = list(self.params.components)
        self.capabilities = Capability.TOP_N | Capability.EXPLAIN | shared_capabilities(
            specs, Capability.FOLD_IN)
        if any(get_model_class(s["name"]).capabilities & Capability.COLD_START_ITEMS
               for s in specs):
            self.capabilities |= Capability.COLD_START_ITEMS

    def _specs(self) -> list[dict[str, Any]]:
        return list(self.params.components)

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        self.cold_items_ = cold_items(train)
        self.weights_ = np.array(self.params.weights or [1.0] * len(self._specs()))
        self.offset_ = self.params.cold_item_offset or 0.0
        if (not self.params.weights and len(self._specs()) > 1) or (
                self.params.cold_item_offset is None and self.cold_items_.any()):
            self._learn(train, catalog)
        self.weights_ = self.weights_ / self.weights_.sum()
        self.components_ = self._fit_components(train, catalog)

    def _learn(self, train: Interactions, catalog: Catalog | None) -> None:
        """Weights (grid over the simplex, ranking rated items only), then the cold-item
        offset, on a validation split."""
        valid, blocks = self._validation_scores(train, catalog)
        cold, rows = cold_items(valid.inner), valid.rows
        if not self.params.weights and len(blocks) > 1:
            grid = simplex_grid(len(blocks), self.params.grid_step)
            self.weights_ = best_candidate(grid, lambda w:
                                  valid.ndcg(self._blend(w, blocks, rows, cold, -np.inf),
                                             self.params.k), "hybrid_blend weights")
        if self.params.cold_item_offset is None:
            self.offset_ = self._learn_offset(
                valid, lambda offset: self._blend(self.weights_, blocks, rows, cold, offset))

    def _blend(self, weights: np.ndarray, blocks: list[np.ndarray], rows: sp.csr_matrix,
               cold: np.ndarray, offset: float) -> np.ndarray:
        """Σ w·z for rated items; cold items: the mean z of the components that score them."""
        warm = sum(w * block for w, block in zip(weights / weights.sum(), blocks, strict=True))
        able = [b for m, b in zip(self._cold_capable(), blocks, strict=True) if m]
        if not able:
            return warm
        return self._merge_cold(warm, sum(able) / len(able), rows, cold, offset)

    def _cold_capable(self) -> list[bool]:
        return [bool(get_model_class(s["name"]).capabilities & Capability.COLD_START_ITEMS)
                for s in self._specs()]

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        return self._blend(self.weights_, self._component_scores(users, rows), rows,
                           self.cold_items_, self.offset_)

    def _explain(self, user: int, row: sp.csr_matrix, item: int, top: int) -> Explanation:
        """Each component (in the blend's order): its weight, its weighted normalised score
        of the item and its own evidence."""
        blocks = self._component_scores(np.array([user]), row)
        parts = [float(w * block[0, item]) for w, block in zip(self.weights_, blocks, strict=True)]
        components = [self.component_spec(m, float(w), c, user, row, item, top)
                      for m, w, c in zip(self.components_, self.weights_, parts, strict=True)]
        score = float(self._score(np.array([user]), row)[0, item])
        return Explanation(ExplanationKind.BLEND, int(self.train_.item_ids[item]), score,
                           components=tuple(components))

    def _get_state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_, "offset": np.array(self.offset_)}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.weights_ = state["weights"]
        self.offset_ = float(state["offset"])
        self.cold_items_ = cold_items(self.train_)


@register
class HybridSwitch(Ensemble):
    """Cold-user model for users with little history, collaborative otherwise; cold items
    always from content, merged by z-score plus a learned offset."""

    name = "hybrid_switch"
    capabilities: ClassVar[Capability] = (
        Capability.TOP_N | Capability.FOLD_IN | Capability.EXPLAIN | Capability.COLD_START_ITEMS
    )

    @dataclass(frozen=True)
    class Params:
        collaborative: dict | None = None  # default {"name": "ease", "params": {"reg": 250}}
        content: dict | None = None  # default {"name": "content", "params": {}}
        cold_user_model: dict | None = None  # default {"name": "most_popular", "params": {}}
        min_ratings: int = 5  # users with fewer ratings get the cold-user model
        cold_item_ratings: int = 1  # items with fewer training ratings are scored by content
        cold_item_offset: float | None = None  # None: learned on a validation split
        cold_item_rank: int = 10  # each user's best cold item ranks here or better (0: off)
        normalization: str = "zscore"
        valid_fraction: float = 0.2
        k: int = 10  # the offset maximises NDCG@k on the validation split
        seed: int = 42

        def __post_init__(self) -> None:
            defaults = {"collaborative": {"name": "ease", "params": {"reg": 250.0}},
                        "content": {"name": "content", "params": {}},
                        "cold_user_model": {"name": "most_popular", "params": {}}}
            for key, default in defaults.items():
                object.__setattr__(self, key, component_spec(getattr(self, key) or default, key))
            if self.min_ratings < 0 or self.cold_item_ratings < 0:
                raise ConfigError(f"hybrid_switch thresholds must be >= 0, got {self}")
            if self.normalization not in NORMALIZATIONS:
                raise ConfigError(f"normalization must be one of {NORMALIZATIONS}")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.capabilities = Capability.TOP_N | Capability.EXPLAIN | shared_capabilities(
            self._specs(), Capability.FOLD_IN) | shared_capabilities(
            [self.params.content], Capability.COLD_START_ITEMS)

    def _specs(self) -> list[dict[str, Any]]:
        return [self.params.collaborative, self.params.content, self.params.cold_user_model]

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        self.cold_items_ = cold_items(train, self.params.cold_item_ratings)
        offset = self.params.cold_item_offset
        if offset is None:
            offset = self._fit_offset(train, catalog) if self.cold_items_.any() else 0.0
        self.offset_ = float(offset)
        self.components_ = self._fit_components(train, catalog)

    def _fit_offset(self, train: Interactions, catalog: Catalog | None) -> float:
        valid, blocks = self._validation_scores(train, catalog)
        cold = cold_items(valid.inner, self.params.cold_item_ratings)
        return self._learn_offset(
            valid, lambda offset: self._merge(blocks, valid.rows, cold, offset))

    def _merge(self, blocks: list[np.ndarray], rows: sp.csr_matrix, cold: np.ndarray,
               offset: float) -> np.ndarray:
        collaborative, content, cold_user = blocks
        new_user = (np.diff(rows.indptr) < self.params.min_ratings)[:, None]
        # New users get the cold-user model alone: a reserved cold-item slot costs them more
        # than it finds (measured in the content-hybrid study, part c).
        warm = self._merge_cold(collaborative, content, rows, cold, offset)
        return np.where(new_user, cold_user, warm)

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        blocks = self._component_scores(users, rows)
        return self._merge(blocks, rows, self.cold_items_, self.offset_)

    def _explain(self, user: int, row: sp.csr_matrix, item: int, top: int) -> Explanation:
        """The rule that picked the component scoring this item, and that component's own
        explanation."""
        collaborative, content, cold_user = self.components_
        if self.cold_items_[item]:
            model, rule = content, SwitchRule.COLD_ITEM
        elif row.nnz < self.params.min_ratings:
            model, rule = cold_user, SwitchRule.FEW_RATINGS
        else:
            model, rule = collaborative, SwitchRule.ENOUGH_RATINGS
        score = float(self._score(np.array([user]), row)[0, item])
        component = self.component_spec(model, 1.0, score, user, row, item, top)
        return Explanation(ExplanationKind.SWITCH, int(self.train_.item_ids[item]), score,
                           components=(component,),
                           switch=Switch(rule, self.params.min_ratings))

    def _get_state(self) -> dict[str, np.ndarray]:
        return {"offset": np.array(self.offset_)}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.offset_ = float(state["offset"])
        self.cold_items_ = cold_items(self.train_, self.params.cold_item_ratings)


# -- feature combination --------------------------------------------------------------------
