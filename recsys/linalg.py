"""Numeric kernels on the ground floor: top-k, EASE's closed form, similarity measures.

Models import these; nothing here knows about models, ids or data sets.

Similarity measures compare the rows of a CSR matrix ``X`` (entities × their ratings) using
only co-rated columns, exactly as scikit-surprise defines them (``similarities.pyx``), but
computed for a block of rows at a time by one compiled pass (numba) that accumulates, for
each pair (a, b) of rows, sums over their co-rated columns c of x = X[a, c] and y = X[b, c]:

- ``p``  = Σ x·y        sum of products (the Gram matrix XXᵀ)
- ``n``  = Σ 1          co-rating counts
- ``qa`` = Σ x², ``qb`` = Σ y²   sums of squares
- ``sa`` = Σ x,  ``sb`` = Σ y    sums (Pearson)

MSD uses the expansion sum (x - y)² = qa + qb - 2p. Explicit zeros (a rating equal to its
centre) are kept in the pattern, so centring never changes who co-rated what. The pass does
Σ_c (entries of column c)² updates, as many as one sparse product ``A @ X.T`` multiplies,
but one sweep yields every sum and the measure itself, with no sparse or dense temporaries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import scipy.linalg
import scipy.sparse as sp
from tqdm.auto import tqdm

from recsys.errors import ConfigError

__all__ = [
    "SIMILARITIES",
    "binary_pattern",
    "centred_values",
    "dense_product",
    "ease_weights",
    "gram_matrix",
    "keep_top_k",
    "largest_inverse",
    "proximity_gram",
    "row_blocks",
    "similarity_block",
    "similarity_matrix",
    "spd_inverse",
    "top_k",
    "top_k_dense",
    "top_k_unseen",
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



def top_k_unseen(
    scores: np.ndarray, seen: sp.spmatrix | None, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's top ``k`` (:func:`top_k`) among its finite cells that ``seen`` does not
    hold, flat: (row, column, score, rank from 1), row by row, best first.

    ``scores`` (float64) is overwritten: those cells become ``-inf``.
    """
    scores[~np.isfinite(scores)] = -np.inf
    if seen is not None:
        seen = seen.tocoo()
        scores[seen.row, seen.col] = -np.inf
    idx, best = top_k(scores, k)
    valid = np.isfinite(best)
    rows, ranks = np.indices(idx.shape)
    return rows[valid], idx[valid], best[valid], ranks[valid] + 1

def _lowest_index_ties(scores: np.ndarray, kth: np.ndarray, k: int) -> np.ndarray:
    """Per row, the columns above ``kth`` plus the lowest-index ones equal to it: k in all."""
    above, at_cut = scores > kth, scores == kth
    wanted = k - above.sum(axis=1, keepdims=True)
    chosen = above | (at_cut & (np.cumsum(at_cut, axis=1) <= wanted))
    return np.nonzero(chosen)[1].reshape(-1, k)


# -- blocks of rows ---------------------------------------------------------------------------
_BLOCK_CELLS = 4_000_000  # dense cells per block of rows (bounds memory to ~32 MB per array)


def row_blocks(n_rows: int, n_cols: int, progress: str | None = None) -> Iterator[np.ndarray]:
    """Consecutive blocks of row indices, each about ``_BLOCK_CELLS`` dense cells of ``n_cols``.

    ``progress`` names a tqdm bar over the blocks (none when None; silent when not a TTY).
    """
    step = max(1, _BLOCK_CELLS // max(n_cols, 1))
    with _bar(progress, total=-(-n_rows // step), unit="block") as bar:
        for start in range(0, n_rows, step):
            yield np.arange(start, min(start + step, n_rows))
            bar.update()


def _bar(progress: str | None, **options: Any) -> tqdm:
    """A transient tqdm bar named ``progress``; disabled when None, silent when not a TTY."""
    return tqdm(desc=progress, leave=False, disable=None if progress else True, **options)


# -- EASE's closed form -----------------------------------------------------------------------
_BLOCK = 1024
# The LAPACK that SciPy bundles (32-bit integers) crashed the process (segmentation fault) in its
# Cholesky of a 26,742 × 26,742 float32 matrix (2.66 GiB); 2 GiB is the reach of 32-bit offsets.
_LAPACK_MAX_BYTES = 2**31


def largest_inverse(dtype: Any = np.float32) -> int:
    """The most rows of a square ``dtype`` matrix that :func:`spd_inverse` inverts here."""
    return int((_LAPACK_MAX_BYTES / np.dtype(dtype).itemsize) ** 0.5) - 1


def spd_inverse(matrix: np.ndarray, progress: str | None = None) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix, computed in place (Cholesky).

    A C-ordered matrix is handed to LAPACK as its transpose, the same symmetric matrix in
    Fortran order, so that no n² copy is made. ``progress`` names a bar over the three steps
    (factorise, invert, mirror); LAPACK runs each step in one call.
    """
    if matrix.nbytes >= _LAPACK_MAX_BYTES:
        n, gib, rows = matrix.shape[0], matrix.nbytes / 2**30, largest_inverse(matrix.dtype)
        raise ConfigError(
            f"a dense {n:,} × {n:,} inverse ({gib:.1f} GiB) is beyond what this LAPACK inverts "
            f"(under {_LAPACK_MAX_BYTES / 2**30:.0f} GiB, about {rows:,} rows of "
            f"{matrix.dtype}): fit EASE on fewer movies (max_items, default 10,000)")
    if matrix.flags.c_contiguous:
        matrix = matrix.T
    potrf, potri = scipy.linalg.lapack.get_lapack_funcs(("potrf", "potri"), (matrix,))
    with _bar(progress, total=3, unit="step") as bar:
        bar.set_postfix_str("Cholesky")
        factor, info = potrf(matrix, lower=False, overwrite_a=True, clean=False)
        if info != 0:
            raise ConfigError(f"the Gram matrix + λI is not positive definite (LAPACK info {info})")
        bar.update()
        bar.set_postfix_str("inverse")
        inverse, info = potri(factor, lower=False, overwrite_c=True)
        if info != 0:
            raise ConfigError(f"inverting the Gram matrix + λI failed (LAPACK info {info})")
        bar.update()
        bar.set_postfix_str("mirror")
        _mirror_upper(inverse)
        bar.update()
    return inverse


def _mirror_upper(matrix: np.ndarray) -> None:
    """Copy the upper triangle onto the lower one (potri fills the upper triangle only)."""
    n = matrix.shape[0]
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        matrix[start:stop, :start] = matrix[:start, start:stop].T
        diagonal = matrix[start:stop, start:stop]
        diagonal[:] = np.triu(diagonal) + np.triu(diagonal, 1).T


def ease_weights(gram: np.ndarray, reg: float, progress: str | None = None) -> np.ndarray:
    """B = -P / diag(P) with diag(B) = 0, for P = (G + λI)⁻¹ (Steck 2019); ``gram`` is consumed.

    LAPACK hands P back in Fortran order; P is symmetric, so its transpose is the same matrix in
    C order, which keeps sparse @ dense scoring free of a full copy.
    """
    gram[np.diag_indices_from(gram)] += np.asarray(reg, dtype=gram.dtype)
    precision = spd_inverse(gram, progress)
    if not precision.flags.c_contiguous:
        precision = precision.T
    precision /= -np.diag(precision).copy()[None, :]
    np.fill_diagonal(precision, 0.0)
    return precision


def dense_product(a: sp.csr_matrix, b: sp.csr_matrix) -> np.ndarray:
    """``(a @ b).toarray()`` in float64 by the compiled pass, without the sparse product.

    Scoring a batch of users makes a mostly dense block, where a sparse product spends its
    time building the sparse structure that ``toarray`` then discards.
    """
    out = np.empty((a.shape[0], b.shape[1]))
    _Pass(a.tocsr(), b.tocsr(), _DOT).run(np.arange(a.shape[0]), out)
    return out


def gram_matrix(x: sp.csr_matrix, progress: str | None = None) -> np.ndarray:
    """XᵀX as a dense float32 matrix (columns × columns), filled one block of rows at a time.

    The only full-size array is the result: no sparse n² intermediate as ``(x.T @ x)`` makes.
    XᵀX is symmetric, so a block of rows is computed from its first column on and mirrored into
    the later rows (half the work); a cell sums its co-rated rows in increasing order either way,
    so the mirrored cells are exactly those a full pass computes.
    """
    x = x.tocsr(copy=True)
    x.sort_indices()  # the pass binary-searches a row's first column
    n = x.shape[1]
    gram = np.empty((n, n), dtype=np.float32)
    products = _Pass(x.T.tocsr(), x, _DOT)
    for rows in row_blocks(n, n, progress):
        first, stop = int(rows[0]), int(rows[-1]) + 1
        products.run(rows, gram[first:stop, first:], first)
        gram[stop:, first:stop] = gram[first:stop, stop:].T
    return gram


PROXIMITY_FLOOR = 1e-4  # pairs further apart than τ·ln(1/floor) positions are left out


def proximity_gram(x: sp.csr_matrix, times: np.ndarray, tau: float,
                   columns: np.ndarray | None = None, progress: str | None = None) -> np.ndarray:
    """XᵀX with each co-rated pair weighted by how close the two ratings are in their user's
    history: G[i, j] = Σ_u x_ui · x_uj · exp(-|p_ui - p_uj| / τ), dense float32.

    p_ui is the rank of rating (u, i) in u's history ordered by ``times`` (aligned with
    ``x.data``), ratings at the same time sharing their average rank, so that a history rated
    in one second counts as a set. The kernel exp(-|Δ|/τ) is positive definite, so G is as
    well (each user adds a Gram matrix of the kernel), and τ → ∞ gives XᵀX. Pairs whose weight
    falls below ``PROXIMITY_FLOOR`` are skipped: each rating meets at most about
    2·τ·ln(1/floor) others, whatever the history's length. ``columns`` (increasing) restricts
    G to those columns; the other ratings keep their place in the order. ``progress`` names a
    bar over the users (about 100 s for the 20M ratings of the ml-20m shape at τ 20).
    """
    n = x.shape[1]
    slot = np.arange(n) if columns is None else np.full(n, -1)
    if columns is not None:
        slot[columns] = np.arange(len(columns))
    rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    order = np.lexsort((x.indices, times, rows))
    size = n if columns is None else len(columns)
    gram = np.zeros((size, size), dtype=np.float32)
    slots, values = slot[x.indices[order]].astype(np.int64), x.data[order].astype(np.float64)
    in_order, reach = times[order], float(tau * np.log(1.0 / PROXIMITY_FLOOR))
    step = max(1, x.shape[0] // 100)
    with _bar(progress, total=x.shape[0], unit="user") as bar:
        for first in range(0, x.shape[0], step):
            indptr = x.indptr[first:first + step + 1]
            span = slice(indptr[0], indptr[-1])
            _proximity_pass(indptr - indptr[0], slots[span], values[span], in_order[span],
                            float(tau), reach, gram)
            bar.update(len(indptr) - 1)
    return gram


@numba.njit(cache=True)
def _proximity_pass(indptr: np.ndarray, slots: np.ndarray, values: np.ndarray,
                    times: np.ndarray, tau: float, reach: float, gram: np.ndarray) -> None:
    """gram += each row's kernel-weighted co-occurrences; each row's entries in time order."""
    for row in range(len(indptr) - 1):
        start, stop = indptr[row], indptr[row + 1]
        rank = _tied_ranks(times[start:stop])
        for a in range(start, stop):
            i = slots[a]
            if i < 0:
                continue
            gram[i, i] += values[a] * values[a]
            for b in range(a + 1, stop):
                gap = rank[b - start] - rank[a - start]
                if gap > reach:
                    break
                j = slots[b]
                if j >= 0:
                    weight = values[a] * values[b] * np.exp(-gap / tau)
                    gram[i, j] += weight
                    gram[j, i] += weight


@numba.njit(cache=True)
def _tied_ranks(times: np.ndarray) -> np.ndarray:
    """0-based ranks of increasing ``times``, equal times sharing their average rank."""
    rank = np.empty(len(times))
    first = 0
    for at in range(1, len(times) + 1):
        if at == len(times) or times[at] != times[first]:
            rank[first:at] = (first + at - 1) / 2.0
            first = at
    return rank


# -- similarity measures ----------------------------------------------------------------------
SIMILARITIES = ("cosine", "pearson", "adjusted_cosine", "jaccard", "msd", "pearson_baseline")
_DOT, _COSINE, _MSD, _PEARSON, _JACCARD = range(5)  # the formulas of the compiled pass
_FORMULA = {"cosine": _COSINE, "adjusted_cosine": _COSINE, "pearson_baseline": _COSINE,
            "msd": _MSD, "pearson": _PEARSON, "jaccard": _JACCARD}
_PARALLEL_MIN_ROWS = 16  # fewer rows than this: one thread (see _Pass.run)
_SUMS_NEEDED = {_DOT: 1, _JACCARD: 2, _COSINE: 4, _MSD: 4, _PEARSON: 6}  # of p, n, qa, qb, sa, sb


def _check_kind(kind: str) -> None:
    if kind not in SIMILARITIES:
        raise ConfigError(f"Unknown similarity {kind!r}; expected one of {SIMILARITIES}")


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


@dataclass(frozen=True)
class _Pass:
    """What the compiled pass needs besides the rows: two CSR operands and the rule.

    A cell (r, b) sums over the columns c of ``values[r]``: x = values[r, c], y = right[c, b]
    (``right`` is ``values.T`` for a similarity measure, any CSR for a plain product).
    """

    values: sp.csr_matrix
    right: sp.csr_matrix
    formula: int
    support: int = 1  # pairs with fewer co-rated columns get 0
    shrinkage: float = 0.0
    shrink_offset: float = 0.0  # shrink by (n - offset) / (n - offset + shrinkage)

    def __post_init__(self) -> None:
        # float64 operands for every caller: one compiled specialisation (fitting a model
        # compiles what scoring it needs, so that no request waits for the compiler)
        for name in ("values", "right"):
            matrix = getattr(self, name)
            if matrix.dtype != np.float64:
                object.__setattr__(self, name, matrix.astype(np.float64))

    @classmethod
    def of(cls, values: sp.csr_matrix, kind: str, min_support: int, shrinkage: float) -> _Pass:
        """Surprise's rules for ``kind``: pearson_baseline needs 2 co-raters and shrinks n - 1."""
        _check_kind(kind)
        baseline = kind == "pearson_baseline"
        right = values.T.tocsr()
        right.sort_indices()  # _accumulate binary-searches a row's first column
        return cls(values, right, _FORMULA[kind],
                   max(min_support, 2 if baseline else 1), shrinkage, 1.0 if baseline else 0.0)

    def run(self, rows: np.ndarray, out: np.ndarray, first: int = 0) -> None:
        """Fill ``out`` (len(rows) × right's columns from ``first`` on) with the block's cells.

        A few rows (one request's user) run on the calling thread alone: waking the other
        threads costs more than the work (one history row: 5.3 ms on two threads at load 20,
        0.06 ms on one). The cells are the same either way.
        """
        v, t = self.values, self.right
        threads = numba.get_num_threads() if len(rows) >= _PARALLEL_MIN_ROWS else 1
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)  # per calling thread
        try:
            _pass(np.asarray(rows, dtype=np.int64), v.indptr, v.indices, v.data, t.indptr,
                  t.indices, t.data, self.formula, _SUMS_NEEDED[self.formula],
                  np.diff(v.indptr).astype(np.float64), self.support, self.shrinkage,
                  self.shrink_offset, first, threads, out)
        finally:
            numba.set_num_threads(previous)


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _pass(
    rows: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
    t_indptr: np.ndarray, t_indices: np.ndarray, t_data: np.ndarray, formula: int,
    n_sums: int, degree: np.ndarray, support: int, shrinkage: float, shrink_offset: float,
    first: int, n_threads: int, out: np.ndarray,
) -> None:
    """out[r, b - first] = the measure of rows[r] and row b >= first, from sums over their
    co-rated columns.

    Each thread takes every n_threads-th row of the block and keeps one accumulator row
    (n × n_sums) hot in cache; a cell sums its co-rated columns in increasing column order,
    the order of a CSR matrix product.
    """
    for thread in numba.prange(n_threads):
        acc = np.zeros((out.shape[1], n_sums))
        for r in range(thread, len(rows), n_threads):
            _accumulate(rows[r], indptr, indices, data, t_indptr, t_indices, t_data, first, acc)
            for b in range(out.shape[1]):
                out[r, b] = _finish(acc[b], formula, degree[rows[r]], degree[first + b],
                                    support, shrinkage, shrink_offset)
            acc[:] = 0.0


@numba.njit(cache=True)
def _accumulate(
    row: int, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
    t_indptr: np.ndarray, t_indices: np.ndarray, t_data: np.ndarray, first: int,
    acc: np.ndarray,
) -> None:
    """acc[b - first] += (x·y, 1, x², y², x, y)[:n_sums] for each column that ``row`` and
    b >= first rated (``t_indices`` sorted within each row)."""
    n_sums = acc.shape[1]
    for a in range(indptr[row], indptr[row + 1]):
        column, x = indices[a], data[a]
        start, stop = t_indptr[column], t_indptr[column + 1]
        if first > 0:
            start += np.searchsorted(t_indices[start:stop], first)
        for c in range(start, stop):
            b, y = t_indices[c] - first, t_data[c]
            acc[b, 0] += x * y
            if n_sums > 1:
                acc[b, 1] += 1.0
            if n_sums > 2:
                acc[b, 2] += x * x
                acc[b, 3] += y * y
            if n_sums > 4:
                acc[b, 4] += x
                acc[b, 5] += y


@numba.njit(cache=True, error_model="numpy")
def _finish(
    sums: np.ndarray, formula: int, degree_a: float, degree_b: float, support: int,
    shrinkage: float, shrink_offset: float,
) -> float:
    """One cell's measure from its sums; 0 when undefined or under ``support`` co-raters."""
    if formula == _DOT:
        return sums[0]
    p, n = sums[0], sums[1]
    if formula == _JACCARD:
        sim = n / (degree_a + degree_b - n)
    elif formula == _MSD:
        sim = 1.0 / (max(sums[2] + sums[3] - 2.0 * p, 0.0) / n + 1.0)
    elif formula == _PEARSON:
        sa, sb = sums[4], sums[5]
        sim = (n * p - sa * sb) / np.sqrt((n * sums[2] - sa**2) * (n * sums[3] - sb**2))
    else:
        sim = p / np.sqrt(sums[2] * sums[3])
    if not np.isfinite(sim) or n < support:
        return 0.0
    if shrinkage > 0:
        common = n - shrink_offset
        sim *= common / (common + shrinkage)
    return sim


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
    out = np.empty((len(rows), values.shape[0]))
    _Pass.of(values, kind, min_support, shrinkage).run(rows, out)
    return out


def similarity_matrix(
    X: sp.csr_matrix,
    kind: str,
    min_support: int = 1,
    shrinkage: float = 0.0,
    baseline: tuple[float, np.ndarray, np.ndarray] | None = None,
    k: int | None = None,
    progress: str | None = None,
) -> sp.csr_matrix:
    """Row × row similarities of ``X`` as CSR, keeping only positive values off the diagonal.

    Non-positive similarities are dropped: neighbourhood models never use them (Surprise
    skips neighbours with sim <= 0), and storing them would make the matrix dense. With ``k``
    each row keeps only its ``k`` largest (ties to the lower index), chosen while the blocks
    of rows are computed (:func:`_top_k_similarities`): memory is O(rows × k) plus one block,
    never the whole matrix, and the result equals ``keep_top_k(similarity_matrix(X, ...), k)``.
    ``progress`` names a progress bar over the blocks.
    """
    measure = _Pass.of(centred_values(X, kind, baseline), kind, min_support, shrinkage)
    n_rows = X.shape[0]
    if k is not None:
        return _top_k_similarities(measure, n_rows, k, progress)
    blocks = []
    for rows in row_blocks(n_rows, n_rows, progress):
        sim = np.empty((len(rows), n_rows))
        measure.run(rows, sim)
        sim[np.arange(len(rows)), rows] = 0.0
        sim[sim < 0] = 0.0
        blocks.append(sp.csr_matrix(sim))
    result = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, 0))
    result.sort_indices()
    log.debug("%s similarity: %d × %d, %d positive pairs", kind, n_rows, n_rows, result.nnz)
    return result


def _top_k_similarities(measure: _Pass, n: int, k: int, progress: str | None) -> sp.csr_matrix:
    """Each row's ``k`` most similar rows, computing each pair once (the measures are symmetric).

    A block of rows [r0, r1) is computed against the rows from r0 on only: what it needs of the
    rows before r0 it received earlier, when they were the block. Every row keeps a heap of its
    k best candidates so far; candidates reach a row in increasing index order (earlier blocks,
    then its own block's columns), so "ties to the lower index" means a tie never displaces.
    """
    k = max(min(k, n - 1), 1)
    heap_values, heap_index = np.zeros((n, k)), np.full((n, k), -1, dtype=np.int64)
    for rows in row_blocks(n, n, progress):
        first, stop = int(rows[0]), int(rows[-1]) + 1
        sim = np.empty((len(rows), n - first))
        measure.run(rows, sim, first)
        sim[np.arange(len(rows)), rows - first] = 0.0  # never its own neighbour
        _push(heap_values, heap_index, rows, sim, first)
        later = sim[:, stop - first:].T  # the block as the later rows' columns (a strided view)
        _push(heap_values, heap_index, np.arange(stop, n), later, first)
    return _rows_to_csr(heap_values, heap_index, n)


@numba.njit(parallel=True, cache=True)
def _push(
    heap_values: np.ndarray, heap_index: np.ndarray, rows: np.ndarray, candidates: np.ndarray,
    first: int,
) -> None:
    """Offer rows[r] the positive candidates[r, c] (index first + c, increasing) for its heap.

    Each row's heap holds its k best (value, index) pairs with the worst at the root; a
    candidate replaces the root only when strictly greater, since its index is the highest yet.
    """
    k = heap_values.shape[1]
    for r in numba.prange(len(rows)):
        values, index = heap_values[rows[r]], heap_index[rows[r]]
        for c in range(candidates.shape[1]):
            value = candidates[r, c]
            if value > values[0]:
                _sift_down(values, index, value, first + c, k)


@numba.njit(cache=True)
def _sift_down(values: np.ndarray, index: np.ndarray, value: float, at: int, k: int) -> None:
    """Replace the root of a min-heap on (value, -index) by (value, at) and restore the heap."""
    i = 0
    while True:
        child = 2 * i + 1
        if child >= k:
            break
        right = child + 1
        if right < k and _worse(values[right], index[right], values[child], index[child]):
            child = right
        if not _worse(values[child], index[child], value, at):
            break
        values[i], index[i] = values[child], index[child]
        i = child
    values[i], index[i] = value, at


@numba.njit(cache=True)
def _worse(value_a: float, index_a: int, value_b: float, index_b: int) -> bool:
    """(value_a, index_a) ranks below (value_b, index_b): a lower value, or a tie, higher index."""
    return value_a < value_b or (value_a == value_b and index_a > index_b)


def _rows_to_csr(values: np.ndarray, index: np.ndarray, n_cols: int) -> sp.csr_matrix:
    """CSR (sorted indices) holding the positive ``values[r, c]`` at (r, ``index[r, c]``)."""
    keep = values > 0
    rows = np.broadcast_to(np.arange(values.shape[0])[:, None], values.shape)
    result = sp.csr_matrix((values[keep], (rows[keep], index[keep])),
                           shape=(values.shape[0], n_cols))
    result.sort_indices()
    return result


def top_k_dense(block: np.ndarray, k: int) -> sp.csr_matrix:
    """The ``k`` largest positive entries of each row of a dense block, as CSR.

    Ties at the k-th value are broken by ``np.argpartition`` (deterministic, not by index);
    :func:`keep_top_k` breaks them by index.
    """
    if block.shape[1] > k:
        idx = np.argpartition(-block, k - 1, axis=1)[:, :k]
        return _rows_to_csr(np.take_along_axis(block, idx, axis=1), idx, block.shape[1])
    return _rows_to_csr(block, np.broadcast_to(np.arange(block.shape[1]), block.shape),
                        block.shape[1])


def keep_top_k(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest positive entries of each row of a sparse matrix; ties at the
    k-th value go to the lower column index (:func:`top_k`'s rule)."""
    blocks = [_rows_to_csr(*top_k(matrix[rows].toarray(), k)[::-1], matrix.shape[1])
              for rows in row_blocks(*matrix.shape)]
    return sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix(matrix.shape)
