"""Known-answer tests for every similarity measure, the Surprise cross-check, top-k and RP3beta."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from surprise import similarities as surprise_sims

from recsys.data.types import Interactions
from recsys.errors import ConfigError
from recsys.linalg import (
    SIMILARITIES,
    centred_values,
    dense_product,
    keep_top_k,
    similarity_block,
    similarity_matrix,
)
from recsys.models import create_model

# 3 users × 4 items; 0 = not rated. Co-rated items: (u0,u1) {0,2,3}, (u0,u2) {0,1,3},
# (u1,u2) {0,3}.
X = sp.csr_matrix(np.array([[5, 3, 4, 1], [4, 0, 5, 1], [1, 2, 0, 5]], dtype=np.float64))
PAIRS = [(0, 1), (0, 2), (1, 2)]

# Hand computations over the co-rated items of each pair (see the comment on X).
EXPECTED = {
    # sum xy / sqrt(sum x² · sum y²)
    "cosine": [41 / 42, 16 / np.sqrt(35 * 30), 9 / np.sqrt(17 * 26)],
    # 1 / (mean squared difference + 1): diffs (1,1,0), (4,1,4), (3,4)
    "msd": [1 / (2 / 3 + 1), 1 / (33 / 3 + 1), 1 / (25 / 2 + 1)],
    # co-rated Pearson; x=(5,4,1), y=(4,5,1): 69/78; x=(5,3,1), y=(1,2,5): -8/sqrt(8·78/9)
    "pearson": [69 / 78, -8 / np.sqrt(8 * 78 / 9), -1.0],
    # centred by item means (10/3, 5/2, 9/2, 7/3), then co-rated cosine (values in 36ths)
    "adjusted_cosine": [
        95 / np.sqrt(173 * 89), -277 / np.sqrt(173 * 461), -46 / np.sqrt(20 * 113)
    ],
    # |A ∩ B| / |A ∪ B|: {0,1,2,3} vs {0,2,3} vs {0,1,3}
    "jaccard": [3 / 4, 3 / 4, 2 / 4],
    # residuals r - 3 (mu = 3, zero biases), co-rated cosine
    "pearson_baseline": [8 / 9, -8 / np.sqrt(8 * 9), -6 / np.sqrt(5 * 8)],
}
BASELINE = (3.0, np.zeros(3), np.zeros(4))


def block(kind: str, min_support: int = 1, shrinkage: float = 0.0) -> np.ndarray:
    values = centred_values(X, kind, BASELINE)
    return similarity_block(values, np.arange(3), kind, min_support, shrinkage)


@pytest.mark.parametrize("kind", SIMILARITIES)
def test_similarity_known_answers(kind: str) -> None:
    sim = block(kind)
    got = [sim[a, b] for a, b in PAIRS]
    np.testing.assert_allclose(got, EXPECTED[kind], rtol=1e-12)
    np.testing.assert_allclose(sim, sim.T, rtol=1e-12)
    np.testing.assert_allclose(  # a block of rows gives the same values as the whole
        similarity_block(centred_values(X, kind, BASELINE), np.array([2]), kind), sim[[2]]
    )


def test_shrinkage_and_min_support() -> None:
    # msd: shrink by n / (n + 1) with n = 3, 3, 2 co-rated items
    np.testing.assert_allclose(
        [block("msd", shrinkage=1.0)[a, b] for a, b in PAIRS],
        np.multiply(EXPECTED["msd"], [3 / 4, 3 / 4, 2 / 3]),
    )
    # pearson_baseline shrinks by (n - 1) / (n - 1 + shrinkage), as Surprise does
    np.testing.assert_allclose(
        [block("pearson_baseline", shrinkage=100.0)[a, b] for a, b in PAIRS],
        np.multiply(EXPECTED["pearson_baseline"], [2 / 102, 2 / 102, 1 / 101]),
    )
    assert block("msd", min_support=3)[1, 2] == 0.0 and block("msd", min_support=3)[0, 1] > 0


def test_similarity_matrix_keeps_positive_off_diagonal() -> None:
    sim = similarity_matrix(X, "pearson").toarray()
    expected = np.zeros((3, 3))
    expected[0, 1] = expected[1, 0] = 69 / 78  # the negative pairs are dropped
    np.testing.assert_allclose(sim, expected)


def test_unknown_similarity_and_missing_baseline_raise() -> None:
    with pytest.raises(ConfigError, match="Unknown similarity"):
        similarity_block(X, np.arange(3), "euclid")
    with pytest.raises(ConfigError, match="baseline"):
        centred_values(X, "pearson_baseline")


@pytest.mark.parametrize("kind", ["cosine", "msd", "pearson", "pearson_baseline"])
def test_matches_surprise_similarities(kind: str) -> None:
    """Same matrix as surprise.similarities on random sparse ratings (rows = users)."""
    rng = np.random.default_rng(7)
    dense = rng.integers(1, 6, size=(30, 25)) * (rng.random((30, 25)) < 0.4)
    ratings = sp.csr_matrix(dense.astype(np.float64))
    coo = ratings.tocoo()
    yr: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for u, i, r in zip(coo.row, coo.col, coo.data, strict=True):
        yr[int(i)].append((int(u), float(r)))
    args: tuple = (30, yr, 2)
    baseline = (3.0, rng.normal(0, 0.3, 30), rng.normal(0, 0.3, 25))
    if kind == "pearson_baseline":
        args = (*args, baseline[0], baseline[1], baseline[2], 50.0)
    expected = getattr(surprise_sims, kind)(*args)
    np.fill_diagonal(expected, 0.0)
    expected[expected < 0] = 0.0
    shrinkage = 50.0 if kind == "pearson_baseline" else 0.0
    got = similarity_matrix(ratings, kind, min_support=2, shrinkage=shrinkage, baseline=baseline)
    np.testing.assert_allclose(got.toarray(), expected, rtol=1e-10, atol=1e-12)


def test_keep_top_k() -> None:
    matrix = sp.csr_matrix(np.array([[0.0, 0.5, 0.9, 0.1], [0.3, 0.0, 0.0, 0.0]]))
    np.testing.assert_array_equal(
        keep_top_k(matrix, 2).toarray(), [[0.0, 0.5, 0.9, 0.0], [0.3, 0.0, 0.0, 0.0]]
    )


def test_rp3beta_known_answer() -> None:
    """Users {a: items 0,1}, {b: items 0,2}; alpha=1, beta=0.5 by hand."""
    frame = pl.DataFrame(
        {"user_id": [1, 1, 2, 2], "item_id": [10, 11, 10, 12], "rating": [5.0, 3.0, 4.0, 2.0]}
    )
    model = create_model("rp3beta", alpha=1.0, beta=0.5, k=10).fit(Interactions.from_frame(frame))
    # P_iu: item 0 -> (a 1/2, b 1/2), item 1 -> a, item 2 -> b; P_ui: each user 1/2 per item.
    # W = P_iu @ P_ui, column j divided by sqrt(popularity j) (2, 1, 1), diagonal zeroed.
    expected = np.array(
        [[0, 1 / 4, 1 / 4], [1 / 2 / np.sqrt(2), 0, 0], [1 / 2 / np.sqrt(2), 0, 0]]
    )
    np.testing.assert_allclose(model.weights_.toarray(), expected, rtol=1e-6)
    explanation = model.explain(1, 12)  # user 1 rated item 10, which leads to item 12
    assert explanation.rated_items[0].item_id == 10
    assert explanation.rated_items[0].rating == 5.0



def random_ratings(n_rows: int, n_cols: int, density: float, seed: int) -> sp.csr_matrix:
    """Whole-star ratings: many exact ties in every measure (the top-k cut-off must agree)."""
    rng = np.random.default_rng(seed)
    dense = rng.integers(1, 6, size=(n_rows, n_cols)) * (rng.random((n_rows, n_cols)) < density)
    return sp.csr_matrix(dense.astype(np.float64))


@pytest.mark.parametrize("kind", SIMILARITIES)
@pytest.mark.parametrize("k", [1, 3, 10, 200])
def test_blockwise_top_k_equals_the_full_matrix_then_top_k(
    kind: str, k: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """similarity_matrix(k=...) keeps exactly keep_top_k's entries of the full matrix, ties too,
    across many blocks of rows."""
    monkeypatch.setattr("recsys.linalg._BLOCK_CELLS", 7 * 41)  # 7 rows a block, the last short
    ratings = random_ratings(41, 30, 0.3, seed=k)
    baseline = (3.0, np.linspace(-0.3, 0.3, 41), np.linspace(0.2, -0.2, 30))
    args = (ratings, kind, 2, 5.0, baseline)
    full = similarity_matrix(*args)
    top = similarity_matrix(*args, k=k)
    expected = keep_top_k(full, k)
    assert (top != expected).nnz == 0 and top.nnz == expected.nnz
    assert np.diff(top.indptr).max() <= k


def test_dense_product_equals_the_sparse_product() -> None:
    a = random_ratings(9, 13, 0.4, seed=1).astype(np.float32)
    b = random_ratings(13, 11, 0.3, seed=2)
    np.testing.assert_array_equal(dense_product(a, b), (a @ b).toarray())
