"""Item-similarity persistence, explanations and the item × item weight-model base.

The similarity measures themselves are numeric kernels in :mod:`recsys.linalg`.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys.linalg import binary_pattern
from recsys.models.base import Capability, Recommender
from recsys.models.explanation import Explanation, ExplanationKind, RatedItem

__all__ = [
    "ItemWeightsRecommender",
    "csr_from_state",
    "csr_to_state",
    "rated_items",
    "rated_items_explanation",
]

log = logging.getLogger(__name__)

def csr_to_state(prefix: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    """Arrays that persist a CSR matrix inside a model's npz state."""
    return {
        f"{prefix}_data": matrix.data,
        f"{prefix}_indices": matrix.indices,
        f"{prefix}_indptr": matrix.indptr,
        f"{prefix}_shape": np.array(matrix.shape),
    }


def csr_from_state(prefix: str, state: dict[str, np.ndarray]) -> sp.csr_matrix:
    """Rebuild a CSR matrix written by :func:`csr_to_state`."""
    return sp.csr_matrix(
        (state[f"{prefix}_data"], state[f"{prefix}_indices"], state[f"{prefix}_indptr"]),
        shape=tuple(state[f"{prefix}_shape"]),
    )


def rated_items(
    rated_ids: np.ndarray, ratings: np.ndarray, contributions: np.ndarray, top: int
) -> tuple[RatedItem, ...]:
    """The ``top`` rated items with the largest positive contributions, largest first."""
    order = np.lexsort((rated_ids, -contributions))[:top]
    order = order[contributions[order] > 0]
    return tuple(RatedItem(int(rated_ids[j]), float(ratings[j]), float(contributions[j]))
                 for j in order)


def rated_items_explanation(
    item_id: int, rated_ids: np.ndarray, ratings: np.ndarray, contributions: np.ndarray,
    top: int,
) -> Explanation:
    """A score that is a sum over the rated items: the items that add the most to it."""
    return Explanation(ExplanationKind.RATED_ITEMS, item_id, float(contributions.sum()),
                       rated_items=rated_items(rated_ids, ratings, contributions, top))


class ItemWeightsRecommender(Recommender):
    """Models that score a user as ``x_u @ W`` for an item × item weight matrix ``W``.

    ``W[j, i]`` is how much having item ``j`` in the history recommends item ``i``; subclasses
    set ``weights_`` (dense ndarray or CSR) in ``_fit``. Scoring, fold-in, item similarity
    (row ``W[i]``), explanations and persistence are shared.
    """

    capabilities: ClassVar[Capability] = (
        Capability.TOP_N | Capability.FOLD_IN | Capability.SIMILAR_ITEMS | Capability.EXPLAIN
    )
    weights_: np.ndarray | sp.csr_matrix

    def _inputs(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        """The history rows the weights apply to: binary unless ``params.binary`` is False."""
        if getattr(self.params, "binary", True):
            return binary_pattern(rows).astype(np.float32)
        return rows

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        scores = self._inputs(rows) @ self.weights_
        return scores.toarray() if sp.issparse(scores) else np.asarray(scores)

    def _similar(self, items: np.ndarray) -> np.ndarray:
        block = self.weights_[items]
        return block.toarray() if sp.issparse(block) else np.asarray(block)

    def _explain(self, user: int, row: sp.csr_matrix, item: int, top: int) -> Explanation:
        """``score_i = Σ_j x_j W[j, i]``: each rated item ``j`` adds ``x_j W[j, i]``."""
        x = self._inputs(row)
        rated = x.indices
        column = self.weights_[rated][:, [item]]
        weights = column.toarray().ravel() if sp.issparse(column) else np.asarray(column).ravel()
        return rated_items_explanation(
            int(self.train_.item_ids[item]), self.train_.item_ids[rated],
            row.data.astype(np.float64), x.data * weights, top,
        )

    def _get_state(self) -> dict[str, np.ndarray]:
        if sp.issparse(self.weights_):
            return csr_to_state("weights", self.weights_)
        return {"weights": self.weights_}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        if "weights" in state:
            self.weights_ = state["weights"]
        else:
            self.weights_ = csr_from_state("weights", state)
