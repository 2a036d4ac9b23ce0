"""RecVAE (Shenbin, Alekseev, Tutubalina, Malykh & Nikolenko, WSDM 2020).

Mult-VAE with four changes, as in the authors' code: a deeper encoder (five dense layers with
swish, layer norm and dense skip connections); a composite prior, the mixture
``3/20 · N(0, I) + 3/4 · q_old(z|x) + 1/10 · N(0, e^10 I)`` where ``q_old`` is the encoder as it
was after the previous epoch; a KL weight ``gamma · |x_u|`` proportional to each user's history
size; and alternating updates (``encoder_epochs`` passes over the encoder with input dropout,
then ``decoder_epochs`` over the decoder without). The decoder is one linear layer. New users
are folded in natively.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F

from recsys.models.base import Capability
from recsys.models.neural import NeuralRecommender, TrainingParams, dense, row_batches
from recsys.models.registry import register
from recsys.models.vae import multinomial_nll

__all__ = ["RecVAE"]

_MIXTURE = (3 / 20, 3 / 4, 1 / 10)  # standard, previous posterior, wide
_WIDE_LOGVAR = 10.0


def _log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return -0.5 * (logvar + math.log(2 * math.pi) + (z - mu).pow(2) / logvar.exp())


class _Encoder(nn.Module):
    """Five dense layers, each fed the sum of the earlier ones' outputs, then mean/log-var."""

    def __init__(self, n_items: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [nn.Linear(n_items, hidden)] + [nn.Linear(hidden, hidden) for _ in range(4)]
        )
        self.norms = nn.ModuleList([nn.LayerNorm(hidden, eps=0.1) for _ in range(5)])
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)

    def forward(self, x: torch.Tensor, dropout: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance of the rows ``x``."""
        h = F.dropout(F.normalize(x, dim=1), p=dropout, training=self.training)
        outputs: list[torch.Tensor] = []
        for layer, norm in zip(self.layers, self.norms, strict=True):
            h = norm(F.silu(layer(h) + sum(outputs)))
            outputs.append(h)
        return self.mu(h), self.logvar(h)


class _Network(nn.Module):
    def __init__(self, n_items: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.encoder = _Encoder(n_items, hidden, latent)
        self.old_encoder = _Encoder(n_items, hidden, latent)
        self.old_encoder.requires_grad_(False)
        self.decoder = nn.Linear(latent, n_items)

    def loss(self, x: torch.Tensor, gamma: float, dropout: float) -> torch.Tensor:
        """Negative ELBO under the composite prior, KL weighted by ``gamma`` × history size."""
        mu, logvar = self.encoder(x, dropout)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        old_mu, old_logvar = self.old_encoder(x, 0.0)
        zero = torch.zeros_like(mu)
        prior = torch.logsumexp(torch.stack([
            _log_normal(z, zero, zero) + math.log(_MIXTURE[0]),
            _log_normal(z, old_mu, old_logvar) + math.log(_MIXTURE[1]),
            _log_normal(z, zero, zero + _WIDE_LOGVAR) + math.log(_MIXTURE[2]),
        ], dim=-1), dim=-1)
        kl = ((_log_normal(z, mu, logvar) - prior).sum(dim=1) * gamma * x.sum(dim=1)).mean()
        return multinomial_nll(self.decoder(z), x) + kl

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits over items from the posterior mean (scoring)."""
        return self.decoder(self.encoder(x, 0.0)[0])


@register
class RecVAE(NeuralRecommender):
    """RecVAE: the composite-prior autoencoder, strongest published on ML-20M (Liang protocol)."""

    name = "recvae"
    capabilities = Capability.TOP_N | Capability.FOLD_IN

    @dataclass(frozen=True)
    class Params(TrainingParams):
        lr: float = 5e-4
        hidden: int = 600
        latent: int = 200
        dropout: float = 0.5
        gamma: float = 0.005
        encoder_epochs: int = 3
        decoder_epochs: int = 1

    def _network(self, n_users: int, n_items: int) -> nn.Module:
        return _Network(n_items, self.params.hidden, self.params.latent)

    def _start(self, matrix: sp.csr_matrix) -> None:
        lr = self.params.lr
        self.encoder_optimizer_ = torch.optim.Adam(self.net_.encoder.parameters(), lr=lr)
        self.decoder_optimizer_ = torch.optim.Adam(self.net_.decoder.parameters(), lr=lr)

    def _epoch(self, matrix: sp.csr_matrix) -> float:
        p = self.params
        for _ in range(p.encoder_epochs):
            self._pass(matrix, self.encoder_optimizer_, p.dropout)
        self.net_.old_encoder.load_state_dict(self.net_.encoder.state_dict())
        loss = 0.0
        for _ in range(p.decoder_epochs):
            loss = self._pass(matrix, self.decoder_optimizer_, 0.0)
        return loss

    def _pass(self, matrix: sp.csr_matrix, optimizer: torch.optim.Optimizer,
              dropout: float) -> float:
        total = 0.0
        for batch in row_batches(matrix.shape[0], self.params.batch_size, self.rng_):
            x = dense(matrix[batch])
            loss = self.net_.loss(x, self.params.gamma, dropout)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        return total / matrix.shape[0]

    def _score(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        with torch.no_grad():
            return self.net_(dense(rows)).numpy()
