"""Would a sparse first encoder layer speed up Mult-VAE's epoch at the ml-20m shape?

    python benchmarks/sparse_first_layer.py [--items 20108] [--density 0.0045] [--steps 5]

Times one training step (forward, backward, Adam update) of Mult-VAE's own network
(:class:`recsys.models.vae._Network`, 600-200, the ``liang-ml20m`` settings) on a batch of 500
users, on one thread: as it runs (the dense 0/1 batch through the encoder), and with the
encoder's product taken from the sparse batch, by ``torch.sparse.mm`` and by
``embedding_bag`` (the encoder's weights stored movie by movie, the rated movies' rows
summed). The defaults are
Liang's binarised ML-20M: 20,108 movies, 0.45% of the user × movie matrix filled. Prints the
median seconds per step of each and its ratio to the dense one; the network, the loss and the
Adam update are the same in all three, only the first product differs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F

from recsys.models.vae import _kl, _Network, multinomial_nll

# how the encoder's first product is taken: as it runs, or from the sparse batch two ways
FIRST_LAYERS = ("dense", "sparse.mm", "embedding_bag")


def _step(net: _Network, optimizer: torch.optim.Optimizer, rows: sp.csr_matrix,
          first: str) -> float:
    """One training step; its seconds."""
    started = time.perf_counter()
    x = torch.from_numpy(rows.toarray())
    values = F.normalize(x, dim=1)[rows.nonzero()]  # the dense path's L2 normalisation
    if first == "sparse.mm":
        batch = torch.sparse_coo_tensor(np.vstack(rows.nonzero()), values, rows.shape)
        product = torch.sparse.mm(batch, net.encoder.weight.T)
    elif first == "embedding_bag":  # the rated movies' rows of the (items × hidden) table
        product = F.embedding_bag(torch.from_numpy(rows.indices.astype(np.int64)),
                                  net.encoder.weight,
                                  torch.from_numpy(rows.indptr[:-1].astype(np.int64)),
                                  mode="sum", per_sample_weights=values)
    else:
        product = F.normalize(x, dim=1) @ net.encoder.weight.T
    h = torch.tanh(product + net.encoder.bias)
    mu, logvar = net.posterior(h).chunk(2, dim=1)
    logits = net.output(torch.tanh(net.decoder(mu)))
    loss = multinomial_nll(logits, x) + 0.2 * _kl(mu, logvar)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return time.perf_counter() - started


def main() -> None:
    """Command line: the shape, then the two timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_108)
    parser.add_argument("--density", type=float, default=0.0045)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rows = sp.random(500, args.items, density=args.density, format="csr", random_state=0,
                     dtype=np.float32)
    rows.data[:] = 1.0
    median = {}
    for first in FIRST_LAYERS:
        net = _Network(args.items, 600, 200, dropout=0.0, variational=True)
        if first == "embedding_bag":  # the same weights, stored movie by movie
            net.encoder.weight = nn.Parameter(net.encoder.weight.detach().T.contiguous())
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        _step(net, optimizer, rows, first)  # warm-up
        median[first] = statistics.median(_step(net, optimizer, rows, first)
                                          for _ in range(args.steps))
        print(f"first layer by {first}: {median[first]:.3f} s per step of 500 users "
              f"({rows.nnz:,} ratings), {median[first] / median['dense']:.2f} × dense",
              flush=True)


if __name__ == "__main__":
    main()
