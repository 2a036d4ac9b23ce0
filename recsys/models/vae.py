"""Mult-VAE and Mult-DAE (Liang, Krishnan, Hoffman & Jebara 2018): autoencoders over user rows.

The encoder reads a user's binarised, L2-normalised history (with input dropout); the decoder
maps the code to a multinomial over items. Mult-VAE's code is a Gaussian latent trained on the
multinomial log-likelihood minus ``beta`` × KL, ``beta`` annealed linearly from 0 to
``anneal_cap`` over ``total_anneal_steps`` mini-batches; Mult-DAE's code is deterministic. Both
L2-regularise their weights (``weight_decay``). Any history can be encoded, so a new user is
folded in natively.

``window`` (off by default: Liang's models) reads the order of the training ratings: each
mini-batch also trains on ``windows`` rating-order windows per user (the ``2·window + 1``
movies rated around a random one of theirs, :mod:`recsys.models.windows`), and a training
user is scored by the mixture ``window_mix`` · p(·|history) + (1 − ``window_mix``) · the mean
of p(·|window) over windows centred every ``max(1, window // 3)`` ratings, as a
log-probability. A history folded in without timestamps is scored by p(·|history) alone.

The training loop, seeding, early stopping and persistence are
:class:`~recsys.models.neural.NeuralRecommender`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F

from recsys.data.types import Catalog, Interactions
from recsys.models.base import Capability
from recsys.models.neural import NeuralRecommender, TrainingParams, dense, row_batches
from recsys.models.registry import register
from recsys.models.windows import scoring_centres, time_ranks, training_centres, window_rows

__all__ = ["MultDAE", "MultVAE"]


class _Network(nn.Module):
    """[n_items → hidden → code] encoder, [latent → hidden → n_items] decoder (tanh).

    The code is ``2 · latent`` wide (mean and log-variance) when ``variational``, else ``latent``.
    """

    def __init__(
        self, n_items: int, hidden: int, latent: int, dropout: float, variational: bool
    ) -> None:
        super().__init__()
        self.variational = variational
        self.dropout = nn.Dropout(dropout)
        self.encoder = nn.Linear(n_items, hidden)
        self.posterior = nn.Linear(hidden, 2 * latent if variational else latent)
        self.decoder = nn.Linear(latent, hidden)
        self.output = nn.Linear(hidden, n_items)
        for layer in (self.encoder, self.posterior, self.decoder, self.output):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.normal_(layer.bias, std=0.001)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits over items, code mean and log-variance (zeros when not variational)."""
        h = torch.tanh(self.encoder(self.dropout(F.normalize(x, dim=1))))
        code = self.posterior(h)
        if not self.variational:
            return self.output(torch.tanh(self.decoder(torch.tanh(code)))), code, code * 0
        mu, logvar = code.chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.output(torch.tanh(self.decoder(z))), mu, logvar


def multinomial_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Negative multinomial log-likelihood of the rows ``x``, averaged over users."""
    return -(F.log_softmax(logits, dim=1) * x).sum(dim=1).mean()


def _kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) ‖ N(0, I)), averaged over users."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean()


_WINDOW_BLOCK = 4096  # window rows scored per forward pass


@dataclass(frozen=True)
class AutoEncoderParams(TrainingParams):
    """The network and rating-order window settings both autoencoders have."""

    hidden: int = 600
    latent: int = 200
    dropout: float = 0.5
    window: int | None = None  # half-width of the rating-order windows (None: whole rows)
    windows: int = 2  # windows per user and mini-batch
    window_mix: float = 0.5  # share of the whole history's distribution in the scores


class _AutoEncoder(NeuralRecommender):
    """The shared epoch (mini-batches of user rows, and their windows) and scoring of the two
    autoencoders."""

    capabilities = Capability.TOP_N | Capability.FOLD_IN
    variational = True
    ranks_: sp.csr_matrix | None = None  # training ratings' order, when ``window`` is set

    def _network(self, n_users: int, n_items: int) -> nn.Module:
        p = self.params
        return _Network(n_items, p.hidden, p.latent, p.dropout, self.variational)

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        self.ranks_ = None
        if self.params.window is not None:
            times = train.required_times(f"{self.name} with window", "window=None")
            self.ranks_ = time_ranks(train.matrix, times)
        super()._fit(train, catalog)

    def _start(self, matrix: sp.csr_matrix) -> None:
        self.optimizer_ = torch.optim.Adam(self.net_.parameters(), lr=self.params.lr,
                                           weight_decay=self.params.weight_decay)
        self.step_ = 0

    def _epoch(self, matrix: sp.csr_matrix) -> float:
        total = 0.0
        for batch in row_batches(matrix.shape[0], self.params.batch_size, self.rng_):
            rows = matrix[batch]
            x = dense(rows)
            if self.ranks_ is not None:
                centres = training_centres(np.diff(rows.indptr), self.params.windows, self.rng_)
                windows = window_rows(self.ranks_[batch], rows, self.params.window, centres)
                x = torch.cat([x, dense(windows)])
            loss = self._loss(x)
            self.optimizer_.zero_grad()
            loss.backward()
            self.optimizer_.step()
            total += float(loss.detach()) * len(batch)
            self.step_ += 1
        return total / matrix.shape[0]

    def _loss(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        with torch.no_grad():
            logits, _, _ = self.net_(dense(rows))
            if self.ranks_ is None:
                return logits.numpy()
            probs = torch.softmax(logits, dim=1).numpy()
            known = np.flatnonzero(users >= 0)  # folded-in histories have no rating order
            if len(known):
                mix = self.params.window_mix
                probs[known] = mix * probs[known] + (1 - mix) * self._window_probs(
                    users[known], rows[known])
        return np.log(probs + np.finfo(np.float32).tiny)

    def _window_probs(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        """Per row, the mean item distribution of its windows (one every window // 3)."""
        half = self.params.window
        centres = scoring_centres(np.diff(rows.indptr), max(1, half // 3))
        windows = window_rows(self.ranks_[users], rows, half, centres)
        owners = centres[0]
        share = 1.0 / np.bincount(owners, minlength=rows.shape[0])[owners]
        mean = np.zeros(rows.shape, dtype=np.float32)
        for start in range(0, windows.shape[0], _WINDOW_BLOCK):
            block = slice(start, start + _WINDOW_BLOCK)
            logits, _, _ = self.net_(dense(windows[block]))
            pool = sp.csr_matrix((share[block], (owners[block], np.arange(len(owners[block])))),
                                 shape=(rows.shape[0], logits.shape[0]))
            mean += pool @ torch.softmax(logits, dim=1).numpy()
        return mean

    def _get_state(self) -> dict[str, np.ndarray]:
        state = super()._get_state()
        if self.ranks_ is not None:
            state["window_ranks"] = self.ranks_.data
        return state

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        super()._set_state(state, meta)
        self.ranks_ = None
        if "window_ranks" in state:
            train = self.train_.matrix
            self.ranks_ = sp.csr_matrix((state["window_ranks"], train.indices, train.indptr),
                                        shape=train.shape)


@register
class MultVAE(_AutoEncoder):
    """Mult-VAE for top-N recommendation with native fold-in of new users."""

    name = "mult_vae"

    @dataclass(frozen=True)
    class Params(AutoEncoderParams):
        total_anneal_steps: int = 200_000
        anneal_cap: float = 0.2
        weight_decay: float = 0.0

    def _loss(self, x: torch.Tensor) -> torch.Tensor:
        logits, mu, logvar = self.net_(x)
        return multinomial_nll(logits, x) + self._beta(self.step_) * _kl(mu, logvar)

    def _beta(self, step: int) -> float:
        """KL weight after ``step`` updates: linear warm-up to ``anneal_cap``."""
        p = self.params
        if p.total_anneal_steps <= 0:
            return p.anneal_cap
        return min(p.anneal_cap, step / p.total_anneal_steps)


@register
class MultDAE(_AutoEncoder):
    """Mult-DAE: the denoising autoencoder of the same paper (no latent sampling, no KL)."""

    name = "mult_dae"
    variational = False

    @dataclass(frozen=True)
    class Params(AutoEncoderParams):
        weight_decay: float = 1e-5

    def _loss(self, x: torch.Tensor) -> torch.Tensor:
        logits, _, _ = self.net_(x)
        return multinomial_nll(logits, x)
