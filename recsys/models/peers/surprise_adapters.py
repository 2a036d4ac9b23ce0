"""Surprise's SVD as a peer, through Surprise's documented path.

The training ``Interactions`` are loaded with ``Dataset.load_from_df`` (rating scale: the
training data's min and max) and ``build_full_trainset``; every item is scored with
``algo.predict(user, item).est`` (clipped, impossible estimates → the global mean), as
Surprise's FAQ builds top-N lists. It is a Python loop per (user, item) pair (~20 ms per
ml-100k user). Our ``surprise_svd`` wraps the same algorithm with vectorised scoring; the two
must agree, which makes this peer a cross-check of our wrapper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from surprise import SVD, Dataset, Reader

from recsys.data.types import Interactions
from recsys.models.peers.base import PeerParams, PeerRecommender
from recsys.models.registry import register
from recsys.models.surprise_models import SVDParams

__all__ = ["SurpriseSVDPeer"]


@register
class SurpriseSVDPeer(PeerRecommender):
    """Surprise's ``SVD`` at its documented defaults, scored by ``predict``."""

    name = "peer:surprise.svd"
    library = "surprise"
    distribution = "scikit-surprise"
    extra = None
    seed_arg = "random_state"

    @dataclass(frozen=True)
    class Params(SVDParams, PeerParams):
        """Surprise's SVD parameters (with its defaults), plus seed and threads."""

    def _fit_peer(self, train: Interactions) -> None:
        frame = self.training_rows(train).to_pandas()
        scale = (float(frame["rating"].min()), float(frame["rating"].max()))
        trainset = Dataset.load_from_df(frame, Reader(rating_scale=scale)).build_full_trainset()
        self.model_ = SVD(**self.peer_kwargs()).fit(trainset)
        self.raw_items_ = [trainset.to_raw_iid(i) for i in trainset.all_items()]
        raw_users = (trainset.to_raw_uid(u) for u in trainset.all_users())
        self._map_vocabularies(train, raw_users, self.raw_items_)

    def _score_user(self, user: int) -> np.ndarray:
        raw = self.model_.trainset.to_raw_uid(user)
        return np.array([self.model_.predict(raw, item).est for item in self.raw_items_])
