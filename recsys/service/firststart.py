"""The first start of a dataset: one background job per dataset, shared by every visitor.

Streamlit reruns a session's script on every interaction and drops the run when the visitor
navigates away, so work that must finish cannot live in a script run. :class:`FirstStarts`
(one per process; the app keeps it in ``st.cache_resource``) runs :func:`prepare_dataset` in a
daemon thread at most once per dataset, keeps its progress for every session to read, and keeps
a failure with its reason until someone retries. A file lock beside the models makes the
training happen once even when several server processes share a data dir.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from recsys.data.fetch import raw_dir
from recsys.data.manifest import MANIFEST_NAME
from recsys.data.releases import get_release
from recsys.service.catalog import prepare_dataset
from recsys.settings import Settings
from recsys.training import demo_models, models_dir, trained_models

__all__ = ["FirstStart", "FirstStarts", "missing_models"]

log = logging.getLogger(__name__)

State = Literal["ready", "running", "failed", "waiting"]


@dataclass(frozen=True)
class FirstStart:
    """What a visitor sees of a dataset's first start."""

    dataset: str
    state: State
    progress: float
    message: str
    missing: tuple[str, ...]  # default models not trained yet
    error: str = ""

    @property
    def ready(self) -> bool:
        """True when the dataset is fetched and every default model is trained."""
        return self.state == "ready"


@dataclass
class _Job:
    state: State = "running"
    progress: float = 0.0
    message: str = "Starting"
    error: str = ""
    thread: threading.Thread | None = field(default=None, repr=False)


def missing_models(dataset: str, models: Mapping[str, Any], settings: Settings) -> list[str]:
    """Names in ``models`` not trained on ``dataset`` yet (all of them before it is fetched)."""
    if not (raw_dir(dataset, settings) / MANIFEST_NAME).exists():
        return list(models)
    trained = {card.name for card in trained_models(dataset, settings)}
    return [name for name in models if name not in trained]


@contextmanager
def _process_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``: one server process trains a dataset at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class FirstStarts:
    """Process-wide registry of first starts: fetch and train each dataset exactly once.

    ``models`` defaults to :func:`recsys.training.demo_models`. :meth:`ensure` starts the job
    of a dataset that is not ready (a no-op while it runs, once it is ready, or after it
    failed); :meth:`status` reports it; :meth:`retry` restarts a failed one. ``started``
    counts the jobs this registry launched.
    """

    def __init__(self, settings: Settings, models: Mapping[str, Mapping[str, Any]] | None = None
                 ) -> None:
        self.settings = settings
        chosen = demo_models(settings) if models is None else models
        self.models = {name: dict(params) for name, params in chosen.items()}
        self.started = 0
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()

    def status(self, dataset: str) -> FirstStart:
        """The first start of ``dataset`` as every session sees it."""
        get_release(dataset)  # an unknown name fails here, with the known ones listed
        with self._lock:
            job = self._jobs.get(dataset)
            if job is not None and job.state in ("running", "failed"):
                missing = missing_models(dataset, self.models, self.settings)
                return FirstStart(dataset, job.state, job.progress, job.message, tuple(missing),
                                  job.error)
        missing = missing_models(dataset, self.models, self.settings)
        if missing:
            return FirstStart(dataset, "waiting", 0.0, "Not started", tuple(missing))
        return FirstStart(dataset, "ready", 1.0, "Ready", ())

    def ensure(self, dataset: str) -> FirstStart:
        """Start ``dataset``'s first start unless it is ready, running or failed."""
        get_release(dataset)  # an unknown name fails here, with the known ones listed
        with self._lock:
            job = self._jobs.get(dataset)
            busy = job is not None and job.state in ("running", "failed")
            if not busy and missing_models(dataset, self.models, self.settings):
                self._launch(dataset)
        return self.status(dataset)

    def retry(self, dataset: str) -> FirstStart:
        """Forget a failed first start of ``dataset`` and start it again."""
        with self._lock:
            job = self._jobs.get(dataset)
            if job is not None and job.state == "failed":
                del self._jobs[dataset]
        return self.ensure(dataset)

    def _launch(self, dataset: str) -> None:
        job = _Job()
        job.thread = threading.Thread(target=self._run, args=(dataset, job),
                                      name=f"first-start-{dataset}", daemon=True)
        self._jobs[dataset] = job
        self.started += 1
        job.thread.start()

    def _run(self, dataset: str, job: _Job) -> None:
        def report(fraction: float, message: str) -> None:
            with self._lock:
                job.progress, job.message = fraction, message

        try:
            with _process_lock(models_dir(dataset, self.settings).parent / f"{dataset}.lock"):
                prepare_dataset(dataset, self.settings, self.models, progress=report)
        except Exception as error:  # noqa: BLE001 (a background job: the reason goes to the UI)
            log.exception("first start of %s failed", dataset)
            with self._lock:
                job.state, job.error = "failed", f"{type(error).__name__}: {error}"
            return
        with self._lock:
            job.state, job.progress, job.message = "ready", 1.0, "Ready"
