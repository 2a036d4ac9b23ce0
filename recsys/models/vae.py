"""Mult-VAE (Liang, Krishnan, Hoffman & Jebara 2018): a variational autoencoder over user rows.

The encoder reads a user's binarised, L2-normalised history (with input dropout) and gives a
Gaussian over a latent vector; the decoder maps the latent mean to a multinomial over items.
Training maximises the multinomial log-likelihood minus ``beta`` × KL, with ``beta`` annealed
linearly from 0 to ``anneal_cap`` over ``total_anneal_steps`` mini-batches. Any history can be
encoded, so a new user is folded in natively.

PyTorch on CPU. Randomness (initialisation, dropout, sampling) comes from a forked, seeded
torch generator inside ``fit`` and the shuffling from the model's own NumPy generator: no
global seed is touched. The thread count is set only during ``fit`` and restored after.
Weights are saved as npz arrays (state-dict tensors as NumPy), never with pickle.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F

from recsys.data.types import Catalog, Interactions
from recsys.models.base import Capability, Recommender
from recsys.models.registry import register

__all__ = ["MultVAE"]

log = logging.getLogger(__name__)
_STATE_PREFIX = "net."


class _Network(nn.Module):
    """[n_items → hidden → 2·latent] encoder, [latent → hidden → n_items] decoder (tanh)."""

    def __init__(self, n_items: int, hidden: int, latent: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.encoder = nn.Linear(n_items, hidden)
        self.posterior = nn.Linear(hidden, 2 * latent)
        self.decoder = nn.Linear(latent, hidden)
        self.output = nn.Linear(hidden, n_items)
        for layer in (self.encoder, self.posterior, self.decoder, self.output):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.normal_(layer.bias, std=0.001)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits over items, latent mean and log-variance; samples the latent when training."""
        h = torch.tanh(self.encoder(self.dropout(F.normalize(x, dim=1))))
        mu, logvar = self.posterior(h).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.output(torch.tanh(self.decoder(z))), mu, logvar


def _loss(
    logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, beta: float
) -> torch.Tensor:
    """Negative multinomial log-likelihood + beta × KL(q(z|x) ‖ N(0, I)), averaged over users."""
    nll = -(F.log_softmax(logits, dim=1) * x).sum(dim=1).mean()
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean()
    return nll + beta * kl


def _dense(rows: sp.csr_matrix) -> torch.Tensor:
    """A batch of rows as a dense 0/1 float tensor (one batch, never the whole matrix)."""
    return torch.from_numpy((rows.toarray() > 0).astype(np.float32))


@contextmanager
def _torch_session(seed: int, threads: int) -> Iterator[None]:
    """Seeded torch randomness and a thread count, both restored on exit."""
    previous = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.set_num_threads(previous)


@register
class MultVAE(Recommender):
    """Mult-VAE for top-N recommendation with native fold-in of new users."""

    name = "mult_vae"
    capabilities = Capability.TOP_N | Capability.FOLD_IN

    @dataclass(frozen=True)
    class Params:
        hidden: int = 600
        latent: int = 200
        dropout: float = 0.5
        total_anneal_steps: int = 200_000
        anneal_cap: float = 0.2
        epochs: int = 50
        batch_size: int = 500
        lr: float = 1e-3
        threads: int = 1
        seed: int = 42

    def _fit(self, train: Interactions, catalog: Catalog | None) -> None:
        p = self.params
        matrix = train.matrix
        with _torch_session(p.seed, p.threads):
            self.net_ = _Network(train.shape[1], p.hidden, p.latent, p.dropout)
            optimizer = torch.optim.Adam(self.net_.parameters(), lr=p.lr)
            step = 0
            for epoch in range(p.epochs):
                total = 0.0
                order = self.rng_.permutation(train.shape[0])
                for start in range(0, len(order), p.batch_size):
                    x = _dense(matrix[order[start : start + p.batch_size]])
                    loss = self._step(x, self._beta(step))
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    total += float(loss.detach()) * len(x)
                    step += 1
                log.debug("mult_vae epoch %d/%d: loss %.4f", epoch + 1, p.epochs,
                          total / len(order))
        self.net_.eval()

    def _step(self, x: torch.Tensor, beta: float) -> torch.Tensor:
        logits, mu, logvar = self.net_(x)
        return _loss(logits, x, mu, logvar, beta)

    def _beta(self, step: int) -> float:
        """KL weight after ``step`` updates: linear warm-up to ``anneal_cap``."""
        p = self.params
        if p.total_anneal_steps <= 0:
            return p.anneal_cap
        return min(p.anneal_cap, step / p.total_anneal_steps)

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        with torch.no_grad():
            logits, _, _ = self.net_(_dense(rows))
        return logits.numpy()

    def _get_state(self) -> dict[str, np.ndarray]:
        return {
            _STATE_PREFIX + key: tensor.detach().numpy()
            for key, tensor in self.net_.state_dict().items()
        }

    def _set_state(self, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        p = self.params
        with torch.random.fork_rng(devices=[]):  # the random initialisation is overwritten
            self.net_ = _Network(self.train_.shape[1], p.hidden, p.latent, p.dropout)
        weights = {
            key[len(_STATE_PREFIX) :]: torch.from_numpy(value)
            for key, value in state.items()
            if key.startswith(_STATE_PREFIX)
        }
        self.net_.load_state_dict(weights)
        self.net_.eval()
