"""Known-answer tests of the drift checks (hand-computed PSI, JS, shares, churn)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from recsys.data.types import Dataset
from recsys.errors import ArgumentError, ConfigError, DataError
from recsys.evaluation.metrics import catalog_coverage
from recsys.monitoring.drift import (
    DriftCheck,
    DriftThresholds,
    activity_histogram,
    drift_report,
    jensen_shannon,
    new_share,
    popularity_decile_histograms,
    psi,
    rating_histogram,
    recommendation_popularity,
    topn_churn,
)

# 0.5 -> 0.25/0.75: (0.25-0.5)ln(0.5) + (0.75-0.5)ln(1.5) = 0.173287 + 0.101366
PSI_HALF_TO_QUARTER = 0.25 * math.log(2) + 0.25 * math.log(1.5)


def ratings(rows: list[tuple[int, int, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["user_id", "item_id", "rating"], orient="row")


def recs(rows: list[tuple[int, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["user_id", "item_id", "rank"], orient="row")


def test_psi_known_answer() -> None:
    assert psi([50, 50], [25, 75]) == pytest.approx(0.274653, abs=1e-6)
    assert psi([50, 50], [25, 75]) == pytest.approx(PSI_HALF_TO_QUARTER)
    assert psi([1, 2, 3], [10, 20, 30]) == pytest.approx(0.0)


def test_psi_floors_empty_bins_at_epsilon() -> None:
    # p = (1, 1e-4 floor), q = (0.5, 0.5): (0.5-1)ln(0.5) + (0.5-1e-4)ln(0.5/1e-4)
    expected = -0.5 * math.log(0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert psi([10, 0], [5, 5]) == pytest.approx(expected)


def test_jensen_shannon_known_answers() -> None:
    assert jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)
    assert jensen_shannon([5, 5], [5, 5]) == pytest.approx(0.0)
    # m = (0.375, 0.625); KL(p|m) = 0.0465546, KL(q|m) = 0.0510352 (base 2)
    assert jensen_shannon([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.0487949, abs=1e-6)


def test_histograms_reject_bad_input() -> None:
    with pytest.raises(DataError, match="non-empty"):
        psi([0, 0], [1, 1])
    with pytest.raises(DataError, match="different bins"):
        psi([1, 1], [1, 1, 1])
    with pytest.raises(DataError, match="outside 0.5-5.0"):
        rating_histogram(pl.Series([3.0, 6.0]))


@pytest.mark.parametrize(("call", "error", "message"), [
    # NaN counts used to give a PSI of nan and a Jensen-Shannon divergence of 0.0
    (lambda: psi([0.5, float("nan")], [0.5, 0.5]), DataError, "finite counts"),
    (lambda: jensen_shannon([0.5, float("nan")], [0.5, 0.5]), DataError, "finite counts"),
    (lambda: psi(["a"], ["b"]), DataError, "must hold numbers"),
    (lambda: psi([1, 2], [2, 1], epsilon=-1), ConfigError, "epsilon must be a share"),
    (lambda: rating_histogram([4.0, 3.0]), DataError, "numeric polars Series, got list"),
    (lambda: rating_histogram(pl.Series(["4"])), DataError, "numeric polars Series"),
    (lambda: rating_histogram(pl.Series([4.0, None])), DataError, "missing or outside"),
    (lambda: topn_churn(recs([(1, 1, 1)]), recs([(1, 1, 1)]), k=0), ArgumentError,
     "k must be a positive integer"),
    (lambda: topn_churn(recs([(1, 1, 1)]).to_pandas(), recs([(1, 1, 1)])), ArgumentError,
     "previous recommendations must be a polars DataFrame"),
    (lambda: recommendation_popularity(recs([(1, 1, 1)]), ratings([(1, 1, 4.0)]).head(0)),
     DataError, "ratings frame is empty"),
    (lambda: drift_report(ratings([(1, 1, 4.0)]).to_pandas(), ratings([(1, 1, 4.0)])),
     ArgumentError, "reference must be a polars DataFrame"),
])
def test_careless_inputs_are_named_instead_of_scored(call, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_rating_histogram_uses_half_star_bins() -> None:
    hist = rating_histogram(pl.Series([0.5, 1.0, 1.0, 4.5, 5.0, 3]))
    assert hist.tolist() == [1, 2, 0, 0, 0, 1, 0, 0, 1, 1]


def test_rating_psi_in_report_matches_hand_value() -> None:
    reference = ratings([(1, 1, 1.0), (1, 2, 1.0), (2, 1, 5.0), (2, 2, 5.0)])
    current = ratings([(1, 1, 1.0), (1, 2, 5.0), (2, 1, 5.0), (2, 2, 5.0)])
    report = drift_report(reference, current)
    # the eight empty half-star bins contribute (eps - eps) ln 1 = 0
    assert report["rating_psi"].score == pytest.approx(PSI_HALF_TO_QUARTER)
    assert report["rating_psi"].alert  # 0.2747 > 0.2
    assert report["rating_psi"].reference == pytest.approx(3.0)
    assert report["rating_psi"].current == pytest.approx(4.0)


def test_popularity_deciles_rank_by_reference_count_then_id() -> None:
    # ten items -> one decile each; item 1 rated 4x, item 2 3x, items 3..10 once
    rows = [(u, 1, 4.0) for u in range(4)] + [(u, 2, 4.0) for u in range(3)]
    rows += [(9, item, 3.0) for item in range(3, 11)]
    current = ratings([(1, 1, 3.0), (2, 2, 3.0), (3, 10, 3.0)] + [(4, 99, 3.0)] * 5)
    ref_hist, cur_hist = popularity_decile_histograms(ratings(rows), current)
    assert ref_hist.tolist() == [4, 3, 1, 1, 1, 1, 1, 1, 1, 1]
    assert cur_hist.tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0, 1]  # new item 99 left out


def test_activity_histogram_uses_log2_bins() -> None:
    counts = {1: 1, 2: 2, 3: 3, 4: 4, 5: 8}
    frame = ratings([(u, i, 3.0) for u, n in counts.items() for i in range(n)])
    assert activity_histogram(frame)[:5].tolist() == [1, 2, 1, 1, 0]


def test_new_share_counts_distinct_ids() -> None:
    assert new_share(pl.Series([1, 2, 3, 3]), pl.Series([2, 3, 4, 5, 5])) == pytest.approx(0.5)


def test_output_drift_known_answers() -> None:
    train = ratings([(u, 1, 4.0) for u in range(1, 5)] + [(1, 2, 3.0), (2, 2, 3.0), (1, 3, 2.0)])
    served = recs([(1, 1, 1), (1, 2, 2), (2, 3, 1), (2, 99, 2)])
    assert recommendation_popularity(served, train) == pytest.approx((1 + 0.5 + 0.25 + 0) / 4)
    assert catalog_coverage(served, 8) == pytest.approx(0.5)
    previous = recs([(1, 1, 1), (1, 2, 2), (2, 3, 1), (2, 4, 2), (1, 7, 3)])
    current = recs([(1, 2, 1), (1, 5, 2), (2, 4, 1), (2, 3, 2), (3, 9, 1)])
    # user 1: {1,2} vs {2,5} -> 1/3; user 2: identical -> 1; user 3 only in current
    assert topn_churn(previous, current, k=2) == pytest.approx(1 - (1 / 3 + 1) / 2)
    assert topn_churn(previous, previous, k=2) == pytest.approx(0.0)


def test_report_of_identical_data_has_no_drift(ml_small: Dataset) -> None:
    frame = ml_small.ratings
    report = drift_report(frame, frame)
    assert not report.alert
    assert max(report.scores().values()) == pytest.approx(0.0, abs=1e-12)


def test_shifted_ratings_raise_the_rating_alert_only(ml_small: Dataset) -> None:
    reference = ml_small.ratings
    current = reference.with_columns((pl.col("rating") - 1.5).clip(0.5, 5.0))
    report = drift_report(reference, current)
    assert report.alerts() == ["rating_psi"]
    assert report["rating_psi"].score > 1.0
    assert report["new_items_share"].score == 0.0


def test_report_with_model_outputs(ml_small: Dataset) -> None:
    frame = ml_small.ratings
    ranked = frame.group_by("item_id").len().sort(["len", "item_id"], descending=[True, False])
    top = ranked["item_id"].head(13).to_numpy()
    users = frame["user_id"].unique().head(50).to_numpy()

    def lists(items: np.ndarray) -> pl.DataFrame:
        return pl.DataFrame({"user_id": np.repeat(users, 10), "item_id": np.tile(items, 50),
                             "rank": np.tile(np.arange(1, 11), 50)})

    report = drift_report(frame, frame, previous_recs=lists(top[:10]), current_recs=lists(top[3:]))
    assert report["topn_churn"].score == pytest.approx(1 - 7 / 13)  # 7 shared of 13 distinct
    assert report["topn_churn"].alert is False  # 0.4615 <= 0.5
    assert report["coverage_shift"].score == 0.0  # ten distinct items on both sides
    assert report["rec_popularity_shift"].current < report["rec_popularity_shift"].reference


def test_thresholds_fail_loudly() -> None:
    with pytest.raises(ConfigError, match="unknown drift check"):
        DriftThresholds.from_mapping({"rating_pis": 0.1})
    with pytest.raises(ConfigError, match=">= 0"):
        DriftThresholds.from_mapping({"rating_psi": -1})
    assert DriftThresholds.from_mapping({"rating_psi": 0.5}).rating_psi == 0.5


def test_alert_is_strictly_above_threshold() -> None:
    assert not DriftCheck("x", 0.2, 0.2).alert
    assert DriftCheck("x", 0.2000001, 0.2).alert


def test_report_needs_both_recommendation_frames(ml_small: Dataset) -> None:
    with pytest.raises(DataError, match="both"):
        drift_report(ml_small.ratings, ml_small.ratings, previous_recs=recs([(1, 1, 1)]))
    with pytest.raises(DataError, match="empty"):
        drift_report(ml_small.ratings, ml_small.ratings.head(0))
