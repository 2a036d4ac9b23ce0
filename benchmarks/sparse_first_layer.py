"""Would a sparse first encoder layer speed up Mult-VAE's epoch at the ml-20m shape?

    python benchmarks/sparse_first_layer.py [--items 20108] [--density 0.0045] [--steps 5]

Times one training step (forward, backward, Adam update) of Mult-VAE's own network
(:class:`recsys.models.vae._Network`, 600-200, the ``liang-ml20m`` settings) on a batch of 500
users, once as it runs (the dense 0/1 batch through the encoder) and once with the encoder's
product taken from the sparse batch (``torch.sparse.mm``), on one thread. The defaults are
Liang's binarised ML-20M: 20,108 movies, 0.45% of the user × movie matrix filled. Prints the
median seconds per step of each and their ratio; the weights, the loss and the Adam update are
the same in both, only the first product's input differs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.sparse as sp
import torch
from torch.nn import functional as F

from recsys.models.vae import _kl, _Network, multinomial_nll


def _step(net: _Network, optimizer: torch.optim.Optimizer, rows: sp.csr_matrix,
          sparse: bool) -> float:
    """One training step; its seconds."""
    started = time.perf_counter()
    x = torch.from_numpy(rows.toarray())
    if sparse:
        coo = rows.tocoo()
        values = F.normalize(x, dim=1)[coo.row, coo.col]  # the dense path's L2 normalisation
        batch = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), values, rows.shape)
        h = torch.tanh(torch.sparse.mm(batch, net.encoder.weight.T) + net.encoder.bias)
    else:
        h = torch.tanh(net.encoder(F.normalize(x, dim=1)))
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
    for sparse in (False, True):
        net = _Network(args.items, 600, 200, dropout=0.0, variational=True)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        _step(net, optimizer, rows, sparse)  # warm-up
        median[sparse] = statistics.median(_step(net, optimizer, rows, sparse)
                                           for _ in range(args.steps))
        print(f"{'sparse' if sparse else 'dense'} first layer: {median[sparse]:.3f} s per step "
              f"of 500 users ({rows.nnz:,} ratings)", flush=True)
    print(f"sparse / dense: {median[True] / median[False]:.2f}")


if __name__ == "__main__":
    main()
