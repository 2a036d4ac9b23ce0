"""The benchmark lab: one job at a time in a background thread, results on disk."""

from __future__ import annotations

import time

import polars as pl
import pytest

from recsys.data.types import Dataset
from recsys.errors import ConfigError
from recsys.service import LabRunner
from recsys.settings import Settings


def test_lab_runner_runs_in_the_background(ml_100k: Dataset, data_settings: Settings) -> None:
    runner = LabRunner(data_settings)
    job = runner.submit("ml-100k", ["most_popular"])
    with pytest.raises(ConfigError, match="already running"):
        runner.submit("ml-100k", ["most_popular"])
    deadline = time.time() + 120
    while runner.job(job.id).state in ("queued", "running") and time.time() < deadline:
        time.sleep(0.2)
    done = runner.job(job.id)
    assert done.state == "done", done.error
    summary = pl.read_csv(done.folder / "results.csv")
    assert summary["name"].to_list() == ["most_popular"] and summary["ndcg@10"][0] > 0
