"""EASE^R (Steck 2019): a closed-form, item × item linear autoencoder.

G = XᵀX + λI, P = G⁻¹, B = -P / diag(P) column-wise, diag(B) = 0; a user's scores are
x_u @ B. G is symmetric positive definite, so it is inverted in place by Cholesky
(LAPACK potrf + potri, about twice as fast as a general inverse); everything is float32,
so memory stays at about one n_items² float32 matrix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from recsys.data.types import Catalog, Interactions
from recsys.errors import ConfigError
from recsys.linalg import ease_weights
from recsys.models.registry import register
from recsys.models.similarity import ItemWeightsRecommender

__all__ = ["EASE"]

log = logging.getLogger(__name__)


@register
class EASE(ItemWeightsRecommender):
    """Embarrassingly shallow autoencoder; binary input by default (``binary=False``: ratings)."""

    name = "ease"

    @dataclass(frozen=True)
    class Params:
        reg: float = 500.0
        binary: bool = True
        seed: int = 42

        def __post_init__(self) -> None:
            if self.reg <= 0:
                raise ConfigError(f"ease needs reg > 0 (the λ of G + λI), got {self.reg}")

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        x = self._inputs(train.matrix).astype(np.float32)
        gram = (x.T @ x).toarray().astype(np.float32, copy=False)  # x is float32: no copy
        self.weights_ = ease_weights(gram, self.params.reg)
        log.info("ease: %d × %d weights (λ=%g)", *self.weights_.shape, self.params.reg)
