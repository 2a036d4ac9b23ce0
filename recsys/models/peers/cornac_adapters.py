"""cornac's BPR and BiVAE as peers (in our process: cornac 3 installs beside our pins).

The training rows go to cornac as ``(user_id, item_id, rating)`` triples through
``cornac.data.Dataset.from_uir(triples, seed)``, the way the Microsoft Recommenders benchmark
hands cornac its training frame; scores come from cornac's own ``model.score(user_index)``.
cornac numbers users and items by first appearance, and that numbering decides which random
initial vector each one gets: the same rows in another order give a model as different as
another seed would. So the triples come in the splitter's order
(:meth:`~recsys.models.peers.base.PeerRecommender.training_rows`): after ``stratified_split``,
Microsoft Recommenders' own (by item, then the split's random draw), which reproduces their
cornac runs to the digit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from recsys.data.types import Interactions
from recsys.models.peers.base import PeerParams, PeerRecommender
from recsys.models.registry import register

__all__ = ["CornacBPR", "CornacBiVAE", "CornacPeer"]


class CornacPeer(PeerRecommender):
    """A cornac model fitted on our training triples and scored by cornac."""

    library = "cornac"
    distribution = "cornac"
    model_class: ClassVar[str] = ""  # the class name in ``cornac.models``

    def _fit_peer(self, train: Interactions) -> None:
        import cornac

        triples = self.training_rows(train).iter_rows()
        train_set = cornac.data.Dataset.from_uir(triples, seed=self.params.seed)
        model = getattr(cornac.models, self.model_class)(**self.peer_kwargs())
        self.model_ = model.fit(train_set)
        self._map_vocabularies(train, train_set.user_ids, train_set.item_ids)

    def _score_user(self, user: int) -> np.ndarray:
        return np.asarray(self.model_.score(user))


@register
class CornacBPR(CornacPeer):
    """cornac's ``BPR`` (Cython SGD; every training rating is a positive)."""

    name = "peer:cornac.bpr"
    model_class = "BPR"
    threads_arg = "num_threads"

    @dataclass(frozen=True)
    class Params(PeerParams):
        k: int = 10
        max_iter: int = 100
        learning_rate: float = 0.001
        lambda_reg: float = 0.01
        use_bias: bool = True


@register
class CornacBiVAE(CornacPeer):
    """cornac's ``BiVAECF`` (torch; binarises the ratings itself), always on the CPU."""

    name = "peer:cornac.bivae"
    model_class = "BiVAECF"

    @dataclass(frozen=True)
    class Params(PeerParams):
        k: int = 10
        encoder_structure: list[int] = field(default_factory=lambda: [20])
        act_fn: str = "tanh"
        likelihood: str = "pois"
        n_epochs: int = 100
        batch_size: int = 100
        learning_rate: float = 0.001
        beta_kl: float = 1.0

    def peer_kwargs(self) -> dict[str, Any]:
        return super().peer_kwargs() | {"use_gpu": False}
