"""Item-similarity persistence, explanations and the item × item weight-model base.

The similarity measures themselves are numeric kernels in :mod:`recsys.linalg`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys.errors import DataError
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
_DENSE_WEIGHTS = "weights.npy"  # a model folder's dense weights, memory-mapped on load

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

    ``W`` may cover part of the catalogue only: ``covered_`` then lists the (at least one) item
    indices of its rows and columns (a model too large for every item fits the most-rated
    ones). The other items rank after every covered one, by popularity: their score is the
    user's lowest covered score - 1 + ``fallback_`` (the item's rating count over the largest
    count + 1, so in [0, 1)); they take no part in similar items or explanations.
    """

    capabilities: ClassVar[Capability] = (
        Capability.TOP_N | Capability.FOLD_IN | Capability.SIMILAR_ITEMS | Capability.EXPLAIN
    )
    parallel_scoring: ClassVar[bool] = True  # sparse @ dense and top-k release the GIL
    weights_: np.ndarray | sp.csr_matrix
    covered_: np.ndarray | None = None  # item indices W covers, increasing; None: every item
    fallback_: np.ndarray | None = None  # per item, the popularity score in [0, 1)

    def _inputs(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        """The history rows the weights apply to: binary unless ``params.binary`` is False."""
        if getattr(self.params, "binary", True):
            return binary_pattern(rows).astype(np.float32)
        return rows

    def _cover(self, covered: np.ndarray | None, counts: np.ndarray) -> None:
        """Record that the weights cover the items ``covered`` (None: all) of ``counts``."""
        self.covered_ = covered
        self.fallback_ = None if covered is None else (counts / (counts.max() + 1.0))

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        x = self._inputs(rows)
        if self.covered_ is None:
            return _dense(x @ self.weights_)
        covered = _dense(x[:, self.covered_] @ self.weights_)
        floor = covered.min(axis=1, keepdims=True)
        scores = (floor - 1.0) + self.fallback_[None, :].astype(covered.dtype)
        scores[:, self.covered_] = covered
        return scores

    def _similar(self, items: np.ndarray) -> np.ndarray:
        if self.covered_ is None:
            return _dense(self.weights_[items])
        scores = np.full((len(items), self.train_.shape[1]), -np.inf)
        position = self._positions(items)
        known = position >= 0
        rows = _dense(self.weights_[position[known]])
        scores[np.ix_(np.flatnonzero(known), self.covered_)] = rows
        return scores

    def _weights_to(self, rated: np.ndarray, item: int) -> np.ndarray:
        """W[j, item] for each rated item j (0 where W does not cover j or item)."""
        if self.covered_ is None:
            return _dense(self.weights_[rated][:, [item]]).ravel()
        weights = np.zeros(len(rated))
        column, position = self._positions(np.array([item]))[0], self._positions(rated)
        if column >= 0:
            known = position >= 0
            weights[known] = _dense(self.weights_[position[known]][:, [column]]).ravel()
        return weights

    def _positions(self, items: np.ndarray) -> np.ndarray:
        """Index of each item among ``covered_`` (-1 where not covered)."""
        where = np.searchsorted(self.covered_, items)
        found = where < len(self.covered_)
        found[found] = self.covered_[where[found]] == items[found]
        return np.where(found, where, -1)

    def _explain(self, user: int, row: sp.csr_matrix, item: int, top: int) -> Explanation:
        """``score_i = Σ_j x_j W[j, i]``: each rated item ``j`` adds ``x_j W[j, i]``."""
        x = self._inputs(row)
        rated = x.indices
        return rated_items_explanation(
            int(self.train_.item_ids[item]), self.train_.item_ids[rated],
            row.data.astype(np.float64), x.data * self._weights_to(rated, item), top,
        )

    # Dense weights are saved apart (``weights.npy``) and memory-mapped on load: a server
    # scoring a few histories reads only their items' rows (EASE over the 9,742 movies of
    # ml-latest-small is 380 MB, of which a visitor's ratings touch a few hundred kB).
    def _get_state(self) -> dict[str, np.ndarray]:
        state = csr_to_state("weights", self.weights_) if sp.issparse(self.weights_) else {}
        if self.covered_ is not None:
            state |= {"covered": self.covered_, "fallback": self.fallback_}
        return state

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        if "weights" in state:  # saved before the weights had a file of their own
            self.weights_ = state["weights"]
        elif "weights_data" in state:
            self.weights_ = csr_from_state("weights", state)
        self.covered_, self.fallback_ = state.get("covered"), state.get("fallback")

    def _save_files(self, folder: Path) -> None:
        if not sp.issparse(self.weights_):
            np.save(folder / _DENSE_WEIGHTS, np.ascontiguousarray(self.weights_))

    def _load_files(self, folder: Path) -> None:
        if hasattr(self, "weights_"):  # kept in the npz state (sparse, or an older save)
            return
        path = folder / _DENSE_WEIGHTS
        try:
            self.weights_ = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as error:
            raise DataError(f"{path} does not hold the saved {self.name}'s weights "
                            f"({type(error).__name__}: {error}); save the model again") from error


def _dense(block: np.ndarray | sp.spmatrix) -> np.ndarray:
    return block.toarray() if sp.issparse(block) else np.asarray(block)
