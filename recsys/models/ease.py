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
import scipy.linalg.lapack

from recsys.data.types import Catalog, Interactions
from recsys.errors import ConfigError
from recsys.models.registry import register
from recsys.models.similarity import ItemWeightsRecommender

__all__ = ["EASE"]

log = logging.getLogger(__name__)


_BLOCK = 1024


def _spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix, computed in place (Cholesky)."""
    potrf, potri = scipy.linalg.lapack.get_lapack_funcs(("potrf", "potri"), (matrix,))
    factor, info = potrf(matrix, lower=False, overwrite_a=True, clean=False)
    if info != 0:
        raise ConfigError(f"ease: XᵀX + λI is not positive definite (LAPACK info {info})")
    inverse, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise ConfigError(f"ease: inverting XᵀX + λI failed (LAPACK info {info})")
    n = inverse.shape[0]
    for start in range(0, n, _BLOCK):  # potri fills the upper triangle: mirror it
        stop = min(start + _BLOCK, n)
        inverse[start:stop, :start] = inverse[:start, start:stop].T
        diagonal = inverse[start:stop, start:stop]
        diagonal[:] = np.triu(diagonal) + np.triu(diagonal, 1).T
    return inverse


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
        gram[np.diag_indices_from(gram)] += np.float32(self.params.reg)
        precision = _spd_inverse(gram)
        if not precision.flags.c_contiguous:
            # LAPACK hands back Fortran order; P is symmetric, so its transpose is the same
            # matrix in C order, which keeps sparse @ dense scoring free of a full copy.
            precision = precision.T
        diag = np.diag(precision).copy()
        precision /= -diag[None, :]
        np.fill_diagonal(precision, 0.0)
        self.weights_ = precision
        log.info("ease: %d × %d weights (λ=%g)", *precision.shape, self.params.reg)
