"""A faiss nearest-neighbour index over unit item vectors (inner product = cosine).

Exact ``IndexFlatIP`` by default; ``IndexHNSWFlat`` (inner product) from 100k vectors, where
exact search stops being cheap. Persisted with ``faiss.write_index`` (never pickle). faiss is
imported where an index is built or read, not with the module (16 MB the demo server never
needs).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from recsys.arguments import check_cutoff, check_ids
from recsys.errors import ArgumentError, ConfigError, DataError
from recsys.features.base import dense
from recsys.io import atomic_path

__all__ = ["HNSW_THRESHOLD", "ItemIndex"]

log = logging.getLogger(__name__)

HNSW_THRESHOLD = 100_000
_HNSW_NEIGHBOURS = 32


class ItemIndex:
    """Row ``i`` of the indexed matrix is item index ``i``; searches return those indices."""

    def __init__(self, index: Any) -> None:
        self.index = index

    @classmethod
    def build(cls, vectors: Any, kind: str = "auto") -> ItemIndex:
        """Index ``vectors`` (dense or sparse, one row per item); ``kind``: auto, flat or hnsw."""
        if kind not in ("auto", "flat", "hnsw"):
            raise ConfigError(f"index kind={kind!r}; expected 'auto', 'flat' or 'hnsw'")
        import faiss

        data = _finite_matrix(vectors, "vectors")
        if data.shape[0] == 0:
            raise DataError(f"cannot index {data.shape}: expected a non-empty 2-D matrix")
        if kind == "hnsw" or (kind == "auto" and data.shape[0] >= HNSW_THRESHOLD):
            index = faiss.IndexHNSWFlat(data.shape[1], _HNSW_NEIGHBOURS,
                                        faiss.METRIC_INNER_PRODUCT)
        else:
            index = faiss.IndexFlatIP(data.shape[1])
        index.add(data)
        log.info("faiss %s: %d vectors × %d dims", type(index).__name__, *data.shape)
        return cls(index)

    @property
    def size(self) -> int:
        """Number of indexed vectors."""
        return int(self.index.ntotal)

    def search(self, queries: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(indices, scores) of the ``k`` best rows per query (at most :attr:`size`); -1 pads
        when fewer are reachable. Queries are finite rows of the indexed dimension."""
        data = _finite_matrix(queries, "queries")
        if data.shape[1] != self.index.d:
            raise ArgumentError(f"queries must have {self.index.d} columns (the indexed "
                                f"vectors'), got {data.shape[1]}")
        scores, indices = self.index.search(data, min(check_cutoff(k), self.size))
        return indices.astype(np.int64), scores.astype(np.float64)

    def neighbours(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest other rows of indexed rows ``rows`` (the row itself left out)."""
        rows = check_ids(rows, "rows") if np.size(rows) else np.empty(0, dtype=np.int64)
        outside = rows[(rows < 0) | (rows >= self.size)]
        if len(outside):
            raise ArgumentError(f"rows must be indexed rows in [0, {self.size}), got "
                                f"{outside[:5].tolist()}")
        queries = self.index.reconstruct_batch(rows) if len(rows) else np.empty(
            (0, self.index.d), dtype=np.float32)
        idx, scores = self.search(queries, k + 1)
        keep = (idx != rows[:, None]) & (idx >= 0)
        order = np.argsort(~keep, axis=1, kind="stable")[:, :k]  # kept first, rank preserved
        idx, scores = np.take_along_axis(idx, order, 1), np.take_along_axis(scores, order, 1)
        valid = np.take_along_axis(keep, order, 1)
        return np.where(valid, idx, -1), np.where(valid, scores, -np.inf)

    def save(self, path: Path | str) -> Path:
        """Write the index with ``faiss.write_index`` (atomically)."""
        import faiss

        with atomic_path(path) as tmp:
            faiss.write_index(self.index, str(tmp))
        return Path(path)

    @classmethod
    def load(cls, path: Path | str) -> ItemIndex:
        """Read an index written by :meth:`save`."""
        if not Path(path).is_file():
            raise DataError(f"No faiss index at {path}")
        import faiss

        try:
            return cls(faiss.read_index(str(path)))
        except RuntimeError as error:  # faiss reports a damaged file as a RuntimeError
            raise DataError(f"{path} is not a readable faiss index ({error})") from error


def _finite_matrix(values: Any, name: str) -> np.ndarray:
    """``values`` (dense or sparse) as a 2-D float32 array of finite numbers, else an error
    naming ``name``."""
    try:
        data = dense(values)
    except (TypeError, ValueError) as error:
        raise ArgumentError(f"{name} must be a matrix of numbers, got {type(values).__name__}"
                            ) from error
    if data.ndim != 2:
        raise DataError(f"{name} must be a 2-D matrix (one row per vector), got shape "
                        f"{data.shape}")
    if not np.isfinite(data).all():
        raise DataError(f"{name} hold {int((~np.isfinite(data)).sum())} NaN or infinite "
                        "value(s); expected finite vectors")
    return data
