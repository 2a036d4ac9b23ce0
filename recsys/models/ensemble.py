"""The machinery every ensemble shares: score normalisation, validation splits, cold items.

An :class:`Ensemble` fits registered component models (``{"name": ..., "params": ...}``
specs) and combines their per-user normalised scores; ``hybrid_blend`` and ``hybrid_switch``
(:mod:`recsys.models.hybrid`) and ``rating_blend`` (:mod:`recsys.models.stacking`) build on it.

Validation splits hold out a random share of each user's ratings and, when the training data
has cold items, every rating of as many random rated items, so that learned weights and
offsets price cold items as often as the catalogue has them.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.data.types import Catalog, Interactions, TrainingData
from recsys.errors import ConfigError, RecsysError
from recsys.linalg import top_k
from recsys.models.base import Capability, Recommender
from recsys.models.explanation import Component
from recsys.models.registry import create_model, get_model_class

__all__ = [
    "NORMALIZATIONS",
    "OFFSET_GRID",
    "Ensemble",
    "Validation",
    "best_candidate",
    "cold_items",
    "component_spec",
    "normalise_scores",
    "reserve_rank",
    "shared_capabilities",
    "simplex_grid",
    "validation_split",
]

log = logging.getLogger(__name__)

NORMALIZATIONS = ("zscore", "minmax")
OFFSET_GRID = np.arange(-8.0, 8.01, 0.5)  # candidate cold-item offsets (in z-score units)
_COMPONENTS = "components"
_MAX_VALID_USERS = 2000
_MAX_COLD_SHARE = 0.2  # at most this share of rated items is made cold for validation


# -- helpers ------------------------------------------------------------------------------
def normalise_scores(scores: np.ndarray, method: str = "zscore") -> np.ndarray:
    """Per-row z-score or min-max of a score block; unscorable (non-finite) cells get the row's
    average normalised value (0 for z-scores): a model without an opinion neither pushes an
    item up nor buries it, and no model's scale dominates a blend."""
    if method not in NORMALIZATIONS:
        raise ConfigError(f"normalization={method!r}; expected one of {NORMALIZATIONS}")
    finite = np.isfinite(scores)
    count = np.maximum(finite.sum(axis=1, keepdims=True), 1)
    values = np.where(finite, scores, 0.0)
    if method == "zscore":
        centre = values.sum(axis=1, keepdims=True) / count
        spread = np.sqrt((np.where(finite, values - centre, 0.0) ** 2).sum(axis=1, keepdims=True)
                         / count)
    else:
        centre = np.where(finite, scores, np.inf).min(axis=1, keepdims=True)
        spread = np.where(finite, scores, -np.inf).max(axis=1, keepdims=True) - centre
        centre = np.where(np.isfinite(centre), centre, 0.0)
    spread = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
    normalised = np.where(finite, (values - centre) / spread, 0.0)
    average = normalised.sum(axis=1, keepdims=True) / count
    return np.where(finite, normalised, average)


def simplex_grid(n: int, step: float) -> np.ndarray:
    """Every weight vector of ``n`` non-negative multiples of ``step`` summing to 1."""
    if not 0 < step <= 1 or abs(round(1 / step) * step - 1) > 1e-9:
        raise ConfigError(f"grid_step={step} must divide 1 (e.g. 0.1, 0.05, 0.25)")
    units = round(1 / step)
    points = [c for c in itertools.product(range(units + 1), repeat=n) if sum(c) == units]
    return np.array(points, dtype=np.float64) / units


def cold_items(train: Interactions, min_ratings: int = 1) -> np.ndarray:
    """Boolean mask of the items with fewer than ``min_ratings`` training ratings."""
    return np.diff(train.matrix.tocsc().indptr) < min_ratings


def component_spec(spec: Any, where: str) -> dict[str, Any]:
    """A component as ``{"name": str, "params": dict}``; unknown keys or models fail loudly."""
    if not isinstance(spec, dict) or "name" not in spec or set(spec) - {"name", "params"}:
        raise ConfigError(f"{where}: expected {{name: <model>, params: {{...}}}}, got {spec!r}")
    get_model_class(spec["name"])
    return {"name": str(spec["name"]), "params": dict(spec.get("params") or {})}


@dataclass(frozen=True)
class Validation:
    """A validation split: the inner training data and, per validation user, the truth."""

    inner: Interactions
    users: np.ndarray  # rows of the validation users
    relevant: np.ndarray  # dense bool, users × items: held-out ratings
    seen: np.ndarray  # dense bool, users × items: inner ratings (excluded from rankings)

    @property
    def rows(self) -> sp.csr_matrix:
        """The validation users' inner rating rows."""
        return self.inner.matrix[self.users]

    def ndcg(self, scores: np.ndarray, k: int) -> float:
        """Mean binary NDCG@k of a validation score block, seen items excluded."""
        return _ndcg(np.where(self.seen, -np.inf, scores), self.relevant, k)


def validation_split(train: Interactions, fraction: float, rng: np.random.Generator,
                      min_ratings: int = 5) -> Validation:
    """A random ``fraction`` of each user's ratings (users with >= ``min_ratings``) held out,
    plus every rating of as many random rated items as ``train`` has cold items."""
    matrix = train.matrix
    counts = np.diff(matrix.indptr)
    held = (rng.random(matrix.nnz) < fraction) & np.repeat(counts >= min_ratings, counts)
    rated = np.flatnonzero(~cold_items(train))
    n_cold = min(int(cold_items(train).sum()), int(_MAX_COLD_SHARE * len(rated)))
    held |= np.isin(matrix.indices, rng.choice(rated, n_cold, replace=False))
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    inner = train.keeping(~held)
    keep = inner.matrix
    out = sp.csr_matrix((np.ones(held.sum(), dtype=np.float32),
                         (rows[held], matrix.indices[held])), shape=matrix.shape)
    users = np.flatnonzero((np.diff(out.indptr) > 0) & (np.diff(keep.indptr) > 0))
    if len(users) > _MAX_VALID_USERS:
        users = np.sort(rng.choice(users, _MAX_VALID_USERS, replace=False))
    if not len(users):
        raise RecsysError("no user has enough ratings for a validation split")
    log.info("validation split: %d users, %d held-out ratings, %d items made cold",
             len(users), int(held.sum()), n_cold)
    return Validation(inner, users, out[users].toarray() > 0, keep[users].toarray() != 0)


def _ndcg(scores: np.ndarray, relevant: np.ndarray, k: int) -> float:
    """Mean binary NDCG@k of the rows of a score block (every row has a relevant item)."""
    idx, _ = top_k(scores, k)
    hits = relevant[np.arange(len(idx))[:, None], idx]
    discounts = 1.0 / np.log2(np.arange(2, idx.shape[1] + 2))
    ideal = np.cumsum(discounts)[np.minimum(relevant.sum(axis=1), idx.shape[1]) - 1]
    return float(np.mean((hits * discounts).sum(axis=1) / ideal))


def reserve_rank(scores: np.ndarray, rows: sp.csr_matrix, cold: np.ndarray,
                  rank: int) -> np.ndarray:
    """Lift each row's best unseen cold item just above its ``rank``-th unseen warm item, so
    that it ranks at ``rank`` or better (in place; rows without such items are left alone)."""
    seen = rows.tocoo()
    blocked = np.zeros(scores.shape, dtype=bool)
    blocked[seen.row, seen.col] = True
    warm = np.where(cold[None, :] | blocked, -np.inf, scores)
    rank = min(rank, warm.shape[1])
    threshold = np.partition(warm, warm.shape[1] - rank, axis=1)[:, warm.shape[1] - rank]
    candidates = np.where(cold[None, :] & ~blocked, scores, -np.inf)
    best = np.argmax(candidates, axis=1)
    users = np.arange(len(scores))
    ok = np.isfinite(candidates[users, best]) & np.isfinite(threshold)
    lifted = np.nextafter(threshold[ok], np.inf)
    scores[users[ok], best[ok]] = np.maximum(scores[users[ok], best[ok]], lifted)
    return scores


def best_candidate(candidates: Any, score: Callable[[Any], float], what: str) -> Any:
    """The candidate with the highest validation score (the first one on ties), logged."""
    candidates = list(candidates)
    scores = [score(c) for c in candidates]
    best = int(np.argmax(scores))
    log.info("%s: %s (validation ndcg %.4f)", what, np.round(candidates[best], 3).tolist(),
             scores[best])
    return candidates[best]


# -- ensembles of registered models ---------------------------------------------------------
class Ensemble(Recommender):
    """Shared plumbing of models made of fitted sub-models saved in sub-folders."""

    components_: list[Recommender]
    cold_items_: np.ndarray

    def _specs(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _fit_components(self, train: Interactions, catalog: Catalog | None) -> list[Recommender]:
        data = TrainingData(train, catalog)
        return [create_model(s["name"], **s["params"]).fit(data) for s in self._specs()]

    def _component_scores(self, users: np.ndarray, rows: sp.csr_matrix,
                          models: list[Recommender] | None = None,
                          cold: np.ndarray | None = None) -> list[np.ndarray]:
        """Per-user normalised scores of each model; a model that cannot score cold items
        has no opinion on them (they get its average)."""
        models = self.components_ if models is None else models
        cold = self.cold_items_ if cold is None else cold
        blocks = []
        for model in models:
            scores = np.array(model._score(users, rows), dtype=np.float64)
            if not model.supports(Capability.COLD_START_ITEMS):
                scores[:, cold] = np.nan
            blocks.append(normalise_scores(scores, self.params.normalization))
        return blocks

    def _validation_scores(self, train: Interactions, catalog: Catalog | None
                           ) -> tuple[Validation, list[np.ndarray]]:
        """A validation split and every component's normalised scores on it (fit on inner)."""
        valid = validation_split(train, self.params.valid_fraction, self.rng_)
        models = self._fit_components(valid.inner, catalog)
        return valid, self._component_scores(valid.users, valid.rows, models,
                                             cold_items(valid.inner))

    def _merge_cold(self, warm: np.ndarray, cold_scores: np.ndarray, rows: sp.csr_matrix,
                    cold: np.ndarray, offset: float) -> np.ndarray:
        """``warm`` with the cold items' columns taken from ``cold_scores`` + ``offset`` and
        each user's best unseen cold item lifted to ``cold_item_rank``."""
        merged = np.where(cold[None, :], cold_scores + offset, warm)
        if self.params.cold_item_rank and cold.any():
            reserve_rank(merged, rows, cold, self.params.cold_item_rank)
        return merged

    def _learn_offset(self, valid: Validation, score: Callable[[float], np.ndarray]) -> float:
        """The cold-item offset from ``OFFSET_GRID`` that maximises validation NDCG@k."""
        return float(best_candidate(
            OFFSET_GRID, lambda offset: valid.ndcg(score(offset), self.params.k),
            f"{self.name} cold-item offset"))

    def component_spec(self, model: Recommender, weight: float, contribution: float,
                   user: int, row: sp.csr_matrix, item: int, top: int) -> Component:
        """A component's share of the score with its own explanation (None if it has none)."""
        explanation = model._explain(user, row, item, top) if model.supports(
            Capability.EXPLAIN) else None
        return Component(model.name, weight, contribution, explanation)

    def _save_files(self, folder: Path) -> None:
        for position, model in enumerate(self.components_):
            model.save(folder / _COMPONENTS / f"{position}-{model.name}")

    def _load_files(self, folder: Path) -> None:
        paths = sorted((folder / _COMPONENTS).iterdir(), key=lambda p: int(p.name.split("-")[0]))
        self.components_ = [Recommender.load(path) for path in paths]


def shared_capabilities(specs: list[dict[str, Any]], wanted: Capability) -> Capability:
    """The capabilities in ``wanted`` that every component declares."""
    shared = wanted
    for spec in specs:
        shared &= get_model_class(spec["name"]).capabilities
    return shared
