"""Known-answer tests for coverage, novelty, popularity, Gini and intra-list diversity."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from recsys.data.types import Interactions
from recsys.errors import ConfigError
from recsys.evaluation import metrics
from recsys.evaluation.metrics import (
    ItemFeatures,
    average_popularity,
    beyond_accuracy,
    catalog_coverage,
    gini_index,
    intra_list_diversity,
    item_popularity,
    novelty,
)


@pytest.fixture
def train() -> Interactions:
    # item 10 rated by 4 of 4 users, 11 by 2, 12 by 1, 13 by none (catalogue only)
    ratings = pl.DataFrame(
        {
            "user_id": [1, 2, 3, 4, 1, 2, 1],
            "item_id": [10, 10, 10, 10, 11, 11, 12],
            "rating": [4.0] * 7,
        }
    )
    return Interactions.from_frame(ratings, items=np.array([10, 11, 12, 13]))


@pytest.fixture
def recs() -> pl.DataFrame:
    # user 1: [10, 11]; user 2: [11, 12]
    return pl.DataFrame(
        {"user_id": [1, 1, 2, 2], "item_id": [10, 11, 11, 12], "rank": [1, 2, 1, 2]}
    )


@pytest.fixture
def genres() -> ItemFeatures:
    # 10 = Action, 11 = Action|Comedy, 12 = Drama, 13 = no genre
    movies = pl.DataFrame(
        {
            "item_id": [12, 10, 11, 13],
            "genres": [["Drama"], ["Action"], ["Action", "Comedy"], []],
        }
    )
    return ItemFeatures.from_genres(movies)


def test_item_popularity(train: Interactions) -> None:
    pop = item_popularity(train)
    assert pop["item_id"].to_list() == [10, 11, 12, 13]
    assert pop["count"].to_list() == [4, 2, 1, 0]
    assert pop["share"].to_list() == pytest.approx([1.0, 0.5, 0.25, 0.0])


def test_coverage(recs: pl.DataFrame) -> None:
    assert catalog_coverage(recs, n_items=4) == pytest.approx(3 / 4)  # 10, 11, 12 of 4
    with pytest.raises(ConfigError):
        catalog_coverage(recs, n_items=0)


def test_novelty(recs: pl.DataFrame, train: Interactions) -> None:
    pop = item_popularity(train)
    # user 1: (-log2 1 + -log2 0.5) / 2 = 0.5; user 2: (1 + 2) / 2 = 1.5; mean = 1.0
    assert novelty(recs, pop) == pytest.approx(1.0)
    # item 13 has no training rating: it counts as the rarest rated item (share 0.25 → 2 bits)
    unseen = pl.DataFrame({"user_id": [3], "item_id": [13], "rank": [1]})
    assert novelty(unseen, pop) == pytest.approx(2.0)


def test_average_popularity(recs: pl.DataFrame, train: Interactions) -> None:
    # user 1: (4 + 2) / 2 = 3; user 2: (2 + 1) / 2 = 1.5; mean = 2.25
    assert average_popularity(recs, item_popularity(train)) == pytest.approx(2.25)


def test_gini(recs: pl.DataFrame) -> None:
    # recommendation counts: 10 → 1, 11 → 2, 12 → 1; ascending x = [1, 1, 2], n = 3, Σx = 4
    # Σ (2i - n - 1) x_i = -2·1 + 0·1 + 2·2 = 2  →  G = 2 / (3 · 4) = 1/6
    assert gini_index(recs) == pytest.approx(1 / 6)
    # with the catalogue of 4 items: x = [0, 1, 1, 2]: (-3·0 - 1·1 + 1·1 + 3·2) / (4 · 4)
    assert gini_index(recs, n_items=4) == pytest.approx(6 / 16)
    uniform = pl.DataFrame({"user_id": [1, 2], "item_id": [5, 6], "rank": [1, 1]})
    assert gini_index(uniform) == 0.0
    with pytest.raises(ConfigError):
        gini_index(recs, n_items=2)


def test_genre_features(genres: ItemFeatures) -> None:
    assert genres.item_ids.tolist() == [10, 11, 12, 13]
    # genre columns sorted: Action, Comedy, Drama
    assert genres.matrix.toarray().tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]]


def test_intra_list_diversity(genres: ItemFeatures) -> None:
    recs = pl.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 3, 3],
            "item_id": [10, 11, 12, 10, 13, 10, 12],
            "rank": [1, 2, 3, 1, 2, 1, 2],
        }
    )
    # user 1: cos(10,11) = 1/√2, cos(10,12) = cos(11,12) = 0 → ILD = 1 - (1/√2) / 3 = 0.764298
    # user 2: item 13 has no genre → one item left → skipped
    # user 3: cos(10,12) = 0 → ILD = 1
    expected = ((1 - (1 / math.sqrt(2)) / 3) + 1.0) / 2
    assert intra_list_diversity(recs, genres) == pytest.approx(expected)
    dense = ItemFeatures(genres.item_ids, genres.matrix.toarray())
    assert intra_list_diversity(recs, dense) == pytest.approx(expected)
    coo = ItemFeatures(genres.item_ids.tolist(), genres.matrix.tocoo())
    assert intra_list_diversity(recs, coo) == pytest.approx(expected)


def test_ild_matches_pairwise_reference_across_batches(monkeypatch) -> None:
    monkeypatch.setattr(metrics, "_ILD_BATCH_USERS", 7)  # many batches, lists never split
    rng = np.random.default_rng(3)
    n_users, n_items, k = 50, 40, 5
    vectors = rng.normal(size=(n_items, 8))
    lists = np.stack([rng.choice(n_items, size=k, replace=False) for _ in range(n_users)])
    recs = pl.DataFrame(
        {
            "user_id": np.repeat(np.arange(n_users) * 3, k),  # sparse, unordered-safe ids
            "item_id": lists.ravel() + 100,
            "rank": np.tile(np.arange(1, k + 1), n_users),
        }
    ).sample(fraction=1.0, shuffle=True, seed=1)
    features = ItemFeatures(np.arange(n_items) + 100, vectors)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    expected = np.mean(
        [1 - (unit[row] @ unit[row].T)[np.triu_indices(k, 1)].mean() for row in lists]
    )
    assert intra_list_diversity(recs, features) == pytest.approx(expected)


def test_beyond_accuracy_keys_and_cutoff(
    recs: pl.DataFrame, train: Interactions, genres: ItemFeatures
) -> None:
    result = beyond_accuracy(recs, train, genres, k=1)
    # only rank 1 counts: user 1 → [10], user 2 → [11]
    assert result["coverage@1"] == pytest.approx(2 / 4)
    assert result["novelty@1"] == pytest.approx((0 + 1) / 2)
    assert result["arp@1"] == pytest.approx((4 + 2) / 2)
    assert result["gini@1"] == pytest.approx((-3 * 0 - 1 * 0 + 1 * 1 + 3 * 1) / (4 * 2))
    assert math.isnan(result["ild@1"])  # one-item lists have no pairs
    assert set(beyond_accuracy(recs, train)) == {"coverage@2", "novelty@2", "arp@2", "gini@2"}


def test_real_data_ranges(ml_small) -> None:
    train = Interactions.from_frame(ml_small.ratings)
    pop = item_popularity(train).sort("count", descending=True)
    top10 = pop["item_id"].head(10).to_numpy()
    users = train.user_ids[:100]
    recs = pl.DataFrame(
        {
            "user_id": np.repeat(users, 10),
            "item_id": np.tile(top10, len(users)),
            "rank": np.tile(np.arange(1, 11), len(users)),
        }
    )
    result = beyond_accuracy(recs, train, ItemFeatures.from_genres(ml_small.movies))
    assert result["coverage@10"] == pytest.approx(10 / train.shape[1])
    assert result["arp@10"] == pytest.approx(pop["count"].head(10).mean())
    assert 0 < result["ild@10"] < 1
    assert result["gini@10"] > 0.99  # 10 items of ~9.7k get every slot
