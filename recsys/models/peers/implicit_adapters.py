"""implicit's ALS and BPR as peers, as implicit's own users call them.

implicit reads its ``user_items`` matrix as confidences; the adapter hands it the training
``Interactions`` with every rating as one interaction (confidence 1, ``Interactions.binarize``)
and asks implicit's ``recommend`` for every item, leaving seen-item removal to our base class.
Our own ``als`` and ``bpr`` models use the same library with our choices (ALS confidence
``1 + alpha * rating``, tuned on validation); these rows are implicit at its own settings.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from recsys.data.types import Interactions
from recsys.models.peers.base import PeerParams, PeerRecommender
from recsys.models.registry import register

__all__ = ["ImplicitALSPeer", "ImplicitBPRPeer", "ImplicitPeer"]


class ImplicitPeer(PeerRecommender):
    """An implicit model (CPU) fitted on the binarised training matrix."""

    library = "implicit"
    distribution = "implicit"
    extra = None
    seed_arg = "random_state"
    threads_arg = "num_threads"
    model_class: ClassVar[str] = ""  # ``module.Class`` under ``implicit``

    def _fit_peer(self, train: Interactions) -> None:
        module, cls = self.model_class.split(".")
        factory = getattr(importlib.import_module(f"implicit.{module}"), cls)
        self.user_items_ = train.binarize()
        self.model_ = factory(**self.peer_kwargs(), use_gpu=False)
        self.model_.fit(self.user_items_, show_progress=False)
        self._map_vocabularies(train, train.user_ids, train.item_ids)

    def _score_user(self, user: int) -> np.ndarray:
        n_items = self.user_items_.shape[1]
        ids, scores = self.model_.recommend(
            user, self.user_items_[user], N=n_items, filter_already_liked_items=False
        )
        ordered = np.full(n_items, -np.inf)
        ordered[ids] = scores
        return ordered


@register
class ImplicitALSPeer(ImplicitPeer):
    """implicit's ``AlternatingLeastSquares`` at its documented defaults."""

    name = "peer:implicit.als"
    model_class = "als.AlternatingLeastSquares"

    @dataclass(frozen=True)
    class Params(PeerParams):
        factors: int = 100
        regularization: float = 0.01
        alpha: float = 1.0
        iterations: int = 15
        use_cg: bool = True


@register
class ImplicitBPRPeer(ImplicitPeer):
    """implicit's ``BayesianPersonalizedRanking`` at its documented defaults."""

    name = "peer:implicit.bpr"
    model_class = "bpr.BayesianPersonalizedRanking"

    @dataclass(frozen=True)
    class Params(PeerParams):
        factors: int = 100
        learning_rate: float = 0.01
        regularization: float = 0.01
        iterations: int = 100
        verify_negative_samples: bool = True
