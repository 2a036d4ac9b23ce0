"""Mult-VAE and Mult-DAE (Liang, Krishnan, Hoffman & Jebara 2018): autoencoders over user rows.

The encoder reads a user's binarised, L2-normalised history (with input dropout); the decoder
maps the code to a multinomial over items. Mult-VAE's code is a Gaussian latent trained on the
multinomial log-likelihood minus ``beta`` × KL, ``beta`` annealed linearly from 0 to
``anneal_cap`` over ``total_anneal_steps`` mini-batches; Mult-DAE's code is deterministic. Both
L2-regularise their weights (``weight_decay``). Any history can be encoded, so a new user is
folded in natively. The training loop, seeding, early stopping and persistence are
:class:`~recsys.models.neural.NeuralRecommender`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F

from recsys.models.base import Capability
from recsys.models.neural import NeuralRecommender, TrainingParams, dense, row_batches
from recsys.models.registry import register

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


class _AutoEncoder(NeuralRecommender):
    """The shared epoch (mini-batches of user rows) and scoring of the two autoencoders."""

    capabilities = Capability.TOP_N | Capability.FOLD_IN
    variational = True

    def _network(self, n_users: int, n_items: int) -> nn.Module:
        p = self.params
        return _Network(n_items, p.hidden, p.latent, p.dropout, self.variational)

    def _start(self, matrix: sp.csr_matrix) -> None:
        self.optimizer_ = torch.optim.Adam(self.net_.parameters(), lr=self.params.lr,
                                           weight_decay=self.params.weight_decay)
        self.step_ = 0

    def _epoch(self, matrix: sp.csr_matrix) -> float:
        total = 0.0
        for batch in row_batches(matrix.shape[0], self.params.batch_size, self.rng_):
            x = dense(matrix[batch])
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
        return logits.numpy()


@register
class MultVAE(_AutoEncoder):
    """Mult-VAE for top-N recommendation with native fold-in of new users."""

    name = "mult_vae"

    @dataclass(frozen=True)
    class Params(TrainingParams):
        hidden: int = 600
        latent: int = 200
        dropout: float = 0.5
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
    class Params(TrainingParams):
        hidden: int = 600
        latent: int = 200
        dropout: float = 0.5
        weight_decay: float = 1e-5

    def _loss(self, x: torch.Tensor) -> torch.Tensor:
        logits, _, _ = self.net_(x)
        return multinomial_nll(logits, x)
