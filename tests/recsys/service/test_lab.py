"""The benchmark lab: one job at a time in a background thread, results on disk."""

from __future__ import annotations

import time

import polars as pl
import pytest

from recsys.data.types import Dataset
from recsys.errors import ArgumentError, ConfigError
from recsys.models import get_model_class
from recsys.service import LabRunner
from recsys.service.lab import run_lab
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


def test_the_lab_reports_each_epoch_of_a_neural_model(
    ml_100k: Dataset, data_settings: Settings
) -> None:
    """Progress moves inside a model trained in epochs, with the epoch and its loss."""
    heard: list[tuple[float, str]] = []
    run_lab("ml-100k", ["most_popular", "mult_dae"], data_settings, "lab-epochs",
            lambda fraction, message: heard.append((fraction, message)))
    epochs = [(f, m) for f, m in heard if "epoch" in m]
    assert len(epochs) == 50 and epochs[-1][0] == 1.0
    assert epochs[0][1].startswith("Fitting and evaluating mult_dae (2/2): epoch 1/50, loss ")
    fractions = [f for f, _ in heard]
    assert fractions == sorted(fractions) and 0.5 < epochs[0][0] < 0.52


def test_the_lab_refuses_a_peer_whose_library_is_missing(
    data_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    peer = get_model_class("peer:cornac.bpr")
    monkeypatch.setattr(peer, "available", classmethod(lambda cls: False))
    with pytest.raises(ConfigError, match="needs cornac"):
        LabRunner(data_settings).submit("ml-100k", ["ease", "peer:cornac.bpr"])


@pytest.mark.parametrize(("models", "max_models", "message"), [
    ("most_popular", 4, "models must be a list of model names"),  # was "got 12" models
    (None, 4, "models must be a list of model names"),
    (["most_popular"], "4", "max_models must be a positive integer"),
    (["most_popular"], 0, "max_models must be a positive integer"),
])
def test_the_lab_refuses_careless_submissions(data_settings: Settings, models: object,
                                              max_models: object, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        LabRunner(data_settings, max_models=max_models).submit("ml-100k", models)
