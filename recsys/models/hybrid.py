"""Hybrid recommenders: blending, switching and feature combination.

- ``hybrid_blend``: a weighted sum of registered models' scores, each normalised per user
  (z-score or min-max); a model with no opinion on an item (a collaborative model on an item
  nobody rated, content on an item without a vector) contributes its average. The weights are
  learned on a validation split carved from the training ratings (a grid over the simplex
  scored by NDCG@k), then every component is refit on all of the training data. Sub-models
  are saved in sub-folders.
- ``hybrid_switch``: a cold-user model (most-popular by default) for users with fewer than
  ``min_ratings`` ratings (alone: no cold-item slot for them), the collaborative model
  otherwise, with items nobody rated scored by content.
- ``hybrid_collective_ease``: feature combination in one model, "collective" EASE: the item
  features are stacked under the user × item matrix as weighted pseudo-users, so the Gram
  matrix is XᵀX + w·FFᵀ + λI, with w tuned on the validation split. Items nobody rated get
  weights through their features.

Cold items in both ensembles: items nobody rated are scored by the components that can score
them (their mean z-score), plus an offset learned on the validation split, and each user's best
unseen cold item is lifted to at least rank ``cold_item_rank`` (default 10, 0: off), so new
movies get exposure even where the validation split prices them low.

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
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys.data.types import Catalog, Interactions, TrainingData
from recsys.errors import ConfigError, RecsysError
from recsys.features import REPRESENTATIONS, item_features
from recsys.linalg import ease_weights, top_k
from recsys.models.base import Capability, Recommender
from recsys.models.content import require_catalog
from recsys.models.explanation import (
    Component,
    Explanation,
    ExplanationKind,
    Switch,
    SwitchRule,
)
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
OFFSET_GRID = np.arange(-8.0, 8.01, 0.5)  # candidate cold-item offsets (in z-score units)
_COMPONENTS = "components"
_MAX_VALID_USERS = 2000
_MAX_COLD_SHARE = 0.2  # at most this share of rated items is made cold for validation
_SIDE_BLOCK = 1024  # rows of FFᵀ computed at once


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


def _component(spec: Any, where: str) -> dict[str, Any]:
    """A component as ``{"name": str, "params": dict}``; unknown keys or models fail loudly."""
    if not isinstance(spec, dict) or "name" not in spec or set(spec) - {"name", "params"}:
        raise ConfigError(f"{where}: expected {{name: <model>, params: {{...}}}}, got {spec!r}")
    get_model_class(spec["name"])
    return {"name": str(spec["name"]), "params": dict(spec.get("params") or {})}


@dataclass(frozen=True)
class _Validation:
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


def _validation_split(train: Interactions, fraction: float, rng: np.random.Generator,
                      min_ratings: int = 5) -> _Validation:
    """A random ``fraction`` of each user's ratings (users with >= ``min_ratings``) held out,
    plus every rating of as many random rated items as ``train`` has cold items."""
    matrix = train.matrix
    counts = np.diff(matrix.indptr)
    held = (rng.random(matrix.nnz) < fraction) & np.repeat(counts >= min_ratings, counts)
    rated = np.flatnonzero(~cold_items(train))
    n_cold = min(int(cold_items(train).sum()), int(_MAX_COLD_SHARE * len(rated)))
    held |= np.isin(matrix.indices, rng.choice(rated, n_cold, replace=False))
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    keep = sp.csr_matrix((matrix.data[~held], (rows[~held], matrix.indices[~held])),
                         shape=matrix.shape)
    out = sp.csr_matrix((np.ones(held.sum(), dtype=np.float32),
                         (rows[held], matrix.indices[held])), shape=matrix.shape)
    users = np.flatnonzero((np.diff(out.indptr) > 0) & (np.diff(keep.indptr) > 0))
    if len(users) > _MAX_VALID_USERS:
        users = np.sort(rng.choice(users, _MAX_VALID_USERS, replace=False))
    if not len(users):
        raise RecsysError("no user has enough ratings for a validation split")
    log.info("validation split: %d users, %d held-out ratings, %d items made cold",
             len(users), int(held.sum()), n_cold)
    inner = Interactions(keep, train.user_ids, train.item_ids, train.rating_scale)
    return _Validation(inner, users, out[users].toarray() > 0, keep[users].toarray() != 0)


def _ndcg(scores: np.ndarray, relevant: np.ndarray, k: int) -> float:
    """Mean binary NDCG@k of the rows of a score block (every row has a relevant item)."""
    idx, _ = top_k(scores, k)
    hits = relevant[np.arange(len(idx))[:, None], idx]
    discounts = 1.0 / np.log2(np.arange(2, idx.shape[1] + 2))
    ideal = np.cumsum(discounts)[np.minimum(relevant.sum(axis=1), idx.shape[1]) - 1]
    return float(np.mean((hits * discounts).sum(axis=1) / ideal))


def _reserve_rank(scores: np.ndarray, rows: sp.csr_matrix, cold: np.ndarray,
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


def _best(candidates: Any, score: Callable[[Any], float], what: str) -> Any:
    """The candidate with the highest validation score (the first one on ties), logged."""
    candidates = list(candidates)
    scores = [score(c) for c in candidates]
    best = int(np.argmax(scores))
    log.info("%s: %s (validation ndcg %.4f)", what, np.round(candidates[best], 3).tolist(),
             scores[best])
    return candidates[best]


# -- ensembles of registered models ---------------------------------------------------------
class _Ensemble(Recommender):
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
                           ) -> tuple[_Validation, list[np.ndarray]]:
        """A validation split and every component's normalised scores on it (fit on inner)."""
        valid = _validation_split(train, self.params.valid_fraction, self.rng_)
        models = self._fit_components(valid.inner, catalog)
        return valid, self._component_scores(valid.users, valid.rows, models,
                                             cold_items(valid.inner))

    def _merge_cold(self, warm: np.ndarray, cold_scores: np.ndarray, rows: sp.csr_matrix,
                    cold: np.ndarray, offset: float) -> np.ndarray:
        """``warm`` with the cold items' columns taken from ``cold_scores`` + ``offset`` and
        each user's best unseen cold item lifted to ``cold_item_rank``."""
        merged = np.where(cold[None, :], cold_scores + offset, warm)
        if self.params.cold_item_rank and cold.any():
            _reserve_rank(merged, rows, cold, self.params.cold_item_rank)
        return merged

    def _learn_offset(self, valid: _Validation, score: Callable[[float], np.ndarray]) -> float:
        """The cold-item offset from ``OFFSET_GRID`` that maximises validation NDCG@k."""
        return float(_best(OFFSET_GRID, lambda offset: valid.ndcg(score(offset), self.params.k),
                           f"{self.name} cold-item offset"))

    def _component(self, model: Recommender, weight: float, contribution: float,
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


def _shared_capabilities(specs: list[dict[str, Any]], wanted: Capability) -> Capability:
    """The capabilities in ``wanted`` that every component declares."""
    shared = wanted
    for spec in specs:
        shared &= get_model_class(spec["name"]).capabilities
    return shared


def _check_fraction(model: str, fraction: float) -> None:
    if not 0 < fraction < 1:
        raise ConfigError(f"{model}: 0 < valid_fraction < 1 expected, got {fraction}")


def _check_cold(model: str, rank: int) -> None:
    if rank < 0:
        raise ConfigError(f"{model}: cold_item_rank must be >= 0 (0: off), got {rank}")


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
        cold_item_offset: float | None = None  # None: learned on the validation split
        cold_item_rank: int = 10  # each user's best cold item ranks here or better (0: off)
        normalization: str = "zscore"
        valid_fraction: float = 0.2
        grid_step: float = 0.1
        k: int = 10  # weights and offset maximise NDCG@k on the validation split
        seed: int = 42

        def __post_init__(self) -> None:
            specs = tuple(_component(s, f"hybrid_blend component {i}")
                          for i, s in enumerate(self.components))
            object.__setattr__(self, "components", specs)
            object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
            if len(specs) < 1 or (self.weights and len(self.weights) != len(specs)):
                raise ConfigError(f"hybrid_blend needs >= 1 component and one weight per "
                                  f"component (or none); got {len(specs)} and {self.weights}")
            if self.normalization not in NORMALIZATIONS:
                raise ConfigError(f"hybrid_blend: normalization in {NORMALIZATIONS} expected, "
                                  f"got {self.normalization!r}")
            _check_fraction("hybrid_blend", self.valid_fraction)
            _check_cold("hybrid_blend", self.cold_item_rank)

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

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        self.cold_items_ = cold_items(train)
        self.weights_ = np.array(self.params.weights or [1.0] * len(self._specs()))
        self.offset_ = self.params.cold_item_offset or 0.0
        if (not self.params.weights and len(self._specs()) > 1) or (
                self.params.cold_item_offset is None and self.cold_items_.any()):
            self._learn(train, catalog)
        self.weights_ = self.weights_ / self.weights_.sum()
        self.components_ = self._fit_components(train, catalog)

    def _learn(self, train: Interactions, catalog: Catalog | None) -> None:
        """Weights (grid over the simplex, ranking rated items only), then the cold-item
        offset, on a validation split."""
        valid, blocks = self._validation_scores(train, catalog)
        cold, rows = cold_items(valid.inner), valid.rows
        if not self.params.weights and len(blocks) > 1:
            self.weights_ = _best(simplex_grid(len(blocks), self.params.grid_step), lambda w:
                                  valid.ndcg(self._blend(w, blocks, rows, cold, -np.inf),
                                             self.params.k), "hybrid_blend weights")
        if self.params.cold_item_offset is None:
            self.offset_ = self._learn_offset(
                valid, lambda offset: self._blend(self.weights_, blocks, rows, cold, offset))

    def _blend(self, weights: np.ndarray, blocks: list[np.ndarray], rows: sp.csr_matrix,
               cold: np.ndarray, offset: float) -> np.ndarray:
        """Σ w·z for rated items; cold items: the mean z of the components that score them."""
        warm = sum(w * block for w, block in zip(weights / weights.sum(), blocks, strict=True))
        able = [b for m, b in zip(self._cold_capable(), blocks, strict=True) if m]
        if not able:
            return warm
        return self._merge_cold(warm, sum(able) / len(able), rows, cold, offset)

    def _cold_capable(self) -> list[bool]:
        return [bool(get_model_class(s["name"]).capabilities & Capability.COLD_START_ITEMS)
                for s in self._specs()]

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        return self._blend(self.weights_, self._component_scores(users, rows), rows,
                           self.cold_items_, self.offset_)

    def _explain(self, user: int, row: sp.csr_matrix, item: int, top: int) -> Explanation:
        """Each component (in the blend's order): its weight, its weighted normalised score
        of the item and its own evidence."""
        blocks = self._component_scores(np.array([user]), row)
        parts = [float(w * block[0, item]) for w, block in zip(self.weights_, blocks, strict=True)]
        components = [self._component(m, float(w), c, user, row, item, top)
                      for m, w, c in zip(self.components_, self.weights_, parts, strict=True)]
        score = float(self._score(np.array([user]), row)[0, item])
        return Explanation(ExplanationKind.BLEND, int(self.train_.item_ids[item]), score,
                           components=tuple(components))

    def _get_state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_, "offset": np.array(self.offset_)}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.weights_ = state["weights"]
        self.offset_ = float(state["offset"])
        self.cold_items_ = cold_items(self.train_)


@register
class HybridSwitch(_Ensemble):
    """Cold-user model for users with little history, collaborative otherwise; cold items
    always from content, merged by z-score plus a learned offset."""

    name = "hybrid_switch"
    capabilities: ClassVar[Capability] = (
        Capability.TOP_N | Capability.FOLD_IN | Capability.EXPLAIN | Capability.COLD_START_ITEMS
    )

    @dataclass(frozen=True)
    class Params:
        collaborative: dict | None = None  # default {"name": "ease", "params": {"reg": 250}}
        content: dict | None = None  # default {"name": "content", "params": {}}
        cold_user_model: dict | None = None  # default {"name": "most_popular", "params": {}}
        min_ratings: int = 5  # users with fewer ratings get the cold-user model
        cold_item_ratings: int = 1  # items with fewer training ratings are scored by content
        cold_item_offset: float | None = None  # None: learned on a validation split
        cold_item_rank: int = 10  # each user's best cold item ranks here or better (0: off)
        normalization: str = "zscore"
        valid_fraction: float = 0.2
        k: int = 10  # the offset maximises NDCG@k on the validation split
        seed: int = 42

        def __post_init__(self) -> None:
            defaults = {"collaborative": {"name": "ease", "params": {"reg": 250.0}},
                        "content": {"name": "content", "params": {}},
                        "cold_user_model": {"name": "most_popular", "params": {}}}
            for key, default in defaults.items():
                object.__setattr__(self, key, _component(getattr(self, key) or default, key))
            if self.min_ratings < 0 or self.cold_item_ratings < 0:
                raise ConfigError(f"hybrid_switch thresholds must be >= 0, got {self}")
            if self.normalization not in NORMALIZATIONS:
                raise ConfigError(f"normalization must be one of {NORMALIZATIONS}")
            _check_fraction("hybrid_switch", self.valid_fraction)
            _check_cold("hybrid_switch", self.cold_item_rank)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.capabilities = Capability.TOP_N | Capability.EXPLAIN | _shared_capabilities(
            self._specs(), Capability.FOLD_IN) | _shared_capabilities(
            [self.params.content], Capability.COLD_START_ITEMS)

    def _specs(self) -> list[dict[str, Any]]:
        return [self.params.collaborative, self.params.content, self.params.cold_user_model]

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        self.cold_items_ = cold_items(train, self.params.cold_item_ratings)
        offset = self.params.cold_item_offset
        if offset is None:
            offset = self._fit_offset(train, catalog) if self.cold_items_.any() else 0.0
        self.offset_ = float(offset)
        self.components_ = self._fit_components(train, catalog)

    def _fit_offset(self, train: Interactions, catalog: Catalog | None) -> float:
        valid, blocks = self._validation_scores(train, catalog)
        cold = cold_items(valid.inner, self.params.cold_item_ratings)
        return self._learn_offset(
            valid, lambda offset: self._merge(blocks, valid.rows, cold, offset))

    def _merge(self, blocks: list[np.ndarray], rows: sp.csr_matrix, cold: np.ndarray,
               offset: float) -> np.ndarray:
        collaborative, content, cold_user = blocks
        new_user = (np.diff(rows.indptr) < self.params.min_ratings)[:, None]
        # New users get the cold-user model alone: a reserved cold-item slot costs them more
        # than it finds (measured in the content-hybrid study, part c).
        warm = self._merge_cold(collaborative, content, rows, cold, offset)
        return np.where(new_user, cold_user, warm)

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        blocks = self._component_scores(users, rows)
        return self._merge(blocks, rows, self.cold_items_, self.offset_)

    def _explain(self, user: int, row: sp.csr_matrix, item: int, top: int) -> Explanation:
        """The rule that picked the component scoring this item, and that component's own
        explanation."""
        collaborative, content, cold_user = self.components_
        if self.cold_items_[item]:
            model, rule = content, SwitchRule.COLD_ITEM
        elif row.nnz < self.params.min_ratings:
            model, rule = cold_user, SwitchRule.FEW_RATINGS
        else:
            model, rule = collaborative, SwitchRule.ENOUGH_RATINGS
        score = float(self._score(np.array([user]), row)[0, item])
        component = self._component(model, 1.0, score, user, row, item, top)
        return Explanation(ExplanationKind.SWITCH, int(self.train_.item_ids[item]), score,
                           components=(component,),
                           switch=Switch(rule, self.params.min_ratings))

    def _get_state(self) -> dict[str, np.ndarray]:
        return {"offset": np.array(self.offset_)}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.offset_ = float(state["offset"])
        self.cold_items_ = cold_items(self.train_, self.params.cold_item_ratings)


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
        # w: how many pseudo-users each feature row counts for; several: tuned on validation
        side_weight: float | tuple = (5.0, 20.0, 80.0)
        representation: str = "tfidf"
        min_df: int = 2
        valid_fraction: float = 0.2
        k: int = 10  # the side weight maximises NDCG@k on the validation split
        seed: int = 42

        def __post_init__(self) -> None:
            weights = self.side_weight
            weights = tuple(float(w) for w in (
                weights if isinstance(weights, (tuple, list)) else (weights,)))
            object.__setattr__(self, "side_weight", weights[0] if len(weights) == 1 else weights)
            if self.reg <= 0 or not weights or min(weights) < 0:
                raise ConfigError(f"hybrid_collective_ease needs reg > 0 and side_weight(s) "
                                  f">= 0, got reg={self.reg}, side_weight={self.side_weight}")
            if self.representation not in REPRESENTATIONS:
                raise ConfigError(f"representation must be one of {REPRESENTATIONS}")
            _check_fraction("hybrid_collective_ease", self.valid_fraction)

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        known = require_catalog(catalog, self.name)
        features = item_features(known, self.params.representation, self.params.min_df)
        side = _side_gram(features.align(train.item_ids))
        candidates = np.atleast_1d(np.asarray(self.params.side_weight, dtype=np.float64))
        if len(candidates) > 1:
            valid = _validation_split(train, self.params.valid_fraction, self.rng_)
            x = self._inputs(valid.rows)
            candidates = [_best(candidates, lambda w: valid.ndcg(
                np.asarray(x @ self._weights(valid.inner, side, w)), self.params.k),
                f"{self.name} side weight")]
        self.side_weight_ = float(candidates[0])
        self.weights_ = self._weights(train, side, self.side_weight_)
        log.info("%s: %d × %d weights (λ=%g, w=%g, %s)", self.name, *self.weights_.shape,
                 self.params.reg, self.side_weight_, self.params.representation)

    def _weights(self, train: Interactions, side: np.ndarray, side_weight: float) -> np.ndarray:
        """B = -P / diag(P), diag(B) = 0 for P = (XᵀX + w·FFᵀ + λI)⁻¹ (EASE's closed form)."""
        x = self._inputs(train.matrix)
        gram = side * np.float32(side_weight)
        gram += (x.T @ x).toarray().astype(np.float32)
        return ease_weights(gram, self.params.reg)

    def _get_state(self) -> dict[str, np.ndarray]:
        return super()._get_state() | {"side_weight": np.array(self.side_weight_)}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        super()._set_state(state, meta)
        self.side_weight_ = float(state["side_weight"])
