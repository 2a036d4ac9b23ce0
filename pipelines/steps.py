"""The retraining pipeline as idempotent steps over ``recsys``, each writing one run sub-folder.

ingest -> validate -> split -> select -> train -> evaluate -> gate -> drift -> register -> publish

The challenger is selected on a validation split carved from the training period (``select``:
the models are fitted on its older part and scored on its newest ratings); the test period is
read only afterwards, to evaluate the selected challenger against the champion (``gate``). The
catalogue a model is trained with knows only the tags written before the cut it is evaluated at.

A step writes its outputs into a temporary folder that replaces ``<run_dir>/<step>/`` only on
success, together with a done-marker ``_done.json`` holding the hash of its inputs (the config
and the output hashes of the steps it reads). Re-running a run folder skips every step whose
marker matches and redoes the rest, so a run that failed half-way is resumed by running it
again; a failed step's partial outputs are kept in ``<run_dir>/<step>.failed/`` for inspection.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from recsys.data.load import ingest, load_dataset
from recsys.data.split import check_split, temporal_global
from recsys.data.types import Dataset, Split
from recsys.data.validate import Thresholds, validate_dataset
from recsys.errors import ConfigError, DataError, RecsysError
from recsys.evaluation.protocol import PreparedSplit, prepare_split
from recsys.io import atomic_dir, sha256_file, write_json, write_text
from recsys.models import Recommender, create_model
from recsys.monitoring.drift import drift_report
from recsys.monitoring.push import push_pipeline_metrics
from recsys.registry_gate import (
    GatePolicy,
    ModelEvaluation,
    ModelRegistry,
    decide,
    evaluate_for_gate,
)
from recsys.settings import Settings
from recsys.tracking import git_commit

__all__ = [
    "DEFAULT_CONFIG",
    "STEPS",
    "StepSpec",
    "PipelineConfig",
    "RunContext",
    "run_step",
    "run_pipeline",
    "report_failure",
]

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path(__file__).with_name("config.yaml")
MARKER = "_done.json"
# period -> (training file, scored file) of the split step, and the summary key of its cut
PERIODS = {
    "validation": (("fit.parquet", "valid.parquet"), "valid_cut_timestamp"),
    "test": (("train.parquet", "test.parquet"), "cut_timestamp"),
}
# Section -> its allowed keys (``models`` maps registry names to their hyper-parameters).
SECTIONS: dict[str, set[str]] = {
    "ingest": {"source", "allow_unverified"},
    "validate": {"thresholds"},
    "split": {"test_fraction", "valid_fraction"},
    "evaluate": {"relevance_threshold"},
    "gate": {f.name for f in dataclasses.fields(GatePolicy)},
    "drift": {"thresholds"},
    "registry": {"model_name", "experiment"},
    "publish": {"job"},
}


@dataclass(frozen=True)
class PipelineConfig:
    """The validated content of ``config.yaml``."""

    dataset: str
    models: dict[str, dict[str, Any]]
    sections: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, path: Path | str = DEFAULT_CONFIG, dataset: str | None = None) -> PipelineConfig:
        """Read and check a YAML config; ``dataset`` overrides the file's."""
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return cls.from_mapping(raw | ({"dataset": dataset} if dataset else {}), where=str(path))

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], where: str = "config") -> PipelineConfig:
        """Check every key (unknown ones are errors) and fill missing sections with ``{}``."""
        unknown = sorted(set(raw) - set(SECTIONS) - {"dataset", "models"})
        if unknown:
            raise ConfigError(f"{where}: unknown section(s) {unknown}; expected "
                              f"dataset, models, {', '.join(SECTIONS)}")
        sections = {name: dict(raw.get(name) or {}) for name in SECTIONS}
        for name, values in sections.items():
            bad = sorted(set(values) - SECTIONS[name])
            if bad:
                raise ConfigError(f"{where}: unknown key(s) {bad} in {name!r}; expected some of "
                                  f"{sorted(SECTIONS[name])}")
        models = dict(raw.get("models") or {})
        if not raw.get("dataset") or not models:
            raise ConfigError(f"{where}: needs a dataset and at least one model under 'models'")
        return cls(str(raw["dataset"]), {k: dict(v or {}) for k, v in models.items()}, sections)

    def to_dict(self) -> dict[str, Any]:
        """Plain form, hashed into every step's inputs and written to the run folder."""
        return {"dataset": self.dataset, "models": self.models, **self.sections}

    def get(self, section: str, key: str, default: Any = None) -> Any:
        """One option of one section."""
        return self.sections[section].get(key, default)


@dataclass(frozen=True)
class RunContext:
    """One run: its folder, config and settings."""

    run_dir: Path
    config: PipelineConfig
    settings: Settings

    def marker(self, step: str) -> dict[str, Any] | None:
        """The done-marker of ``step`` in this run, or None."""
        path = self.run_dir / step / MARKER
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def output(self, step: str) -> Path:
        """The folder of a completed step; an error names the step to run first."""
        if self.marker(step) is None:
            raise RecsysError(f"step {step!r} has not completed in {self.run_dir}: run it first "
                              f"(python -m pipelines.retrain step {step} --run-dir {self.run_dir})")
        return self.run_dir / step

    def summary(self, step: str) -> dict[str, Any]:
        """What a completed step returned."""
        self.output(step)
        return self.marker(step)["summary"]  # type: ignore[index]

    def dataset(self) -> Dataset:
        """The dataset this run ingested; an error if its raw files changed since."""
        dataset = load_dataset(self.config.dataset, self.settings)
        expected = self.summary("ingest")["manifest_hash"]
        if dataset.manifest_hash != expected:
            raise DataError(f"raw data of {self.config.dataset} changed since this run's ingest "
                            f"({expected[:12]} -> {dataset.manifest_hash[:12]}): start a new run")
        return dataset

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The (train, test) ratings of this run's split."""
        folder = self.output("split")
        return pl.read_parquet(folder / "train.parquet"), pl.read_parquet(folder / "test.parquet")

    def prepared(self, period: str) -> PreparedSplit:
        """The ``"validation"`` split (fit on the training period's older part, scored on its
        newest ratings) or the ``"test"`` split (fit on the training period, scored on test)."""
        folder, summary = self.output("split"), self.summary("split")
        files, cut = PERIODS[period]
        train, test = (pl.read_parquet(folder / name) for name in files)
        split = Split(train, test, protocol="temporal_global",
                      params={"cut_timestamp": summary[cut]})
        threshold = float(self.config.get("evaluate", "relevance_threshold", 4.0))
        prepared = prepare_split(split, self.dataset(), period, relevance_threshold=threshold)
        if not len(prepared.users):
            raise DataError(f"no relevant {period} rating of a known user (>= {threshold}) "
                            "to evaluate on")
        return prepared

    def registry(self) -> ModelRegistry:
        """The MLflow registered model of this dataset."""
        name = str(self.config.get("registry", "model_name", "recsys-{dataset}"))
        return ModelRegistry(self.settings.tracking_uri, name.format(dataset=self.config.dataset),
                             str(self.config.get("registry", "experiment", "retrain")))


# -- the steps --------------------------------------------------------------------------------
def ingest_step(ctx: RunContext, out: Path) -> dict[str, Any]:
    """Fetch the release (mirror or GroupLens), verify checksums, parse it to parquet."""
    dataset = ingest(ctx.config.dataset, source=ctx.config.get("ingest", "source"),
                     allow_unverified=bool(ctx.config.get("ingest", "allow_unverified", False)),
                     settings=ctx.settings)
    summary = dataset.summary()
    write_json(out / "dataset.json", summary)
    return summary


def validate_step(ctx: RunContext, out: Path) -> dict[str, Any]:
    """Quality report; error-level findings fail the run."""
    thresholds = Thresholds.from_dict(ctx.config.get("validate", "thresholds") or {})
    report = validate_dataset(ctx.dataset(), thresholds)
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
    fraction = float(ctx.config.get("split", "test_fraction", 0.2))
    valid_fraction = float(ctx.config.get("split", "valid_fraction", 0.2))
    split = check_split(temporal_global(ctx.dataset().ratings, test_fraction=fraction))
    inner = check_split(temporal_global(split.train, test_fraction=valid_fraction))
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
        metrics[name] = evaluate_for_gate(model, validation, policy.k,
                                          policy.latency_users).summary
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
    return GatePolicy.from_mapping(ctx.config.sections["gate"])


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
        evaluation = evaluate_for_gate(model, test, policy.k, policy.latency_users)
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
        champion = evaluate_for_gate(model, ctx.prepared("test"), policy.k, policy.latency_users)
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
    report = drift_report(reference, test, ctx.config.get("drift", "thresholds") or {},
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
    seconds = sum((ctx.marker(step) or {}).get("seconds", 0.0) for step in STEPS)
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


def _push(ctx: RunContext, payload: dict[str, Any]) -> bool:
    if not ctx.settings.pushgateway_url:
        log.info("no RECSYS_PUSHGATEWAY_URL: pipeline metrics are not pushed")
        return False
    push_pipeline_metrics(ctx.settings.pushgateway_url,
                          str(ctx.config.get("publish", "job", "recsys-retrain")), payload,
                          grouping={"dataset": ctx.config.dataset})
    return True


def publish_step(ctx: RunContext, out: Path) -> dict[str, Any]:
    """Push the run's metrics (status, duration, rows, evaluation, drift) to the Pushgateway."""
    payload = pipeline_metrics(ctx, status=True)
    pushed = _push(ctx, payload)
    write_json(out / "metrics.json", payload)
    return {"pushed": pushed, "duration_seconds": payload["duration_seconds"]}


def report_failure(ctx: RunContext, step: str, error: BaseException) -> None:
    """Push status 0 for a failed run (the RetrainingFailed alert); never masks ``error``."""
    log.error("step %s failed: %s", step, error)
    try:
        _push(ctx, pipeline_metrics(ctx, status=False))
    except RecsysError as push_error:
        log.warning("could not report the failure: %s", push_error)


# -- the runner -------------------------------------------------------------------------------
StepFunction = Callable[[RunContext, Path], dict[str, Any]]


@dataclass(frozen=True)
class StepSpec:
    """A step: the steps whose outputs it reads, the config sections it reads, its function."""

    needs: tuple[str, ...]
    reads: tuple[str, ...]
    run: StepFunction


# In execution order. Every step also reads the dataset name.
STEPS: dict[str, StepSpec] = {
    "ingest": StepSpec((), ("ingest",), ingest_step),
    "validate": StepSpec(("ingest",), ("validate",), validate_step),
    "split": StepSpec(("ingest", "validate"), ("split",), split_step),
    "select": StepSpec(("ingest", "split"), ("models", "evaluate", "gate"), select_step),
    "train": StepSpec(("ingest", "split"), ("models", "evaluate"), train_step),
    "evaluate": StepSpec(("split", "train", "select"), ("evaluate", "gate"), evaluate_step),
    "gate": StepSpec(("split", "evaluate"), ("evaluate", "gate", "registry"), gate_step),
    "drift": StepSpec(("split", "evaluate", "gate"), ("drift", "gate"), drift_step),
    "register": StepSpec(("ingest", "train", "evaluate", "gate", "drift"), ("registry",),
                         register_step),
    "publish": StepSpec(("ingest", "evaluate", "gate", "drift", "register"), ("publish",),
                        publish_step),
}


def _hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def input_hash(ctx: RunContext, step: str) -> str:
    """Hash of what ``step`` reads: its config sections and its upstream steps' outputs."""
    spec = STEPS[step]
    upstream = {}
    for need in spec.needs:
        marker = ctx.marker(need)
        if marker is None:
            ctx.output(need)  # raises: run that step first
        if marker["input_hash"] != input_hash(ctx, need):  # type: ignore[index]
            raise RecsysError(f"step {need!r} in {ctx.run_dir} is out of date (its inputs "
                              f"changed): run it again before {step!r}")
        upstream[need] = marker["output_hash"]  # type: ignore[index]
    config = ctx.config.to_dict()
    reads = {key: config[key] for key in ("dataset", *spec.reads)}
    return _hash({"step": step, "config": reads, "upstream": upstream})


def _output_hash(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return _hash([(p.relative_to(folder).as_posix(), sha256_file(p)) for p in files])


def _keep_failed(tmp: Path, failed: Path) -> None:
    shutil.rmtree(failed, ignore_errors=True)
    shutil.copytree(tmp, failed)


def run_step(ctx: RunContext, step: str) -> dict[str, Any]:
    """Run ``step`` unless its done-marker matches its inputs; return its summary."""
    if step not in STEPS:
        raise ConfigError(f"unknown step {step!r}; steps are {', '.join(STEPS)}")
    expected = input_hash(ctx, step)
    marker = ctx.marker(step)
    if marker is not None and marker["input_hash"] == expected:
        log.info("step %s: done already (inputs unchanged), skipped", step)
        return marker["summary"]
    log.info("step %s: running in %s", step, ctx.run_dir)
    for stale in ctx.run_dir.glob(f".{step}.*.tmp"):  # left by a killed earlier attempt
        shutil.rmtree(stale, ignore_errors=True)
    start = time.perf_counter()
    with atomic_dir(ctx.run_dir / step) as tmp:
        try:
            summary = STEPS[step].run(ctx, tmp)
        except BaseException:
            _keep_failed(tmp, ctx.run_dir / f"{step}.failed")
            raise
        seconds = time.perf_counter() - start
        write_json(tmp / MARKER, {
            "step": step, "input_hash": expected, "output_hash": _output_hash(tmp),
            "seconds": round(seconds, 3), "finished_at": time.time(), "summary": summary,
        })
    shutil.rmtree(ctx.run_dir / f"{step}.failed", ignore_errors=True)
    log.info("step %s: done in %.2f s", step, seconds)
    return summary


def run_pipeline(ctx: RunContext, steps: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Run ``steps`` (default: all) in order; a failure is pushed as status 0, then re-raised."""
    write_json(ctx.run_dir / "config.json", ctx.config.to_dict())
    results = {}
    for step in steps or list(STEPS):
        try:
            results[step] = run_step(ctx, step)
        except Exception as error:
            report_failure(ctx, step, error)
            raise
    return results
