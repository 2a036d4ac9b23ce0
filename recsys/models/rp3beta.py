"""RP3beta (Paudel et al. 2017): a three-step random walk with popularity penalty.

P_ui and P_iu are the row-normalised user→item and item→user transition matrices, both
raised element-wise to ``alpha``; W = P_iu @ P_ui, each column j divided by
popularity(j)^beta, and only the ``k`` largest weights of each row are kept (sparse).
This follows the reference implementation of Dacrema et al. (RecSys 2019).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsys.data.types import Catalog, Interactions
from recsys.errors import ConfigError
from recsys.linalg import top_k_dense
from recsys.models.registry import register
from recsys.models.similarity import ItemWeightsRecommender

__all__ = ["RP3beta"]

log = logging.getLogger(__name__)
_BLOCK_CELLS = 2_000_000


def _row_normalised(matrix: sp.csr_matrix, alpha: float) -> sp.csr_matrix:
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums, dtype=np.float64), where=sums > 0)
    result = sp.csr_matrix(sp.diags(scale) @ matrix, dtype=np.float64)
    result.data **= alpha
    return result


@register
class RP3beta(ItemWeightsRecommender):
    """Graph-based item × item model: random-walk transition weights, popularity-penalised."""

    name = "rp3beta"

    @dataclass(frozen=True)
    class Params:
        alpha: float = 1.0
        beta: float = 0.5
        k: int = 100
        binary: bool = True
        seed: int = 42

        def __post_init__(self) -> None:
            if self.alpha <= 0 or self.beta < 0 or self.k < 1:
                raise ConfigError(f"rp3beta needs alpha > 0, beta >= 0, k >= 1; got {self}")

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        x = self._inputs(train.matrix)
        p_ui = _row_normalised(x, self.params.alpha)
        p_iu = _row_normalised(x.T.tocsr(), self.params.alpha)
        popularity = np.diff(x.tocsc().indptr).astype(np.float64)
        penalty = np.divide(
            1.0, popularity**self.params.beta, out=np.zeros_like(popularity), where=popularity > 0
        )
        n_items = x.shape[1]
        step = max(1, _BLOCK_CELLS // max(n_items, 1))
        blocks = []
        for start in range(0, n_items, step):
            block = (p_iu[start:start + step] @ p_ui).toarray() * penalty[None, :]
            rows = np.arange(block.shape[0])
            block[rows, rows + start] = 0.0
            blocks.append(top_k_dense(block, self.params.k))
        self.weights_ = sp.vstack(blocks, format="csr").astype(np.float32)
        log.info("rp3beta: %d weights over %d items", self.weights_.nnz, n_items)
