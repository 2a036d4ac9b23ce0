"""Champion/challenger: offline evaluation for the gate, the promotion gate, the MLflow registry.

A challenger is promoted (given the ``champion`` alias of its registered model) only when, on
the same evaluation split, it beats the current champion on the primary metric with a
significant paired test over the users both were evaluated on, and regresses no guardrail
(catalogue coverage, single-user latency). The decision carries its evidence, logged as MLflow
tags and as ``decision.json`` by the pipeline.

Registered versions are plain artifacts: the model folder written by ``Recommender.save``
under the run's ``model/`` path, registered with ``source=runs:/<run>/model``. The app loads the
champion with :meth:`ModelRegistry.load_champion`.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from recsys.arguments import check_cutoff, check_number, check_numbers
from recsys.config import build
from recsys.errors import ArgumentError, ConfigError, DataError, RecsysError, UnknownIdError
from recsys.evaluation import compare_models, recommend_latency
from recsys.evaluation.metrics import RANKING_METRICS, catalog_coverage
from recsys.evaluation.protocol import EvalPlan, PreparedSplit, evaluate
from recsys.models.base import Recommender
from recsys.tracking import CHAMPION_ALIAS, artifact_files

__all__ = [
    "CHAMPION",
    "GatePolicy",
    "GuardrailCheck",
    "GateDecision",
    "ModelEvaluation",
    "evaluate_for_gate",
    "decide",
    "ModelRegistry",
]

log = logging.getLogger(__name__)

CHAMPION = CHAMPION_ALIAS
COVERAGE = "coverage"
LATENCY = "latency_p95_ms"


@dataclass(frozen=True)
class GatePolicy:
    """What a challenger must show to be promoted."""

    primary_metric: str = "ndcg@10"
    alpha: float = 0.05  # significance level of the paired t-test
    max_coverage_drop: float = 0.02  # absolute drop of catalogue coverage tolerated
    max_latency_ratio: float = 1.5  # challenger p95 latency <= ratio * champion's, ...
    latency_budget_ms: float = 100.0  # ... or <= this budget (timings on shared CPUs are noisy)
    latency_users: int = 50  # single-user calls timed per model

    def __post_init__(self) -> None:
        """Every threshold finite and in range (a NaN limit would regress every challenger)."""
        check_number(self.alpha, "gate alpha", 0, 1)
        check_number(self.max_latency_ratio, "gate max_latency_ratio", low=0)
        for name in ("max_coverage_drop", "latency_budget_ms"):
            if check_number(getattr(self, name), f"gate {name}") < 0:
                raise ArgumentError(f"gate {name} must be >= 0, got {getattr(self, name)!r}")
        check_cutoff(self.latency_users, "gate latency_users")
        if not isinstance(self.primary_metric, str):
            raise ArgumentError(f"gate primary_metric must be a string such as 'ndcg@10', got "
                                f"{self.primary_metric!r}")
        self.k  # noqa: B018 (a malformed primary metric fails here, not in a later step)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> GatePolicy:
        """Build from a config mapping; an unknown key is an error, not a silent default."""
        return build(cls, values, "gate", noun="gate option")

    @property
    def k(self) -> int:
        """The cut-off of the primary metric (``ndcg@10`` -> 10)."""
        name, _, cutoff = self.primary_metric.partition("@")
        if name not in RANKING_METRICS or not cutoff.isascii() or not cutoff.isdigit() or (
                int(cutoff) < 1):
            raise ConfigError(
                f"primary metric must look like 'ndcg@10' (one of {', '.join(RANKING_METRICS)} "
                f"at a cut-off >= 1), got {self.primary_metric!r}"
            )
        return int(cutoff)


@dataclass(frozen=True)
class ModelEvaluation:
    """One model on one split: means, per-user values and the top-k lists it served."""

    summary: dict[str, float]
    per_user: pl.DataFrame  # [user_id, <metric>@k ...]
    recs: pl.DataFrame  # [user_id, item_id, score, rank]


def evaluate_for_gate(
    model: Recommender,
    data: PreparedSplit,
    k: int = 10,
    latency_users: int = 50,
    engine: str = "local",
) -> ModelEvaluation:
    """Ranking metrics, coverage and p95 latency of ``model`` on ``data``'s evaluated users.

    Scored by :func:`recsys.evaluation.protocol.evaluate`, the evaluation the benchmark lab
    uses (on ``engine``: in process or on Spark), on the users the model knows; coverage is
    relative to the split's training catalogue (the same for every model compared).
    """
    k, latency_users = check_cutoff(k, "k"), check_cutoff(latency_users, "latency_users")
    known = data.users[model.train_.user_index(data.users, missing="mark") >= 0]
    if len(known) == 0:
        raise DataError(f"{model.name} knows none of the {len(data.users)} evaluation users")
    scoped = dataclasses.replace(data, users=known)
    evaluation = evaluate(model, scoped, EvalPlan((k,), ranking=True, rating=False, beyond_k=None,
                                                  engine=engine))
    latency = recommend_latency(model, known, k=k, n=latency_users)
    summary = {name: value for name, value in evaluation.metrics.items() if "@" in name} | {
        COVERAGE: catalog_coverage(evaluation.recs, data.interactions.shape[1]),
        LATENCY: latency["p95_ms"],
        "n_users": float(len(known)),
    }
    return ModelEvaluation(summary, evaluation.per_user, evaluation.recs)


@dataclass(frozen=True)
class GuardrailCheck:
    """One guardrail check: the challenger's value against the limit set by the champion."""

    name: str
    challenger: float
    champion: float
    limit: float
    higher_is_better: bool

    @property
    def ok(self) -> bool:
        """True when the challenger stays within the limit."""
        if self.higher_is_better:
            return self.challenger >= self.limit
        return self.challenger <= self.limit


@dataclass(frozen=True)
class GateDecision:
    """The gate's verdict and the evidence behind it."""

    promote: bool
    reason: str
    primary_metric: str
    challenger_mean: float
    champion_mean: float | None = None
    mean_diff: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    n_users: int | None = None
    guardrails: tuple[GuardrailCheck, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``decision.json``)."""
        payload = dataclasses.asdict(self)
        payload["guardrails"] = [dataclasses.asdict(g) | {"ok": g.ok} for g in self.guardrails]
        return payload

    def tags(self) -> dict[str, str]:
        """The decision as MLflow tags (``gate.*``)."""
        tags = {
            f"gate.{key}": str(value)
            for key, value in self.to_dict().items()
            if key != "guardrails" and value is not None
        }
        for guard in self.guardrails:
            tags[f"gate.guardrail.{guard.name}"] = (
                f"{'ok' if guard.ok else 'regressed'}: {guard.challenger:.6g} vs limit "
                f"{guard.limit:.6g} (champion {guard.champion:.6g})"
            )
        return tags


def _guardrails(
    challenger: Mapping[str, float], champion: Mapping[str, float], policy: GatePolicy
) -> tuple[GuardrailCheck, ...]:
    return (
        GuardrailCheck(COVERAGE, challenger[COVERAGE], champion[COVERAGE],
                  champion[COVERAGE] - policy.max_coverage_drop, higher_is_better=True),
        GuardrailCheck(LATENCY, challenger[LATENCY], champion[LATENCY],
                  max(champion[LATENCY] * policy.max_latency_ratio, policy.latency_budget_ms),
                  higher_is_better=False),
    )


def _check_evaluation(evaluation: Any, role: str, metric: str, summary: tuple[str, ...]) -> None:
    """An evaluation the gate can read: finite per-user ``metric`` values and the ``summary``
    entries it compares."""
    if not isinstance(evaluation, ModelEvaluation):
        raise ArgumentError(f"{role} must be a ModelEvaluation (evaluate_for_gate), got "
                            f"{type(evaluation).__name__}")
    if metric not in evaluation.per_user.columns or "user_id" not in evaluation.per_user.columns:
        raise DataError(f"{role} has no per-user {metric!r}; has {evaluation.per_user.columns}")
    check_numbers(evaluation.per_user[metric], f"{role} per-user {metric}")
    missing = [name for name in summary if name not in evaluation.summary]
    if missing:
        raise DataError(f"{role} summary lacks {missing}; has {sorted(evaluation.summary)}")


def decide(
    challenger: ModelEvaluation, champion: ModelEvaluation | None, policy: GatePolicy
) -> GateDecision:
    """Promote or keep: significance on the primary metric, then the guardrails."""
    if not isinstance(policy, GatePolicy):
        raise ArgumentError(f"policy must be a GatePolicy (GatePolicy.from_mapping reads a "
                            f"config), got {type(policy).__name__}")
    metric = policy.primary_metric
    _check_evaluation(challenger, "challenger", metric, (metric,))
    if champion is None:
        return GateDecision(True, "no champion yet: the first model becomes champion", metric,
                            challenger.summary[metric])
    for role, evaluation in (("challenger", challenger), ("champion", champion)):
        _check_evaluation(evaluation, role, metric, (COVERAGE, LATENCY))
    shared = challenger.per_user.join(champion.per_user, on="user_id", how="semi").height
    if shared < 2:
        raise DataError(f"challenger and champion share {shared} evaluated user(s); the paired "
                        "test needs at least 2 (were they evaluated on the same split?)")
    per_user = pl.concat([
        challenger.per_user.select("user_id", metric).with_columns(model=pl.lit("challenger")),
        champion.per_user.select("user_id", metric).with_columns(model=pl.lit(CHAMPION)),
    ])
    row = compare_models(per_user, metric, alpha=policy.alpha).row(0, named=True)
    sign = 1.0 if row["model_a"] == "challenger" else -1.0  # mean_diff is model_a - model_b
    diff = sign * row["mean_diff"]
    ci = sorted((sign * row["ci_low"], sign * row["ci_high"]))
    guards = _guardrails(challenger.summary, champion.summary, policy)
    better = diff > 0 and bool(row["significant"])
    regressed = [g.name for g in guards if not g.ok]
    if not better:
        reason = (f"not significantly better on {metric}: diff {diff:+.4f}, "
                  f"p={row['p_ttest_holm']:.3g} (alpha {policy.alpha})")
    elif regressed:
        reason = f"better on {metric} but regresses guardrail(s) {regressed}"
    else:
        reason = f"significantly better on {metric}: diff {diff:+.4f}, p={row['p_ttest_holm']:.3g}"
    return GateDecision(
        promote=better and not regressed, reason=reason, primary_metric=metric,
        challenger_mean=row["mean_a"] if sign > 0 else row["mean_b"],
        champion_mean=row["mean_b"] if sign > 0 else row["mean_a"],
        mean_diff=diff, ci_low=ci[0], ci_high=ci[1], p_value=row["p_ttest_holm"],
        n_users=row["n_users"], guardrails=guards,
    )


class ModelRegistry:
    """One registered model in MLflow, its versions and its ``champion`` alias."""

    def __init__(self, tracking_uri: str, name: str, experiment: str = "retrain") -> None:
        from recsys.tracking import Tracker, check_model_name

        self.name = check_model_name(name)
        self.tracker = Tracker(tracking_uri, experiment)
        self.client = self.tracker.client

    def champion(self) -> Any | None:
        """The ``ModelVersion`` holding the champion alias, or None (no model / no alias yet)."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(self.name, CHAMPION)
        except MlflowException as error:
            if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise RecsysError(
                f"cannot read alias {CHAMPION!r} of {self.name!r}: {error}"
            ) from error

    def download(self, version: Any, destination: Path) -> Path:
        """Download a version's model folder into ``destination``; return the folder."""
        from mlflow.exceptions import MlflowException

        run_id = getattr(_checked_version(version), "run_id", None)
        try:
            return Path(self.client.download_artifacts(run_id, "model", str(destination)))
        except MlflowException as error:
            raise UnknownIdError(f"cannot download version {version.version} of {self.name!r} "
                                 f"(run {run_id}): {error.message}") from error

    def load_champion(self) -> Recommender | None:
        """The champion as a fitted Recommender (None when there is none)."""
        version = self.champion()
        if version is None:
            return None
        with tempfile.TemporaryDirectory(prefix="recsys-champion-") as tmp:
            return Recommender.load(self.download(version, Path(tmp)))

    def find(self, tag: str, value: str) -> Any | None:
        """The version whose tag ``tag`` equals ``value`` (to make registration idempotent)."""
        if not all(isinstance(text, str) and "'" not in text and "`" not in text
                   for text in (tag, value)):
            raise ArgumentError(f"tag and value must be text without quotes, got {tag!r}, "
                                f"{value!r}")
        found = self.client.search_model_versions(f"name='{self.name}' and tags.`{tag}`='{value}'")
        return found[0] if found else None

    def register(
        self,
        model_dir: Path,
        run_name: str,
        metrics: Mapping[str, float],
        params: Mapping[str, Any],
        tags: Mapping[str, str],
        files: list[Path] | tuple[Path, ...] = (),
    ) -> Any:
        """Log ``model_dir`` (plus ``files``) in a new run and register it as a new version."""
        from mlflow.exceptions import MlflowException

        if not Path(model_dir).is_dir():
            raise DataError(f"cannot register {model_dir}: not a model folder")
        files = artifact_files(files)
        run_id = self.tracker.start_run(run_name, tags=tags)
        try:
            self.tracker.log(run_id, params=params, metrics=metrics)
            self.client.log_artifacts(run_id, str(model_dir), "model")
            self.tracker.log_files(run_id, files)
            try:
                self.client.create_registered_model(self.name)
            except MlflowException as error:
                if error.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
            version = self.client.create_model_version(
                self.name, f"runs:/{run_id}/model", run_id, tags=dict(tags)
            )
        except Exception:
            self.tracker.end_run(run_id, failed=True)
            raise
        self.tracker.end_run(run_id)
        log.info("registered %s version %s (run %s)", self.name, version.version, run_id)
        return version

    def promote(self, version: Any) -> None:
        """Give ``version`` the champion alias (moving it from the previous champion)."""
        from mlflow.exceptions import MlflowException

        number = str(_checked_version(version).version)
        try:
            self.client.set_registered_model_alias(self.name, CHAMPION, number)
        except MlflowException as error:
            raise UnknownIdError(f"cannot promote version {number} of {self.name!r}: "
                                 f"{error.message}") from error
        log.info("%s version %s is now %s", self.name, version.version, CHAMPION)


def _checked_version(version: Any) -> Any:
    """``version`` when it looks like a registered ``ModelVersion`` (what :meth:`register`,
    :meth:`find` and :meth:`champion` return), else ArgumentError."""
    if getattr(version, "version", None) is None:
        raise ArgumentError(f"version must be a registered ModelVersion (register, find or "
                            f"champion return one), got {version!r}")
    return version
