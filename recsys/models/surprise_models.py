"""The scikit-surprise algorithms behind the ``Recommender`` interface.

One generic wrapper, :class:`SurpriseRecommender`, and a table of the ten algorithms
(name, Surprise class, hyper-parameters with Surprise's defaults, learned arrays). Each row
becomes a registered subclass (``surprise_svd``, ``surprise_knn_baseline``, ...).

How the wrapper talks to Surprise:

- The Surprise ``Trainset`` is built directly from the ``Interactions`` matrix (raw ids are
  our ids, the rating scale is the training data's min/max). Inner ids are numbered in order
  of first appearance in the (user, item)-sorted rating list, exactly as Surprise numbers a
  sorted ratings file, so a fit here equals a fit of Surprise on the same file (same seed).
- Predictions follow ``AlgoBase.predict``: impossible estimates fall back to the global mean
  and every estimate is clipped to the rating scale.
- SVD, SVD++, NMF and BaselineOnly are scored in NumPy from their learned arrays (vectorised,
  batched); NormalPredictor draws from its fitted normal with a per-user seeded generator.
  SlopeOne, CoClustering and the k-NN family can only be asked one (user, item) pair at a
  time, so their top-N scores every item through Surprise's ``estimate`` in a Python loop:
  fine for ml-100k / ml-latest-small, slow for large catalogues.
- Persistence without pickle: the array models store their learned arrays (``bu``, ``bi``,
  ``pu``, ``qi``, ``yj``, ``sigma``) and are rebuilt from them; SlopeOne, CoClustering and the
  k-NN algorithms are *refit deterministically on load* from the saved training matrix (with
  the same seed), because Surprise has no array export for them.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Protocol

import numpy as np
import scipy.sparse as sp
from surprise import (
    NMF,
    SVD,
    AlgoBase,
    BaselineOnly,
    CoClustering,
    KNNBaseline,
    KNNBasic,
    KNNWithMeans,
    NormalPredictor,
    PredictionImpossible,
    SlopeOne,
    SVDpp,
    Trainset,
)

from recsys.data.types import Catalog, Interactions
from recsys.errors import ConfigError
from recsys.models.base import Capability, Recommender
from recsys.models.registry import register

__all__ = ["SurpriseRecommender", "SURPRISE_MODELS", "build_trainset"]

_SIMILARITIES = ("cosine", "msd", "pearson", "pearson_baseline")
_BASELINE_METHODS = ("als", "sgd")
_UNKNOWN = "UKN__"  # Surprise's marker for an id that is not in the trainset


def _option(default: Any, group: str, key: str) -> Any:
    """A hyper-parameter that Surprise takes inside an options dict (``sim_options``...)."""
    return field(default=default, metadata={"group": group, "key": key})


# -- hyper-parameters (Surprise's defaults) ----------------------------------------------------
@dataclass(frozen=True)
class SeedParams:
    """Only the seed (passed to Surprise as ``random_state`` where the algorithm takes one)."""

    seed: int = 42


@dataclass(frozen=True)
class SVDParams(SeedParams):
    """Funk SVD trained by SGD."""

    n_factors: int = 100
    n_epochs: int = 20
    biased: bool = True
    init_mean: float = 0.0
    init_std_dev: float = 0.1
    lr_all: float = 0.005
    reg_all: float = 0.02


@dataclass(frozen=True)
class SVDppParams(SeedParams):
    """SVD++ (implicit feedback of the rated items); caching the ratings only saves time."""

    n_factors: int = 20
    n_epochs: int = 20
    init_mean: float = 0.0
    init_std_dev: float = 0.1
    lr_all: float = 0.007
    reg_all: float = 0.02
    cache_ratings: bool = True


@dataclass(frozen=True)
class NMFParams(SeedParams):
    """Non-negative matrix factorization."""

    n_factors: int = 15
    n_epochs: int = 50
    biased: bool = False
    reg_pu: float = 0.06
    reg_qi: float = 0.06
    reg_bu: float = 0.02
    reg_bi: float = 0.02
    lr_bu: float = 0.005
    lr_bi: float = 0.005
    init_low: float = 0.0
    init_high: float = 1.0


@dataclass(frozen=True)
class CoClusteringParams(SeedParams):
    """Co-clustering of users and items."""

    n_cltr_u: int = 3
    n_cltr_i: int = 3
    n_epochs: int = 20


@dataclass(frozen=True)
class BaselineParams(SeedParams):
    """Baseline estimates (``bsl_options``); ``n_epochs`` defaults to ALS's 10 (SGD's is 20)."""

    baseline_method: str = _option("als", "bsl_options", "method")
    baseline_epochs: int = _option(10, "bsl_options", "n_epochs")
    reg_u: float = _option(15.0, "bsl_options", "reg_u")
    reg_i: float = _option(10.0, "bsl_options", "reg_i")
    baseline_reg: float = _option(0.02, "bsl_options", "reg")
    baseline_lr: float = _option(0.005, "bsl_options", "learning_rate")

    def __post_init__(self) -> None:
        _check_choice("baseline_method", self.baseline_method, _BASELINE_METHODS)


@dataclass(frozen=True)
class SurpriseKNNParams(SeedParams):
    """Neighbourhood size and similarity (``sim_options``)."""

    k: int = 40
    min_k: int = 1
    similarity: str = _option("msd", "sim_options", "name")
    user_based: bool = _option(True, "sim_options", "user_based")
    min_support: int = _option(1, "sim_options", "min_support")
    shrinkage: int = _option(100, "sim_options", "shrinkage")

    def __post_init__(self) -> None:
        _check_choice("similarity", self.similarity, _SIMILARITIES)
        if self.min_support < 1:  # Surprise divides by the support of every pair it keeps
            raise ConfigError(f"Surprise k-NN needs min_support >= 1, got {self.min_support}")


@dataclass(frozen=True)
class KNNBaselineParams(SurpriseKNNParams, BaselineParams):
    """k-NN around baseline estimates: neighbourhood and baseline options."""

    def __post_init__(self) -> None:
        SurpriseKNNParams.__post_init__(self)
        BaselineParams.__post_init__(self)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"Surprise parameter {name}={value!r} is not one of {list(choices)}")


def surprise_kwargs(params: Any, algorithm: type[AlgoBase]) -> dict[str, Any]:
    """Keyword arguments for the Surprise constructor: options dicts grouped, seed mapped."""
    accepted = inspect.signature(algorithm).parameters
    kwargs: dict[str, Any] = {"verbose": False} if "verbose" in accepted else {}
    for f in fields(params):
        value = getattr(params, f.name)
        if "group" in f.metadata:
            kwargs.setdefault(f.metadata["group"], {})[f.metadata["key"]] = value
        elif f.name == "seed":
            if "random_state" in accepted:
                kwargs["random_state"] = value
        else:
            kwargs[f.name] = value
    return kwargs


# -- the Trainset -------------------------------------------------------------------------------
def build_trainset(train: Interactions) -> tuple[Trainset, np.ndarray, np.ndarray]:
    """A Surprise ``Trainset`` from ``train`` plus our-index → inner-id maps.

    The maps have one extra trailing ``-1`` so that index ``-1`` (an unknown id) maps to -1.
    Users and items without a training rating are unknown to Surprise.
    """
    matrix = train.matrix
    counts = np.diff(matrix.indptr)
    users = np.flatnonzero(counts)
    first_seen = np.unique(matrix.indices, return_index=True)
    items = first_seen[0][np.argsort(first_seen[1])]
    user_inner = _inner_map(users, train.shape[0])
    item_inner = _inner_map(items, train.shape[1])
    rating_users = user_inner[np.repeat(np.arange(train.shape[0]), counts)]
    rating_items = item_inner[matrix.indices]
    values = matrix.data.astype(np.float64)
    ur = _grouped(rating_users, rating_items, values, len(users))
    ir = _grouped(rating_items, rating_users, values, len(items))
    trainset = Trainset(
        ur,
        ir,
        len(users),
        len(items),
        train.nnz,
        (float(values.min()), float(values.max())),
        dict(zip(train.user_ids[users].tolist(), range(len(users)), strict=True)),
        dict(zip(train.item_ids[items].tolist(), range(len(items)), strict=True)),
    )
    return trainset, user_inner, item_inner


def _inner_map(order: np.ndarray, size: int) -> np.ndarray:
    inner = np.full(size + 1, -1, dtype=np.int64)
    inner[order] = np.arange(len(order))
    return inner


def _grouped(
    keys: np.ndarray, others: np.ndarray, values: np.ndarray, n_keys: int
) -> defaultdict[int, list[tuple[int, float]]]:
    """Surprise's ``ur``/``ir``: key → [(other, rating)] in rating-list order."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n_keys + 1))
    pairs = list(zip(others[order].tolist(), values[order].tolist(), strict=True))
    return defaultdict(
        list, {k: pairs[bounds[k] : bounds[k + 1]] for k in range(n_keys)}
    )


# -- estimators: how scores are computed for each kind of algorithm -----------------------------
class _Estimator(Protocol):
    def block(self, users: np.ndarray) -> np.ndarray:
        """Raw estimates (NaN = impossible) for users (our rows, -1 unknown) × all items."""

    def pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Raw estimates (NaN = impossible) for (user, item) pairs of our indices."""


class _FactorEstimator:
    """SVD / SVD++ / NMF / BaselineOnly as one product of augmented user and item vectors.

    Biased models: ``[1, b_u, 1, p_u] · [mu, 1, b_i, q_i]``; unknown rows keep only the
    ones, giving Surprise's mu + b_u, mu + b_i or mu. Unbiased models: ``p_u · q_i`` and
    impossible unless both are known. SVD++ folds ``|I_u|^-1/2 Σ y_j`` into ``p_u``.
    """

    def __init__(
        self, algo: AlgoBase, train: Interactions, user_inner: np.ndarray, item_inner: np.ndarray
    ) -> None:
        pu = _rows(getattr(algo, "pu", None), user_inner)
        if hasattr(algo, "yj"):
            pu += _implicit(algo.yj, train, item_inner)
        qi = _rows(getattr(algo, "qi", None), item_inner)
        if getattr(algo, "biased", True):
            ones_u, ones_i = np.ones((len(pu), 1)), np.ones((len(qi), 1))
            mu = algo.trainset.global_mean
            bu, bi = _rows(algo.bu, user_inner), _rows(algo.bi, item_inner)
            self.users = np.hstack([ones_u, bu, ones_u, pu])
            self.items = np.hstack([mu * ones_i, ones_i, bi, qi])
            self.known_users, self.known_items = np.ones(len(pu), bool), np.ones(len(qi), bool)
        else:
            self.users, self.items = pu, qi
            self.known_users, self.known_items = user_inner >= 0, item_inner >= 0

    def block(self, users: np.ndarray) -> np.ndarray:
        est = self.users[users] @ self.items[:-1].T
        possible = self.known_users[users, None] & self.known_items[None, :-1]
        return np.where(possible, est, np.nan)

    def pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        est = np.einsum("ij,ij->i", self.users[users], self.items[items])
        return np.where(self.known_users[users] & self.known_items[items], est, np.nan)


def _rows(inner_array: np.ndarray | None, inner: np.ndarray) -> np.ndarray:
    """Rows of a Surprise array reindexed to our indices; zeros for unknown ids."""
    if inner_array is None:
        return np.zeros((len(inner), 0))
    values = np.asarray(inner_array, dtype=np.float64)
    values = values.reshape(len(values), -1)
    out = np.zeros((len(inner), values.shape[1]))
    out[inner >= 0] = values[inner[inner >= 0]]
    return out


def _implicit(yj: np.ndarray, train: Interactions, item_inner: np.ndarray) -> np.ndarray:
    """SVD++'s ``|I_u|^-1/2 Σ_{j∈I_u} y_j`` per user row, plus a zero row for unknown users."""
    rated = sp.csr_matrix(train.matrix, copy=True)
    rated.data[:] = 1.0
    counts = np.maximum(np.diff(rated.indptr), 1)
    sums = rated @ _rows(yj, item_inner)[:-1]
    return np.vstack([sums / np.sqrt(counts)[:, None], np.zeros((1, sums.shape[1]))])


class _NormalEstimator:
    """NormalPredictor: N(mu, sigma) draws, seeded per user so that batches agree."""

    def __init__(self, algo: AlgoBase, n_items: int, seed: int) -> None:
        self.mu, self.sigma = algo.trainset.global_mean, float(algo.sigma)
        self.n_items, self.seed = n_items, seed

    def _draws(self, user: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, user & 0x7FFFFFFF])
        return rng.normal(self.mu, self.sigma, self.n_items + 1)

    def block(self, users: np.ndarray) -> np.ndarray:
        return np.array([self._draws(int(u))[:-1] for u in users]).reshape(len(users), -1)

    def pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        out = np.empty(len(users))
        order = np.argsort(users, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(users[order]) != 0])
        for chunk in np.split(order, starts[1:]):
            out[chunk] = self._draws(int(users[chunk[0]]))[items[chunk]]
        return out


class _PairwiseEstimator:
    """Any Surprise algorithm through its per-pair ``estimate`` (a Python loop)."""

    def __init__(self, algo: AlgoBase, user_inner: np.ndarray, item_inner: np.ndarray) -> None:
        self.algo, self.user_inner, self.item_inner = algo, user_inner, item_inner

    def block(self, users: np.ndarray) -> np.ndarray:
        n_items = len(self.item_inner) - 1
        items = np.tile(np.arange(n_items), len(users))
        return self.pairs(np.repeat(users, n_items), items).reshape(len(users), n_items)

    def pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        inner_u = [u if u >= 0 else _UNKNOWN for u in self.user_inner[users].tolist()]
        inner_i = [i if i >= 0 else _UNKNOWN for i in self.item_inner[items].tolist()]
        return np.fromiter(
            (self._estimate(u, i) for u, i in zip(inner_u, inner_i, strict=True)),
            dtype=np.float64,
            count=len(inner_u),
        )

    def _estimate(self, user: int | str, item: int | str) -> float:
        try:
            est = self.algo.estimate(user, item)
        except PredictionImpossible:
            return np.nan
        return float(est[0] if isinstance(est, tuple) else est)


# -- the wrapper ------------------------------------------------------------------------------
class SurpriseRecommender(Recommender):
    """A Surprise algorithm behind the ``Recommender`` interface (see the module docstring)."""

    capabilities = Capability.TOP_N | Capability.RATING
    algorithm: ClassVar[type[AlgoBase]]
    persisted: ClassVar[tuple[str, ...]] = ()  # learned arrays; empty = refit on load

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        self._attach(self._new_algorithm().fit(self._trainset(train)))

    def _new_algorithm(self) -> AlgoBase:
        return self.algorithm(**surprise_kwargs(self.params, self.algorithm))

    def _trainset(self, train: Interactions) -> Trainset:
        trainset, self.user_inner_, self.item_inner_ = build_trainset(train)
        return trainset

    def _attach(self, algo: AlgoBase) -> None:
        """Keep the fitted algorithm and pick the fastest faithful way to score with it."""
        self.algo_ = algo
        self.rating_scale_ = algo.trainset.rating_scale
        self.estimator_: _Estimator
        if self.algorithm is NormalPredictor:
            self.estimator_ = _NormalEstimator(algo, self.train_.shape[1], self.params.seed)
        elif self.persisted:
            self.estimator_ = _FactorEstimator(
                algo, self.train_, self.user_inner_, self.item_inner_
            )
        else:
            self.estimator_ = _PairwiseEstimator(algo, self.user_inner_, self.item_inner_)

    def _finish(self, est: np.ndarray) -> np.ndarray:
        """``AlgoBase.predict``: impossible → global mean, then clip to the rating scale."""
        est = np.where(np.isnan(est), self.algo_.default_prediction(), est)
        return np.clip(est, *self.rating_scale_)

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        return self._finish(self.estimator_.block(users))

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self._finish(self.estimator_.pairs(users, items))

    def _get_state(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(getattr(self.algo_, name)) for name in self.persisted}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        trainset = self._trainset(self.train_)
        algo = self._new_algorithm()
        if not self.persisted:
            self._attach(algo.fit(trainset))
            return
        algo.trainset = trainset
        for name in self.persisted:
            setattr(algo, name, state[name] if state[name].ndim else float(state[name]))
        self._attach(algo)


@dataclass(frozen=True)
class SurpriseSpec:
    """One row of the table: registry name, Surprise class, hyper-parameters, learned arrays."""

    name: str
    algorithm: type[AlgoBase]
    params: type
    persisted: tuple[str, ...] = ()


SURPRISE_MODELS: tuple[SurpriseSpec, ...] = (
    SurpriseSpec("surprise_svd", SVD, SVDParams, ("bu", "bi", "pu", "qi")),
    SurpriseSpec("surprise_svdpp", SVDpp, SVDppParams, ("bu", "bi", "pu", "qi", "yj")),
    SurpriseSpec("surprise_nmf", NMF, NMFParams, ("bu", "bi", "pu", "qi")),
    SurpriseSpec("surprise_slope_one", SlopeOne, SeedParams),
    SurpriseSpec("surprise_co_clustering", CoClustering, CoClusteringParams),
    SurpriseSpec("surprise_knn_basic", KNNBasic, SurpriseKNNParams),
    SurpriseSpec("surprise_knn_with_means", KNNWithMeans, SurpriseKNNParams),
    SurpriseSpec("surprise_knn_baseline", KNNBaseline, KNNBaselineParams),
    SurpriseSpec("surprise_baseline_only", BaselineOnly, BaselineParams, ("bu", "bi")),
    SurpriseSpec("surprise_normal_predictor", NormalPredictor, SeedParams, ("sigma",)),
)


def _register(spec: SurpriseSpec) -> type[SurpriseRecommender]:
    class_name = f"Surprise{spec.algorithm.__name__}"
    cls = type(
        class_name,
        (SurpriseRecommender,),
        {
            "name": spec.name,
            "Params": spec.params,
            "algorithm": spec.algorithm,
            "persisted": spec.persisted,
            "__doc__": f"Surprise's {spec.algorithm.__name__} behind the Recommender interface.",
            "__module__": __name__,
            "__qualname__": class_name,
        },
    )
    return register(cls)


for _spec in SURPRISE_MODELS:
    globals()[f"Surprise{_spec.algorithm.__name__}"] = _register(_spec)
