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
import json
import logging
import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import psutil
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from recsys.bench.spec import BenchmarkSpec, ModelSpec, lower_is_better
from recsys.data.types import Dataset, Split
from recsys.errors import ConfigError, RecsysError, UnsupportedError
from recsys.evaluation import cost, segments, stats
from recsys.evaluation.metrics import ItemFeatures, metric_columns
from recsys.evaluation.protocol import (
    EvalPlan,
    PreparedSplit,
    evaluate,
    make_splits,
    prepare_split,
)
from recsys.models import Capability, Recommender, create_model, get_model_class
from recsys.models.peers import describe_peers
from recsys.settings import Settings, get_settings
from recsys.tracking import NullTracker, Tracker, git_commit, open_tracker

__all__ = ["BenchmarkResult", "plan_for", "run_benchmark", "hardware_info"]

log = logging.getLogger(__name__)

def plan_for(spec: BenchmarkSpec) -> EvalPlan:
    """Everything the spec's metrics, goals and tables need."""
    return EvalPlan(tuple(spec.ranking_ks), spec.needs_ranking, spec.needs_rating,
                    spec.beyond_k, spec.recall_denominator, engine=spec.engine)


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
def _prepare(
    split: Split, split_id: str, seed: int, spec: BenchmarkSpec, dataset: Dataset
) -> PreparedSplit:
    return prepare_split(split, dataset, split_id, seed, spec.relevance_threshold,
                         spec.full_catalog)


# -- fitting and hyper-parameter search -------------------------------------------------------
def _base_params(model_spec: ModelSpec, seed: int) -> dict[str, Any]:
    fields = {f.name for f in dataclasses.fields(get_model_class(model_spec.name).Params)}
    params = dict(model_spec.params)
    if "seed" in fields:
        params.setdefault("seed", seed)
    return params


def _check_model(model_spec: ModelSpec, seed: int) -> None:
    """Create the model with its params and with each value of its search grid (no fit): a
    ConfigError naming the model and the parameter, before any data is loaded."""
    base = _base_params(model_spec, seed)
    grid = model_spec.tune.grid if model_spec.tune else {}
    for params in [base] + [base | {key: value} for key, values in grid.items()
                            for value in values]:
        try:
            create_model(model_spec.name, **params)
        except ConfigError as error:
            raise ConfigError(f"model {model_spec.display!r} of the spec: {error}") from error


def _check_fold_in(model_spec: ModelSpec, datas: list[PreparedSplit], spec: BenchmarkSpec) -> None:
    """UnsupportedError, before any fit, for a model that cannot fold in the held-out users'
    histories a protocol such as strong generalisation scores them from."""
    if all(data.histories is None for data in datas):
        return
    model = create_model(model_spec.name, **_base_params(model_spec, spec.seeds[0]))
    if not model.supports(Capability.FOLD_IN):
        raise UnsupportedError(f"{model_spec.name} cannot fold in a new user, and "
                               f"{spec.protocol.kind} scores users absent from training from "
                               f"their histories: not fitted")


def _fit(
    model_spec: ModelSpec, params: dict[str, Any], data: PreparedSplit
) -> tuple[Recommender, Any]:
    model = create_model(model_spec.name, **params)
    return cost.measure(model.fit, data.train, trace=False)


def _tune(
    model_spec: ModelSpec, data: PreparedSplit, spec: BenchmarkSpec, dataset: Dataset
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Best params on a validation split carved from ``data``'s training ratings.

    The validation split is prepared like any other: its catalogue knows only the tags of
    its own training part, so tuning never sees the outer test side either.
    """
    tune = model_spec.tune
    if tune is None:
        return _base_params(model_spec, data.seed), []
    validation = tune.validation
    inner = make_splits(validation.kind, validation.params, data.ratings, data.seed)[0]
    valid = _prepare(inner, f"{data.split_id}/valid", data.seed, spec, dataset)
    plan = EvalPlan.for_metric(tune.metric, spec.recall_denominator, spec.engine)
    base = _base_params(model_spec, data.seed)
    trials = []
    for candidate in tune.candidates(data.seed):
        model, _ = _fit(model_spec, base | candidate, valid)
        score = evaluate(model, valid, plan).metrics.get(tune.metric, float("nan"))
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
    on_model: Callable[[int, str], None] | None = None,
) -> BenchmarkResult:
    """Run every model of ``spec`` on the same splits; log to MLflow unless ``tracking`` is off.

    ``on_model(index, label)`` is called before each model (the app's lab shows it).

    ``dataset`` overrides loading ``spec.dataset`` (tests pass a small slice); ``spec_text`` is
    the spec file's text, logged as an artifact (the spec's YAML form otherwise); ``threads``
    caps the BLAS/OpenMP thread pools for the whole run (on a busy machine, spinning BLAS
    threads can make dense algebra many times slower).
    """
    with threadpool_limits(limits=threads):
        result = _run(spec, settings or get_settings(), progress, tracking, dataset, spec_text,
                      on_model)
    result.context["threads"] = threads or "library default"
    return result


def _run(
    spec: BenchmarkSpec,
    settings: Settings,
    progress: bool,
    tracking: bool,
    dataset: Dataset | None,
    spec_text: str | None,
    on_model: Callable[[int, str], None] | None,
) -> BenchmarkResult:
    started = time.time()
    for model_spec in spec.models:  # fail before any work on a model the spec cannot create
        _check_model(model_spec, spec.seeds[0])
    dataset = dataset if dataset is not None else _load(spec.dataset, settings)
    datas = _all_splits(spec, dataset)
    tracker = open_tracker(f"bench/{spec.name}", settings, enabled=tracking)
    context = _context(spec, dataset, datas, tracker)
    features = ItemFeatures.from_genres(dataset.movies) if spec.needs_ranking else None
    plan = plan_for(spec)
    collected = _Collected()
    bar = tqdm(total=len(spec.models) * len(datas), disable=not progress, desc=spec.name,
               unit="fit")
    for index, model_spec in enumerate(spec.models):
        if on_model is not None:
            on_model(index, model_spec.display)
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


def _all_splits(spec: BenchmarkSpec, dataset: Dataset) -> list[PreparedSplit]:
    datas = []
    protocol = spec.protocol
    for seed in spec.seeds:
        splits = make_splits(protocol.kind, protocol.params, dataset.ratings, seed)
        for index, split in enumerate(splits):
            datas.append(_prepare(split, f"seed{seed}-split{index}", seed, spec, dataset))
    return datas


def _run_model(
    model_spec: ModelSpec,
    datas: list[PreparedSplit],
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
        _check_fold_in(model_spec, datas, spec)
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
    data: PreparedSplit,
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
    model, fit_cost = _fit(model_spec, params, data)
    evaluation = evaluate(model, data, plan, features)
    metrics, per_user = evaluation.metrics, evaluation.per_user
    metrics |= {"fit_s": fit_cost.seconds, "peak_mb": fit_cost.peak_mb}
    metrics["time_s"] = metrics["fit_s"] + metrics.get("predict_s", 0.0)
    curve = model.learning_curve()
    if curve:  # models trained in epochs: how many ran (early stopping) and their mean cost
        metrics |= {"epochs": float(len(curve)), "epoch_s": fit_cost.seconds / len(curve)}
    per_user = per_user.with_columns(pl.lit(label).alias("model"),
                                     pl.lit(data.split_id).alias("split"))
    seg = (segments.metrics_by_segment(per_user, data.segments)
           if metric_columns(per_user) else pl.DataFrame())
    row = {"model": label, "name": model_spec.name, "split": data.split_id,
           "params": json.dumps(params, sort_keys=True, default=str), **metrics}
    _log_split(tracker, parent, context, model_spec, data, params, metrics, per_user, curve)
    return row, per_user, seg


def _log_split(
    tracker: Tracker | NullTracker,
    parent: str,
    context: dict[str, Any],
    model_spec: ModelSpec,
    data: PreparedSplit,
    params: dict[str, Any],
    metrics: dict[str, float],
    per_user: pl.DataFrame,
    curve: list[dict[str, float]],
) -> None:
    if isinstance(tracker, NullTracker):
        return
    run = tracker.start_run(f"{model_spec.display} {data.split_id}", parent_id=parent,
                            tags=_run_tags(context, model_spec.display, model_spec.name))
    tracker.log(run, params={**params, "split": data.split_id,
                             "n_train": data.interactions.nnz, "n_test": data.test.height},
                metrics=metrics)
    tracker.log_curve(run, curve)
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
    spec: BenchmarkSpec,
    dataset: Dataset,
    datas: list[PreparedSplit],
    tracker: Tracker | NullTracker,
) -> dict[str, Any]:
    return {
        "spec": spec.name,
        "dataset": dataset.summary(),
        "protocol": dataclasses.asdict(spec.protocol),
        "seeds": list(spec.seeds),
        "metrics": list(spec.metrics),
        "splits": [
            {"split": d.split_id, "train": d.interactions.nnz, "test": d.test.height,
             "evaluated_users": len(d.users), "future": d.future}
            for d in datas
        ],
        "git_commit": git_commit(Path(__file__).parent),
        "peers": describe_peers((m.display, m.name, m.params) for m in spec.models),
        "hardware": hardware_info(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "tracking_uri": tracker.tracking_uri,
        "engine": _engine(spec.engine),
    }


def _engine(engine: str) -> dict[str, str]:
    """The evaluation engine, with Spark's master and version when it is Spark."""
    if engine != "spark":
        return {"name": engine}
    from recsys.spark import spark_session

    spark = spark_session()
    return {"name": engine, "master": spark.sparkContext.master, "version": spark.version}


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
        means = per_user.group_by("model", "user_id", maintain_order=True).agg(
            pl.col(metric).mean()
        )
        result[metric] = stats.compare_models(means, metric)
    return result


def _segment_means(frame: pl.DataFrame) -> pl.DataFrame:
    value_columns = [c for c, t in frame.schema.items()
                     if t.is_numeric() and c not in ("model", "split", "segment")]
    return frame.group_by("model", "segment", maintain_order=True).agg(
        pl.col(value_columns).mean()
    )
