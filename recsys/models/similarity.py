"""Similarity measures on sparse rating matrices, and the item × item weight-model base.

Every measure compares the rows of a CSR matrix ``X`` (entities × their ratings) using
only co-rated columns, exactly as scikit-surprise defines them (``similarities.pyx``), but
computed block-wise with sparse matrix products instead of per-pair loops:

- ``n``  = B_a @ B.T              co-rating counts (B: the binary pattern of X)
- ``p``  = A @ X.T                sum of products over co-rated columns
- ``qa`` = (A∘A) @ B.T, ``qb`` = B_a @ (X∘X).T   sums of squares over co-rated columns
- ``sa`` = A @ B.T,     ``sb`` = B_a @ X.T       sums over co-rated columns (Pearson)

MSD uses the expansion sum (x - y)² = qa + qb - 2p. Explicit zeros (a rating equal to its
centre) are kept in the pattern, so centring never changes who co-rated what.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys.errors import ConfigError
from recsys.models.base import Capability, Recommender
from recsys.models.explanation import Explanation, ExplanationKind, RatedItem

__all__ = [
    "SIMILARITIES",
    "ItemWeightsRecommender",
    "csr_from_state",
    "csr_to_state",
    "keep_top_k",
    "rated_items",
    "rated_items_explanation",
    "similarity_block",
    "similarity_matrix",
    "top_k_dense",
]

log = logging.getLogger(__name__)

SIMILARITIES = ("cosine", "pearson", "adjusted_cosine", "jaccard", "msd", "pearson_baseline")
_BLOCK_CELLS = 4_000_000  # dense cells per block of rows (bounds memory to ~32 MB per array)


def _pattern(X: sp.csr_matrix) -> sp.csr_matrix:
    """Binary matrix with X's stored entries (explicit zeros included) set to 1."""
    return sp.csr_matrix((np.ones_like(X.data), X.indices, X.indptr), shape=X.shape)


def centred_values(
    X: sp.csr_matrix,
    kind: str,
    baseline: tuple[float, np.ndarray, np.ndarray] | None = None,
) -> sp.csr_matrix:
    """The values a measure compares: raw ratings, column-mean centred, or baseline residuals.

    ``adjusted_cosine`` subtracts each column entity's mean (Sarwar et al. 2001: the user's
    mean for item-item similarity); ``pearson_baseline`` subtracts mu + b_row + b_col.
    """
    values = sp.csr_matrix(X, dtype=np.float64, copy=True)
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    if kind == "adjusted_cosine":
        counts = np.bincount(X.indices, minlength=X.shape[1])
        sums = np.bincount(X.indices, weights=values.data, minlength=X.shape[1])
        means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        values.data -= means[X.indices]
    elif kind == "pearson_baseline":
        if baseline is None:
            raise ConfigError("pearson_baseline needs baseline=(mu, row_bias, col_bias)")
        mu, row_bias, col_bias = baseline
        values.data -= mu + row_bias[rows] + col_bias[X.indices]
    return values


def similarity_block(
    values: sp.csr_matrix,
    rows: np.ndarray,
    kind: str,
    min_support: int = 1,
    shrinkage: float = 0.0,
) -> np.ndarray:
    """Dense similarities of ``rows`` to every row of ``values`` (len(rows) × n).

    Pairs with fewer than ``min_support`` co-rated columns get 0 (Surprise's rule; at least
    2 for ``pearson_baseline``). Shrinkage multiplies by n/(n + shrinkage), or by
    (n - 1)/(n - 1 + shrinkage) for ``pearson_baseline`` as in Surprise. The diagonal is kept.
    """
    if kind not in SIMILARITIES:
        raise ConfigError(f"Unknown similarity {kind!r}; expected one of {SIMILARITIES}")
    v, v_bin = values, _pattern(values)
    a, a_bin = v[rows], v_bin[rows]

    def mm(left: sp.csr_matrix, right: sp.csr_matrix) -> np.ndarray:
        return (left @ right.T).toarray()

    n = mm(a_bin, v_bin)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "jaccard":
            degree = np.diff(values.indptr).astype(np.float64)
            sim = n / (degree[rows, None] + degree[None, :] - n)
        else:
            p = mm(a, v)
            qa = mm(a.multiply(a), v_bin)
            full = len(rows) == values.shape[0]  # one block: the products are symmetric
            qb = qa.T if full else mm(a_bin, v.multiply(v))
            if kind == "msd":
                sim = 1.0 / (np.maximum(qa + qb - 2.0 * p, 0.0) / n + 1.0)
            elif kind == "pearson":
                sa, sb = mm(a, v_bin), mm(a_bin, v)
                sim = (n * p - sa * sb) / np.sqrt((n * qa - sa**2) * (n * qb - sb**2))
            else:  # cosine, adjusted_cosine, pearson_baseline: cosine of (centred) values
                sim = p / np.sqrt(qa * qb)
    support = max(min_support, 2) if kind == "pearson_baseline" else max(min_support, 1)
    sim[~np.isfinite(sim) | (n < support)] = 0.0
    if shrinkage > 0:
        common = n - 1.0 if kind == "pearson_baseline" else n
        sim *= common / (common + shrinkage)
    return sim


def similarity_matrix(
    X: sp.csr_matrix,
    kind: str,
    min_support: int = 1,
    shrinkage: float = 0.0,
    baseline: tuple[float, np.ndarray, np.ndarray] | None = None,
) -> sp.csr_matrix:
    """Row × row similarities of ``X`` as CSR, keeping only positive values off the diagonal.

    Non-positive similarities are dropped: neighbourhood models never use them (Surprise
    skips neighbours with sim <= 0), and storing them would make the matrix dense.
    """
    values = centred_values(X, kind, baseline)
    n_rows = X.shape[0]
    step = max(1, _BLOCK_CELLS // max(n_rows, 1))
    blocks = []
    for start in range(0, n_rows, step):
        rows = np.arange(start, min(start + step, n_rows))
        sim = similarity_block(values, rows, kind, min_support, shrinkage)
        sim[np.arange(len(rows)), rows] = 0.0
        sim[sim < 0] = 0.0
        blocks.append(sp.csr_matrix(sim))
    result = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, 0))
    result.sort_indices()
    log.debug("%s similarity: %d × %d, %d positive pairs", kind, n_rows, n_rows, result.nnz)
    return result


def top_k_dense(block: np.ndarray, k: int) -> sp.csr_matrix:
    """The ``k`` largest positive entries of each row of a dense block, as CSR.

    Ties at the k-th value are broken by ``np.argpartition`` (deterministic, not by index).
    """
    if block.shape[1] > k:
        idx = np.argpartition(-block, k - 1, axis=1)[:, :k]
        values = np.take_along_axis(block, idx, axis=1)
    else:
        idx = np.broadcast_to(np.arange(block.shape[1]), block.shape)
        values = block
    rows = np.broadcast_to(np.arange(block.shape[0])[:, None], idx.shape)
    keep = values > 0
    result = sp.csr_matrix((values[keep], (rows[keep], idx[keep])), shape=block.shape)
    result.sort_indices()
    return result


def keep_top_k(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest positive entries of each row of a sparse matrix."""
    step = max(1, _BLOCK_CELLS // max(matrix.shape[1], 1))
    blocks = [
        top_k_dense(matrix[start:start + step].toarray(), k)
        for start in range(0, matrix.shape[0], step)
    ]
    return sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix(matrix.shape)


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
            return _pattern(rows).astype(np.float32)
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
