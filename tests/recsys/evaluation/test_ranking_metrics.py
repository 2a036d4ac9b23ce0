"""Known-answer and reference tests for the top-k accuracy metrics."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import ndcg_score

from recsys.errors import ArgumentError, ConfigError, DataError
from recsys.evaluation.metrics import aggregate, catalog_coverage, ranking_metrics

L3 = 1 / math.log2(3)  # discount of rank 2 = 0.63093
L4 = 1 / math.log2(4)  # discount of rank 3 = 0.5


@pytest.fixture
def recs() -> pl.DataFrame:
    # user 1: items 10, 11, 12, 13 at ranks 1..4 (rank 4 is beyond k=3)
    # user 2: a short list, items 20, 21 at ranks 1, 2 (k=3 is larger than the list)
    # user 3: no recommendation at all
    return pl.DataFrame(
        {
            "user_id": [1, 1, 1, 1, 2, 2],
            "item_id": [10, 11, 12, 13, 20, 21],
            "rank": [1, 2, 3, 4, 1, 2],
        }
    )


@pytest.fixture
def truth() -> pl.DataFrame:
    # user 1: 4 relevant items, one (11) hit at rank 2; 13 is relevant but at rank 4
    # user 2: 2 relevant items, both hit; user 3: 1 relevant item, nothing recommended
    return pl.DataFrame(
        {
            "user_id": [1, 1, 1, 1, 2, 2, 3],
            "item_id": [11, 13, 14, 15, 20, 21, 30],
        },
        schema={"user_id": pl.Int32, "item_id": pl.Int32},
    )


def _row(frame: pl.DataFrame, user: int) -> dict:
    return frame.filter(pl.col("user_id") == user).row(0, named=True)


def test_known_answers_at_3(recs: pl.DataFrame, truth: pl.DataFrame) -> None:
    result = ranking_metrics(recs, truth, k=3)
    assert result["user_id"].to_list() == [1, 2, 3]
    u1 = _row(result, 1)
    assert u1["precision@3"] == pytest.approx(1 / 3)  # 1 hit / k
    assert u1["recall@3"] == pytest.approx(1 / 4)  # 1 hit / 4 relevant
    # DCG = 1/log2(3); ideal DCG over min(3, 4) = 3 hits = 1 + 1/log2(3) + 1/log2(4)
    assert u1["ndcg@3"] == pytest.approx(L3 / (1 + L3 + L4))  # 0.29608
    # precision at the hit's rank = 1/2; MAP@k divides by min(k, n_relevant) = 3
    assert u1["map@3"] == pytest.approx(0.5 / 3)
    assert u1["map_recommenders@3"] == pytest.approx(0.5 / 4)  # Recommenders: / n_relevant
    assert u1["mrr@3"] == pytest.approx(1 / 2)
    assert u1["hit_rate@3"] == 1.0
    assert u1["n_relevant"] == 4

    u2 = _row(result, 2)
    assert u2["precision@3"] == pytest.approx(2 / 3)  # short list: still hits / k
    assert u2["recall@3"] == 1.0
    assert u2["ndcg@3"] == pytest.approx(1.0)  # (1 + 1/log2 3) / (1 + 1/log2 3)
    assert u2["map@3"] == pytest.approx(1.0)  # (1/1 + 2/2) / min(3, 2)
    assert u2["map_recommenders@3"] == pytest.approx(1.0)  # (1/1 + 2/2) / 2
    assert u2["mrr@3"] == 1.0

    u3 = _row(result, 3)  # relevant items but no recommendation: zeros
    assert all(u3[c] == 0.0 for c in result.columns if "@" in c)


def test_recall_min_k_denominator(recs: pl.DataFrame, truth: pl.DataFrame) -> None:
    result = ranking_metrics(recs, truth, k=3, recall_denominator="min_k")
    # user 1: 1 hit / min(3, 4) = 1/3 (Liang et al.); user 2: 2 / min(3, 2) = 1
    assert result["recall@3"].to_list() == pytest.approx([1 / 3, 1.0, 0.0])


def test_only_ranks_up_to_k_count(recs: pl.DataFrame, truth: pl.DataFrame) -> None:
    result = ranking_metrics(recs, truth, k=1)
    # rank 1: user 1 gets item 10 (miss), user 2 gets item 20 (hit)
    assert result["precision@1"].to_list() == [0.0, 1.0, 0.0]
    assert result["ndcg@1"].to_list() == [0.0, 1.0, 0.0]
    assert result["map@1"].to_list() == [0.0, 1.0, 0.0]  # 1/1 / min(1, 2)
    assert result["map_recommenders@1"].to_list() == [0.0, 0.5, 0.0]  # 1/1 / 2


def test_k_larger_than_every_list(recs: pl.DataFrame, truth: pl.DataFrame) -> None:
    result = ranking_metrics(recs, truth, k=10)
    u1 = _row(result, 1)
    # now item 13 (rank 4) counts too: hits at ranks 2 and 4
    assert u1["precision@10"] == pytest.approx(2 / 10)
    assert u1["recall@10"] == pytest.approx(2 / 4)
    assert u1["map@10"] == pytest.approx((1 / 2 + 2 / 4) / 4)
    # DCG = 1/log2(3) + 1/log2(5); ideal over min(10, 4) = 4 hits
    ideal = 1 + L3 + L4 + 1 / math.log2(5)
    assert u1["ndcg@10"] == pytest.approx((L3 + 1 / math.log2(5)) / ideal)


def test_users_without_relevant_items_are_null_and_counted(
    recs: pl.DataFrame, truth: pl.DataFrame
) -> None:
    result = ranking_metrics(recs, truth, k=3, users=[1, 2, 3, 4])
    u4 = _row(result, 4)
    assert u4["n_relevant"] == 0
    assert all(u4[c] is None for c in result.columns if "@" in c)
    summary = aggregate(result)
    assert summary["n_users"] == 3
    assert summary["n_users_excluded"] == 1
    # the mean skips user 4: precision (1/3 + 2/3 + 0) / 3
    assert summary["precision@3"] == pytest.approx(1 / 3)
    assert summary["hit_rate@3"] == pytest.approx(2 / 3)


def test_users_argument_restricts_evaluation(recs: pl.DataFrame, truth: pl.DataFrame) -> None:
    result = ranking_metrics(recs, truth, k=3, users=np.array([2]))
    assert result["user_id"].to_list() == [2]


def test_empty_recommendations_give_zeros(truth: pl.DataFrame) -> None:
    empty = pl.DataFrame(schema={"user_id": pl.Int64, "item_id": pl.Int64, "rank": pl.Int32})
    result = ranking_metrics(empty, truth, k=5)
    assert result.height == 3
    assert result["ndcg@5"].to_list() == [0.0, 0.0, 0.0]
    assert aggregate(result)["map@5"] == 0.0


def test_empty_truth_gives_empty_frame(recs: pl.DataFrame) -> None:
    empty = pl.DataFrame(schema={"user_id": pl.Int64, "item_id": pl.Int64})
    result = ranking_metrics(recs, empty, k=5)
    assert result.is_empty()
    assert "ndcg@5" in result.columns


def test_invalid_inputs_raise(recs: pl.DataFrame, truth: pl.DataFrame) -> None:
    with pytest.raises(ConfigError, match="positive integer"):
        ranking_metrics(recs, truth, k=0)
    with pytest.raises(ConfigError, match="recall_denominator"):
        ranking_metrics(recs, truth, k=3, recall_denominator="some")
    with pytest.raises(DataError, match="rank"):
        ranking_metrics(recs.drop("rank"), truth, k=3)


def _reference(ranked: list[int], relevant: set[int], k: int) -> dict[str, float]:
    """Straightforward per-user loop, the textbook definitions."""
    hits, ap, first = 0, 0.0, 0
    for rank, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            hits += 1
            ap += hits / rank
            first = first or rank
    n = len(relevant)
    return {
        "precision": hits / k,
        "recall": hits / n,
        "map": ap / min(k, n),
        "map_recommenders": ap / n,
        "mrr": 1 / first if first else 0.0,
    }


def test_matches_reference_loop_and_sklearn_ndcg() -> None:
    rng = np.random.default_rng(7)
    n_users, n_items, k = 40, 30, 10
    scores = rng.random((n_users, n_items))
    relevance = (rng.random((n_users, n_items)) < 0.2).astype(float)
    relevance[relevance.sum(axis=1) == 0, 0] = 1.0  # every user has a relevant item
    order = np.argsort(-scores, axis=1)[:, :k]
    recs = pl.DataFrame(
        {
            "user_id": np.repeat(np.arange(n_users), k),
            "item_id": order.ravel(),
            "rank": np.tile(np.arange(1, k + 1), n_users),
        }
    )
    users, items = np.nonzero(relevance)
    truth = pl.DataFrame({"user_id": users, "item_id": items})
    result = ranking_metrics(recs, truth, k=k).sort("user_id")
    for u in range(n_users):
        expected = _reference(order[u].tolist(), set(np.flatnonzero(relevance[u])), k)
        row = result.row(u, named=True)
        for name, value in expected.items():
            assert row[f"{name}@{k}"] == pytest.approx(value), (u, name)
        sk = ndcg_score(relevance[u : u + 1], scores[u : u + 1], k=k)
        assert row[f"ndcg@{k}"] == pytest.approx(sk), u


def test_perfect_lists_on_real_data(ml_small) -> None:
    truth = ml_small.ratings.filter(pl.col("rating") >= 4.5).select("user_id", "item_id")
    recs = truth.with_columns(pl.int_range(1, pl.len() + 1).over("user_id").alias("rank"))
    result = ranking_metrics(recs, truth, k=10, recall_denominator="min_k")
    summary = aggregate(result)
    assert summary["n_users"] == truth["user_id"].n_unique()
    for name in ("ndcg@10", "map@10", "recall@10", "mrr@10", "hit_rate@10"):
        assert summary[name] == pytest.approx(1.0), name
    # precision@10 is below 1 exactly for users with fewer than 10 relevant items
    capped = result["n_relevant"].clip(upper_bound=10) / 10
    assert result["precision@10"].to_list() == pytest.approx(capped.to_list())


@pytest.mark.parametrize(
    ("recs_rows", "expected"),
    [
        # tied ranks used to give precision@2 = 1.5 and MAP = 2.25
        ({"user_id": [1, 1, 1], "item_id": [10, 11, 12], "rank": [1, 1, 2]}, "repeat a rank"),
        # a duplicated item used to give recall = 2.0
        ({"user_id": [1, 1], "item_id": [10, 10], "rank": [1, 2]}, "repeat a item"),
        # ranks from 0 used to give nDCG = inf
        ({"user_id": [1, 1], "item_id": [10, 11], "rank": [0, 1]}, "ranks from 1"),
        ({"user_id": [1], "item_id": [10], "rank": [1.5]}, "integer ranks"),
        ({"user_id": [1, 1], "item_id": [10, 11], "rank": [1, None]}, "without nulls"),
    ],
    ids=["tied-ranks", "duplicate-item", "rank-zero", "float-rank", "null-rank"],
)
def test_malformed_recommendations_are_refused(recs_rows: dict, expected: str) -> None:
    truth = pl.DataFrame({"user_id": [1, 1], "item_id": [10, 11]})
    with pytest.raises(DataError, match=expected):
        ranking_metrics(pl.DataFrame(recs_rows), truth, k=2)


@pytest.mark.parametrize("k", [2.5, "10", True, 0])
def test_the_cut_off_must_be_an_integer(recs: pl.DataFrame, truth: pl.DataFrame, k) -> None:
    with pytest.raises(ConfigError, match="k must be a positive integer"):
        ranking_metrics(recs, truth, k=k)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda r, t: ranking_metrics(r.to_pandas(), t, k=2), ArgumentError,
     r"recommendations must be a polars DataFrame, got pandas\.DataFrame"),
    (lambda r, t: ranking_metrics(r, t.to_pandas(), k=2), ArgumentError,
     r"truth must be a polars DataFrame"),
    (lambda r, t: ranking_metrics(r, t.with_columns(pl.col("item_id").cast(pl.Utf8)), k=2),
     DataError, r"truth column\(s\) \{'item_id': 'String'\} are not numeric"),
    (lambda r, t: ranking_metrics(r, t, k=2, users=["a"]), ArgumentError,
     "users must be integer ids"),
    (lambda r, t: catalog_coverage(r, "5"), ConfigError, "n_items must be a positive int, got '5'"),
])
def test_careless_inputs_are_refused_instead_of_scored(call, error: type, message: str) -> None:
    recs = pl.DataFrame({"user_id": [1, 1], "item_id": [10, 11], "rank": [1, 2]})
    truth = pl.DataFrame({"user_id": [1], "item_id": [10]})
    with pytest.raises(error, match=message):  # text ids used to score 0 hits silently
        call(recs, truth)
