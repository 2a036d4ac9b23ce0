"""Read-only views for the app: known answers on tiny frames, readers on generated folders."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from prometheus_client import CollectorRegistry, Histogram

from recsys import insights
from recsys.ab.events import daily_series
from recsys.data.types import Dataset
from recsys.errors import UnknownIdError
from recsys.settings import Settings

RATINGS = pl.DataFrame({
    "user_id": [1, 1, 1, 2, 2, 3],
    "item_id": [10, 20, 30, 10, 20, 10],
    "rating": [4.0, 3.0, 5.0, 4.0, 2.0, 4.0],
    "timestamp": [0, 0, 2_678_400, 2_678_400, 31_536_000, 31_536_000],  # Jan, Feb 1970; 1971
})
MOVIES = pl.DataFrame({"item_id": [10, 20, 30],
                       "genres": [["Drama"], ["Comedy", "Drama"], ["Comedy"]]})


def test_rating_distribution() -> None:
    frame = insights.rating_distribution(RATINGS)
    assert frame["rating"].to_list() == [2.0, 3.0, 4.0, 5.0]
    assert frame["count"].to_list() == [1, 1, 3, 1]
    assert frame["share"][2] == pytest.approx(0.5)


def test_long_tail_cumulative_share() -> None:
    items = insights.long_tail(RATINGS, "item_id")
    assert items["id"].to_list() == [10, 20, 30]
    assert items["cumulative_share"].to_list() == pytest.approx([3 / 6, 5 / 6, 1.0])
    users = insights.long_tail(RATINGS, "user_id")
    assert users["count"].to_list() == [3, 2, 1]


def test_ratings_over_time_by_month() -> None:
    frame = insights.ratings_over_time(RATINGS)
    assert frame["ratings"].to_list() == [2, 2, 2]
    assert frame["users"].to_list() == [1, 2, 2]


def test_genre_trends_shares() -> None:
    frame = insights.genre_trends(RATINGS, MOVIES)
    year_1970 = frame.filter(pl.col("year") == 1970)
    # 1970: ratings on 10, 20, 30, 10 -> Drama 3 (10, 20, 10), Comedy 2 (20, 30) of 4.
    assert dict(zip(year_1970["genre"], year_1970["share"], strict=True)) == {
        "Comedy": 0.5, "Drama": 0.75}


def test_movie_tags_counts_user_tags(ml_small: Dataset) -> None:
    tags = insights.movie_tags(ml_small, 296)  # Pulp Fiction: the most tagged movie
    assert tags.height == 15 and tags["weight"].is_sorted(descending=True)
    assert tags["source"][0] == "users who applied it"
    with pytest.raises(UnknownIdError):
        insights.movie_tags(ml_small, -1)


def test_histogram_quantile_matches_prometheus() -> None:
    bounds = np.array([0.1, 0.2, 0.4])
    cumulative = np.array([2.0, 6.0, 8.0, 10.0])  # the last is +Inf
    # p50: rank 5 inside (0.1, 0.2] holding ranks 2..6 -> 0.1 + 0.1 * 3/4.
    assert insights.histogram_quantile(0.5, bounds, cumulative) == pytest.approx(0.175)
    assert insights.histogram_quantile(0.95, bounds, cumulative) == pytest.approx(0.4)
    assert np.isnan(insights.histogram_quantile(0.5, bounds, np.zeros(4)))


def test_latency_summary_reads_a_registry() -> None:
    registry = CollectorRegistry()
    latency = Histogram("recsys_recommend_latency_seconds", "t", ["model"],
                        buckets=(0.01, 0.1), registry=registry)
    for seconds in (0.005, 0.05, 0.05, 0.05):
        latency.labels(model="ease").observe(seconds)
    frame = insights.latency_summary(registry)
    assert frame["model"].to_list() == ["ease"] and frame["requests"][0] == 4
    assert frame["mean_ms"][0] == pytest.approx(38.75)
    assert frame["p50_ms"][0] == pytest.approx(10 + 90 * (2 - 1) / 3)


def test_arm_rates_wilson_interval() -> None:
    ts = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    exposures = pl.DataFrame({"subject_id": [f"s{i}" for i in range(10)],
                              "arm": ["a"] * 10, "ts": [ts] * 10})
    feedback = pl.DataFrame({"event_type": ["click"] * 5, "arm": ["a"] * 5,
                             "ts": [ts] * 5, "subject_id": ["s0"] * 5})
    rates = insights.arm_rates(daily_series(exposures, feedback))
    assert rates["ctr"][0] == 0.5 and rates["subjects"][0] == 10
    # Wilson 95% for 5/10: 0.2366 .. 0.7634
    assert (rates["ci_low"][0], rates["ci_high"][0]) == pytest.approx((0.2366, 0.7634), abs=1e-4)


def test_pipeline_runs_and_drift_history(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    for run, score in (("2025-01-01", 0.1), ("2025-01-02", 0.3)):
        folder = tmp_path / "runs" / "ml-100k" / run
        (folder / "drift").mkdir(parents=True)
        (folder / "evaluate").mkdir()
        (folder / "gate").mkdir()
        checks = [{"name": "rating_psi", "score": score, "threshold": 0.2, "alert": score > 0.2}]
        (folder / "drift" / "drift.json").write_text(json.dumps({"checks": checks}))
        (folder / "evaluate" / "metrics.json").write_text(json.dumps({"ease": {"ndcg@10": 0.3}}))
        (folder / "gate" / "decision.json").write_text(json.dumps({"promote": True,
                                                                   "reason": "better"}))
    drift = insights.drift_history("ml-100k", settings)
    assert drift["score"].to_list() == [0.1, 0.3] and drift["alert"].to_list() == [False, True]
    runs = insights.pipeline_runs("ml-100k", settings)
    assert runs["challenger"].to_list() == ["ease", "ease"]
    assert runs["drift_alerts"].to_list() == ["", "rating_psi"]
    assert insights.pipeline_runs("ml-1m", settings).is_empty()


def test_mlflow_readers_do_not_create_a_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert insights.mlflow_runs(settings).is_empty()
    assert insights.registered_versions(settings, "recsys-ml-100k").is_empty()
    assert not (tmp_path / "mlflow.db").exists()


def test_benchmark_readers_on_the_repo_results() -> None:
    folders = insights.benchmark_folders(insights.REPO_RESULTS)
    assert any(f.name == "recommenders-ml100k" for f in folders)
    run = insights.load_benchmark(insights.REPO_RESULTS / "recommenders-ml100k")
    assert run.dataset == "ml-100k" and "ndcg@10" in run.summary.columns
    headline = insights.headline_metrics("ml-100k", [run.folder], ["ease"])
    assert headline["model"].to_list() == ["ease"] and headline["ndcg@10"][0] > 0.4
    replays = insights.replay_results()
    assert "ab-replay-ml-latest-small" in replays
