"""EASE^R (Steck 2019): a closed-form, item × item linear autoencoder.

G = XᵀX + λI, P = G⁻¹, B = -P / diag(P) column-wise, diag(B) = 0; a user's scores are
x_u @ B. G is symmetric positive definite, so it is inverted in place by Cholesky
(LAPACK potrf + potri, about twice as fast as a general inverse); everything is float32,
and G is filled block by block, so memory stays at about one n_items² float32 matrix.

That matrix and the n³ inversion are what limit EASE: 26,744 items (ml-20m) need 2.9 GB and
about n³ ≈ 1.9·10¹³ flops, 87,585 (ml-32m) 31 GB. ``max_items`` bounds both: when more items
have ratings, EASE is fitted on the ``max_items`` most-rated ones (ties to the lower index),
which hold nearly all ratings of a long-tailed catalogue, and the rest are ranked after them
by popularity (see :class:`~recsys.models.similarity.ItemWeightsRecommender`). The choice is
logged with the share of ratings covered. With every item covered the model is plain EASE.
The default, 10,000, keeps ml-100k and ml-latest-small (9,724 rated movies) dense and bounds a
fit to ~0.4 GB and ~10¹² flops: on the ml-20m shape it covers 96.6% of the synthetic ratings.

``proximity`` (τ, in ranks of a user's history) reads the order in which each user rated:
two movies rated close together count more in G than two rated far apart, by
exp(-Δrank / τ) (:func:`~recsys.linalg.proximity_gram`; the positional weighting of Choi et
al.'s SLIS, WWW 2021, applied to a user's whole history). MovieLens users rate in sittings,
movie after movie from the pages the site shows them, so what a user rated near a movie says
more about it than what they rated months apart. Only the training ratings' timestamps are
read, at fit time; scoring is x_u @ B as in plain EASE, so a folded-in history needs none.
It helps where held-out ratings sit inside the sittings (a random split, as in the deep-ml100k
results), not where they come after them (leave-last-n; see benchmarks/README.md).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsys.data.types import Catalog, Interactions
from recsys.errors import ConfigError
from recsys.linalg import ease_weights, gram_matrix, proximity_gram
from recsys.models.registry import register
from recsys.models.similarity import ItemWeightsRecommender

__all__ = ["EASE", "most_rated"]

log = logging.getLogger(__name__)


def most_rated(counts: np.ndarray, max_items: int | None) -> np.ndarray | None:
    """Increasing indices of the ``max_items`` largest ``counts`` (ties to the lower index);
    None when every item fits."""
    if max_items is None or len(counts) <= max_items:
        return None
    order = np.lexsort((np.arange(len(counts)), -counts))
    return np.sort(order[:max_items])


@register
class EASE(ItemWeightsRecommender):
    """Embarrassingly shallow autoencoder; binary input by default (``binary=False``: ratings);
    ``proximity`` τ weights co-rated pairs by their distance in the user's rating order."""

    name = "ease"

    @dataclass(frozen=True)
    class Params:
        reg: float = 500.0
        binary: bool = True
        max_items: int | None = 10_000  # fit on the most-rated items only beyond this many
        proximity: float | None = None  # τ in ranks of a user's history; None: plain XᵀX
        seed: int = 42

        def __post_init__(self) -> None:
            if self.reg <= 0:
                raise ConfigError(f"ease needs reg > 0 (the λ of G + λI), got {self.reg}")
            if self.max_items is not None and self.max_items < 1:
                raise ConfigError(f"ease needs max_items >= 1 or None, got {self.max_items}")

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        if self.params.proximity is not None:
            train.required_times("ease with proximity", "proximity=None")
        x = self._inputs(train.matrix).astype(np.float32)
        counts = np.diff(x.tocsc().indptr).astype(np.float64)
        covered = most_rated(counts, self.params.max_items)
        if covered is not None:
            share = counts[covered].sum() / max(counts.sum(), 1.0)
            log.info("ease: %d items exceed max_items=%d: fitting the %d most-rated (%.2f%% of "
                     "ratings); the other %d rank after them by popularity", len(counts),
                     self.params.max_items, len(covered), 100 * share, len(counts) - len(covered))
        start = time.perf_counter()
        gram = self._gram(x, train.times, covered)
        built = time.perf_counter()
        self.weights_ = ease_weights(gram, self.params.reg, progress="ease inverse")
        self._cover(covered, counts)
        log.info("ease: %d × %d weights (λ=%g): Gram %.1f s, inverse %.1f s", *self.weights_.shape,
                 self.params.reg, built - start, time.perf_counter() - built)

    def _gram(self, x: sp.csr_matrix, times: np.ndarray | None,
              covered: np.ndarray | None) -> np.ndarray:
        """XᵀX over the covered columns, or its proximity-weighted form."""
        if self.params.proximity is not None:
            return proximity_gram(x, times, self.params.proximity, covered,
                                  progress="ease proximity gram")
        return gram_matrix(x if covered is None else x[:, covered], progress="ease gram")
