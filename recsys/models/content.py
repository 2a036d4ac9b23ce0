"""Content-based recommender: a taste profile in an item-feature space, scored by cosine.

A user's profile is the rating-weighted, mean-centred sum of the vectors of the movies they
rated: ``p_u = Σ_j (r_uj - m_u) f_j`` with ``m_u`` the user's mean shrunk towards the global
mean by ``damping`` pseudo-ratings (so one 5-star rating still gives a positive profile). Items
are scored by ``cos(p_u, f_i)``. Any item with a feature vector can be scored, including
movies nobody rated yet (fit on Interactions built over the whole catalogue), and a persona
from a handful of ratings is folded in without refitting. Similar items come from a faiss
index over the same vectors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.data.types import Catalog, Interactions
from recsys.errors import ConfigError
from recsys.features import REPRESENTATIONS, ItemIndex, item_features
from recsys.features.base import dense
from recsys.models.base import Capability, Recommender
from recsys.models.explanation import Explanation, ExplanationKind, Feature
from recsys.models.registry import register
from recsys.models.similarity import csr_from_state, csr_to_state, rated_items

__all__ = ["ContentRecommender", "centred_ratings", "require_catalog"]

log = logging.getLogger(__name__)

INDEX_FILE = "index.faiss"


def require_catalog(catalog: Catalog | None, model: str) -> Catalog:
    """The catalogue a content-aware model needs, or a ``ConfigError`` saying how to pass it."""
    if not isinstance(catalog, Catalog):
        raise ConfigError(
            f"{model} needs the item catalogue: call fit(TrainingData(interactions, catalog)) "
            f"with the Catalog known at training time (got {type(catalog).__name__})"
        )
    return catalog


def centred_ratings(rows: sp.csr_matrix, global_mean: float, damping: float) -> sp.csr_matrix:
    """Each rating minus its user's mean, shrunk towards ``global_mean`` by ``damping``."""
    rows = sp.csr_matrix(rows, dtype=np.float64)
    counts = np.diff(rows.indptr)
    sums = np.asarray(rows.sum(axis=1)).ravel()
    means = (sums + damping * global_mean) / np.maximum(counts + damping, 1e-12)
    centred = rows.copy()
    centred.data -= np.repeat(means, counts)
    return centred


@register
class ContentRecommender(Recommender):
    """Profiles over TF-IDF (tags, genres, decade), the Tag Genome or text embeddings."""

    name = "content"
    capabilities = (
        Capability.TOP_N | Capability.FOLD_IN | Capability.COLD_START_ITEMS
        | Capability.SIMILAR_ITEMS | Capability.EXPLAIN
    )

    @dataclass(frozen=True)
    class Params:
        representation: str = "tfidf"
        min_df: int = 2  # tfidf: a tag must be applied to at least this many movies
        damping: float = 1.0  # pseudo-ratings at the global mean in each user's mean
        seed: int = 42

        def __post_init__(self) -> None:
            if self.representation not in REPRESENTATIONS:
                raise ConfigError(
                    f"content: representation={self.representation!r}; "
                    f"expected one of {REPRESENTATIONS}"
                )
            if self.damping < 0 or self.min_df < 1:
                raise ConfigError(f"content needs damping >= 0 and min_df >= 1, got {self}")

    # -- fitting ---------------------------------------------------------------------------
    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        known = require_catalog(catalog, self.name)
        features = item_features(known, self.params.representation, self.params.min_df)
        self._use_features(features.align(train.item_ids), features.feature_names)
        self.global_mean_ = float(train.matrix.data.mean()) if train.nnz else 0.0
        self.index_ = ItemIndex.build(self.features_)
        log.info("content/%s: %d of %d items have a vector", self.params.representation,
                 int(self.has_vector_.sum()), len(self.has_vector_))

    def _use_features(self, matrix: Any, names: np.ndarray) -> None:
        self.features_ = matrix
        self.feature_names_ = np.asarray(names, dtype=str)
        squared = matrix.multiply(matrix).sum(axis=1) if sp.issparse(matrix) else (
            np.einsum("ij,ij->i", matrix, matrix))
        self.has_vector_ = np.asarray(squared).ravel() > 0

    # -- scoring ---------------------------------------------------------------------------
    def profiles(self, rows: sp.csr_matrix) -> np.ndarray:
        """Dense unit taste profiles (one per row of ratings; zero when nothing stands out)."""
        weights = centred_ratings(rows, self.global_mean_, self.params.damping)
        profiles = np.asarray(dense(weights @ self.features_), dtype=np.float64)
        norms = np.linalg.norm(profiles, axis=1, keepdims=True)
        return np.divide(profiles, norms, out=np.zeros_like(profiles), where=norms > 0)

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        profiles = self.profiles(rows).astype(np.float32)  # no float64 copy of the features
        scores = np.asarray(self.features_ @ profiles.T, dtype=np.float64).T
        scores[:, ~self.has_vector_] = -np.inf  # nothing is known about these items
        return scores

    def _nearest_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Nearest items by cosine of their vectors (faiss); items without a vector get none."""
        idx, scores = self.index_.neighbours(items, k)
        valid = (idx >= 0) & (scores > 0) & self.has_vector_[items][:, None]
        return np.where(valid, idx, 0), np.where(valid, scores, -np.inf)

    # -- explanations ----------------------------------------------------------------------
    def _explain(self, user: int, row: sp.csr_matrix, item: int, top: int) -> Explanation:
        """``score = f_i · p / |p|`` with ``p = Σ_j w_j f_j``: rated movie ``j`` adds
        ``w_j (f_j · f_i) / |p|``; with named dimensions, feature ``d`` adds ``p_d f_id / |p|``.

        Embedding axes have no names, so those explanations cite the rated movies only.
        """
        item_id = int(self.train_.item_ids[item])
        vector = dense(self.features_[item : item + 1])[0].astype(np.float64)
        weights = centred_ratings(row, self.global_mean_, self.params.damping)
        raw = np.asarray(dense(weights @ self.features_), dtype=np.float64)[0]
        norm = float(np.linalg.norm(raw)) or 1.0
        parts = weights.data * (dense(self.features_[weights.indices]) @ vector) / norm
        rated = rated_items(self.train_.item_ids[weights.indices], row.data.astype(np.float64),
                            parts, top)
        score = float(raw @ vector / norm)
        if self.params.representation == "embedding":
            return Explanation(ExplanationKind.RATED_ITEMS, item_id, score, rated_items=rated)
        return Explanation(ExplanationKind.FEATURES, item_id, score, rated_items=rated,
                           features=self._shared_features(raw * vector / norm, top))

    def _shared_features(self, overlap: np.ndarray, top: int) -> tuple[Feature, ...]:
        """The ``top`` features adding the most to the score (positive ones only)."""
        order = np.lexsort((np.arange(len(overlap)), -overlap))[:top]
        return tuple(Feature(str(self.feature_names_[j]), float(overlap[j]))
                     for j in order[overlap[order] > 0])

    # -- persistence -----------------------------------------------------------------------
    def _get_state(self) -> dict[str, np.ndarray]:
        state: dict[str, np.ndarray] = {
            "feature_names": self.feature_names_, "global_mean": np.array(self.global_mean_)
        }
        if sp.issparse(self.features_):
            return state | csr_to_state("features", self.features_)
        return state | {"features": self.features_}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        matrix = state["features"] if "features" in state else csr_from_state("features", state)
        self._use_features(matrix, state["feature_names"])
        self.global_mean_ = float(state["global_mean"])

    def _save_files(self, folder: Path) -> None:
        self.index_.save(folder / INDEX_FILE)

    def _load_files(self, folder: Path) -> None:
        self.index_ = ItemIndex.load(folder / INDEX_FILE)
