"""``ItemFeatures``: one interface over every item representation (genome, TF-IDF, embeddings).

Rows are L2-normalised (an item with no information keeps a zero row), so the inner product of
two rows is their cosine. Raw item ids stay in ``item_ids``; :meth:`ItemFeatures.align` maps
the rows onto a model's item vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.arguments import check_cutoff, check_id, check_ids
from recsys.data.types import require_columns
from recsys.errors import DataError, UnknownIdError

__all__ = ["ItemFeatures", "dense", "l2_normalise", "row_sq_norms"]


def l2_normalise(matrix: Any) -> Any:
    """Rows scaled to unit L2 norm (float32); all-zero rows stay zero."""
    if sp.issparse(matrix):
        matrix = sp.csr_matrix(matrix, dtype=np.float32)
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ matrix)
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1)
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return matrix * scale[:, None]


def row_sq_norms(matrix: Any) -> np.ndarray:
    """Squared L2 norm of each row of a dense or sparse matrix."""
    if sp.issparse(matrix):
        return np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", matrix, matrix)


def dense(matrix: Any) -> np.ndarray:
    """A C-contiguous float32 array (faiss and BLAS want one)."""
    array = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)
    return np.ascontiguousarray(array, dtype=np.float32)


@dataclass(frozen=True)
class ItemFeatures:
    """Item vectors (genre one-hot, TF-IDF, genome, embeddings): row ``i`` is ``item_ids[i]``.

    ``matrix`` may be a dense array or a SciPy sparse matrix; ``item_ids`` must be unique.
    ``kind`` says where the vectors come from (``genres``, ``genome``, ``tfidf``,
    ``embedding``); ``feature_names`` name the columns (tags, genres, decades; ``dim<j>`` for
    embeddings). :meth:`build` sorts the ids and normalises the rows; the beyond-accuracy
    metrics (intra-list diversity) read the same type.
    """

    item_ids: np.ndarray
    matrix: np.ndarray | sp.spmatrix | sp.sparray
    feature_names: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))
    kind: str = ""

    def __post_init__(self) -> None:
        if self.matrix.shape[0] != len(self.item_ids):
            raise DataError(
                f"ItemFeatures has {len(self.item_ids)} item ids but {self.matrix.shape[0]} rows"
            )
        object.__setattr__(self, "item_ids", np.asarray(self.item_ids, dtype=np.int64))
        if sp.issparse(self.matrix):  # COO/DOK cannot be indexed by row
            object.__setattr__(self, "matrix", sp.csr_matrix(self.matrix))

    @classmethod
    def from_genres(cls, movies: pl.DataFrame) -> ItemFeatures:
        """Sparse genre one-hot vectors from a ``movies[item_id, genres: list[str]]`` frame."""
        require_columns(movies, ("item_id", "genres"), "movies", text=("genres",))
        item_ids = np.sort(movies["item_id"].cast(pl.Int64).to_numpy())
        exploded = movies.select("item_id", "genres").explode("genres").drop_nulls("genres")
        genres, cols = np.unique(exploded["genres"].to_numpy().astype(str), return_inverse=True)
        rows = np.searchsorted(item_ids, exploded["item_id"].to_numpy())
        matrix = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)),
            shape=(len(item_ids), len(genres)),
        )
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
        return cls(item_ids=item_ids, matrix=matrix, feature_names=genres, kind="genres")

    def unit_rows(self, item_ids: np.ndarray) -> tuple[Any, np.ndarray]:
        """L2-normalised rows for ``item_ids`` (zero rows for unknown ids) and a usable mask.

        An id is usable when it is known and its vector is not all zeros.
        """
        order = np.argsort(self.item_ids)
        sorted_ids = self.item_ids[order]
        if len(sorted_ids) == 0:
            raise DataError("ItemFeatures is empty: no item vectors to compare")
        pos = np.clip(np.searchsorted(sorted_ids, item_ids), 0, len(sorted_ids) - 1)
        known = sorted_ids[pos] == item_ids
        rows = self.matrix[order[pos]].astype(np.float64)
        norms = np.sqrt(row_sq_norms(rows))
        usable = known & (norms > 0)
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=usable)
        return sp.diags(scale) @ rows, usable

    @classmethod
    def build(
        cls, item_ids: np.ndarray, matrix: Any, feature_names: Any, kind: str
    ) -> ItemFeatures:
        """Sorted, unique ids and unit rows; ``DataError`` on repeated ids or a shape mismatch."""
        item_ids = np.asarray(item_ids, dtype=np.int64)
        names = np.asarray(feature_names, dtype=str)
        if matrix.shape != (len(item_ids), len(names)):
            raise DataError(
                f"{kind} features: matrix {matrix.shape} does not match "
                f"{len(item_ids)} items × {len(names)} feature names"
            )
        order = np.argsort(item_ids, kind="stable")
        if np.any(np.diff(item_ids[order]) == 0):
            raise DataError(f"{kind} features: item ids are repeated; expected one row per item")
        return cls(item_ids[order], l2_normalise(matrix[order]), names, kind)

    @property
    def is_sparse(self) -> bool:
        """True when the matrix is a SciPy sparse matrix."""
        return sp.issparse(self.matrix)

    def positions(self, item_ids: Any) -> np.ndarray:
        """Row index of each raw id, -1 where the id has no row (ids are integers:
        ArgumentError otherwise)."""
        item_ids = check_ids(item_ids, "item_ids")
        if not len(self.item_ids):
            return np.full(len(item_ids), -1, dtype=np.int64)
        pos = np.clip(np.searchsorted(self.item_ids, item_ids), 0, len(self.item_ids) - 1)
        return np.where(self.item_ids[pos] == item_ids, pos, -1)

    def align(self, item_ids: Any) -> Any:
        """Rows for ``item_ids`` in that order; ids without a row get a zero row."""
        pos = self.positions(item_ids)
        known = pos >= 0
        picker = sp.csr_matrix(
            (np.ones(known.sum(), dtype=np.float32), (np.flatnonzero(known), pos[known])),
            shape=(len(pos), len(self.item_ids)),
        )
        aligned = picker @ self.matrix
        return sp.csr_matrix(aligned) if self.is_sparse else np.asarray(aligned, dtype=np.float32)

    def vector(self, item_id: int) -> np.ndarray:
        """The dense unit vector of one item; ``UnknownIdError`` when it has none."""
        pos = int(self.positions([check_id(item_id, "item_id")])[0])
        if pos < 0:
            raise UnknownIdError(
                f"Item {item_id} has no {self.kind} features ({len(self.item_ids):,} items do)"
            )
        return dense(self.matrix[pos : pos + 1])[0]

    def top_features(self, item_id: int, n: int = 10) -> list[tuple[str, float]]:
        """The ``n`` strongest named features of one item, strongest first (zeros left out)."""
        weights = self.vector(item_id)
        order = np.lexsort((np.arange(len(weights)), -weights))[:check_cutoff(n, "n")]
        return [(str(self.feature_names[j]), float(weights[j])) for j in order if weights[j] > 0]
