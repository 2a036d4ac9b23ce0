"""Wall time, peak memory, size on disk and single-user latency measurements."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recsys.data.types import Interactions
from recsys.errors import ArgumentError, ConfigError, DataError
from recsys.evaluation.cost import measure, model_size_on_disk, recommend_latency
from recsys.models import create_model


def _allocate(n_bytes: int, pause: float) -> np.ndarray:
    block = np.ones(n_bytes // 8)  # touched, so resident
    time.sleep(pause)
    return block


def test_measure_returns_result_time_and_both_peaks() -> None:
    # 160 MB: the RSS is process-wide, so memory that other threads of the test process free
    # meanwhile (tens of MB) must not hide the allocation
    result, cost = measure(_allocate, 160 * 2**20, pause=0.05)
    assert result.nbytes == 160 * 2**20
    assert cost.seconds >= 0.05
    assert cost.peak_traced_bytes >= 160 * 2**20  # NumPy buffers are traced
    assert cost.peak_rss_delta_bytes >= 100 * 2**20
    assert cost.peak_mb >= 160
    assert set(cost.as_dict()) == {
        "seconds", "peak_traced_bytes", "peak_rss_delta_bytes", "peak_mb"
    }


def test_measure_without_tracing() -> None:
    _, cost = measure(_allocate, 2**20, pause=0.0, trace=False)
    assert cost.peak_traced_bytes is None


def test_model_size_on_disk(tmp_path: Path) -> None:
    (tmp_path / "m" / "sub").mkdir(parents=True)
    (tmp_path / "m" / "a.bin").write_bytes(b"x" * 10)
    (tmp_path / "m" / "sub" / "b.bin").write_bytes(b"x" * 20)
    assert model_size_on_disk(tmp_path / "m") == 30
    assert model_size_on_disk(tmp_path / "m" / "a.bin") == 10
    with pytest.raises(DataError, match="No saved model"):
        model_size_on_disk(tmp_path / "missing")


def test_recommend_latency_on_a_fitted_model() -> None:
    rng = np.random.default_rng(0)
    ratings = pl.DataFrame(
        {
            "user_id": rng.integers(0, 50, 500),
            "item_id": rng.integers(0, 80, 500),
            "rating": np.ones(500),
        }
    ).unique(["user_id", "item_id"])
    train = Interactions.from_frame(ratings)
    model = create_model("most_popular").fit(train)
    latency = recommend_latency(model, train.user_ids, k=5, n=20, seed=1)
    assert latency["n"] == 20
    assert 0 < latency["p50_ms"] <= latency["p95_ms"]
    assert latency["mean_ms"] > 0
    with pytest.raises(ConfigError):
        recommend_latency(model, [], k=5)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"n": 1.5}, "n"),
        ({"n": "5"}, "n"),
        ({"n": 0}, "n"),
        ({"n": True}, "n"),
        ({"k": 0}, "k"),
        ({"seed": -1}, "seed"),
        ({"user_ids": "ab"}, "user_ids"),
        ({"user_ids": [1.5, 2.0]}, "user_ids"),
    ],
)
def test_recommend_latency_refuses_careless_arguments(arguments: dict, named: str) -> None:
    settings = {"user_ids": [1, 2], "k": 5, "n": 3, "seed": 0} | arguments
    with pytest.raises(ArgumentError, match=named):
        recommend_latency(None, **settings)


@pytest.mark.parametrize("path", [None, 3, ["model"]])
def test_model_size_on_disk_refuses_a_path_that_is_not_one(path: object) -> None:
    with pytest.raises(ArgumentError, match="path"):
        model_size_on_disk(path)
