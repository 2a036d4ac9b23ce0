"""The read side of benchmark results: the folders ``recsys bench run`` and the lab write.

:data:`RESULTS_DIR` is the repository's results folder (the CLIs write there by default and the
app reads it); :func:`load_benchmark` reads one folder written by
:func:`recsys.bench.report.write_results` into a typed :class:`BenchmarkRun`, which knows its
metric columns and ranks its models; :func:`headline_metrics` gathers the numbers of the served
models for the app's home page.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from recsys.bench.spec import lower_is_better
from recsys.errors import DataError

__all__ = [
    "RESULTS_DIR",
    "BenchmarkRun",
    "benchmark_folders",
    "headline_metrics",
    "is_metric",
    "load_benchmark",
]

log = logging.getLogger(__name__)

RESULTS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
ERROR_METRICS = ("rmse", "mae")  # rating-prediction metrics (no cut-off in their name)
COST_COLUMNS = ("fit_s", "latency_p50_ms")


def is_metric(column: str) -> bool:
    """True for a metric column of a summary (``ndcg@10``, ``rmse``), not its ``_std``."""
    return ("@" in column or column in ERROR_METRICS) and not column.endswith("_std")


@dataclass(frozen=True)
class BenchmarkRun:
    """One results folder written by ``recsys bench run`` or the app's lab."""

    name: str
    folder: Path
    summary: pl.DataFrame
    segments: pl.DataFrame | None
    significance: pl.DataFrame | None
    context: dict[str, Any]

    @property
    def dataset(self) -> str:
        """Name of the dataset the benchmark ran on."""
        return str(self.context.get("dataset", {}).get("name", "?"))

    def side(self, model: str) -> str:
        """``ours``, or ``peer: <library> <version>`` for a peer row (from the run's context)."""
        peer = self.context.get("peers", {}).get(model)
        return f"peer: {peer['library']} {peer['version']}" if peer else "ours"

    @property
    def metrics(self) -> list[str]:
        """The summary's metric columns that hold a value for at least one model."""
        return [c for c in self.summary.columns
                if is_metric(c) and self.summary[c].null_count() < self.summary.height]

    @property
    def headline(self) -> str | None:
        """The metric to open on: the spec's first (as its run recorded it), else ndcg@10, else
        the first metric column; None when no metric holds a value."""
        shown = self.metrics
        recorded = self.context.get("metrics") or []
        preferred = [m for m in [*recorded[:1], "ndcg@10"] if m in shown]
        return (preferred or shown or [None])[0]

    def leaderboard(self, metric: str) -> pl.DataFrame:
        """``[model, metric, <the other metrics>, <costs>]``, the best model on ``metric`` first."""
        columns = ["model", metric, *[m for m in self.metrics if m != metric],
                   *[c for c in COST_COLUMNS if c in self.summary.columns]]
        return self.summary.select(columns).sort(
            metric, descending=not lower_is_better(metric), nulls_last=True)

    def per_user(self) -> pl.DataFrame | None:
        """Per-user metric values (read on demand: the largest file of a run)."""
        path = self.folder / "per_user.parquet"
        return pl.read_parquet(path) if path.exists() else None


def benchmark_folders(*roots: Path) -> list[Path]:
    """Folders holding a ``results.csv`` directly under each root, the newest run first.

    "Newest" is the run's recorded start (``context.json``), not the file time, which a fresh
    checkout sets arbitrarily; folders without a record come last, by name.
    """
    found = [p.parent for root in roots if root.is_dir() for p in root.glob("*/results.csv")]
    return sorted(sorted(found, key=lambda p: p.name), key=_run_started, reverse=True)


def _run_started(folder: Path) -> str:
    try:
        return str(_context(folder).get("started", ""))
    except DataError:  # listed last; opening it says what is wrong
        return ""


def _context(folder: Path) -> dict[str, Any]:
    """The run's ``context.json`` (empty when there is none); DataError when unreadable."""
    path = folder / "context.json"
    if not path.exists():
        return {}
    try:
        context = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise DataError(f"{path} is not readable JSON ({error}): rerun the benchmark") from error
    if not isinstance(context, dict):
        raise DataError(f"{path} holds {type(context).__name__}, not a run's context object")
    return context


def _table(path: Path, key: str, required: bool) -> pl.DataFrame | None:
    """A results CSV with column ``key``; DataError when a required one is missing, unreadable
    or without ``key``, None (and a warning) for an optional one that is."""
    try:
        table = pl.read_csv(path)
        if key not in table.columns:
            raise DataError(f"no {key} column (columns {table.columns[:5]})")
        return table
    except (pl.exceptions.PolarsError, OSError, DataError) as error:
        if required:
            raise DataError(f"{path} is not a benchmark's results table ({type(error).__name__}:"
                            f" {error}): rerun the benchmark") from error
        if path.exists():
            log.warning("%s is unreadable (%s); shown without it", path, error)
        return None


def load_benchmark(folder: Path) -> BenchmarkRun:
    """Read a results folder; DataError when its ``results.csv`` is missing, unreadable or
    names no model, or its ``context.json`` is unreadable."""
    if not (folder / "results.csv").exists():
        raise DataError(f"{folder} holds no benchmark results (results.csv missing)")
    return BenchmarkRun(folder.name, folder, _table(folder / "results.csv", "model", True),
                        _table(folder / "segments.csv", "segment", False),
                        _table(folder / "significance.csv", "metric", False), _context(folder))


def headline_metrics(dataset: str, folders: list[Path], models: list[str]) -> pl.DataFrame:
    """Benchmark numbers of ``models`` on ``dataset``: ``[model, benchmark, <metrics>]``.

    Rows come from every results folder whose context names ``dataset``; the registry name
    (``name`` column) identifies the model, the benchmark's label is kept for context.
    """
    wanted = ["ndcg@10", "recall@10", "precision@10", "coverage@10", "rmse", "fit_s"]
    frames = []
    for folder in folders:
        run = load_benchmark(folder)
        if run.dataset != dataset or "name" not in run.summary.columns:
            continue
        present = [c for c in wanted if c in run.summary.columns]
        frames.append(run.summary.filter(pl.col("name").is_in(models)).select(
            pl.col("name").alias("model"), pl.col("model").alias("label"),
            pl.lit(run.name).alias("benchmark"), *[pl.col(c).cast(pl.Float64) for c in present]))
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
