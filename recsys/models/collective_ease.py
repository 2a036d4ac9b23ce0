"""``hybrid_collective_ease``: feature combination in one model, "collective" EASE.

The item features are stacked under the user × item matrix as weighted pseudo-users, so the
Gram matrix is XᵀX + w·FFᵀ + λI (Ning & Karypis' SSLIM idea in EASE's closed form), with w
tuned on a validation split carved from the training ratings. Items nobody rated get weights
through their features.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys.data.types import Catalog, Interactions
from recsys.errors import ConfigError
from recsys.features import REPRESENTATIONS, item_features
from recsys.linalg import ease_weights
from recsys.models.base import Capability
from recsys.models.content import require_catalog
from recsys.models.ensemble import best_candidate, validation_split
from recsys.models.registry import register
from recsys.models.similarity import ItemWeightsRecommender

__all__ = ["CollectiveEASE"]

log = logging.getLogger(__name__)

_SIDE_BLOCK = 1024  # rows of FFᵀ computed at once


def _side_gram(features: Any) -> np.ndarray:
    """FFᵀ as a dense float32 matrix, computed in row blocks (F may be sparse)."""
    n = features.shape[0]
    gram = np.empty((n, n), dtype=np.float32)
    transposed = features.T.tocsr() if sp.issparse(features) else features.T
    for start in range(0, n, _SIDE_BLOCK):
        block = features[start:start + _SIDE_BLOCK] @ transposed
        gram[start:start + _SIDE_BLOCK] = block.toarray() if sp.issparse(block) else block
    return gram


@register
class CollectiveEASE(ItemWeightsRecommender):
    """EASE with side information: item features as extra, weighted rows of X (cold items too)."""

    name = "hybrid_collective_ease"
    capabilities: ClassVar[Capability] = (
        ItemWeightsRecommender.capabilities | Capability.COLD_START_ITEMS
    )

    @dataclass(frozen=True)
    class Params:
        reg: float = 250.0
        # w: how many pseudo-users each feature row counts for; several: tuned on validation
        side_weight: float | tuple = (5.0, 20.0, 80.0)
        representation: str = "tfidf"
        min_df: int = 2
        valid_fraction: float = 0.2
        k: int = 10  # the side weight maximises NDCG@k on the validation split
        seed: int = 42

        def __post_init__(self) -> None:
            weights = self.side_weight
            weights = tuple(float(w) for w in (
                weights if isinstance(weights, (tuple, list)) else (weights,)))
            object.__setattr__(self, "side_weight", weights[0] if len(weights) == 1 else weights)
            if self.reg <= 0 or not weights or min(weights) < 0:
                raise ConfigError(f"hybrid_collective_ease needs reg > 0 and side_weight(s) "
                                  f">= 0, got reg={self.reg}, side_weight={self.side_weight}")
            if self.representation not in REPRESENTATIONS:
                raise ConfigError(f"representation must be one of {REPRESENTATIONS}")

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        known = require_catalog(catalog, self.name)
        features = item_features(known, self.params.representation, self.params.min_df)
        side = _side_gram(features.align(train.item_ids))
        candidates = np.atleast_1d(np.asarray(self.params.side_weight, dtype=np.float64))
        if len(candidates) > 1:
            valid = validation_split(train, self.params.valid_fraction, self.rng_)
            x = self._inputs(valid.rows)
            candidates = [best_candidate(candidates, lambda w: valid.ndcg(
                np.asarray(x @ self._weights(valid.inner, side, w)), self.params.k),
                f"{self.name} side weight")]
        self.side_weight_ = float(candidates[0])
        self.weights_ = self._weights(train, side, self.side_weight_)
        log.info("%s: %d × %d weights (λ=%g, w=%g, %s)", self.name, *self.weights_.shape,
                 self.params.reg, self.side_weight_, self.params.representation)

    def _weights(self, train: Interactions, side: np.ndarray, side_weight: float) -> np.ndarray:
        """B = -P / diag(P), diag(B) = 0 for P = (XᵀX + w·FFᵀ + λI)⁻¹ (EASE's closed form)."""
        x = self._inputs(train.matrix)
        gram = side * np.float32(side_weight)
        gram += (x.T @ x).toarray().astype(np.float32)
        return ease_weights(gram, self.params.reg)

    def _get_state(self) -> dict[str, np.ndarray]:
        return super()._get_state() | {"side_weight": np.array(self.side_weight_)}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        super()._set_state(state, meta)
        self.side_weight_ = float(state["side_weight"])
