"""The read side of benchmark results: the folders ``recsys bench run`` and the lab write.

:data:`RESULTS_DIR` is the repository's results folder (the CLIs write there by default and the
app reads it); :func:`load_benchmark` reads one folder written by
:func:`recsys.bench.report.write_results` into a typed :class:`BenchmarkRun`, which knows its
metric columns and ranks its models; :func:`headline_metrics` gathers the numbers of the served
models for the app's home page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from recsys.arguments import check_names, check_path
from recsys.bench.spec import lower_is_better
from recsys.errors import ArgumentError, DataError
from recsys.io import read_json_object

__all__ = [
    "RESULTS_DIR",
    "SIGNIFICANCE_COLUMNS",
    "BenchmarkRun",
    "benchmark_folders",
    "headline_metrics",
    "is_metric",
    "load_benchmark",
    "read_summary",
    "read_table",
]

log = logging.getLogger(__name__)

RESULTS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
ERROR_METRICS = ("rmse", "mae")  # rating-prediction metrics (no cut-off in their name)
COST_COLUMNS = ("fit_s", "latency_p50_ms")
# the columns of significance.csv its readers use (the logbook's proofs, the study)
SIGNIFICANCE_COLUMNS = ("metric", "model_a", "model_b", "mean_diff", "p_ttest_holm",
                        "p_wilcoxon_holm", "significant")


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
        """``[model, metric, <the other metrics>, <costs>]``, the best model on ``metric`` first
        (models without a value last); ArgumentError unless ``metric`` is one of
        :attr:`metrics`."""
        if not isinstance(metric, str) or metric not in self.metrics:
            raise ArgumentError(f"metric must be one of this run's metrics {self.metrics}, got "
                                f"{metric!r}")
        columns = ["model", metric, *[m for m in self.metrics if m != metric],
                   *[c for c in COST_COLUMNS if c in self.summary.columns]]
        return self.summary.select(columns).sort(
            metric, descending=not lower_is_better(metric), nulls_last=True)

    def per_user(self) -> pl.DataFrame | None:
        """Per-user metric values (read on demand: the largest file of a run); DataError when
        the file is unreadable."""
        path = self.folder / "per_user.parquet"
        if not path.exists():
            return None
        try:
            return pl.read_parquet(path)
        except (pl.exceptions.PolarsError, OSError) as error:
            raise DataError(f"{path} is not readable Parquet ({type(error).__name__}: {error}):"
                            " rerun the benchmark") from error


def benchmark_folders(*roots: Path) -> list[Path]:
    """Folders holding a ``results.csv`` directly under each root, the newest run first.

    "Newest" is the run's recorded start (``context.json``), not the file time, which a fresh
    checkout sets arbitrarily; folders without a record come last, by name.
    """
    folders = [check_path(root, "root") for root in roots]
    found = [p.parent for root in folders if root.is_dir() for p in root.glob("*/results.csv")]
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
    context = read_json_object(path)
    wrong = [key for key in ("dataset", "peers") if not isinstance(context.get(key, {}), dict)]
    if wrong:
        raise DataError(f"{path}: {wrong} must be objects (a run's context): rerun the benchmark")
    return context


def read_table(path: Path | str, source: Path | bytes, columns: tuple[str, ...]) -> pl.DataFrame:
    """The results CSV at ``path`` (read from ``source``: the path, or its bytes as of a
    commit) holding ``columns``; DataError when it is missing, unreadable or lacks one."""
    try:
        table = pl.read_csv(source)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise DataError(f"{path} is not a benchmark's results table ({type(error).__name__}: "
                        f"{error}): rerun the benchmark") from error
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(f"{path} is not a benchmark's results table (no {', '.join(missing)} "
                        f"column; columns {table.columns[:5]}): rerun the benchmark")
    return table


def read_summary(path: Path | str, source: Path | bytes | None = None) -> pl.DataFrame:
    """The per-model summary in ``results.csv`` at ``path`` (or in ``source``, its bytes as of
    a commit), metric columns as floats with NaN read as missing; DataError when it is
    unreadable, has no ``model`` column, names no model or a metric or cost column holds
    text."""
    table = read_table(path, path if source is None else source, ("model",))
    if table.is_empty():
        raise DataError(f"{path} names no model: rerun the benchmark")
    numbers = [c for c in table.columns if is_metric(c) or c in COST_COLUMNS]
    text = [c for c in numbers if not table[c].dtype.is_numeric()
            and table[c].null_count() < table.height]
    if text:
        raise DataError(f"{path}: column(s) {text} hold text, not numbers: rerun the benchmark")
    floats = [c for c, dtype in table.schema.items() if dtype.is_float() and c not in numbers]
    return table.with_columns(pl.col(numbers).cast(pl.Float64).fill_nan(None),
                              pl.col(floats).fill_nan(None))


def _optional(path: Path, columns: tuple[str, ...]) -> pl.DataFrame | None:
    """An optional results table; None (and a warning when it exists) when unreadable."""
    try:
        return read_table(path, path, columns)
    except DataError as error:
        if path.exists():
            log.warning("%s; shown without it", error)
        return None


def load_benchmark(folder: Path | str) -> BenchmarkRun:
    """Read a results folder; DataError when its ``results.csv`` is missing or unreadable (see
    :func:`read_summary`), or its ``context.json`` is unreadable."""
    folder = check_path(folder, "folder")
    if not (folder / "results.csv").exists():
        raise DataError(f"{folder} holds no benchmark results (results.csv missing)")
    return BenchmarkRun(folder.name, folder, read_summary(folder / "results.csv"),
                        _optional(folder / "segments.csv", ("segment",)),
                        _optional(folder / "significance.csv", SIGNIFICANCE_COLUMNS),
                        _context(folder))


def headline_metrics(dataset: str, folders: list[Path], models: list[str]) -> pl.DataFrame:
    """Benchmark numbers of ``models`` on ``dataset``: ``[model, benchmark, <metrics>]``.

    Rows come from every results folder whose context names ``dataset``; the registry name
    (``name`` column) identifies the model, the benchmark's label is kept for context. A
    damaged folder is left out with a warning (the lab names its error when it is opened), so
    that it does not hide the others.
    """
    wanted = ["ndcg@10", "recall@10", "precision@10", "coverage@10", "rmse", "fit_s"]
    models = check_names(models, "models")
    if not isinstance(folders, list | tuple):
        raise ArgumentError(f"folders must be a list of results folders, got {folders!r}")
    frames = []
    for folder in folders:
        try:
            run = load_benchmark(folder)
        except DataError as error:
            log.warning("benchmark left out of the headline metrics: %s", error)
            continue
        if run.dataset != dataset or "name" not in run.summary.columns:
            continue
        present = [c for c in wanted if c in run.summary.columns]
        frames.append(run.summary.filter(pl.col("name").is_in(models)).select(
            pl.col("name").alias("model"), pl.col("model").alias("label"),
            pl.lit(run.name).alias("benchmark"), *[pl.col(c).cast(pl.Float64) for c in present]))
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
