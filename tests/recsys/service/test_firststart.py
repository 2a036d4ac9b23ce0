"""The first start: one background job per dataset, exactly once, failures kept with a reason."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from recsys.data.synth import write_synthetic_release
from recsys.errors import ArgumentError, UnknownDatasetError
from recsys.service import FirstStart, FirstStarts
from recsys.settings import Settings
from recsys.training import trained_models

LIGHT = {"most_popular": {}, "item_knn": {"k": 20, "top_k_only": True}}


def wait(jobs: FirstStarts, dataset: str, timeout_s: float = 120) -> FirstStart:
    """Poll until the first start of ``dataset`` is no longer running."""
    deadline = time.monotonic() + timeout_s
    while (status := jobs.status(dataset)).state == "running":
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    return status


@pytest.fixture
def settings(mirror_dir: Path, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", data_mirror=mirror_dir)


def test_many_visitors_start_one_job_that_trains_every_model(settings: Settings) -> None:
    jobs = FirstStarts(settings, LIGHT)
    assert jobs.status("ml-100k").state == "waiting"
    assert jobs.status("ml-100k").missing == ("most_popular", "item_knn")
    visitors = [threading.Thread(target=jobs.ensure, args=("ml-100k",)) for _ in range(12)]
    for visitor in visitors:
        visitor.start()
    for visitor in visitors:
        visitor.join()
    assert jobs.status("ml-100k").state in ("running", "ready")
    status = wait(jobs, "ml-100k")
    assert status.ready and status.missing == () and status.progress == 1.0
    assert jobs.started == 1
    assert sorted(c.name for c in trained_models("ml-100k", settings)) == sorted(LIGHT)
    assert jobs.ensure("ml-100k").ready and jobs.started == 1  # ready: nothing more to do
    again = FirstStarts(settings, LIGHT)  # a restarted server finds the models on disk
    assert again.status("ml-100k").ready and again.ensure("ml-100k").ready
    assert again.started == 0


def test_a_failed_first_start_keeps_its_reason_until_retried(settings: Settings) -> None:
    jobs = FirstStarts(settings, {"most_popular": {}})
    jobs.ensure("synthetic-demo")  # not generated yet: the job fails
    failed = wait(jobs, "synthetic-demo")
    assert failed.state == "failed" and "recsys data synth" in failed.error
    assert jobs.ensure("synthetic-demo").state == "failed" and jobs.started == 1  # no loop
    write_synthetic_release(settings.data_dir / "raw" / "synthetic-demo", 40, 60, 800, seed=1)
    jobs.retry("synthetic-demo")
    assert wait(jobs, "synthetic-demo").ready and jobs.started == 2


def test_an_unknown_dataset_is_refused(settings: Settings) -> None:
    with pytest.raises(UnknownDatasetError, match="ml-latest-small"):
        FirstStarts(settings).ensure("no-such-release")


@pytest.mark.parametrize(("dataset", "error"), [("no-such-release", UnknownDatasetError),
                                                (None, ArgumentError)])
def test_the_status_of_an_unknown_dataset_is_refused(settings: Settings, dataset: object,
                                                     error: type[Exception]) -> None:
    with pytest.raises(error, match="ml-latest-small"):
        FirstStarts(settings, models={}).status(dataset)  # was "ready" with no models to train
