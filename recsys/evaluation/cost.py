"""What a model costs: wall time, peak memory, size on disk and single-user latency.

Peak memory is reported two ways because neither is complete on its own:

* ``peak_traced_bytes``: the peak of Python-level allocations seen by ``tracemalloc`` during the
  call (NumPy buffers included; memory allocated by C/C++ libraries that bypass Python's
  allocator, e.g. BLAS work space, faiss or torch, is not).
* ``peak_rss_delta_bytes``: the highest resident set size sampled by a background thread
  minus the RSS before the call (process-wide, so it sees native allocations too, but the
  allocator may reuse freed pages and it misses peaks shorter than the sampling interval).

Tracing slows down code that allocates many small Python objects; pass ``trace=False`` when
the wall time matters more than the traced peak. ``measure`` is not re-entrant: a nested call
resets the peak of the outer one.
"""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

import numpy as np
import psutil

from recsys.arguments import check_count, check_cutoff, check_ids, check_path
from recsys.errors import ConfigError, DataError

__all__ = ["Cost", "PeriodicSampler", "measure", "model_size_on_disk", "recommend_latency"]

T = TypeVar("T")


@dataclass(frozen=True)
class Cost:
    """Resources used by one call: wall seconds and the two peak-memory estimates."""

    seconds: float
    peak_traced_bytes: int | None
    peak_rss_delta_bytes: int

    @property
    def peak_mb(self) -> float:
        """The larger of the two peak estimates, in MiB (each one misses some allocations)."""
        return max(self.peak_traced_bytes or 0, self.peak_rss_delta_bytes) / 2**20

    def as_dict(self) -> dict[str, float | int | None]:
        """Plain dict with ``peak_mb`` added, e.g. for logging to MLflow."""
        return {**asdict(self), "peak_mb": self.peak_mb}


class PeriodicSampler:
    """Calls :meth:`sample` every ``interval`` seconds in a daemon thread while the ``with``
    block runs, and once more at its end; subclasses keep what they sample."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=type(self).__name__,
                                        daemon=True)

    def sample(self) -> None:
        """Take one sample (subclasses)."""
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


class _RssSampler(PeriodicSampler):
    """The peak RSS of this process."""

    def __init__(self, interval: float) -> None:
        super().__init__(interval)
        self._process = psutil.Process()
        self.baseline = self._process.memory_info().rss
        self.peak = self.baseline

    def sample(self) -> None:
        self.peak = max(self.peak, self._process.memory_info().rss)


def measure(
    fn: Callable[..., T], *args: Any, trace: bool = True, interval: float = 0.005, **kwargs: Any
) -> tuple[T, Cost]:
    """Call ``fn(*args, **kwargs)`` and return its result with the wall time and peak memory."""
    started_tracing = trace and not tracemalloc.is_tracing()
    if started_tracing:
        tracemalloc.start()
    try:
        if trace:
            tracemalloc.reset_peak()
            traced_before = tracemalloc.get_traced_memory()[0]
        with _RssSampler(interval) as rss:
            start = time.perf_counter()
            result = fn(*args, **kwargs)
            wall = time.perf_counter() - start
        traced_peak = tracemalloc.get_traced_memory()[1] - traced_before if trace else None
    finally:
        if started_tracing:
            tracemalloc.stop()
    return result, Cost(wall, traced_peak, max(0, rss.peak - rss.baseline))


def model_size_on_disk(path: Path | str) -> int:
    """Bytes taken by a saved model: the file, or every file under the folder."""
    path = check_path(path, "path", "a saved model's path")
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        raise DataError(f"No saved model at {path}: expected a file or a folder")
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def recommend_latency(
    model: Any, user_ids: Sequence[int] | np.ndarray, k: int = 10, n: int = 200, seed: int = 0
) -> dict[str, float]:
    """Time ``n`` single-user ``recommend`` calls on users drawn from ``user_ids``.

    Users are sampled without replacement when there are enough of them; one untimed warm-up
    call comes first. Returns ``p50_ms``, ``p95_ms``, ``mean_ms`` and ``n``.
    """
    ids = check_ids(user_ids, "user_ids")
    k, n, seed = check_cutoff(k, "k"), check_cutoff(n, "n"), check_count(seed, "seed")
    if len(ids) == 0:
        raise ConfigError("Need at least one user to time, got none")
    rng = np.random.default_rng(seed)
    sample = rng.choice(ids, size=n, replace=len(ids) < n)
    model.recommend(sample[:1], k=k)
    timings = np.empty(n)
    for i, user in enumerate(sample):  # single-user calls are what is being timed
        start = time.perf_counter()
        model.recommend([int(user)], k=k)
        timings[i] = time.perf_counter() - start
    timings *= 1000.0
    return {
        "p50_ms": float(np.percentile(timings, 50)),
        "p95_ms": float(np.percentile(timings, 95)),
        "mean_ms": float(timings.mean()),
        "n": n,
    }
