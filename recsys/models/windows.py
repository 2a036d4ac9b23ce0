"""Rating-order windows: runs of consecutive ratings of one user, ordered by time.

MovieLens users rate in sittings, movie after movie, and a random split holds out ratings
from inside them. A window is the ``2 · half + 1`` movies a user rated around one of their
ratings (fewer at either end of the history), as a binary row over the items; the
autoencoders train on windows beside whole histories and score known users by the mixture of
both (:class:`recsys.models.vae.MultVAE`'s ``window``). Only training ratings' timestamps are
read: a user's order is kept as ranks in a CSR of the training pattern, and a window only
holds movies of the row it is cut from.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["scoring_centres", "time_ranks", "training_centres", "window_rows"]


def time_ranks(matrix: sp.csr_matrix, times: np.ndarray) -> sp.csr_matrix:
    """The pattern of ``matrix`` holding, per stored rating, 1 + its position in its user's
    ratings ordered by ``times`` (aligned with ``matrix.data``; equal times keep item order)."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((times, rows))  # by user, then time; stable, so ties keep item order
    ranks = np.empty(matrix.nnz, dtype=np.float32)
    ranks[order] = np.arange(matrix.nnz) - matrix.indptr[rows[order]] + 1
    return sp.csr_matrix((ranks, matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape)


def _ordered(ranks: sp.csr_matrix, rows: sp.csr_matrix) -> sp.csr_matrix:
    """``ranks`` restricted to the movies of ``rows`` (same users), each row's indices sorted
    by rank: row ``r``'s movies in the order its user rated them."""
    kept = sp.csr_matrix(ranks.multiply(rows != 0))
    kept.eliminate_zeros()
    owner = np.repeat(np.arange(kept.shape[0]), np.diff(kept.indptr))
    order = np.lexsort((kept.data, owner))
    return sp.csr_matrix((np.ones(kept.nnz, dtype=np.float32), kept.indices[order], kept.indptr),
                         shape=kept.shape)


def training_centres(counts: np.ndarray, per_row: int,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``per_row`` centres drawn uniformly in each non-empty row: (owner rows, positions)."""
    owners = np.repeat(np.flatnonzero(counts > 0), per_row)
    return owners, (rng.random(len(owners)) * counts[owners]).astype(np.int64)


def scoring_centres(counts: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres every ``stride`` positions of each row (0, stride, ...): (owners, positions)."""
    per_row = -(-counts // stride)  # ceil
    owners = np.repeat(np.arange(len(counts)), per_row)
    first = np.repeat(np.cumsum(per_row) - per_row, per_row)
    return owners, (np.arange(len(owners)) - first) * stride


def window_rows(ranks: sp.csr_matrix, rows: sp.csr_matrix, half: int,
                centres: tuple[np.ndarray, np.ndarray]) -> sp.csr_matrix:
    """One binary row per centre ``(owner, position)``: the movies of ``rows[owner]`` rated
    within ``half`` positions of the one at ``position``, in the order ``ranks`` gives."""
    ordered = _ordered(ranks, rows)
    owners, positions = centres
    counts = np.diff(ordered.indptr)[owners]
    start = ordered.indptr[owners] + np.maximum(positions - half, 0)
    stop = ordered.indptr[owners] + np.minimum(positions + half + 1, counts)
    lengths = stop - start
    offsets = np.cumsum(lengths) - lengths
    entries = np.arange(lengths.sum()) - np.repeat(offsets - start, lengths)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    return sp.csr_matrix((np.ones(len(entries), dtype=np.float32), ordered.indices[entries],
                          indptr), shape=(len(owners), rows.shape[1]))
