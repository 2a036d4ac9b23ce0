"""Implicit-feedback matrix factorization: weighted ALS (Hu, Koren & Volinsky 2008) and BPR.

Both are trained with the ``implicit`` package on the CPU. ALS solves each user's (then each
item's) least squares independently, so its factors do not depend on the number of threads and
it uses every core; BPR's stochastic updates do, so it runs on one thread, and a seed gives the
same factors every time. The factors are kept as NumPy arrays and saved in the npz. Scores are
``user_factors @ item_factors.T``; similar items are cosine neighbours in item-factor space.

ALS: the confidence of an observed rating ``r`` is ``1 + alpha * r`` (unobserved: 1, preference
0). ``implicit`` reads the matrix values as the confidence itself, so we hand it ``1 + alpha * r``
and leave its own ``alpha`` at 1. Folding in a new user solves that user's weighted
least-squares row exactly; explanations split a score into the contributions of the items the
user rated (section 5 of the paper: ``s_ij = y_i^T W_u y_j c_uj``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from implicit.cpu.bpr import BayesianPersonalizedRanking
from threadpoolctl import threadpool_limits

from recsys.data.types import Catalog, Interactions
from recsys.models.base import FOLD_IN_USER, Capability, Recommender
from recsys.models.explanation import Explanation, ExplanationKind, RatedItem
from recsys.models.registry import register

__all__ = ["ImplicitALS", "ImplicitBPR"]


class _FactorModel(Recommender):
    """Scoring, similar items and persistence shared by the two factor models."""

    capabilities = Capability.TOP_N | Capability.SIMILAR_ITEMS

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        # implicit warns about (and is slowed by) a multi-threaded BLAS: limit it while we train.
        with threadpool_limits(1, "blas"):
            model = self._new_model()
            model.fit(self._training_matrix(train), show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors)
        self.item_factors_ = np.asarray(model.item_factors)

    def _new_model(self) -> Any:
        raise NotImplementedError

    def _training_matrix(self, train: Interactions) -> sp.csr_matrix:
        raise NotImplementedError

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        return self.user_factors_[users] @ self.item_factors_.T

    def _similar(self, items: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(self.item_factors_, axis=1)
        unit = self.item_factors_ / np.where(norms > 0, norms, 1.0)[:, None]
        return unit[items] @ unit.T

    def _get_state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.user_factors_ = state["user_factors"]
        self.item_factors_ = state["item_factors"]


@register
class ImplicitALS(_FactorModel):
    """Weighted ALS for implicit feedback, with exact fold-in and item-based explanations."""

    name = "als"
    capabilities = _FactorModel.capabilities | Capability.FOLD_IN | Capability.EXPLAIN

    @dataclass(frozen=True)
    class Params:
        factors: int = 64
        regularization: float = 0.05
        alpha: float = 2.0
        iterations: int = 15
        use_cg: bool = True
        threads: int = 0  # implicit's num_threads (0: every core); the factors do not change
        seed: int = 42

    def _new_model(self) -> AlternatingLeastSquares:
        p = self.params
        return AlternatingLeastSquares(
            factors=p.factors,
            regularization=p.regularization,
            alpha=1.0,
            iterations=p.iterations,
            use_cg=p.use_cg,
            num_threads=p.threads,
            random_state=p.seed,
        )

    def _training_matrix(self, train: Interactions) -> sp.csr_matrix:
        return self._confidence(train.matrix)

    def _confidence(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        confidence = sp.csr_matrix(rows, dtype=np.float32, copy=True)
        confidence.data = 1.0 + self.params.alpha * confidence.data
        return confidence

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        folded = np.flatnonzero(users == FOLD_IN_USER)
        factors = self.user_factors_[np.where(users == FOLD_IN_USER, 0, users)]
        for n in folded:
            factors[n] = np.linalg.solve(*self._user_system(rows[n]))
        return factors @ self.item_factors_.T

    def _user_system(self, row: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """(A, b) of the user's normal equations: ``(YᵀY + λI + Yᵀ(C-I)Y) x = Yᵀ C p``."""
        confidence = self._confidence(row)
        y = self.item_factors_[confidence.indices].astype(np.float64)
        c = confidence.data.astype(np.float64)
        full = self.item_factors_.astype(np.float64)
        a = full.T @ full + self.params.regularization * np.eye(full.shape[1])
        a += y.T @ ((c - 1.0)[:, None] * y)
        return a, y.T @ c

    def _explain(self, user: int, row: sp.csr_matrix, item: int, top: int) -> Explanation:
        """implicit's decomposition: the score is a sum over the rated items of their
        confidence times their factors' product with ``A⁻¹ y_i`` (A: the user's system)."""
        a, _ = self._user_system(row)
        weighted = np.linalg.solve(a, self.item_factors_[item].astype(np.float64))
        confidence = self._confidence(row)
        parts = (self.item_factors_[confidence.indices] @ weighted) * confidence.data
        order = np.argsort(-parts, kind="stable")[:top]
        rated = tuple(
            RatedItem(int(self.train_.item_ids[confidence.indices[j]]), float(row.data[j]),
                      float(parts[j]))
            for j in order
        )
        return Explanation(ExplanationKind.RATED_ITEMS, int(self.train_.item_ids[item]),
                           float(parts.sum()), rated_items=rated)


@register
class ImplicitBPR(_FactorModel):
    """Bayesian Personalized Ranking (every rated item is a positive); one sampling thread."""

    name = "bpr"

    @dataclass(frozen=True)
    class Params:
        factors: int = 64
        learning_rate: float = 0.01
        regularization: float = 0.01
        iterations: int = 100
        seed: int = 42

    def _new_model(self) -> BayesianPersonalizedRanking:
        p = self.params
        return BayesianPersonalizedRanking(
            factors=p.factors,
            learning_rate=p.learning_rate,
            regularization=p.regularization,
            iterations=p.iterations,
            num_threads=1,
            random_state=p.seed,
        )

    def _training_matrix(self, train: Interactions) -> sp.csr_matrix:
        return train.binarize()
