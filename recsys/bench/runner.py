"""Run a benchmark spec: the same splits for every model, search on validation, metrics, MLflow.

Flow: load the dataset; make the split(s) once; for every model and split, pick
hyper-parameters on a validation split carved from that split's TRAIN part (never its test),
fit (timed), recommend for the test users (training items excluded) and predict the test
ratings of rating models; compute per-user metrics, beyond-accuracy, segments, latency and model
size; aggregate across splits (mean ± std) and test every pairwise difference per metric.
Every (model, split) run is logged to MLflow as a child of one parent run per model.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import psutil
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from recsys.bench.spec import BenchmarkSpec, ModelSpec, ProtocolSpec, lower_is_better
from recsys.data import split as splitters
from recsys.data.types import Dataset, Interactions, Split
from recsys.errors import ConfigError, RecsysError
from recsys.evaluation import cost, segments, stats
from recsys.evaluation.metrics import (
    ItemFeatures,
    aggregate,
    beyond_accuracy,
    metric_columns,
    ranking_metrics,
    rating_metrics,
    rating_summary,
)
from recsys.models import Capability, Recommender, create_model, get_model_class
from recsys.models.peers import describe_peers
from recsys.settings import Settings, get_settings
from recsys.tracking import NullTracker, Tracker, git_commit, open_tracker

__all__ = ["BenchmarkResult", "EvalPlan", "make_splits", "run_benchmark", "hardware_info"]

log = logging.getLogger(__name__)

_SPLITTERS = {
    "kfold": splitters.kfold,
    "stratified": splitters.stratified_split,
    "random_holdout": splitters.random_holdout,
    "temporal": splitters.temporal_global,
    "leave_last_n": splitters.leave_last_n,
    "cold_start_items": splitters.cold_start_items,
    "cold_start_users": splitters.cold_start_users,
}
_LATENCY_USERS = 50


@dataclass(frozen=True)
class EvalPlan:
    """What to compute for one fitted model: cut-offs, ranking and/or rating, beyond-accuracy."""

    ks: tuple[int, ...]
    ranking: bool
    rating: bool
    beyond_k: int | None
    recall_denominator: str = "all"
    serving: bool = False  # also measure single-user latency and size on disk

    @classmethod
    def for_spec(cls, spec: BenchmarkSpec) -> EvalPlan:
        """Everything the spec's metrics, goals and tables need."""
        return cls(tuple(spec.ranking_ks), spec.needs_ranking, spec.needs_rating,
                   spec.k[0] if spec.needs_ranking else None, spec.recall_denominator)

    @classmethod
    def for_metric(cls, metric: str, recall_denominator: str) -> EvalPlan:
        """Only what a hyper-parameter search scored on ``metric`` needs."""
        if "@" in metric:
            return cls((int(metric.split("@")[1]),), True, False, None, recall_denominator)
        return cls((), False, True, None, recall_denominator)


@dataclass(frozen=True)
class SplitData:
    """One split prepared once and shared by every model."""

    split_id: str
    seed: int
    ratings: pl.DataFrame  # the training ratings (for validation carving)
    train: Interactions
    test: pl.DataFrame
    truth: pl.DataFrame  # relevant test pairs of users known in train
    users: np.ndarray  # evaluated users: test users known in train
    segments: pl.DataFrame


@dataclass
class BenchmarkResult:
    """Everything a benchmark produced; ``report.write_results`` turns it into files."""

    spec: BenchmarkSpec
    summary: pl.DataFrame  # one row per model: <metric> mean, <metric>_std, costs
    splits: pl.DataFrame  # one row per (model, split)
    per_user: pl.DataFrame  # one row per (model, split, user)
    significance: dict[str, pl.DataFrame]  # metric -> pairwise comparisons
    segments: pl.DataFrame  # metric means per (model, segment), averaged over splits
    tuning: pl.DataFrame  # every candidate tried: model, split, params, score
    context: dict[str, Any]  # provenance: data hash, git commit, hardware, timings, runs
    errors: dict[str, str] = field(default_factory=dict)  # model label -> failure message


# -- splits ---------------------------------------------------------------------------------
def make_splits(protocol: ProtocolSpec, ratings: pl.DataFrame, seed: int) -> list[Split]:
    """Apply the protocol's splitter (with ``seed`` unless the params fix one); always a list."""
    splitter = _SPLITTERS[protocol.kind]
    accepted = set(inspect.signature(splitter).parameters) - {"ratings"}
    unknown = sorted(set(protocol.params) - accepted)
    if unknown:
        raise ConfigError(
            f"protocol {protocol.kind!r}: unknown parameter(s) {unknown}; "
            f"valid parameters are {sorted(accepted)}"
        )
    params = dict(protocol.params)
    if "seed" in accepted:
        params.setdefault("seed", seed)
    result = splitter(ratings, **params)
    return result if isinstance(result, list) else [result]


def _prepare(
    split: Split, split_id: str, seed: int, spec: BenchmarkSpec, dataset: Dataset
) -> SplitData:
    items = dataset.movies["item_id"].to_numpy() if spec.full_catalog else None
    train = Interactions.from_frame(split.train, items=items)
    known = split.test.filter(pl.col("user_id").is_in(train.user_ids.tolist()))
    relevant = (
        known if spec.relevance_threshold is None
        else known.filter(pl.col("rating") >= spec.relevance_threshold)
    )
    truth = relevant.select("user_id", "item_id")
    n_cold = split.test["user_id"].n_unique() - known["user_id"].n_unique()
    if n_cold:
        log.info("split %s: %d test user(s) unknown in train are not evaluated", split_id, n_cold)
    return SplitData(
        split_id=split_id, seed=seed, ratings=split.train, train=train, test=split.test,
        truth=truth, users=np.unique(truth["user_id"].to_numpy()).astype(np.int64),
        segments=segments.user_activity_segments(train),
    )


# -- evaluation of one fitted model -----------------------------------------------------------
def evaluate_model(
    model: Recommender, data: SplitData, plan: EvalPlan, features: ItemFeatures | None = None
) -> tuple[dict[str, float], pl.DataFrame]:
    """Metrics of a fitted model on one split: (split-level values, per-user frame)."""
    metrics: dict[str, float] = {}
    frames: list[pl.DataFrame] = []
    if plan.ranking and model.supports(Capability.TOP_N) and len(data.users):
        ranking, per_user = _ranking(model, data, plan, features)
        metrics |= ranking
        frames.append(per_user)
    if plan.rating and model.supports(Capability.RATING):
        rating, per_user = _rating(model, data)
        metrics |= rating
        frames.append(per_user)
    if plan.serving:
        metrics |= _serving(model, data)
    per_user = frames[0] if frames else pl.DataFrame({"user_id": data.users})
    for extra in frames[1:]:
        per_user = per_user.join(extra, on="user_id", how="full", coalesce=True)
    return metrics, per_user


def _ranking(
    model: Recommender, data: SplitData, plan: EvalPlan, features: ItemFeatures | None
) -> tuple[dict[str, float], pl.DataFrame]:
    recs, spent = cost.measure(model.recommend, data.users, max(plan.ks), True, trace=False)
    per_user = pl.DataFrame({"user_id": data.users})
    for k in plan.ks:
        frame = ranking_metrics(recs, data.truth, k, users=data.users,
                                recall_denominator=plan.recall_denominator)
        per_user = per_user.join(frame.drop("n_relevant"), on="user_id", how="left")
    metrics = {k: v for k, v in aggregate(per_user).items() if "@" in k}
    metrics["recommend_ms"] = 1000.0 * spent.seconds / len(data.users)
    if plan.beyond_k is not None:
        metrics |= beyond_accuracy(recs, data.train, features, k=plan.beyond_k)
    return metrics, per_user


def _rating(model: Recommender, data: SplitData) -> tuple[dict[str, float], pl.DataFrame]:
    test = data.test
    scores, spent = cost.measure(model.predict, test["user_id"].to_numpy(),
                                 test["item_id"].to_numpy(), trace=False)
    predictions = test.select("user_id", "item_id", "rating").with_columns(
        pl.Series("prediction", scores)
    )
    summary = rating_summary(predictions)
    per_user = rating_metrics(predictions).rename({"n": "n_test_ratings"})
    return {"rmse": summary["rmse"], "mae": summary["mae"], "predict_s": spent.seconds}, per_user


def _serving(model: Recommender, data: SplitData) -> dict[str, float]:
    result: dict[str, float] = {}
    if model.supports(Capability.TOP_N) and len(data.users):
        latency = cost.recommend_latency(model, data.users, k=10, n=_LATENCY_USERS, seed=0)
        result |= {"latency_p50_ms": latency["p50_ms"], "latency_p95_ms": latency["p95_ms"]}
    with tempfile.TemporaryDirectory(prefix="recsys-size-") as tmp:
        try:
            model.save(Path(tmp) / "model")
        except RecsysError as error:
            log.warning("%s cannot be saved, size on disk unknown: %s", model.name, error)
            return result
        result["size_mb"] = cost.model_size_on_disk(Path(tmp) / "model") / 2**20
    return result


# -- fitting and hyper-parameter search -------------------------------------------------------
def _base_params(model_spec: ModelSpec, seed: int) -> dict[str, Any]:
    fields = {f.name for f in dataclasses.fields(get_model_class(model_spec.name).Params)}
    params = dict(model_spec.params)
    if "seed" in fields:
        params.setdefault("seed", seed)
    return params


def _fit(
    model_spec: ModelSpec, params: dict[str, Any], train: Interactions, dataset: Dataset
) -> tuple[Recommender, Any]:
    model = create_model(model_spec.name, **params)
    return cost.measure(model.fit, train, dataset, trace=False)


def _tune(
    model_spec: ModelSpec, data: SplitData, spec: BenchmarkSpec, dataset: Dataset
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Best params on a validation split carved from ``data``'s training ratings."""
    tune = model_spec.tune
    if tune is None:
        return _base_params(model_spec, data.seed), []
    inner = make_splits(tune.validation, data.ratings, data.seed)[0]
    valid = _prepare(inner, f"{data.split_id}/valid", data.seed, spec, dataset)
    plan = EvalPlan.for_metric(tune.metric, spec.recall_denominator)
    base = _base_params(model_spec, data.seed)
    trials = []
    for candidate in tune.candidates(data.seed):
        model, _ = _fit(model_spec, base | candidate, valid.train, dataset)
        score = evaluate_model(model, valid, plan)[0].get(tune.metric, float("nan"))
        trials.append({"params": candidate, "score": score})
    finite = [t for t in trials if np.isfinite(t["score"])]
    if not finite:
        raise ConfigError(
            f"{model_spec.display}: no candidate produced {tune.metric!r} on the validation split"
        )
    sign = 1.0 if lower_is_better(tune.metric) else -1.0
    best = min(finite, key=lambda t: sign * t["score"])
    log.info("%s on %s: best %s = %.4f with %s", model_spec.display, data.split_id,
             tune.metric, best["score"], best["params"])
    return base | best["params"], trials


# -- the run ----------------------------------------------------------------------------------
@dataclass
class _Collected:
    split_rows: list[dict[str, Any]] = field(default_factory=list)
    per_user: list[pl.DataFrame] = field(default_factory=list)
    segments: list[pl.DataFrame] = field(default_factory=list)
    tuning: list[dict[str, Any]] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def run_benchmark(
    spec: BenchmarkSpec,
    settings: Settings | None = None,
    progress: bool = True,
    tracking: bool = True,
    dataset: Dataset | None = None,
    spec_text: str | None = None,
    threads: int | None = None,
) -> BenchmarkResult:
    """Run every model of ``spec`` on the same splits; log to MLflow unless ``tracking`` is off.

    ``dataset`` overrides loading ``spec.dataset`` (tests pass a small slice); ``spec_text`` is
    the spec file's text, logged as an artifact (the spec's YAML form otherwise); ``threads``
    caps the BLAS/OpenMP thread pools for the whole run (on a busy machine, spinning BLAS
    threads can make dense algebra many times slower).
    """
    with threadpool_limits(limits=threads):
        result = _run(spec, settings or get_settings(), progress, tracking, dataset, spec_text)
    result.context["threads"] = threads or "library default"
    return result


def _run(
    spec: BenchmarkSpec,
    settings: Settings,
    progress: bool,
    tracking: bool,
    dataset: Dataset | None,
    spec_text: str | None,
) -> BenchmarkResult:
    started = time.time()
    for model_spec in spec.models:  # fail before any work on an unknown model name
        get_model_class(model_spec.name)
    dataset = dataset if dataset is not None else _load(spec.dataset, settings)
    datas = _all_splits(spec, dataset)
    tracker = open_tracker(f"bench/{spec.name}", settings, enabled=tracking)
    context = _context(spec, dataset, datas, tracker)
    features = ItemFeatures.from_genres(dataset.movies) if spec.needs_ranking else None
    plan = EvalPlan.for_spec(spec)
    collected = _Collected()
    bar = tqdm(total=len(spec.models) * len(datas), disable=not progress, desc=spec.name,
               unit="fit")
    for model_spec in spec.models:
        _run_model(model_spec, datas, spec, dataset, plan, features, tracker, context,
                   spec_text or spec.to_yaml(), collected, bar)
    bar.close()
    context["duration_s"] = time.time() - started
    context["mlflow_runs"] = collected.runs
    return _assemble(spec, collected, context)


def _load(name: str, settings: Settings) -> Dataset:
    """Fetch (from the mirror or GroupLens) unless already there, verify, and load."""
    from recsys.data.load import ingest

    return ingest(name, settings=settings)


def _all_splits(spec: BenchmarkSpec, dataset: Dataset) -> list[SplitData]:
    datas = []
    for seed in spec.seeds:
        for index, split in enumerate(make_splits(spec.protocol, dataset.ratings, seed)):
            datas.append(_prepare(split, f"seed{seed}-split{index}", seed, spec, dataset))
    return datas


def _run_model(
    model_spec: ModelSpec,
    datas: list[SplitData],
    spec: BenchmarkSpec,
    dataset: Dataset,
    plan: EvalPlan,
    features: ItemFeatures | None,
    tracker: Tracker | NullTracker,
    context: dict[str, Any],
    spec_text: str,
    collected: _Collected,
    bar: Any,
) -> None:
    label = model_spec.display
    parent = tracker.start_run(label, tags=_run_tags(context, label, model_spec.name))
    tracker.log_text(parent, spec_text, "spec.yaml")
    rows: list[dict[str, Any]] = []
    per_users: list[pl.DataFrame] = []
    segs: list[pl.DataFrame] = []
    try:
        for index, data in enumerate(datas):
            bar.set_postfix_str(f"{label} / {data.split_id}")
            serving = dataclasses.replace(plan, serving=index == 0)
            row, per_user, seg = _run_split(model_spec, data, spec, dataset, serving, features,
                                            tracker, parent, context, collected)
            rows.append(row)
            per_users.append(per_user)
            segs.append(seg)
            bar.update(1)
    except RecsysError as error:
        log.error("%s failed: %s", label, error)
        collected.errors[label] = str(error)
        tracker.log(parent, tags={"error": str(error)[:5000]})
        tracker.end_run(parent, failed=True)
        bar.update(len(datas) - len(rows))
        return
    collected.split_rows.extend(rows)
    collected.per_user.extend(per_users)
    collected.segments.extend(segs)
    summary = _summarise(pl.DataFrame(rows)).row(0, named=True)
    tracker.log(parent, params={"model": model_spec.name, **model_spec.params},
                metrics={k: v for k, v in summary.items() if isinstance(v, float)})
    tracker.end_run(parent)
    collected.runs[label] = parent


def _run_split(
    model_spec: ModelSpec,
    data: SplitData,
    spec: BenchmarkSpec,
    dataset: Dataset,
    plan: EvalPlan,
    features: ItemFeatures | None,
    tracker: Tracker | NullTracker,
    parent: str,
    context: dict[str, Any],
    collected: _Collected,
) -> tuple[dict[str, Any], pl.DataFrame, pl.DataFrame]:
    label = model_spec.display
    params, trials = _tune(model_spec, data, spec, dataset)
    collected.tuning.extend(
        {"model": label, "split": data.split_id, "params": json.dumps(t["params"]),
         "score": t["score"]} for t in trials
    )
    model, fit_cost = _fit(model_spec, params, data.train, dataset)
    metrics, per_user = evaluate_model(model, data, plan, features)
    metrics |= {"fit_s": fit_cost.seconds, "peak_mb": fit_cost.peak_mb}
    metrics["time_s"] = metrics["fit_s"] + metrics.get("predict_s", 0.0)
    per_user = per_user.with_columns(pl.lit(label).alias("model"),
                                     pl.lit(data.split_id).alias("split"))
    seg = (segments.metrics_by_segment(per_user, data.segments)
           if metric_columns(per_user) else pl.DataFrame())
    row = {"model": label, "name": model_spec.name, "split": data.split_id,
           "params": json.dumps(params, sort_keys=True, default=str), **metrics}
    _log_split(tracker, parent, context, model_spec, data, params, metrics, per_user)
    return row, per_user, seg


def _log_split(
    tracker: Tracker | NullTracker,
    parent: str,
    context: dict[str, Any],
    model_spec: ModelSpec,
    data: SplitData,
    params: dict[str, Any],
    metrics: dict[str, float],
    per_user: pl.DataFrame,
) -> None:
    if isinstance(tracker, NullTracker):
        return
    run = tracker.start_run(f"{model_spec.display} {data.split_id}", parent_id=parent,
                            tags=_run_tags(context, model_spec.display, model_spec.name))
    tracker.log(run, params={**params, "split": data.split_id,
                             "n_train": data.train.nnz, "n_test": data.test.height},
                metrics=metrics)
    with tempfile.TemporaryDirectory(prefix="recsys-run-") as tmp:
        path = Path(tmp) / "per_user.parquet"
        per_user.write_parquet(path)
        tracker.log_files(run, [path])
    tracker.end_run(run)


def _run_tags(context: dict[str, Any], label: str, name: str) -> dict[str, str]:
    return {
        "benchmark": context["spec"], "model_label": label, "model": name,
        "dataset": context["dataset"]["name"],
        "data_manifest_hash": context["dataset"]["manifest_hash"],
        "git_commit": context["git_commit"], "mlflow.source.git.commit": context["git_commit"],
        "protocol": json.dumps(context["protocol"], sort_keys=True),
    }


# -- provenance and aggregation ---------------------------------------------------------------
def hardware_info() -> dict[str, Any]:
    """CPU model, core count and RAM of this machine, for reports."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def _context(
    spec: BenchmarkSpec, dataset: Dataset, datas: list[SplitData], tracker: Tracker | NullTracker
) -> dict[str, Any]:
    return {
        "spec": spec.name,
        "dataset": dataset.summary(),
        "protocol": dataclasses.asdict(spec.protocol),
        "seeds": list(spec.seeds),
        "splits": [
            {"split": d.split_id, "train": d.train.nnz, "test": d.test.height,
             "evaluated_users": len(d.users)}
            for d in datas
        ],
        "git_commit": git_commit(Path(__file__).parent),
        "peers": describe_peers((m.display, m.name, m.params) for m in spec.models),
        "hardware": hardware_info(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "tracking_uri": tracker.tracking_uri,
    }


def _summarise(splits: pl.DataFrame) -> pl.DataFrame:
    """Mean and std over splits of every numeric column, per model; ``total_time_s`` summed."""
    numeric = [c for c, t in splits.schema.items() if t.is_numeric()]
    return (
        splits.group_by("model", "name", maintain_order=True)
        .agg(
            pl.len().alias("n_splits"),
            *[pl.col(c).mean() for c in numeric],
            *[pl.col(c).std().alias(f"{c}_std") for c in numeric],
            pl.col("time_s").sum().alias("total_time_s"),
        )
    )


def _assemble(
    spec: BenchmarkSpec, collected: _Collected, context: dict[str, Any]
) -> BenchmarkResult:
    if not collected.split_rows:
        raise RecsysError(f"Benchmark {spec.name!r}: every model failed: {collected.errors}")
    splits = pl.DataFrame(collected.split_rows)
    per_user = pl.concat(collected.per_user, how="diagonal_relaxed")
    return BenchmarkResult(
        spec=spec,
        summary=_summarise(splits),
        splits=splits,
        per_user=per_user,
        significance=_significance(spec, per_user),
        segments=_segment_means(pl.concat(collected.segments, how="diagonal_relaxed")),
        tuning=pl.DataFrame(collected.tuning) if collected.tuning else pl.DataFrame(),
        context=context,
        errors=collected.errors,
    )


def _significance(spec: BenchmarkSpec, per_user: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Pairwise tests per metric on per-user values averaged over splits."""
    result = {}
    for metric in spec.metrics:
        if metric not in per_user.columns:
            continue
        measured = per_user.filter(pl.col(metric).is_not_null())["model"].n_unique()
        if measured < 2:
            continue
        means = per_user.group_by("model", "user_id").agg(pl.col(metric).mean())
        result[metric] = stats.compare_models(means, metric)
    return result


def _segment_means(frame: pl.DataFrame) -> pl.DataFrame:
    value_columns = [c for c, t in frame.schema.items()
                     if t.is_numeric() and c not in ("model", "split", "segment")]
    return frame.group_by("model", "segment", maintain_order=True).agg(
        pl.col(value_columns).mean()
    )
