"""Known-answer tests for RMSE / MAE per user and the global rating summary."""

from __future__ import annotations

import math

import polars as pl
import pytest
from sklearn.metrics import explained_variance_score, r2_score

from recsys.errors import DataError
from recsys.evaluation.metrics import aggregate, rating_metrics, rating_summary


@pytest.fixture
def predictions() -> pl.DataFrame:
    # errors (prediction - rating): user 1: -0.5, 0.0; user 2: -2.0
    return pl.DataFrame(
        {
            "user_id": [1, 1, 2],
            "item_id": [10, 11, 10],
            "rating": [4.0, 3.0, 5.0],
            "prediction": [3.5, 3.0, 3.0],
        }
    )


def test_per_user(predictions: pl.DataFrame) -> None:
    result = rating_metrics(predictions)
    assert result["user_id"].to_list() == [1, 2]
    assert result["rmse"].to_list() == pytest.approx([math.sqrt(0.25 / 2), 2.0])
    assert result["mae"].to_list() == pytest.approx([0.25, 2.0])
    assert result["n"].to_list() == [2, 1]
    # the per-user mean differs from the global RMSE: (0.353553 + 2) / 2
    assert aggregate(result)["rmse"] == pytest.approx((math.sqrt(0.125) + 2) / 2)


def test_global_summary(predictions: pl.DataFrame) -> None:
    summary = rating_summary(predictions)
    assert summary["rmse"] == pytest.approx(math.sqrt(4.25 / 3))  # (0.25 + 0 + 4) / 3
    assert summary["mae"] == pytest.approx(2.5 / 3)
    # Var(rating) = ((0)² + (-1)² + 1²) / 3 = 2/3;  R² = 1 - (4.25/3) / (2/3) = -1.125
    assert summary["r2"] == pytest.approx(-1.125)
    # Var(error) = ((1/3)² + (5/6)² + (-7/6)²) / 3 = 13/18; EV = 1 - (13/18)/(2/3) = -1/12
    assert summary["explained_variance"] == pytest.approx(-1 / 12)
    assert summary["n"] == 3
    y, p = predictions["rating"].to_numpy(), predictions["prediction"].to_numpy()
    assert summary["r2"] == pytest.approx(r2_score(y, p))
    assert summary["explained_variance"] == pytest.approx(explained_variance_score(y, p))


def test_non_finite_predictions_raise(predictions: pl.DataFrame) -> None:
    broken = predictions.with_columns(pl.Series("prediction", [3.0, None, float("nan")]))
    with pytest.raises(DataError, match="non-finite"):
        rating_metrics(broken)


def test_empty_summary_raises(predictions: pl.DataFrame) -> None:
    with pytest.raises(DataError, match="empty"):
        rating_summary(predictions.clear())
