"""The one adapter base class that puts another toolkit's model behind our ``Recommender``.

A *peer* is a model of another library run the way that library's own users run it: its
documented parameters (with its defaults) pass straight through, it is fitted on the same
training ``Interactions`` as our models, and it computes its scores itself. Our base class then
removes the training items and takes the top k, and our evaluator scores the lists, so a peer
row and one of ours differ only in the model. A peer that reads rows
(:meth:`PeerRecommender.training_rows`) gets them in the splitter's order, the order its own
users hand it a split's training frame in: for peers that number users and items by first
appearance (cornac, Surprise), that order decides which random initial vector each one gets.

A subclass names the library (import name, distribution, the optional-dependency group that
brings it) and its ``Params``; it implements ``_fit_peer`` and either ``_score_user`` (one
user's scores over the peer's items, for peers that live in our process) or sets
``snapshot_`` (every training user's scores, for peers run in their own virtual environment).
Persistence stores the score snapshot of the training users (no pickle): a loaded peer answers
exactly as the fitted one did, without the peer installed.

Every peer takes ``seed`` (handed to the peer's own seed argument) and ``threads`` (the thread
count pinned for BLAS/OpenMP, torch and the peer's own thread argument while it fits and
scores), so that the two sides of a benchmark run on the same number of threads.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys.data.types import Interactions, TrainingData
from recsys.errors import RecsysError
from recsys.models.base import Recommender

__all__ = [
    "EXTRA_INSTALL",
    "PEER_PREFIX",
    "PeerParams",
    "PeerRecommender",
    "describe_peers",
    "is_peer",
    "pinned_threads",
]

PEER_PREFIX = "peer:"
EXTRA_INSTALL = "pip install -e .[peers]"
_OWN_PARAMS = ("seed", "threads")


def is_peer(name: str) -> bool:
    """True for a registry name of a peer adapter (``peer:<library>.<model>``)."""
    return name.startswith(PEER_PREFIX)


@contextmanager
def pinned_threads(threads: int) -> Iterator[None]:
    """BLAS/OpenMP pools and torch limited to ``threads`` inside the block, restored after.

    torch is imported here, not with the module: a process that never fits a peer (the app)
    does not pay its ~230 MB.
    """
    import torch

    previous = torch.get_num_threads()
    with threadpool_limits(limits=threads):
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.set_num_threads(previous)


@dataclass(frozen=True)
class PeerParams:
    """What every peer takes besides its library's own parameters."""

    seed: int = 42
    threads: int = 1


class PeerRecommender(Recommender):
    """Base of every peer adapter; subclasses set the class variables and ``Params``."""

    library: ClassVar[str] = ""  # import name of the peer library
    distribution: ClassVar[str] = ""  # its package name (for the version)
    extra: ClassVar[str | None] = "peers"  # optional-dependency group; None: a core dependency
    seed_arg: ClassVar[str | None] = "seed"  # the peer's own name for the seed, if it has one
    threads_arg: ClassVar[str | None] = None  # the peer's own name for its thread count
    Params = PeerParams
    _rows: pl.DataFrame | None = None  # the training rows in the splitter's order, during fit

    # -- the library ----------------------------------------------------------------------
    @classmethod
    def available(cls) -> bool:
        """True when the peer library can be imported here."""
        return importlib.util.find_spec(cls.library) is not None

    @classmethod
    def version(cls) -> str:
        """The installed version of the peer library."""
        return importlib.metadata.version(cls.distribution)

    @classmethod
    def missing_message(cls) -> str:
        """What to install when the peer is missing."""
        how = EXTRA_INSTALL if cls.extra else f"pip install {cls.distribution}"
        return f"{cls.name} needs {cls.distribution}, which is not installed: {how}"

    def peer_kwargs(self) -> dict[str, Any]:
        """The peer's own constructor arguments: our params, seed and threads renamed."""
        params = self.get_params()
        kwargs = {k: v for k, v in params.items() if k not in _OWN_PARAMS}
        if self.seed_arg:
            kwargs[self.seed_arg] = params["seed"]
        if self.threads_arg:
            kwargs[self.threads_arg] = params["threads"]
        return kwargs

    # -- fitting and scoring --------------------------------------------------------------
    def fit(self, train: TrainingData | Interactions) -> Self:
        """Fit on ``train``, keeping its rows in the splitter's order for ``training_rows``."""
        self._rows = TrainingData.of(train).ratings
        try:
            return super().fit(train)
        finally:
            self._rows = None

    def training_rows(self, train: Interactions) -> pl.DataFrame:
        """The training ``[user_id, item_id, rating]`` rows, in the splitter's order when the
        training data carry it (``TrainingData.ratings``), else in (user, item) order."""
        if self._rows is None:
            return train.to_frame()
        return self._rows.select("user_id", "item_id", "rating")

    def _fit(self, train: Interactions, catalog: Any | None) -> None:
        if not self.available():
            raise RecsysError(self.missing_message())
        self.snapshot_: np.ndarray | None = None
        with pinned_threads(self.params.threads):
            self._fit_peer(train)

    def _fit_peer(self, train: Interactions) -> None:
        """Fit the peer on ``train``; call ``_map_vocabularies`` or set ``snapshot_``."""
        raise NotImplementedError

    def _map_vocabularies(
        self, train: Interactions, peer_users: Iterable[Any], peer_items: Iterable[Any]
    ) -> None:
        """Our row → the peer's user index (-1: unknown to it); the peer's items → our columns.

        ``peer_users`` / ``peer_items`` are the peer's raw ids in the peer's index order.
        """
        users = np.fromiter(peer_users, dtype=np.int64)
        self.peer_users_ = np.full(train.shape[0], -1, dtype=np.int64)
        self.peer_users_[train.user_index(users)] = np.arange(len(users))
        self.peer_items_ = train.item_index(np.fromiter(peer_items, dtype=np.int64))

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        if self.snapshot_ is not None:
            return self.snapshot_[users]
        block = np.full((len(users), self.train_.shape[1]), -np.inf)
        with pinned_threads(self.params.threads):
            for n, user in enumerate(self.peer_users_[users]):
                if user >= 0:
                    block[n, self.peer_items_] = self._score_user(int(user))
        return block

    def _score_user(self, user: int) -> np.ndarray:
        """The peer's scores of its items (in its index order) for its user index ``user``."""
        raise NotImplementedError

    # -- persistence: the score snapshot of the training users -----------------------------
    def _get_state(self) -> dict[str, np.ndarray]:
        users = np.arange(self.train_.shape[0])
        return {"scores": self._score(users, self.train_.matrix)}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.snapshot_ = state["scores"]

    def _extra_meta(self) -> dict[str, Any]:
        return {"peer": self.distribution, "peer_version": self.version()}


def describe_peers(models: Iterable[tuple[str, str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Library, version and threads of the peers among ``(label, registry name, params)``."""
    from recsys.models.registry import get_model_class

    described = {}
    for label, name, params in models:
        cls = get_model_class(name)
        if not issubclass(cls, PeerRecommender):
            continue
        threads = cls(**params).params.threads
        version = cls.version() if cls.available() else "not installed"
        described[label] = {"library": cls.distribution, "version": version, "threads": threads}
    return described
