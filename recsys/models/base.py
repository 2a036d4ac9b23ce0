"""The ``Recommender`` base class: one interface over every model family.

The base owns id mapping, unknown users, seen-item exclusion, batched top-k and ranking,
persistence and the not-fitted check (the Surprise "template method"). A subclass declares
its ``Params`` dataclass and capabilities and implements ``_fit`` and the batched ``_score``.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl
import scipy.sparse as sp
from threadpoolctl import threadpool_info

from recsys.arguments import (
    check_cutoff,
    check_flag,
    check_history,
    check_id,
    check_ids,
    check_pairs,
    check_rows,
    unique_in_order,
)
from recsys.config import check_params
from recsys.data.types import Catalog, Interactions, TrainingData
from recsys.errors import (
    ArgumentError,
    ConfigError,
    DataError,
    NotFittedError,
    RecsysError,
    UnknownIdError,
    UnsupportedError,
)
from recsys.io import atomic_dir
from recsys.linalg import top_k, top_k_unseen
from recsys.models.explanation import Explanation

__all__ = [
    "Capability",
    "Explanation",
    "FOLD_IN_USER",
    "Recommender",
    "RECOMMENDATION_SCHEMA",
    "SIMILARITY_SCHEMA",
    "scoring_threads",
]

RECOMMENDATION_SCHEMA = {
    "user_id": pl.Int64(),
    "item_id": pl.Int64(),
    "score": pl.Float64(),
    "rank": pl.Int32(),
}
SIMILARITY_SCHEMA = {
    "item_id": pl.Int64(),
    "similar_item_id": pl.Int64(),
    "score": pl.Float64(),
    "rank": pl.Int32(),
}
_BATCH_USERS = 512
# The row index ``_score`` and ``_explain`` get for a history folded in at query time; distinct
# from ``UNKNOWN_INDEX`` (-1), which ``missing="mark"`` lookups give to an id the model lacks.
FOLD_IN_USER = -2


class Capability(enum.Flag):
    """What a model can be asked for; the UI and the benchmark read these."""

    TOP_N = enum.auto()
    RATING = enum.auto()
    SIMILAR_ITEMS = enum.auto()
    EXPLAIN = enum.auto()
    FOLD_IN = enum.auto()
    COLD_START_ITEMS = enum.auto()




def scoring_threads() -> int:
    """Threads a model may rank batches of users on: the BLAS/OpenMP limit in force
    (``threadpoolctl.threadpool_limits``, as ``recsys bench run --threads`` sets it), at most
    the cores this process may use."""
    limits = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(1, min([len(os.sched_getaffinity(0)), *limits]))


# What a hyper-parameter of a given name must satisfy, in whichever model's Params it is:
# (test, the expectation the error names). Model-specific rules live in each Params.
_AT_LEAST_ONE = (lambda v: v >= 1, ">= 1")
_NON_NEGATIVE = (lambda v: v >= 0, ">= 0")
_POSITIVE = (lambda v: v > 0, "> 0")
_RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    **dict.fromkeys(("k", "epochs", "n_epochs", "baseline_epochs", "iterations", "max_iter",
                     "batch_size", "factors", "n_factors", "hidden", "latent", "dim", "negatives",
                     "encoder_epochs", "decoder_epochs", "n_cltr_u", "n_cltr_i", "window",
                     "windows"), _AT_LEAST_ONE),
    **dict.fromkeys(("threads", "patience", "total_anneal_steps", "anneal_cap", "weight_decay",
                     "gamma", "regularization", "reg_u", "reg_i", "reg_all", "baseline_reg",
                     "reg_pu", "reg_qi", "reg_bu", "reg_bi", "ridge", "alpha", "beta", "min_k",
                     "min_support", "shrinkage", "init_low", "init_std_dev", "cold_item_rank"),
                    _NON_NEGATIVE),
    **dict.fromkeys(("lr", "learning_rate", "lr_all", "baseline_lr", "lr_bu", "lr_bi",
                     "temperature", "proximity"), _POSITIVE),
    "dropout": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "valid_fraction": (lambda v: 0 < v < 1, "in (0, 1)"),
    "window_mix": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "layers": (lambda v: len(v) >= 1 and min(v) >= 1, "a non-empty list of widths >= 1"),
}


def _check_ranges(params: Any, where: str) -> None:
    """ConfigError naming the first hyper-parameter of ``params`` outside its range."""
    for name, (holds, expected) in _RANGES.items():
        value = getattr(params, name, None)
        if value is not None and not holds(value):
            raise ConfigError(f"{where}: {name} must be {expected}, got {value!r}")


class Recommender:
    """Base class of every model. Subclasses set ``name``, ``Params``, ``capabilities``."""

    name: ClassVar[str] = ""
    capabilities: ClassVar[Capability] = Capability.TOP_N
    # True where ``_score`` is NumPy/SciPy work that releases the GIL and may run in several
    # threads at once: batches of users are then ranked on every allowed core
    parallel_scoring: ClassVar[bool] = False

    @dataclass(frozen=True)
    class Params:
        """Hyper-parameters; subclasses replace this with their own frozen dataclass."""

        seed: int = 42

    def __init__(self, **params: Any) -> None:
        where = type(self).__name__
        self.params = self.Params(**check_params(self.Params, params, where))
        _check_ranges(self.params, where)
        self._fitted = False

    # -- scikit-learn style plumbing -------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Hyper-parameters as a plain dict (for logging and cloning)."""
        return dataclasses.asdict(self.params)

    def clone(self) -> Self:
        """A fresh, unfitted model with the same hyper-parameters."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def supports(self, capability: Capability) -> bool:
        """True when the model declares ``capability``."""
        return bool(self.capabilities & capability)

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, train: TrainingData | Interactions) -> Self:
        """Learn from ``train`` (ratings and the catalogue known at training time); ``self``.

        Bare ``Interactions`` mean no catalogue: content-aware models then refuse to fit.
        """
        data = TrainingData.of(train)
        if data.interactions.matrix.nnz == 0:
            raise ArgumentError(f"{type(self).__name__}.fit needs at least one rating; the "
                                f"training data has none")
        self.train_ = data.interactions
        self.rng_ = np.random.default_rng(getattr(self.params, "seed", None))
        self._fit(data.interactions, data.catalog)
        self._fitted = True
        return self

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit() or load()")

    # -- scoring ---------------------------------------------------------------------------
    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        """Dense scores (len(users) × n_items); ``rows`` are the users' rating rows.

        ``users`` holds row indices into the training matrix, or ``FOLD_IN_USER`` for a
        history folded in at query time (only for models declaring ``FOLD_IN``).
        """
        raise NotImplementedError

    def recommend(
        self, user_ids: Any, k: int = 10, exclude_seen: bool = True
    ) -> pl.DataFrame:
        """Top-``k`` items for each user: ``[user_id, item_id, score, rank]``, rank from 1.

        ``user_ids``: one integer id or a list/array of them (a repeated id is answered once);
        ``k``: a positive integer. Unknown users raise UnknownIdError; any other bad argument
        raises ArgumentError (see :mod:`recsys.arguments`).
        """
        self._check_fitted()
        user_ids = unique_in_order(check_ids(user_ids, "user_ids"))
        k, exclude_seen = check_cutoff(k), check_flag(exclude_seen, "exclude_seen")
        users = self.train_.user_index(user_ids)
        return self._rank(user_ids, users, self.train_.matrix[users], k, exclude_seen)

    def recommend_for_history(
        self, history: pl.DataFrame, k: int = 10, exclude_seen: bool = True, user_id: int = -1
    ) -> pl.DataFrame:
        """Fold in a new user's ``[item_id, rating]`` history at query time, no refit.

        Movies the model does not know are ignored; a history none of whose movies is known
        raises UnknownIdError (there is nothing to base recommendations on). Ratings must be
        finite and within the training rating scale. ``user_id`` only labels the output rows
        (-1 by default: the history belongs to no training user).
        """
        self._check_fitted()
        if not self.supports(Capability.FOLD_IN):
            raise UnsupportedError(f"{self.name} cannot fold in a new user; retrain it instead")
        k, exclude_seen = check_cutoff(k), check_flag(exclude_seen, "exclude_seen")
        user_id = check_id(user_id, "user_id")
        row = self.history_row(history)
        ranked = self._rank(np.array([user_id]), np.array([FOLD_IN_USER]), row, k, exclude_seen)
        if ranked.height > 1 and ranked["score"].n_unique() == 1:
            self._check_signal(row, exclude_seen, ranked["score"][0], ranked.height)
        return ranked

    def _check_signal(self, row: sp.csr_matrix, exclude_seen: bool, best: float,
                      listed: int) -> None:
        """ArgumentError when the folded-in ``row``'s list of ``listed`` movies, all scored
        ``best``, is an arbitrary pick among more movies scored ``best`` (the catalogue in id
        order, not a recommendation)."""
        scores = np.asarray(self._score(np.array([FOLD_IN_USER]), row), dtype=np.float64)[0]
        if exclude_seen:
            scores[row.indices] = np.nan
        tied = int((scores == best).sum())
        if tied > listed:
            raise ArgumentError(
                f"history gives {self.name} nothing to rank by: its best score, {best:g}, is "
                f"shared by {tied:,} movies, so its top {listed} would be the first of them in "
                f"id order (the history's movies have no neighbours or features it can use; "
                f"a content model needs a rating above the history's mean). Rate other "
                f"movies, or use another model")

    def recommend_for_rows(
        self, user_ids: np.ndarray, rows: sp.csr_matrix, k: int = 10
    ) -> pl.DataFrame:
        """Fold in many new users at once: row ``i`` of ``rows`` (a CSR over the model's own
        items, as in training) is the history of ``user_ids[i]``; its movies are excluded.

        The batched form of :meth:`recommend_for_history` that strong-generalisation
        evaluation scores with; the ids only label the output rows. ``rows`` may be any SciPy
        sparse matrix or a 2-D NumPy array of finite, non-negative values (ArgumentError
        otherwise, as for a wrong shape).
        """
        self._check_fitted()
        if not self.supports(Capability.FOLD_IN):
            raise UnsupportedError(f"{self.name} cannot fold in a new user; retrain it instead")
        user_ids, k = check_ids(user_ids, "user_ids"), check_cutoff(k)
        rows = check_rows(rows, (len(user_ids), self.train_.shape[1]))
        folded = np.full(len(user_ids), FOLD_IN_USER)
        return self._rank(user_ids, folded, rows, k, True)

    def history_row(self, history: pl.DataFrame) -> sp.csr_matrix:
        """A one-row CSR over the model's items from ``[item_id, rating]`` (unknown dropped).

        UnknownIdError when no movie of the history is known to the model.
        """
        history = check_history(history, self.train_.rating_scale)
        cols = self.train_.item_index(history["item_id"].to_numpy(), missing="mark")
        keep = cols >= 0
        if not keep.any():
            unknown = history["item_id"].head(5).to_list()
            raise UnknownIdError(
                f"None of the {history.height} movie(s) of the history is known to "
                f"{self.name} (e.g. {unknown}): rate at least one movie of its catalogue"
            )
        values = history["rating"].to_numpy().astype(np.float32)[keep]
        return sp.csr_matrix(
            (values, (np.zeros(keep.sum(), dtype=np.int64), cols[keep])),
            shape=(1, self.train_.shape[1]),
        )

    def _rank(
        self,
        user_ids: np.ndarray,
        users: np.ndarray,
        rows: sp.csr_matrix,
        k: int,
        exclude_seen: bool,
    ) -> pl.DataFrame:
        """Top-``k`` of each user, one batch of users at a time (several batches at once when
        the model allows it); the same lists in the same order either way."""
        blocks = [slice(start, start + _BATCH_USERS)
                  for start in range(0, len(users), _BATCH_USERS)]

        def ranked(block: slice) -> pl.DataFrame:
            return self._rank_block(user_ids[block], users[block], rows[block], k, exclude_seen)

        parallel = self.parallel_scoring and len(blocks) > 1
        workers = min(len(blocks), scoring_threads()) if parallel else 1
        if workers > 1:
            with ThreadPoolExecutor(workers, thread_name_prefix=f"{self.name}-rank") as pool:
                frames = list(pool.map(ranked, blocks))
        else:
            frames = [ranked(block) for block in blocks]
        return pl.concat(frames) if frames else pl.DataFrame(schema=RECOMMENDATION_SCHEMA)

    def _rank_block(self, user_ids: np.ndarray, users: np.ndarray, rows: sp.csr_matrix, k: int,
                    exclude_seen: bool) -> pl.DataFrame:
        scores = np.asarray(self._score(users, rows), dtype=np.float64)
        row, column, best, rank = top_k_unseen(scores, rows if exclude_seen else None, k)
        return pl.DataFrame(
            {"user_id": user_ids[row], "item_id": self.train_.item_ids[column], "score": best,
             "rank": rank},
            schema=RECOMMENDATION_SCHEMA,
        )

    # -- optional capabilities -------------------------------------------------------------
    def predict(self, user_ids: Any, item_ids: Any) -> np.ndarray:
        """Predicted ratings for (user, item) pairs; unknown ids get the model's fallback.

        ``user_ids`` and ``item_ids`` are integer ids of equal length (one pair per position;
        scalars make one pair); ArgumentError otherwise.
        """
        self._check_fitted()
        if not self.supports(Capability.RATING):
            raise UnsupportedError(f"{self.name} does not predict ratings")
        user_ids, item_ids = check_pairs(user_ids, item_ids, ("user_ids", "item_ids"))
        users = self.train_.user_index(user_ids, missing="mark")
        items = self.train_.item_index(item_ids, missing="mark")
        return np.asarray(self._predict(users, items), dtype=np.float64)

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def similar_items(self, item_ids: Any, k: int = 10) -> pl.DataFrame:
        """The ``k`` most similar items to each item: ``[item_id, similar_item_id, score, rank]``.

        ``item_ids``: integer ids (a repeated id is answered once); unknown ids raise
        UnknownIdError.
        """
        self._check_fitted()
        if not self.supports(Capability.SIMILAR_ITEMS):
            raise UnsupportedError(f"{self.name} does not compute item similarities")
        item_ids = unique_in_order(check_ids(item_ids, "item_ids"))
        k = check_cutoff(k)
        items = self.train_.item_index(item_ids)
        idx, best = self._nearest_items(items, k)
        valid = np.isfinite(best)
        return pl.DataFrame(
            {
                "item_id": np.repeat(item_ids, idx.shape[1])[valid.ravel()],
                "similar_item_id": self.train_.item_ids[idx[valid]],
                "score": best[valid],
                "rank": np.tile(np.arange(1, idx.shape[1] + 1), len(items))[valid.ravel()],
            },
            schema=SIMILARITY_SCHEMA,
        )

    def _nearest_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and scores of each item's ``k`` nearest items, best first.

        ``-inf`` marks a slot without a neighbour. The default ranks the dense rows of
        ``_similar``; models with an index (faiss) override this.
        """
        scores = np.asarray(self._similar(items), dtype=np.float64)
        scores[np.arange(len(items)), items] = -np.inf
        scores[~np.isfinite(scores)] = -np.inf
        return top_k(scores, k)

    def _similar(self, items: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def explain(self, user_id: int, item_id: int, top: int = 3) -> Explanation:
        """Why ``item_id`` scores as it does for the known user ``user_id``: typed evidence.

        One integer ``user_id`` and ``item_id``, both known to the model; ``top`` >= 1 caps
        each evidence list. UnsupportedError when the model cannot explain itself.
        """
        self._check_explainable()
        user_id, item_id = check_id(user_id, "user_id"), check_id(item_id, "item_id")
        top = check_cutoff(top, "top")
        user = int(self.train_.user_index([user_id])[0])
        return self._explain_item(user, self.train_.matrix[user], item_id, top)

    def explain_for_history(
        self, history: pl.DataFrame, item_id: int, top: int = 3
    ) -> Explanation:
        """Why ``item_id`` scores as it does for a ``[item_id, rating]`` history, no refit.

        The history form of :meth:`explain`, as :meth:`recommend_for_history` is of
        :meth:`recommend`: the same checks, and the explanation of the very score that
        ``recommend_for_history(history)`` ranks by. Needs both EXPLAIN and FOLD_IN.
        """
        (explanation,) = self.explain_items_for_history(
            history, [check_id(item_id, "item_id")], top)
        return explanation

    def explain_items_for_history(
        self, history: pl.DataFrame, item_ids: Sequence[int], top: int = 3
    ) -> list[Explanation]:
        """:meth:`explain_for_history` of each of ``item_ids``, in order, with the history
        checked and folded in once (a page explains its whole list this way)."""
        self._check_explainable()
        if not self.supports(Capability.FOLD_IN):
            raise UnsupportedError(f"{self.name} cannot fold in a new user, so it cannot "
                                   "explain a history; retrain it instead")
        item_ids, top = check_ids(item_ids, "item_ids"), check_cutoff(top, "top")
        row = self.history_row(history)
        return [self._explain_item(FOLD_IN_USER, row, int(item), top) for item in item_ids]

    def _check_explainable(self) -> None:
        self._check_fitted()
        if not self.supports(Capability.EXPLAIN):
            raise UnsupportedError(f"{self.name} cannot explain its recommendations")

    def _explain_item(self, user: int, row: sp.csr_matrix, item_id: int, top: int) -> Explanation:
        item = int(self.train_.item_index([item_id])[0])
        return self._explain(user, row, item, top)

    def _explain(self, user: int, row: sp.csr_matrix, item: int, top: int) -> Explanation:
        """The evidence for column ``item`` given the user's row (``user``: a row index or
        ``FOLD_IN_USER``); models declaring EXPLAIN implement it."""
        raise NotImplementedError

    # -- persistence (no pickle) -----------------------------------------------------------
    def save(self, path: Path | str) -> Path:
        """Write params, vocabularies and learned arrays to folder ``path`` atomically."""
        self._check_fitted()
        with atomic_dir(path) as tmp:
            meta = {"model": self.name, "params": self.get_params(), **self._extra_meta()}
            (tmp / "model.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
            train = self.train_.matrix
            arrays = {
                "train_data": train.data,
                "train_indices": train.indices,
                "train_indptr": train.indptr,
                "train_shape": np.array(train.shape),
                "user_ids": self.train_.user_ids,
                "item_ids": self.train_.item_ids,
                "train_scale": np.array(self.train_.rating_scale, dtype=np.float64),
                **{f"state_{k}": v for k, v in self._get_state().items()},
            }
            np.savez(tmp / "arrays.npz", **arrays)
            self._save_files(tmp)
        return Path(path)

    @classmethod
    def load(cls, path: Path | str) -> Recommender:
        """Load a model saved with :meth:`save`; the class is looked up in the registry (on a
        subclass, a saved model of another class is refused)."""
        from recsys.models.registry import get_model_class

        path = Path(path)
        if not (path / "model.json").exists():
            raise RecsysError(f"No saved model at {path}: expected {path / 'model.json'}")
        try:
            meta = json.loads((path / "model.json").read_text(encoding="utf-8"))
            model = get_model_class(meta["model"])(**meta["params"])
        except (ValueError, KeyError, TypeError) as error:
            raise DataError(f"{path / 'model.json'} is not a saved model's description "
                            f"({type(error).__name__}: {error}); save the model again") from error
        if not isinstance(model, cls):
            raise DataError(f"{path} holds a saved {model.name}, not a {cls.__name__} "
                            f"(Recommender.load loads any saved model)")
        try:
            with np.load(path / "arrays.npz", allow_pickle=False) as arrays:
                matrix = sp.csr_matrix(
                    (arrays["train_data"], arrays["train_indices"], arrays["train_indptr"]),
                    shape=tuple(arrays["train_shape"]),
                )
                scale = tuple(arrays["train_scale"]) if "train_scale" in arrays.files else None
                model.train_ = Interactions(matrix, arrays["user_ids"], arrays["item_ids"], scale)
                state = {k[6:]: arrays[k] for k in arrays.files if k.startswith("state_")}
            model.rng_ = np.random.default_rng(getattr(model.params, "seed", None))
            model._set_state(state, meta)
        except (OSError, ValueError, KeyError, EOFError, RuntimeError) as error:
            raise DataError(f"{path / 'arrays.npz'} does not hold the saved {meta['model']}'s "
                            f"arrays ({type(error).__name__}: {error}); save the model "
                            f"again") from error
        model._load_files(path)
        model._fitted = True
        return model

    def learning_curve(self) -> list[dict[str, float]]:
        """Per training epoch, the losses and validation scores (empty: not trained in epochs)."""
        self._check_fitted()
        return []

    def _get_state(self) -> dict[str, np.ndarray]:
        """Learned arrays to persist; override in every model with learned state."""
        return {}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore what ``_get_state`` returned."""

    def _save_files(self, folder: Path) -> None:
        """Write extra files (a faiss index, sub-models) into the model folder being saved."""

    def _load_files(self, folder: Path) -> None:
        """Read what ``_save_files`` wrote (called after ``_set_state``)."""

    def _extra_meta(self) -> dict[str, Any]:
        """JSON-serialisable extras stored beside the params."""
        return {}
