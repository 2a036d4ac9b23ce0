"""The benchmark lab: a small benchmark launched from the app, run in a background thread.

:func:`lab_spec` is the lab's protocol (an 80/20 random holdout per user, top-10 metrics, one
seed); :class:`LabRunner` runs one job at a time in a daemon thread and reports progress, so
the app stays responsive while :func:`run_lab` fits and evaluates each model.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recsys.arguments import check_cutoff
from recsys.errors import ArgumentError, ConfigError, RecsysError
from recsys.settings import Settings, get_settings

__all__ = [
    "LAB_METRICS",
    "LAB_PROTOCOL",
    "LabJob",
    "LabRunner",
    "lab_folder",
    "lab_spec",
    "run_lab",
]

log = logging.getLogger(__name__)

LAB_METRICS = ["ndcg@10", "recall@10", "precision@10", "coverage@10", "novelty@10"]
LAB_PROTOCOL = "80/20 random holdout per user, top-10 metrics, one seed"


def lab_folder(settings: Settings) -> Path:
    """Where lab runs write their results folders (``<data_dir>/lab``)."""
    return settings.data_dir / "lab"


@dataclass
class LabJob:
    """One benchmark launched from the lab: its state, progress and results folder."""

    id: str
    dataset: str
    models: list[str]
    state: str = "queued"  # queued, running, done, failed
    progress: float = 0.0
    message: str = "Waiting to start"
    folder: Path | None = None
    error: str = ""
    started: float = field(default_factory=time.time)


def lab_spec(dataset: str, models: Sequence[str], name: str) -> Any:
    """A small benchmark of :data:`LAB_PROTOCOL`."""
    from recsys.bench.spec import BenchmarkSpec

    return BenchmarkSpec.from_dict({
        "name": name, "dataset": dataset,
        "description": f"Launched from the app's benchmark lab on {dataset}.",
        "protocol": {"kind": "random_holdout", "params": {"test_fraction": 0.2}},
        "seeds": [42], "k": [10], "metrics": LAB_METRICS,
        "models": [{"name": m, "label": m} for m in models],
    })


class LabRunner:
    """Runs one small benchmark at a time in a daemon thread; the page polls :meth:`job`."""

    def __init__(self, settings: Settings | None = None, max_models: int = 4) -> None:
        self.settings = settings or get_settings()
        self.max_models = check_cutoff(max_models, "max_models")
        self._jobs: dict[str, LabJob] = {}
        self._lock = threading.Lock()

    def busy(self) -> bool:
        """True while a job is queued or running."""
        with self._lock:
            return any(j.state in ("queued", "running") for j in self._jobs.values())

    def submit(self, dataset: str, models: Sequence[str]) -> LabJob:
        """Start a benchmark of ``models`` on ``dataset``; one at a time, at most max_models."""
        from recsys.models import available_models
        from recsys.models.registry import missing_library

        if isinstance(models, str) or not isinstance(models, Sequence):
            raise ArgumentError(f"models must be a list of model names, got {models!r}")
        if not models:
            raise ConfigError("Pick at least one model to benchmark")
        if len(models) > self.max_models:
            raise ConfigError(f"At most {self.max_models} models per lab run, got {len(models)}")
        unknown = sorted(set(models) - set(available_models()))
        if unknown:
            raise ConfigError(f"Unknown model(s) {unknown}")
        missing = [message for model in models if (message := missing_library(model))]
        if missing:
            raise ConfigError("; ".join(missing))
        if self.busy():
            raise ConfigError("A benchmark is already running: wait for it to finish")
        job = LabJob(uuid.uuid4().hex[:8], dataset, list(models))
        with self._lock:
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job,), name=f"lab-{job.id}", daemon=True).start()
        return job

    def job(self, job_id: str) -> LabJob | None:
        """A snapshot of the job ``job_id`` (None if unknown)."""
        with self._lock:
            job = self._jobs.get(job_id)
            return dataclasses.replace(job) if job else None

    def _update(self, job: LabJob, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(job, key, value)

    def _run(self, job: LabJob) -> None:
        try:
            self._update(job, state="running", message="Loading the dataset")
            job_folder = run_lab(job.dataset, job.models, self.settings, f"lab-{job.id}",
                                 lambda f, m: self._update(job, progress=f, message=m))
            self._update(job, state="done", progress=1.0, folder=job_folder, message="Done")
        except RecsysError as error:
            self._update(job, state="failed", error=str(error), message="Failed")
        except Exception as error:  # a thread must report, not die silently
            log.exception("lab job %s failed", job.id)
            self._update(job, state="failed", error=f"{type(error).__name__}: {error}",
                          message="Failed")


def run_lab(dataset_name: str, models: Sequence[str], settings: Settings, name: str,
            progress: Callable[[float, str], None]) -> Path:
    """Run the lab's spec through the benchmark runner (one evaluation, one significance
    analysis, as every benchmark) and write its results folder."""
    from recsys.bench.report import write_results
    from recsys.bench.runner import run_benchmark
    from recsys.data.load import load_dataset
    from recsys.models.neural import epoch_listener

    dataset = load_dataset(dataset_name, settings)
    current = [0, ""]  # the model being fitted: its index and label

    def step(index: int, model: str) -> str:
        return f"Fitting and evaluating {model} ({index + 1}/{len(models)})"

    def announce(index: int, model: str) -> None:
        current[:] = index, model
        progress(index / len(models), step(index, model))

    def on_epoch(_: str, epoch: int, epochs: int, point: dict[str, float]) -> None:
        index, model = current
        progress((index + epoch / epochs) / len(models),
                 f"{step(index, model)}: epoch {epoch}/{epochs}, loss {point['loss']:.4g}")

    with epoch_listener(on_epoch):
        result = run_benchmark(lab_spec(dataset_name, models, name), settings, progress=False,
                               tracking=False, dataset=dataset, threads=1, on_model=announce)
    result.context["launched_from"] = "app lab"
    return write_results(result, lab_folder(settings) / name)
