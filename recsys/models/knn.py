"""User-based and item-based k-nearest-neighbour models on sparse matrices.

Rating prediction replicates scikit-surprise's ``KNNBasic`` / ``KNNWithMeans`` /
``KNNBaseline`` (``centering`` = none / mean / baseline): for a pair (x, y) the neighbours
are the k entities most similar to x among those that rated y, neighbours with
similarity <= 0 are skipped, fewer than ``min_k`` neighbours is the "impossible" case
(global mean, or the mean / baseline without the neighbour term), and estimates are
clipped to the training rating scale. Ties in similarity go to the lower index, which is
Surprise's order when its input file is sorted by id. The per-pair neighbour selection is
vectorised over all pairs of a batch (one lexsort), never a Python loop per pair.

Top-N ranking uses the classic neighbourhood scores on the binary history:
user-kNN sums the similarities of the user's k nearest users who rated an item;
item-kNN sums, over the user's rated items, the similarity of the item's k nearest
items (optionally normalised into a similarity-weighted average rating). The k nearest
are chosen with the same rule: ties go to the lower index.

By default the model stores every positive similarity, which rating prediction needs to
match Surprise (a pair's neighbours are the k most similar among the raters of y, wherever
they rank overall): n² memory, 582 million similarities on ml-20m. ``top_k_only=True`` keeps
only each entity's k most similar, chosen block by block while the similarities are
computed (memory O(n × k)): top-N ranking and ``similar_items`` (up to k) are unchanged;
rating prediction then draws each pair's neighbours from those k only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys.data.types import Catalog, Interactions
from recsys.errors import ConfigError
from recsys.linalg import SIMILARITIES, dense_product, keep_top_k, similarity_matrix
from recsys.models.base import Capability, Recommender
from recsys.models.bias import Baselines, als_biases
from recsys.models.explanation import (
    Explanation,
    ExplanationKind,
    Neighbourhood,
    SimilarUser,
)
from recsys.models.registry import register
from recsys.models.similarity import csr_from_state, csr_to_state, rated_items_explanation

__all__ = ["ItemKNN", "UserKNN", "CENTERINGS"]

log = logging.getLogger(__name__)

CENTERINGS = ("none", "mean", "baseline")
_PAIR_CANDIDATES = 2_000_000  # padded (pair, candidate neighbour) cells processed at once
_DENSE_SIM_CELLS = 16_000_000  # keep a dense copy of the similarities up to this size
_SURPRISE_SHRINKAGE = {"pearson_baseline": 100.0}  # Surprise's default shrinkage per measure


@dataclass(frozen=True)
class KNNParams:
    """Neighbourhood hyper-parameters; defaults are Surprise's (KNNBaseline, MSD, k=40)."""

    similarity: str = "msd"
    k: int = 40
    min_k: int = 1
    min_support: int = 1
    shrinkage: float | None = None  # None: 100 for pearson_baseline, 0 otherwise (Surprise)
    centering: str = "baseline"
    top_k_only: bool = False  # store each entity's k nearest only (see the module docstring)
    seed: int = 42

    def __post_init__(self) -> None:
        if self.similarity not in SIMILARITIES:
            raise ConfigError(f"similarity={self.similarity!r}; expected one of {SIMILARITIES}")
        if self.centering not in CENTERINGS:
            raise ConfigError(f"centering={self.centering!r}; expected one of {CENTERINGS}")
        if self.k < 1 or self.min_k < 0 or self.min_support < 0:
            raise ConfigError(f"need k >= 1, min_k >= 0, min_support >= 0; got {self}")
        if self.shrinkage is not None and self.shrinkage < 0:
            raise ConfigError(f"shrinkage must be >= 0 or None, got {self.shrinkage}")

    @property
    def effective_shrinkage(self) -> float:
        """The shrinkage actually applied (resolving None to Surprise's default)."""
        if self.shrinkage is None:
            return _SURPRISE_SHRINKAGE.get(self.similarity, 0.0)
        return float(self.shrinkage)


@dataclass(frozen=True)
class _Candidates:
    """Padded (pairs × max raters) arrays: each y's raters, their similarity to x and rating.

    ``selected`` marks Surprise's neighbours: the k most similar raters with sim > 0
    (ties to the lower index); padding and unselected cells have ``selected`` False.
    """

    neighbour: np.ndarray
    sim: np.ndarray
    rating: np.ndarray
    selected: np.ndarray


class _NeighbourhoodModel(Recommender):
    """Shared fitting, rating prediction and persistence of user- and item-kNN.

    "x" is the entity compared (a user for user-kNN, an item for item-kNN) and "y" the
    other axis; ``raters_`` lists, for each y, the x entities that rated it.
    """

    user_based: ClassVar[bool]
    capabilities = Capability.RATING | Capability.TOP_N | Capability.EXPLAIN
    Params = KNNParams

    # -- fitting ---------------------------------------------------------------------------
    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        p = self.params
        self.baselines_ = als_biases(train.matrix)
        x_matrix = self._x_matrix(train.matrix)
        x_bias, y_bias = self._switch(self.baselines_.user_bias, self.baselines_.item_bias)
        counts = np.diff(x_matrix.indptr)
        rows = np.repeat(np.arange(len(counts)), counts)
        sums = np.bincount(rows, weights=x_matrix.data, minlength=len(counts))
        self.means_ = np.divide(sums, counts, out=np.zeros(len(counts)), where=counts > 0)
        self.sim_ = similarity_matrix(
            x_matrix, p.similarity, p.min_support, p.effective_shrinkage,
            baseline=(self.baselines_.mu, x_bias, y_bias), k=p.k if p.top_k_only else None,
            progress=f"{self.name} similarities",
        )
        self._prepare()
        log.info("%s: %d × %d similarities, %d positive kept", self.name, *self.sim_.shape,
                 self.sim_.nnz)

    def _x_matrix(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        return matrix.tocsr() if self.user_based else matrix.T.tocsr()

    def _switch(self, user_stuff: Any, item_stuff: Any) -> tuple[Any, Any]:
        return (user_stuff, item_stuff) if self.user_based else (item_stuff, user_stuff)

    def _prepare(self) -> None:
        """Structures derived from the training matrix and the similarities."""
        matrix = self.train_.matrix  # y × x is the training matrix itself for item-based kNN
        self.raters_ = matrix.T.tocsr() if self.user_based else matrix.tocsr(copy=True)
        self.raters_.sort_indices()
        self.top_ = self.sim_ if self.params.top_k_only else keep_top_k(self.sim_, self.params.k)
        n_x = self.sim_.shape[0]
        self.dense_sim_ = self.sim_.toarray() if n_x * n_x <= _DENSE_SIM_CELLS else None
        self.seen_ = self.train_.matrix.astype(np.float64)  # the compiled pass's operand type:
        self.seen_.data[:] = 1.0  # converted once here, not on every request

    # -- rating prediction -----------------------------------------------------------------
    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        users, items = np.asarray(users), np.asarray(items)
        known = (users >= 0) & (items >= 0)
        if self.params.centering == "baseline":
            est = self.baselines_.estimate(users, items)
        else:
            est = np.full(len(users), self.baselines_.mu)
        xs, ys = self._switch(users[known], items[known])
        est[known] = self._estimate(xs, ys)
        return self.baselines_.clip(est)

    def _estimate(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Surprise's estimate for known pairs (x, y)."""
        p, b = self.params, self.baselines_
        x_bias, y_bias = self._switch(b.user_bias, b.item_bias)
        sum_sim = np.zeros(len(xs))
        weighted = np.zeros(len(xs))
        actual_k = np.zeros(len(xs), dtype=np.int64)
        for chunk in self._pair_chunks(ys):
            c = self._candidates(xs[chunk], ys[chunk])
            if p.centering == "none":
                residual = c.rating
            elif p.centering == "mean":
                residual = c.rating - self.means_[c.neighbour]
            else:
                residual = c.rating - (b.mu + x_bias[c.neighbour] + y_bias[ys[chunk]][:, None])
            w = np.where(c.selected, c.sim, 0.0)
            sum_sim[chunk] = w.sum(axis=1)
            weighted[chunk] = (w * residual).sum(axis=1)
            actual_k[chunk] = c.selected.sum(axis=1)
        enough = (actual_k >= max(p.min_k, 1)) & (sum_sim > 0)
        term = np.divide(weighted, sum_sim, out=np.zeros(len(xs)), where=enough)
        if p.centering == "none":  # Surprise's "impossible" case: the global mean
            return np.where(enough, term, b.mu)
        if p.centering == "mean":
            return self.means_[xs] + term
        return b.mu + x_bias[xs] + y_bias[ys] + term

    def _pair_chunks(self, ys: np.ndarray) -> Iterator[np.ndarray]:
        """Pair indices in chunks of similar candidate counts, each padding to <= a budget."""
        counts = np.diff(self.raters_.indptr)[ys]
        order = np.argsort(counts, kind="stable")
        width = np.maximum(counts[order], 1)
        start = 0
        while start < len(order):
            cells = (np.arange(1, len(order) - start + 1)) * width[start:]
            stop = start + max(int(np.searchsorted(cells, _PAIR_CANDIDATES, side="right")), 1)
            yield order[start:stop]
            start = stop

    def _candidates(self, xs: np.ndarray, ys: np.ndarray) -> _Candidates:
        """Each y's raters as padded rows, with the top-k positive neighbours of x marked."""
        indptr, k = self.raters_.indptr, self.params.k
        counts = indptr[ys + 1] - indptr[ys]
        offsets = np.arange(int(counts.max()) if len(counts) else 0)
        valid = offsets[None, :] < counts[:, None]
        pos = np.where(valid, indptr[ys][:, None] + offsets[None, :], 0)
        neighbour = self.raters_.indices[pos]
        rating = self.raters_.data[pos].astype(np.float64)
        sim = np.zeros(pos.shape)
        x_rep = np.broadcast_to(xs[:, None], pos.shape)[valid]
        if self.dense_sim_ is not None:
            sim[valid] = self.dense_sim_[x_rep, neighbour[valid]]
        else:
            sim[valid] = np.asarray(self.sim_[x_rep, neighbour[valid]]).ravel()
        selected = sim > 0
        if sim.shape[1] > k:
            kth = -np.partition(-sim, k - 1, axis=1)[:, k - 1 : k]
            tied = selected & (sim == kth)
            room = k - (sim > kth).sum(axis=1, keepdims=True)
            selected &= (sim > kth) | (tied & (np.cumsum(tied, axis=1) <= room))
        return _Candidates(neighbour, sim, rating, selected)

    # -- persistence -----------------------------------------------------------------------
    def _get_state(self) -> dict[str, np.ndarray]:
        state = {**self.baselines_.to_state(), **csr_to_state("sim", self.sim_)}
        return {**state, "means": self.means_}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.baselines_ = Baselines.from_state(state)
        self.means_ = state["means"]
        self.sim_ = csr_from_state("sim", state)
        self._prepare()


@register
class UserKNN(_NeighbourhoodModel):
    """User-based kNN: ratings à la Surprise (user_based=True); top-N from k nearest users."""

    name = "user_knn"
    user_based = True

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        return dense_product(self.top_[users], self.seen_)

    def _explain(self, user: int, row: sp.csr_matrix, item: int, top: int) -> Explanation:
        """The top-N score sums the similarities of the user's k nearest users who rated
        the item: those users, their similarity and their rating of it."""
        similar = self.top_[user]
        raters = self.seen_[:, item].toarray().ravel()[similar.indices] > 0
        users, sims = similar.indices[raters], similar.data[raters].astype(np.float64)
        ratings = np.asarray(self.train_.matrix[users, item].toarray()).ravel()
        order = np.lexsort((users, -sims))
        closest = tuple(SimilarUser(int(self.train_.user_ids[users[j]]), float(sims[j]),
                                    float(ratings[j])) for j in order[:top])
        mean = float(np.average(ratings, weights=sims)) if sims.sum() > 0 else float("nan")
        return Explanation(ExplanationKind.SIMILAR_USERS, int(self.train_.item_ids[item]),
                           float(sims.sum()), neighbourhood=Neighbourhood(len(sims), mean, closest))


@register
class ItemKNN(_NeighbourhoodModel):
    """Item-based kNN: ratings à la Surprise (user_based=False); top-N from item neighbours."""

    name = "item_knn"
    user_based = False
    capabilities = _NeighbourhoodModel.capabilities | Capability.SIMILAR_ITEMS | Capability.FOLD_IN

    @dataclass(frozen=True)
    class Params(KNNParams):
        normalize: bool = False  # top-N: similarity-weighted mean rating instead of a sum

    def _prepare(self) -> None:
        super()._prepare()
        # row j: the items that have j among their k nearest; float64, the compiled pass's
        # operand type, converted once here rather than on every request
        self.top_t_ = self.top_.T.tocsr().astype(np.float64)

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        binary = rows.copy()
        binary.data[:] = 1.0
        sums = dense_product(binary, self.top_t_)
        if not self.params.normalize:
            return sums
        weighted = dense_product(rows, self.top_t_)
        return np.divide(weighted, sums, out=np.zeros_like(sums), where=sums > 0)

    def _similar(self, items: np.ndarray) -> np.ndarray:
        return self.sim_[items].toarray()

    def _explain(self, user: int, row: sp.csr_matrix, item: int, top: int) -> Explanation:
        """The top-N score sums, over the rated items, their k-pruned similarity to the item
        (normalize: as a similarity-weighted mean rating): what each rated item adds."""
        sims = np.asarray(self.top_[item, row.indices].toarray()).ravel().astype(np.float64)
        ratings = row.data.astype(np.float64)
        parts = sims
        if self.params.normalize:
            parts = np.divide(sims * ratings, sims.sum(), out=np.zeros_like(sims),
                              where=sims.sum() > 0)
        return rated_items_explanation(int(self.train_.item_ids[item]),
                                       self.train_.item_ids[row.indices], ratings, parts, top)
