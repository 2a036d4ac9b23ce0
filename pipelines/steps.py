"""The retraining pipeline as idempotent steps over ``recsys``, each writing one run sub-folder.

ingest -> validate -> split -> select -> train -> evaluate -> gate -> drift -> register -> publish

The challenger is selected on a validation split carved from the training period (``select``:
the models are fitted on its older part and scored on its newest ratings); the test period is
read only afterwards, to evaluate the selected challenger against the champion (``gate``). The
catalogue a model is trained with knows only the tags written before the cut it is evaluated at.

Each step reads what earlier steps wrote through the :class:`~pipelines.config.RunContext`
and writes its own outputs into ``out``; :mod:`pipelines.runner` runs them in order.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.config import MARKER, RunContext
from recsys.data.load import ingest
from recsys.data.split import check_split, temporal_global
from recsys.data.validate import validate_dataset
from recsys.errors import DataError
from recsys.evaluation.protocol import PreparedSplit
from recsys.io import write_json, write_text
from recsys.models import Recommender, create_model
from recsys.monitoring.drift import drift_report
from recsys.monitoring.push import push_pipeline_metrics
from recsys.registry_gate import GatePolicy, ModelEvaluation, decide, evaluate_for_gate
from recsys.tracking import git_commit

__all__ = [
    "drift_step",
    "evaluate_step",
    "gate_step",
    "ingest_step",
    "pipeline_metrics",
    "publish_step",
    "push_metrics",
    "register_step",
    "select_step",
    "split_step",
    "train_step",
    "validate_step",
]

log = logging.getLogger(__name__)


# -- the steps --------------------------------------------------------------------------------
def ingest_step(ctx: RunContext, out: Path) -> dict[str, Any]:
    """Fetch the release (mirror or GroupLens), verify checksums, parse it to parquet."""
    options = ctx.config.options["ingest"]
    dataset = ingest(ctx.config.dataset, source=options.source,
                     allow_unverified=options.allow_unverified, settings=ctx.settings)
    summary = dataset.summary()
    write_json(out / "dataset.json", summary)
    return summary


def validate_step(ctx: RunContext, out: Path) -> dict[str, Any]:
    """Quality report; error-level findings fail the run."""
    report = validate_dataset(ctx.dataset(), ctx.config.options["validate"].thresholds)
    write_text(out / "report.json", report.to_json())
    write_text(out / "report.md", report.to_markdown())
    errors = [f"{f.check} ({f.count})" for f in report.findings if f.level == "error"]
    if errors:
        raise DataError(f"{ctx.config.dataset} fails validation: {', '.join(errors)}; see "
                        f"{ctx.run_dir / 'validate.failed' / 'report.md'}")
    return {"ok": True, "warnings": [f.check for f in report.findings]}


def split_step(ctx: RunContext, out: Path) -> dict[str, Any]:
    """Temporal global cuts: the newest ratings are the test set, and the newest ratings of the
    training period are the validation set that selects the challenger."""
    options = ctx.config.options["split"]
    split = check_split(temporal_global(ctx.dataset().ratings,
                                        test_fraction=options.test_fraction))
    inner = check_split(temporal_global(split.train, test_fraction=options.valid_fraction))
    for name, frame in (("train", split.train), ("test", split.test), ("fit", inner.train),
                        ("valid", inner.test)):
        frame.write_parquet(out / f"{name}.parquet")
    return {"cut_timestamp": split.params["cut_timestamp"], "train_rows": split.train.height,
            "test_rows": split.test.height,
            "valid_cut_timestamp": inner.params["cut_timestamp"],
            "valid_rows": inner.test.height}


def _fit_all(ctx: RunContext, data: PreparedSplit) -> dict[str, tuple[Recommender, float]]:
    fitted = {}
    for name, params in ctx.config.models.items():
        start = time.perf_counter()
        fitted[name] = (create_model(name, **params).fit(data.train),
                        time.perf_counter() - start)
    return fitted


def select_step(ctx: RunContext, out: Path) -> dict[str, Any]:
    """Pick the challenger on the validation split; the test period is never read here."""
    validation = ctx.prepared("validation")
    policy = _policy(ctx)
    metrics = {}
    for name, (model, _) in _fit_all(ctx, validation).items():
        metrics[name] = evaluate_for_gate(model, validation, policy.k, policy.latency_users,
                                          ctx.config.engine).summary
    challenger = max(metrics, key=lambda name: metrics[name][policy.primary_metric])
    write_json(out / "validation_metrics.json", metrics)
    log.info("select: %s is the challenger (%s %.4f on validation)", challenger,
             policy.primary_metric, metrics[challenger][policy.primary_metric])
    return {"validation_metrics": metrics, "challenger": challenger}


def train_step(ctx: RunContext, out: Path) -> dict[str, Any]:
    """Fit every configured model on the training period and save it."""
    summary = {}
    for name, (model, seconds) in _fit_all(ctx, ctx.prepared("test")).items():
        model.save(out / name)
        summary[name] = {"fit_seconds": round(seconds, 3), "params": model.get_params()}
        log.info("trained %s in %.2f s", name, seconds)
    return summary


def _policy(ctx: RunContext) -> GatePolicy:
    return ctx.config.options["gate"]


def _write_evaluation(evaluation: ModelEvaluation, folder: Path, name: str) -> None:
    evaluation.per_user.write_parquet(folder / f"{name}.per_user.parquet")
    evaluation.recs.write_parquet(folder / f"{name}.recs.parquet")


def _read_evaluation(folder: Path, name: str, summary: dict[str, float]) -> ModelEvaluation:
    return ModelEvaluation(summary, pl.read_parquet(folder / f"{name}.per_user.parquet"),
                           pl.read_parquet(folder / f"{name}.recs.parquet"))


def evaluate_step(ctx: RunContext, out: Path) -> dict[str, Any]:
    """Metrics of every trained model on the test period; the challenger was chosen before,
    on validation (``select``), so the test numbers never decide which model competes."""
    test = ctx.prepared("test")
    policy = _policy(ctx)
    metrics = {}
    for name in ctx.summary("train"):
        model = Recommender.load(ctx.output("train") / name)
        evaluation = evaluate_for_gate(model, test, policy.k, policy.latency_users,
                                       ctx.config.engine)
        _write_evaluation(evaluation, out, name)
        metrics[name] = evaluation.summary
    write_json(out / "metrics.json", metrics)
    return {"metrics": metrics, "challenger": ctx.summary("select")["challenger"],
            "selected_on": "validation"}


def gate_step(ctx: RunContext, out: Path) -> dict[str, Any]:
    """Evaluate the current champion on the same split and decide whether to promote."""
    evaluated = ctx.summary("evaluate")
    name = evaluated["challenger"]
    challenger = _read_evaluation(ctx.output("evaluate"), name, evaluated["metrics"][name])
    policy = _policy(ctx)
    registry = ctx.registry()
    version = registry.champion()
    champion = None
    if version is not None:
        with tempfile.TemporaryDirectory(prefix="recsys-champion-") as tmp:
            model = Recommender.load(registry.download(version, Path(tmp)))
        champion = evaluate_for_gate(model, ctx.prepared("test"), policy.k,
                                     policy.latency_users, ctx.config.engine)
        _write_evaluation(champion, out, "champion")
    decision = decide(challenger, champion, policy)
    write_json(out / "decision.json", decision.to_dict())
    verdict = "promote" if decision.promote else "keep the champion"
    log.info("gate: challenger %s -> %s (%s)", name, verdict, decision.reason)
    return {
        "challenger": name, "promote": decision.promote, "reason": decision.reason,
        "champion_version": None if version is None else str(version.version),
        "champion_model": None if version is None else version.tags.get("model"),
        "champion_metrics": None if champion is None else champion.summary,
        "tags": decision.tags(),
    }


def drift_step(ctx: RunContext, out: Path) -> dict[str, Any]:
    """Newest data vs the training snapshot; challenger's top-k lists vs the champion's."""
    train, test = ctx.frames()
    reference = train.sort("timestamp", "user_id", "item_id").tail(test.height)
    gate, challenger = ctx.output("gate"), ctx.summary("gate")["challenger"]
    outputs = {}
    if (gate / "champion.recs.parquet").exists():
        outputs = {
            "previous_recs": pl.read_parquet(gate / "champion.recs.parquet"),
            "current_recs": pl.read_parquet(ctx.output("evaluate") / f"{challenger}.recs.parquet"),
            "catalog_size": train["item_id"].n_unique(),
        }
    report = drift_report(reference, test, ctx.config.options["drift"].thresholds,
                          k=_policy(ctx).k, **outputs)
    write_json(out / "drift.json", report.to_dict())
    if report.alert:
        log.warning("drift above threshold: %s", ", ".join(report.alerts()))
    return {"scores": report.scores(), "thresholds": report.thresholds(),
            "alerts": report.alerts()}


def register_step(ctx: RunContext, out: Path) -> dict[str, Any]:
    """Register the challenger as a new version; give it the champion alias if the gate said so."""
    gate = ctx.summary("gate")
    name = gate["challenger"]
    registry = ctx.registry()
    run_key = str(ctx.run_dir.resolve())
    version = registry.find("pipeline.run", run_key)  # a retry after a crash re-uses it
    if version is None:
        tags = {
            **gate["tags"], "pipeline.run": run_key, "model": name,
            "dataset": ctx.config.dataset, "manifest_hash": ctx.summary("ingest")["manifest_hash"],
            "git_commit": git_commit(Path(__file__).parent),
        }
        version = registry.register(
            ctx.output("train") / name, f"{ctx.config.dataset}-{ctx.run_dir.name}-{name}",
            metrics={**ctx.summary("evaluate")["metrics"][name],
                     "fit_seconds": ctx.summary("train")[name]["fit_seconds"]},
            params={"model": name, **ctx.summary("train")[name]["params"]}, tags=tags,
            files=[ctx.output("gate") / "decision.json", ctx.output("drift") / "drift.json"],
        )
    if gate["promote"]:
        registry.promote(version)
    summary = {"registered_model": registry.name, "version": str(version.version),
               "promoted": bool(gate["promote"]), "run_id": version.run_id}
    write_json(out / "registered.json", summary)
    return summary


def pipeline_metrics(ctx: RunContext, status: bool) -> dict[str, Any]:
    """The ``PipelineMetrics`` fields of this run as far as it got."""
    seconds = sum(ctx.marker(path.parent.name)["seconds"]  # type: ignore[index]
                  for path in ctx.run_dir.glob(f"*/{MARKER}"))
    payload: dict[str, Any] = {"status": status, "duration_seconds": round(seconds, 3)}
    if ctx.marker("ingest"):
        payload["data_rows"] = int(ctx.summary("ingest")["ratings"])
    if ctx.marker("evaluate"):
        payload["eval_metrics"] = dict(ctx.summary("evaluate")["metrics"])
    if ctx.marker("gate"):
        gate = ctx.summary("gate")
        if gate["champion_metrics"]:
            payload["eval_metrics"]["champion"] = gate["champion_metrics"]
        serving = gate["challenger"] if gate["promote"] else "champion"
        payload["champion_metrics"] = payload["eval_metrics"][serving]
    if ctx.marker("drift"):
        drift = ctx.summary("drift")
        payload |= {"drift_scores": drift["scores"], "drift_thresholds": drift["thresholds"]}
    return payload


def push_metrics(ctx: RunContext, payload: dict[str, Any]) -> bool:
    """Push ``payload`` to the Pushgateway when one is configured; True when pushed."""
    if not ctx.settings.pushgateway_url:
        log.info("no RECSYS_PUSHGATEWAY_URL: pipeline metrics are not pushed")
        return False
    push_pipeline_metrics(ctx.settings.pushgateway_url,
                          ctx.config.options["publish"].job, payload,
                          grouping={"dataset": ctx.config.dataset})
    return True


def publish_step(ctx: RunContext, out: Path) -> dict[str, Any]:
    """Push the run's metrics (status, duration, rows, evaluation, drift) to the Pushgateway."""
    payload = pipeline_metrics(ctx, status=True)
    pushed = push_metrics(ctx, payload)
    write_json(out / "metrics.json", payload)
    return {"pushed": pushed, "duration_seconds": payload["duration_seconds"]}
