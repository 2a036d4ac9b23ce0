"""Read-only views for the app: data statistics, benchmark and A/B results, monitoring.

Pure functions over polars frames (rating distribution, long tails, ratings over time, genre
trends, tags of a movie) and small readers of what other parts of the product wrote:
benchmark result folders, offline A/B replay results, retraining-pipeline runs (metrics, gate
decisions, drift), MLflow runs and registered model versions, and the live Prometheus latency
histogram. Readers never create anything: a missing source gives an empty answer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from prometheus_client import CollectorRegistry

from recsys.data.types import Dataset
from recsys.errors import DataError, UnknownIdError
from recsys.settings import Settings

__all__ = [
    "REPO_RESULTS",
    "BenchmarkRun",
    "benchmark_folders",
    "drift_history",
    "arm_rates",
    "genre_trends",
    "headline_metrics",
    "histogram_quantile",
    "latency_summary",
    "load_benchmark",
    "long_tail",
    "mlflow_runs",
    "movie_tags",
    "pipeline_runs",
    "rating_distribution",
    "ratings_over_time",
    "registered_versions",
    "replay_results",
]

log = logging.getLogger(__name__)
REPO_RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


# -- data statistics -----------------------------------------------------------------------------
def rating_distribution(ratings: pl.DataFrame) -> pl.DataFrame:
    """``[rating, count, share]`` over the rating values present."""
    counts = ratings.group_by("rating").agg(pl.len().alias("count")).sort("rating")
    return counts.with_columns((pl.col("count") / pl.col("count").sum()).alias("share"))


def long_tail(ratings: pl.DataFrame, by: str = "item_id") -> pl.DataFrame:
    """Ratings per movie (``item_id``) or per user (``user_id``), most first, with the
    cumulative share of all ratings: ``[rank, id, count, cumulative_share]``."""
    if by not in ("item_id", "user_id"):
        raise DataError(f"long_tail groups by item_id or user_id, got {by!r}")
    counts = ratings.group_by(by).agg(pl.len().alias("count")).sort(
        ["count", by], descending=[True, False])
    return counts.select(
        pl.int_range(1, pl.len() + 1).alias("rank"), pl.col(by).alias("id"), "count",
        (pl.col("count").cum_sum() / pl.col("count").sum()).alias("cumulative_share"),
    )


def ratings_over_time(ratings: pl.DataFrame, every: str = "1mo") -> pl.DataFrame:
    """``[period, ratings, mean_rating, users]`` per calendar ``every`` (polars duration)."""
    return (
        ratings.with_columns(pl.from_epoch("timestamp", time_unit="s").alias("when"))
        .sort("when")
        .group_by_dynamic("when", every=every)
        .agg(pl.len().alias("ratings"), pl.col("rating").mean().alias("mean_rating"),
             pl.col("user_id").n_unique().alias("users"))
        .rename({"when": "period"})
    )


def genre_trends(ratings: pl.DataFrame, movies: pl.DataFrame, top: int = 8) -> pl.DataFrame:
    """Share of each year's ratings per genre, for the ``top`` most rated genres.

    ``[year, genre, ratings, share]``; a movie with several genres counts once per genre, the
    share is relative to the year's ratings (so shares of one year can sum above 1).
    """
    dated = ratings.select(
        pl.col("item_id"), pl.from_epoch("timestamp", time_unit="s").dt.year().alias("year"))
    per_year = dated.group_by("year").agg(pl.len().alias("total"))
    by_genre = (
        dated.join(movies.select(pl.col("item_id").cast(dated["item_id"].dtype), "genres"),
                   on="item_id")
        .explode("genres").drop_nulls("genres").rename({"genres": "genre"})
        .group_by("year", "genre").agg(pl.len().alias("ratings"))
    )
    leaders = (by_genre.group_by("genre").agg(pl.col("ratings").sum())
               .sort(["ratings", "genre"], descending=[True, False]).head(top)["genre"])
    return (
        by_genre.filter(pl.col("genre").is_in(leaders.implode()))
        .join(per_year, on="year")
        .with_columns((pl.col("ratings") / pl.col("total")).alias("share"))
        .drop("total").sort("year", "genre")
    )


def movie_tags(dataset: Dataset, item_id: int, top: int = 15) -> pl.DataFrame:
    """What people say about one movie: ``[tag, weight, source]``.

    Tag Genome relevance where the release has it, else how often users applied each tag.
    """
    if item_id not in set(dataset.movies["item_id"].to_list()):
        raise UnknownIdError(f"Movie {item_id} is not in the {dataset.name} catalogue")
    if dataset.genome_scores is not None and dataset.genome_tags is not None:
        return (
            dataset.genome_scores.filter(pl.col("item_id") == item_id)
            .join(dataset.genome_tags, on="tag_id")
            .sort("relevance", descending=True).head(top)
            .select("tag", pl.col("relevance").cast(pl.Float64).alias("weight"),
                    pl.lit("genome relevance").alias("source"))
        )
    if dataset.tags is None:
        return pl.DataFrame(schema={"tag": pl.String(), "weight": pl.Float64(),
                                    "source": pl.String()})
    return (
        dataset.tags.filter(pl.col("item_id") == item_id)
        .group_by(pl.col("tag").str.to_lowercase().str.strip_chars())
        .agg(pl.len().cast(pl.Float64).alias("weight"))
        .sort(["weight", "tag"], descending=[True, False]).head(top)
        .with_columns(pl.lit("users who applied it").alias("source"))
    )


# -- benchmark and A/B results --------------------------------------------------------------------
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
    context = folder / "context.json"
    return str(json.loads(context.read_text()).get("started", "")) if context.exists() else ""


def load_benchmark(folder: Path) -> BenchmarkRun:
    """Read a results folder; DataError when it has no ``results.csv``."""
    if not (folder / "results.csv").exists():
        raise DataError(f"{folder} holds no benchmark results (results.csv missing)")

    def optional(name: str) -> pl.DataFrame | None:
        return pl.read_csv(folder / name) if (folder / name).exists() else None

    context_path = folder / "context.json"
    context = json.loads(context_path.read_text()) if context_path.exists() else {}
    return BenchmarkRun(folder.name, folder, pl.read_csv(folder / "results.csv"),
                        optional("segments.csv"), optional("significance.csv"), context)


def replay_results(root: Path = REPO_RESULTS) -> dict[str, dict[str, Any]]:
    """Offline A/B replays (``ab-replay-*/results.json``) by folder name."""
    if not root.is_dir():
        return {}
    return {p.parent.name: json.loads(p.read_text())
            for p in sorted(root.glob("ab-replay-*/results.json"))}


# -- retraining pipeline and MLflow ---------------------------------------------------------------
def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def pipeline_runs(dataset: str, settings: Settings) -> pl.DataFrame:
    """One row per retraining run of ``dataset`` (``<data_dir>/runs/<dataset>/*``), newest last.

    ``[run, challenger, promoted, reason, <primary metrics of the challenger>, drift_alerts]``.
    """
    root = settings.data_dir / "runs" / dataset
    rows = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        decision = _read_json(folder / "gate" / "decision.json") or {}
        metrics = _read_json(folder / "evaluate" / "metrics.json") or {}
        marker = _read_json(folder / "gate" / "_done.json") or {}
        challenger = marker.get("summary", {}).get("challenger") or (
            max(metrics, key=lambda m: metrics[m].get("ndcg@10", 0)) if metrics else None)
        drift = _read_json(folder / "drift" / "drift.json") or {}
        rows.append({
            "run": folder.name, "challenger": challenger,
            "promoted": decision.get("promote"), "reason": decision.get("reason"),
            **{k: v for k, v in (metrics.get(challenger) or {}).items()
               if isinstance(v, int | float)},
            "drift_alerts": ", ".join(c["name"] for c in drift.get("checks", []) if c["alert"]),
        })
    return pl.DataFrame(rows) if rows else pl.DataFrame()


def drift_history(dataset: str, settings: Settings) -> pl.DataFrame:
    """Drift checks of every retraining run: ``[run, check, score, threshold, alert]``."""
    root = settings.data_dir / "runs" / dataset
    rows = [
        {"run": path.parents[1].name, "check": c["name"], "score": float(c["score"]),
         "threshold": float(c["threshold"]), "alert": bool(c["alert"])}
        for path in sorted(root.glob("*/drift/drift.json")) if root.is_dir()
        for c in json.loads(path.read_text())["checks"]
    ]
    schema = {"run": pl.String(), "check": pl.String(), "score": pl.Float64(),
              "threshold": pl.Float64(), "alert": pl.Boolean()}
    return pl.DataFrame(rows, schema=schema)


def _mlflow_client(settings: Settings) -> Any | None:
    """An MlflowClient when the tracking store exists (a SQLite file is never created here)."""
    uri = settings.tracking_uri
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return None
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def mlflow_runs(settings: Settings, experiment: str = "retrain", limit: int = 20) -> pl.DataFrame:
    """The latest runs of an MLflow experiment: ``[run, name, status, start, <metrics>]``."""
    client = _mlflow_client(settings)
    found = client.get_experiment_by_name(experiment) if client else None
    if found is None:
        return pl.DataFrame()
    runs = client.search_runs([found.experiment_id], max_results=limit,
                              order_by=["attributes.start_time DESC"])
    return pl.DataFrame([
        {"run": r.info.run_id[:8], "name": r.info.run_name, "status": r.info.status,
         "start": r.info.start_time, **r.data.metrics}
        for r in runs
    ]).with_columns(pl.from_epoch("start", time_unit="ms")) if runs else pl.DataFrame()


def registered_versions(settings: Settings, name: str) -> pl.DataFrame:
    """Versions of a registered model: ``[version, model, aliases, created, run, tags]``."""
    client = _mlflow_client(settings)
    if client is None:
        return pl.DataFrame()
    versions = client.search_model_versions(f"name='{name}'")
    if not versions:
        return pl.DataFrame()
    return pl.DataFrame([
        {"version": int(v.version), "model": v.tags.get("model", ""),
         "aliases": ", ".join(getattr(v, "aliases", []) or []),
         "created": v.creation_timestamp, "run": (v.run_id or "")[:8],
         "promote": v.tags.get("gate.promote", "")}
        for v in versions
    ]).with_columns(pl.from_epoch("created", time_unit="ms")).sort("version", descending=True)


# -- live latency from the Prometheus registry ----------------------------------------------------
def histogram_quantile(q: float, bounds: np.ndarray, cumulative: np.ndarray) -> float:
    """Prometheus' ``histogram_quantile``: linear interpolation inside the bucket holding q.

    ``bounds`` are the finite upper bounds, ``cumulative`` the counts of each bucket including
    the ``+Inf`` one last. NaN without observations; the largest finite bound above it.
    """
    total = cumulative[-1]
    if total <= 0:
        return float("nan")
    rank = q * total
    index = int(np.searchsorted(cumulative, rank, side="left"))
    if index >= len(bounds):
        return float(bounds[-1])
    lower = 0.0 if index == 0 else float(bounds[index - 1])
    below = 0.0 if index == 0 else float(cumulative[index - 1])
    inside = float(cumulative[index]) - below
    fraction = (rank - below) / inside if inside > 0 else 1.0
    return lower + (float(bounds[index]) - lower) * fraction


def latency_summary(registry: CollectorRegistry,
                    metric: str = "recsys_recommend_latency_seconds") -> pl.DataFrame:
    """Per model: requests, mean and p50/p95 latency (ms) of the histogram ``metric``."""
    buckets: dict[str, list[tuple[float, float]]] = {}
    sums: dict[str, float] = {}
    for family in registry.collect():
        if family.name != metric:
            continue
        for sample in family.samples:
            model = sample.labels.get("model", "")
            if sample.name.endswith("_bucket"):
                buckets.setdefault(model, []).append((float(sample.labels["le"]), sample.value))
            elif sample.name.endswith("_sum"):
                sums[model] = sample.value
    rows = []
    for model, pairs in sorted(buckets.items()):
        pairs.sort()
        bounds = np.array([b for b, _ in pairs if np.isfinite(b)])
        cumulative = np.array([c for _, c in pairs])
        count = float(cumulative[-1])
        if count == 0:
            continue
        rows.append({
            "model": model, "requests": int(count),
            "mean_ms": 1000 * sums.get(model, 0.0) / count,
            "p50_ms": 1000 * histogram_quantile(0.5, bounds, cumulative),
            "p95_ms": 1000 * histogram_quantile(0.95, bounds, cumulative),
        })
    schema = {"model": pl.String(), "requests": pl.Int64(), "mean_ms": pl.Float64(),
              "p50_ms": pl.Float64(), "p95_ms": pl.Float64()}
    return pl.DataFrame(rows, schema=schema)


# -- summaries for the app's cards -----------------------------------------------------------------
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


def arm_rates(daily: pl.DataFrame, z: float = 1.959964) -> pl.DataFrame:
    """Cumulative CTR per arm at the last day with a Wilson score interval.

    ``daily`` is :func:`recsys.ab.events.daily_series`; returns
    ``[arm, subjects, exposures, clicks, ctr, ci_low, ci_high]``.
    """
    last = daily.sort("day").group_by("arm", maintain_order=True).last().sort("arm")
    n, x = last["cum_exposures"].cast(pl.Float64), last["cum_clicks"].cast(pl.Float64)
    p = x / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * ((p * (1 - p) / n + z**2 / (4 * n**2)).sqrt()) / (1 + z**2 / n)
    return last.select(
        "arm", pl.col("cum_subjects").alias("subjects"), pl.col("cum_exposures").alias("exposures"),
        pl.col("cum_clicks").alias("clicks"),
    ).with_columns(p.alias("ctr"), (centre - half).alias("ci_low"),
                   (centre + half).alias("ci_high"))
