"""Hybrid recommenders: blending, switching and feature combination.

- ``hybrid_blend``: a weighted sum of registered models' scores, each normalised per user
  (z-score or min-max); the weights are learned on a validation split carved from the
  training ratings (a grid over the simplex scored by NDCG@k), then every component is refit
  on all of the training data. Sub-models are saved in sub-folders.
- ``hybrid_switch``: content for users with fewer than ``min_ratings`` ratings and for items
  with too few ratings (cold items), the collaborative model otherwise.
- ``hybrid_collective_ease``: feature combination in one model, "collective" EASE: the item
  features are stacked under the user × item matrix as weighted pseudo-users, so the Gram
  matrix is XᵀX + w·FFᵀ + λI. Items nobody rated get weights through their features.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from recsys.data.types import Interactions
from recsys.errors import ConfigError, RecsysError
from recsys.features import REPRESENTATIONS, item_features
from recsys.models.base import Capability, Explanation, Recommender, top_k
from recsys.models.content import require_catalog
from recsys.models.registry import create_model, get_model_class, register
from recsys.models.similarity import ItemWeightsRecommender

__all__ = [
    "CollectiveEASE",
    "HybridBlend",
    "HybridSwitch",
    "NORMALIZATIONS",
    "normalise_scores",
    "simplex_grid",
]

log = logging.getLogger(__name__)

NORMALIZATIONS = ("zscore", "minmax")
_COMPONENTS = "components"
_MAX_VALID_USERS = 2000
_SIDE_BLOCK = 1024  # rows of FFᵀ computed at once


# -- helpers ------------------------------------------------------------------------------
def normalise_scores(scores: np.ndarray, method: str = "zscore") -> np.ndarray:
    """Per-row z-score or min-max of a score block; unscorable (non-finite) cells get the row's
    lowest normalised value, so that no model's scale dominates a blend."""
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
    normalised = (values - centre) / spread
    floor = np.where(finite, normalised, np.inf).min(axis=1, keepdims=True)
    return np.where(finite, normalised, np.where(np.isfinite(floor), floor, 0.0))


def simplex_grid(n: int, step: float) -> np.ndarray:
    """Every weight vector of ``n`` non-negative multiples of ``step`` summing to 1."""
    if not 0 < step <= 1 or abs(round(1 / step) * step - 1) > 1e-9:
        raise ConfigError(f"grid_step={step} must divide 1 (e.g. 0.1, 0.05, 0.25)")
    units = round(1 / step)
    points = [c for c in itertools.product(range(units + 1), repeat=n) if sum(c) == units]
    return np.array(points, dtype=np.float64) / units


def _component(spec: Any, where: str) -> dict[str, Any]:
    """A component as ``{"name": str, "params": dict}``; unknown keys or models fail loudly."""
    if not isinstance(spec, dict) or "name" not in spec or set(spec) - {"name", "params"}:
        raise ConfigError(f"{where}: expected {{name: <model>, params: {{...}}}}, got {spec!r}")
    get_model_class(spec["name"])
    return {"name": str(spec["name"]), "params": dict(spec.get("params") or {})}


def _holdout(train: Interactions, fraction: float, rng: np.random.Generator,
             min_ratings: int = 5) -> tuple[Interactions, sp.csr_matrix]:
    """A random ``fraction`` of each user's ratings (users with >= ``min_ratings``) held out."""
    matrix = train.matrix
    counts = np.diff(matrix.indptr)
    held = (rng.random(matrix.nnz) < fraction) & np.repeat(counts >= min_ratings, counts)
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    keep = sp.csr_matrix((matrix.data[~held], (rows[~held], matrix.indices[~held])),
                         shape=matrix.shape)
    out = sp.csr_matrix((np.ones(held.sum(), dtype=np.float32),
                         (rows[held], matrix.indices[held])), shape=matrix.shape)
    return Interactions(keep, train.user_ids, train.item_ids), out


def _ndcg(scores: np.ndarray, relevant: np.ndarray, k: int) -> float:
    """Mean binary NDCG@k of the rows of a score block (every row has a relevant item)."""
    idx, _ = top_k(scores, k)
    hits = relevant[np.arange(len(idx))[:, None], idx]
    discounts = 1.0 / np.log2(np.arange(2, idx.shape[1] + 2))
    ideal = np.cumsum(discounts)[np.minimum(relevant.sum(axis=1), idx.shape[1]) - 1]
    return float(np.mean((hits * discounts).sum(axis=1) / ideal))


# -- ensembles of registered models ---------------------------------------------------------
class _Ensemble(Recommender):
    """Shared plumbing of models made of fitted sub-models saved in sub-folders."""

    components_: list[Recommender]

    def _specs(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _new_components(self) -> list[Recommender]:
        return [create_model(s["name"], **s["params"]) for s in self._specs()]

    def _fit_components(self, train: Interactions, catalog: Any | None) -> list[Recommender]:
        return [model.fit(train, catalog) for model in self._new_components()]

    def _component_scores(self, users: np.ndarray, rows: sp.csr_matrix) -> list[np.ndarray]:
        method = self.params.normalization
        return [normalise_scores(np.asarray(m._score(users, rows), dtype=np.float64), method)
                for m in self.components_]

    def _component_explanation(self, model: Recommender, user_id: int | None, user: int,
                               row: sp.csr_matrix, item: int, top: int) -> str:
        if not model.supports(Capability.EXPLAIN):
            return ""
        return model._explain(user_id, user, row, item, top).text

    def _save_files(self, folder: Path) -> None:
        for position, model in enumerate(self.components_):
            model.save(folder / _COMPONENTS / f"{position}-{model.name}")

    def _load_files(self, folder: Path) -> None:
        paths = sorted((folder / _COMPONENTS).iterdir(), key=lambda p: int(p.name.split("-")[0]))
        self.components_ = [Recommender.load(path) for path in paths]


def _shared_capabilities(specs: list[dict[str, Any]], wanted: Capability) -> Capability:
    """The capabilities in ``wanted`` that every component declares."""
    shared = wanted
    for spec in specs:
        shared &= get_model_class(spec["name"]).capabilities
    return shared


@register
class HybridBlend(_Ensemble):
    """Weighted blend of per-user-normalised scores of any registered models."""

    name = "hybrid_blend"
    capabilities: ClassVar[Capability] = (
        Capability.TOP_N | Capability.FOLD_IN | Capability.EXPLAIN | Capability.COLD_START_ITEMS
    )

    @dataclass(frozen=True)
    class Params:
        components: tuple = (
            {"name": "ease", "params": {"reg": 250.0}},
            {"name": "content", "params": {"representation": "tfidf"}},
        )
        weights: tuple = ()  # empty: learn them on a validation split
        normalization: str = "zscore"
        valid_fraction: float = 0.2
        grid_step: float = 0.1
        k: int = 10  # weights maximise NDCG@k on the validation split
        seed: int = 42

        def __post_init__(self) -> None:
            specs = tuple(_component(s, f"hybrid_blend component {i}")
                          for i, s in enumerate(self.components))
            object.__setattr__(self, "components", specs)
            object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
            if len(specs) < 1 or (self.weights and len(self.weights) != len(specs)):
                raise ConfigError(f"hybrid_blend needs >= 1 component and one weight per "
                                  f"component (or none); got {len(specs)} and {self.weights}")
            if self.normalization not in NORMALIZATIONS or not 0 < self.valid_fraction < 1:
                raise ConfigError(f"hybrid_blend: normalization in {NORMALIZATIONS} and "
                                  f"0 < valid_fraction < 1 expected, got {self}")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        specs = list(self.params.components)
        self.capabilities = Capability.TOP_N | Capability.EXPLAIN | _shared_capabilities(
            specs, Capability.FOLD_IN)
        if any(get_model_class(s["name"]).capabilities & Capability.COLD_START_ITEMS
               for s in specs):
            self.capabilities |= Capability.COLD_START_ITEMS

    def _specs(self) -> list[dict[str, Any]]:
        return list(self.params.components)

    def _fit(self, train: Interactions, catalog: Any | None) -> None:
        if self.params.weights:
            weights = np.array(self.params.weights)
        elif len(self._specs()) == 1:
            weights = np.ones(1)
        else:
            weights = self._learn_weights(train, catalog)
        self.weights_ = weights / weights.sum()
        self.components_ = self._fit_components(train, catalog)

    def _learn_weights(self, train: Interactions, catalog: Any | None) -> np.ndarray:
        inner, held = _holdout(train, self.params.valid_fraction, self.rng_)
        self.components_ = self._fit_components(inner, catalog)
        users = np.flatnonzero(np.diff(held.indptr))
        if len(users) > _MAX_VALID_USERS:
            users = np.sort(self.rng_.choice(users, _MAX_VALID_USERS, replace=False))
        if not len(users):
            raise RecsysError("hybrid_blend: no user has enough ratings for a validation split")
        rows = inner.matrix[users]
        blocks = np.stack(self._component_scores(users, rows))
        seen = rows.toarray() != 0
        grid = simplex_grid(len(blocks), self.params.grid_step)
        relevant = held[users].toarray() > 0
        scores = [_ndcg(np.where(seen, -np.inf, np.tensordot(w, blocks, axes=1)), relevant,
                        self.params.k) for w in grid]
        best = int(np.argmax(scores))
        log.info("hybrid_blend: weights %s (validation ndcg@%d %.4f, %d users)",
                 grid[best].round(3).tolist(), self.params.k, scores[best], len(users))
        return grid[best]

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        blocks = self._component_scores(users, rows)
        return sum(w * block for w, block in zip(self.weights_, blocks, strict=True))

    def _explain(
        self, user_id: int | None, user: int, row: sp.csr_matrix, item: int, top: int
    ) -> Explanation:
        users = np.array([user])
        parts = [float(w * block[0, item]) for w, block in
                 zip(self.weights_, self._component_scores(users, row), strict=True)]
        lead = int(np.argmax(parts))
        model = self.components_[lead]
        contributions = [
            {"model": m.name, "weight": float(w), "contribution": c}
            for m, w, c in zip(self.components_, self.weights_, parts, strict=True)
        ]
        shares = ", ".join(f"{c['model']} {c['weight']:.0%}" for c in contributions)
        detail = self._component_explanation(model, user_id, user, row, item, top)
        text = f"Blend of {shares}; mostly {model.name}" + (f": {detail}" if detail else "")
        return Explanation(user_id, int(self.train_.item_ids[item]), float(sum(parts)), text,
                           contributions)

    def _get_state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.weights_ = state["weights"]


@register
class HybridSwitch(_Ensemble):
    """Content for users with little history and for cold items; collaborative otherwise."""

    name = "hybrid_switch"
    capabilities: ClassVar[Capability] = (
        Capability.TOP_N | Capability.FOLD_IN | Capability.EXPLAIN | Capability.COLD_START_ITEMS
    )

    @dataclass(frozen=True)
    class Params:
        collaborative: dict | None = None  # default {"name": "ease", "params": {"reg": 250}}
        content: dict | None = None  # default {"name": "content", "params": {}}
        min_ratings: int = 5  # users with fewer ratings get content recommendations
        cold_item_ratings: int = 1  # items with fewer training ratings are scored by content
        normalization: str = "zscore"
        seed: int = 42

        def __post_init__(self) -> None:
            collaborative = self.collaborative or {"name": "ease", "params": {"reg": 250.0}}
            content = self.content or {"name": "content", "params": {}}
            object.__setattr__(self, "collaborative", _component(collaborative, "collaborative"))
            object.__setattr__(self, "content", _component(content, "content"))
            if self.min_ratings < 0 or self.cold_item_ratings < 0:
                raise ConfigError(f"hybrid_switch thresholds must be >= 0, got {self}")
            if self.normalization not in NORMALIZATIONS:
                raise ConfigError(f"normalization must be one of {NORMALIZATIONS}")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.capabilities = Capability.TOP_N | Capability.EXPLAIN | _shared_capabilities(
            self._specs(), Capability.FOLD_IN | Capability.COLD_START_ITEMS)

    def _specs(self) -> list[dict[str, Any]]:
        return [self.params.collaborative, self.params.content]

    def _fit(self, train: Interactions, catalog: Any | None) -> None:
        self.components_ = self._fit_components(train, catalog)
        self._count_items()

    def _count_items(self) -> None:
        self.cold_items_ = np.diff(self.train_.matrix.tocsc().indptr) < (
            self.params.cold_item_ratings)

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        collaborative, content = self._component_scores(users, rows)
        mixed = np.where(self.cold_items_[None, :], content, collaborative)
        new_user = (np.diff(rows.indptr) < self.params.min_ratings)[:, None]
        return np.where(new_user, content, mixed)

    def _explain(
        self, user_id: int | None, user: int, row: sp.csr_matrix, item: int, top: int
    ) -> Explanation:
        collaborative, content = self.components_
        if row.nnz < self.params.min_ratings:
            model, why = content, f"you have rated fewer than {self.params.min_ratings} movies"
        elif self.cold_items_[item]:
            model, why = content, "nobody has rated this movie yet"
        else:
            model, why = collaborative, "you have rated enough movies"
        detail = self._component_explanation(model, user_id, user, row, item, top)
        text = f"{model.name} (because {why})" + (f": {detail}" if detail else "")
        score = float(self._score(np.array([user]), row)[0, item])
        return Explanation(user_id, int(self.train_.item_ids[item]), score, text,
                           [{"model": model.name, "reason": why}])

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self._count_items()


# -- feature combination --------------------------------------------------------------------
def _side_gram(features: Any) -> np.ndarray:
    """FFᵀ as a dense float32 matrix, computed in row blocks (F may be sparse)."""
    n = features.shape[0]
    gram = np.empty((n, n), dtype=np.float32)
    transposed = features.T.tocsr() if sp.issparse(features) else features.T
    for start in range(0, n, _SIDE_BLOCK):
        block = features[start:start + _SIDE_BLOCK] @ transposed
        gram[start:start + _SIDE_BLOCK] = block.toarray() if sp.issparse(block) else block
    return gram


@register
class CollectiveEASE(ItemWeightsRecommender):
    """EASE with side information: item features as extra, weighted rows of X (cold items too)."""

    name = "hybrid_collective_ease"
    capabilities: ClassVar[Capability] = (
        ItemWeightsRecommender.capabilities | Capability.COLD_START_ITEMS
    )

    @dataclass(frozen=True)
    class Params:
        reg: float = 250.0
        side_weight: float = 20.0  # w: how many pseudo-users each feature row counts for
        representation: str = "tfidf"
        min_df: int = 2
        seed: int = 42

        def __post_init__(self) -> None:
            if self.reg <= 0 or self.side_weight < 0:
                raise ConfigError(f"hybrid_collective_ease needs reg > 0 and side_weight >= 0, "
                                  f"got reg={self.reg}, side_weight={self.side_weight}")
            if self.representation not in REPRESENTATIONS:
                raise ConfigError(f"representation must be one of {REPRESENTATIONS}")

    def _fit(self, train: Interactions, catalog: Any | None) -> None:
        dataset = require_catalog(catalog, self.name)
        features = item_features(dataset, self.params.representation, self.params.min_df)
        x = self._inputs(train.matrix)
        gram = _side_gram(features.align(train.item_ids))
        gram *= np.float32(self.params.side_weight)
        gram += (x.T @ x).toarray().astype(np.float32)
        gram[np.diag_indices_from(gram)] += np.float32(self.params.reg)
        precision = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
        del gram
        precision /= -np.diag(precision).copy()[None, :]
        np.fill_diagonal(precision, 0.0)
        self.weights_ = precision
        log.info("%s: %d × %d weights (λ=%g, w=%g, %s)", self.name, *precision.shape,
                 self.params.reg, self.params.side_weight, self.params.representation)
