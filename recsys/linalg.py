"""Numeric kernels on the ground floor: top-k, EASE's closed form, similarity measures.

Models import these; nothing here knows about models, ids or data sets.

Similarity measures compare the rows of a CSR matrix ``X`` (entities × their ratings) using
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

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from recsys.errors import ConfigError

__all__ = [
    "SIMILARITIES",
    "binary_pattern",
    "centred_values",
    "ease_weights",
    "keep_top_k",
    "similarity_block",
    "similarity_matrix",
    "spd_inverse",
    "top_k",
    "top_k_dense",
]

log = logging.getLogger(__name__)


# -- ranking ----------------------------------------------------------------------------------
def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k of a dense score block: (indices, scores), best first, ties by index.

    Among items with equal scores the lower column index wins, also at the cut-off: the
    result depends on the scores only, never on how ``np.argpartition`` breaks ties.
    """
    k = min(k, scores.shape[1])
    if k <= 0:
        empty = np.empty((scores.shape[0], 0))
        return empty.astype(np.int64), empty
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    kth = np.take_along_axis(scores, part, axis=1).min(axis=1, keepdims=True)
    ragged = np.flatnonzero((scores >= kth).sum(axis=1) > k)  # ties straddle the cut-off
    if len(ragged):
        part[ragged] = _lowest_index_ties(scores[ragged], kth[ragged], k)
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    return idx, np.take_along_axis(scores, idx, axis=1)


def _lowest_index_ties(scores: np.ndarray, kth: np.ndarray, k: int) -> np.ndarray:
    """Per row, the columns above ``kth`` plus the lowest-index ones equal to it: k in all."""
    above, at_cut = scores > kth, scores == kth
    wanted = k - above.sum(axis=1, keepdims=True)
    chosen = above | (at_cut & (np.cumsum(at_cut, axis=1) <= wanted))
    return np.nonzero(chosen)[1].reshape(-1, k)


# -- EASE's closed form -----------------------------------------------------------------------
_BLOCK = 1024


def spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix, computed in place (Cholesky)."""
    potrf, potri = scipy.linalg.lapack.get_lapack_funcs(("potrf", "potri"), (matrix,))
    factor, info = potrf(matrix, lower=False, overwrite_a=True, clean=False)
    if info != 0:
        raise ConfigError(f"the Gram matrix + λI is not positive definite (LAPACK info {info})")
    inverse, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise ConfigError(f"inverting the Gram matrix + λI failed (LAPACK info {info})")
    n = inverse.shape[0]
    for start in range(0, n, _BLOCK):  # potri fills the upper triangle: mirror it
        stop = min(start + _BLOCK, n)
        inverse[start:stop, :start] = inverse[:start, start:stop].T
        diagonal = inverse[start:stop, start:stop]
        diagonal[:] = np.triu(diagonal) + np.triu(diagonal, 1).T
    return inverse


def ease_weights(gram: np.ndarray, reg: float) -> np.ndarray:
    """B = -P / diag(P) with diag(B) = 0, for P = (G + λI)⁻¹ (Steck 2019); ``gram`` is consumed.

    LAPACK hands P back in Fortran order; P is symmetric, so its transpose is the same matrix in
    C order, which keeps sparse @ dense scoring free of a full copy.
    """
    gram[np.diag_indices_from(gram)] += np.asarray(reg, dtype=gram.dtype)
    precision = spd_inverse(gram)
    if not precision.flags.c_contiguous:
        precision = precision.T
    precision /= -np.diag(precision).copy()[None, :]
    np.fill_diagonal(precision, 0.0)
    return precision


# -- similarity measures ----------------------------------------------------------------------
SIMILARITIES = ("cosine", "pearson", "adjusted_cosine", "jaccard", "msd", "pearson_baseline")
_BLOCK_CELLS = 4_000_000  # dense cells per block of rows (bounds memory to ~32 MB per array)


def binary_pattern(X: sp.csr_matrix) -> sp.csr_matrix:
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
    v, v_bin = values, binary_pattern(values)
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
