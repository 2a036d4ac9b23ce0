"""EASE^R (Steck 2019): a closed-form, item × item linear autoencoder.

G = XᵀX + λI, P = G⁻¹, B = -P / diag(P) column-wise, diag(B) = 0; a user's scores are
x_u @ B. Everything is float32 and inverted in place, so memory stays at about two
n_items² float32 matrices while fitting and one afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from recsys.data.types import Interactions
from recsys.errors import ConfigError
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

    def _fit(self, train: Interactions, catalog: Any | None) -> None:
        x = self._inputs(train.matrix).astype(np.float32)
        gram = (x.T @ x).toarray().astype(np.float32)
        gram[np.diag_indices_from(gram)] += np.float32(self.params.reg)
        precision = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
        del gram
        diag = np.diag(precision).copy()
        precision /= -diag[None, :]
        np.fill_diagonal(precision, 0.0)
        self.weights_ = precision
        log.info("ease: %d × %d weights (λ=%g)", *precision.shape, self.params.reg)
