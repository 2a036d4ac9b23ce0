"""What every PyTorch model shares: a seeded session, the epoch loop, early stopping, persistence.

A subclass builds its network (``_network``) and its optimisers (``_start``), and trains one
epoch (``_epoch``, which returns the mean loss); :class:`NeuralRecommender` does the rest:

* randomness (initialisation, dropout, sampling) comes from a forked, seeded torch generator
  and the model's own NumPy generator; no global seed is touched, and the thread count is set
  only during ``fit`` and restored after;
* a progress bar shows the loss per epoch (tqdm, hidden when stderr is not a terminal), a
  listener installed with :func:`epoch_listener` hears of each epoch (the app's lab shows it
  in its progress bar), and :meth:`learning_curve` keeps it (and the validation score) per
  epoch: the benchmark logs it to MLflow as a step-indexed metric, and it is saved beside the
  weights;
* with ``patience`` > 0, a random ``valid_fraction`` of the training ratings is carved out of
  the training matrix (so validation only ever sees training data), the model trains on the
  rest, nDCG@10 of the carved ratings is measured after every epoch, training stops after
  ``patience`` epochs without a gain, and the best epoch's weights are kept;
* weights are saved as npz arrays (state-dict tensors as NumPy), never with pickle.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
import torch
from torch import nn
from tqdm.auto import tqdm

from recsys.data.types import Catalog, Interactions
from recsys.evaluation.metrics import aggregate, ranking_metrics
from recsys.models.base import Recommender, scoring_threads

__all__ = ["NeuralRecommender", "TrainingParams", "carve_validation", "dense", "epoch_listener",
           "row_batches"]

log = logging.getLogger(__name__)
_STATE_PREFIX = "net."
VALID_METRIC = "valid_ndcg@10"
_VALID_K = 10
_VALID_USERS = 2000  # validation users scored per epoch (a sample on large data)


# (model name, epoch done, epochs, that epoch's curve point)
EpochListener = Callable[[str, int, int, dict[str, float]], None]
_LISTENER: ContextVar[EpochListener | None] = ContextVar("epoch_listener", default=None)


@contextmanager
def epoch_listener(listener: EpochListener) -> Iterator[None]:
    """Call ``listener(model name, epoch, epochs, point)`` after each training epoch of every
    neural model fitted inside the block, in this thread (``point``: the loss, and the
    validation score when early stopping)."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


@dataclass(frozen=True)
class TrainingParams:
    """The training hyper-parameters every neural model has (its own ones come after)."""

    epochs: int = 50
    batch_size: int = 500
    lr: float = 1e-3
    patience: int = 0  # 0: no early stopping, train every epoch
    valid_fraction: float = 0.1  # share of training ratings carved out when patience > 0
    threads: int = 1  # torch threads during fit (0: every core this process may use)
    seed: int = 42


def dense(rows: sp.csr_matrix) -> torch.Tensor:
    """A batch of rows as a dense 0/1 float tensor (one batch, never the whole matrix)."""
    return torch.from_numpy((rows.toarray() > 0).astype(np.float32))


def row_batches(n_rows: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Row indices ``0..n_rows-1`` in a random order, ``batch_size`` at a time."""
    order = rng.permutation(n_rows)
    for start in range(0, n_rows, batch_size):
        yield order[start : start + batch_size]


def carve_validation(
    matrix: sp.csr_matrix, fraction: float, rng: np.random.Generator
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``(fit, valid)``: each stored rating goes to ``valid`` with probability ``fraction``,
    except that every user keeps at least one rating in ``fit``."""
    matrix = sp.csr_matrix(matrix, copy=True)
    held = rng.random(matrix.nnz) < fraction
    first = matrix.indptr[:-1][np.diff(matrix.indptr) > 0]
    held[first] = False  # each user's first stored rating always stays in fit
    valid, fit = matrix.copy(), matrix
    valid.data = np.where(held, valid.data, 0).astype(valid.dtype)
    fit.data = np.where(held, 0, fit.data).astype(fit.dtype)
    valid.eliminate_zeros()
    fit.eliminate_zeros()
    return fit, valid


@contextmanager
def _torch_session(seed: int, threads: int) -> Iterator[None]:
    """Seeded torch randomness and a thread count, both restored on exit."""
    previous = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_num_threads(threads or scoring_threads())
        try:
            yield
        finally:
            torch.set_num_threads(previous)


class NeuralRecommender(Recommender):
    """Base of the PyTorch models: the training loop around ``_network``, ``_start``, ``_epoch``."""

    Params = TrainingParams
    net_: nn.Module

    def _network(self, n_users: int, n_items: int) -> nn.Module:
        raise NotImplementedError

    def _start(self, matrix: sp.csr_matrix) -> None:
        """Create the optimisers (and any per-fit state) before the first epoch."""
        raise NotImplementedError

    def _epoch(self, matrix: sp.csr_matrix) -> float:
        """One pass over ``matrix`` (the ratings trained on); the mean loss."""
        raise NotImplementedError

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        p = self.params
        with _torch_session(p.seed, p.threads):
            matrix, valid = train.matrix, None
            if p.patience > 0:
                matrix, valid = carve_validation(train.matrix, p.valid_fraction, self.rng_)
            self.net_ = self._network(*train.shape)
            self._start(matrix)
            self.curve_ = self._train(matrix, valid)
        self.net_.eval()

    def _train(self, matrix: sp.csr_matrix, valid: sp.csr_matrix | None) -> list[dict[str, float]]:
        p = self.params
        curve: list[dict[str, float]] = []
        best, best_state, waited = -np.inf, None, 0
        listener = _LISTENER.get()
        with tqdm(range(p.epochs), desc=self.name, unit="epoch", leave=False,
                  disable=None) as bar:
            for epoch in bar:
                self.net_.train()
                point = {"loss": self._epoch(matrix)}
                if valid is not None:
                    point[VALID_METRIC] = self._validation_score(matrix, valid)
                curve.append(point)
                bar.set_postfix(point)
                if listener is not None:
                    listener(self.name, epoch + 1, p.epochs, point)
                log.debug("%s epoch %d/%d: %s", self.name, epoch + 1, p.epochs, point)
                if valid is None:
                    continue
                if point[VALID_METRIC] > best:
                    best, best_state, waited = point[VALID_METRIC], self._snapshot(), 0
                elif (waited := waited + 1) >= p.patience:
                    break
        if best_state is not None:
            self.net_.load_state_dict(best_state)
        return curve

    def _snapshot(self) -> dict[str, torch.Tensor]:
        return copy.deepcopy(self.net_.state_dict())

    def _validation_score(self, matrix: sp.csr_matrix, valid: sp.csr_matrix) -> float:
        """nDCG@10 of the carved ratings, ranking from the rest (training ratings only)."""
        users = np.flatnonzero(np.diff(valid.indptr) > 0)
        if len(users) > _VALID_USERS:
            users = np.sort(np.random.default_rng(0).choice(users, _VALID_USERS, replace=False))
        self.net_.eval()
        with torch.no_grad():
            recs = self._rank(self.train_.user_ids[users], users, matrix[users], _VALID_K, True)
        truth = valid[users].tocoo()
        frame = pl.DataFrame({"user_id": self.train_.user_ids[users][truth.row],
                              "item_id": self.train_.item_ids[truth.col]})
        per_user = ranking_metrics(recs, frame, _VALID_K, users=self.train_.user_ids[users])
        return float(aggregate(per_user)[f"ndcg@{_VALID_K}"])

    def learning_curve(self) -> list[dict[str, float]]:
        """Per epoch: the mean training loss (and the validation nDCG@10 when early stopping)."""
        self._check_fitted()
        return list(self.curve_)

    def _get_state(self) -> dict[str, np.ndarray]:
        return {_STATE_PREFIX + key: tensor.detach().numpy()
                for key, tensor in self.net_.state_dict().items()}

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        with torch.random.fork_rng(devices=[]):  # the random initialisation is overwritten
            self.net_ = self._network(*self.train_.shape)
        self.net_.load_state_dict({key[len(_STATE_PREFIX):]: torch.from_numpy(value)
                                   for key, value in state.items()
                                   if key.startswith(_STATE_PREFIX)})
        self.net_.eval()
        self.curve_ = meta.get("learning_curve", [])

    def _extra_meta(self) -> dict[str, Any]:
        return {"learning_curve": self.curve_}
