"""Typed benchmark specs read from YAML: unknown keys fail loudly, and specs round-trip exactly.

A spec names a dataset, a split protocol, the seeds, the cut-offs and metrics, the models (with
optional hyper-parameter search on a validation split carved from the training part only), the
published reference numbers to compare against and the goals to report on.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from recsys.config import build, load_yaml
from recsys.errors import ConfigError
from recsys.evaluation.protocol import SPLITTERS

__all__ = [
    "BenchmarkSpec",
    "Goal",
    "ModelSpec",
    "ProtocolSpec",
    "Published",
    "PublishedRow",
    "TuneSpec",
    "LOWER_IS_BETTER",
    "load_spec",
    "lower_is_better",
]

ProtocolKind = Literal[tuple(SPLITTERS)]  # the one splitter registry, by function name
RANKING_METRICS = ("precision", "recall", "ndcg", "map", "map_recommenders", "mrr", "hit_rate")
RATING_METRICS = ("rmse", "mae")
BEYOND_METRICS = ("coverage", "novelty", "arp", "gini", "ild")  # recsys.evaluation names
COST_METRICS = (
    "fit_s", "predict_s", "time_s", "total_time_s", "recommend_ms", "latency_p50_ms",
    "latency_p95_ms", "peak_mb", "size_mb", "epochs", "epoch_s",
)
LOWER_IS_BETTER = frozenset(RATING_METRICS + COST_METRICS + ("arp", "gini"))
_METRIC = re.compile(r"^(?P<base>[a-z_]+)(@(?P<k>\d+))?$")


def lower_is_better(metric: str) -> bool:
    """True for error, cost and popularity metrics (smaller numbers win)."""
    return metric.split("@")[0] in LOWER_IS_BETTER


def check_metric(metric: str, where: str) -> None:
    """Raise ``ConfigError`` unless ``metric`` is a known name (ranking ones carry ``@k``)."""
    match = _METRIC.match(metric)
    base, k = (match["base"], match["k"]) if match else ("", None)
    known = (base in RANKING_METRICS + BEYOND_METRICS and k is not None) or (
        k is None and base in RATING_METRICS + COST_METRICS
    )
    if not known:
        raise ConfigError(
            f"{where}: unknown metric {metric!r}; expected one of "
            f"{list(RATING_METRICS + COST_METRICS)} or <name>@<k> with name in "
            f"{list(RANKING_METRICS + BEYOND_METRICS)}"
        )


@dataclass(frozen=True)
class ProtocolSpec:
    """A split protocol: ``kind`` names a splitter of :data:`SPLITTERS`, ``params`` its args."""

    kind: ProtocolKind
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TuneSpec:
    """Hyper-parameter search, scored on a validation split carved from each training part.

    ``grid`` maps parameter -> candidate values; ``n_iter`` 0 tries the whole grid, otherwise a
    seeded random sample of ``n_iter`` grid points (random search).
    """

    grid: dict[str, list[Any]]
    metric: str
    validation: ProtocolSpec
    n_iter: int = 0

    def candidates(self, seed: int) -> list[dict[str, Any]]:
        """The parameter combinations to try, in a deterministic order."""
        names = sorted(self.grid)
        points = [dict(zip(names, values, strict=True))
                  for values in itertools.product(*(self.grid[n] for n in names))]
        if 0 < self.n_iter < len(points):
            chosen = np.random.default_rng(seed).choice(len(points), self.n_iter, replace=False)
            points = [points[i] for i in sorted(chosen)]
        return points


@dataclass(frozen=True)
class ModelSpec:
    """One model of a benchmark: registry name, display label, fixed params, optional search."""

    name: str
    label: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    tune: TuneSpec | None = None
    published: str | None = None  # label of the published row this model reproduces

    @property
    def display(self) -> str:
        """The label shown in tables (the registry name when no label is given)."""
        return self.label or self.name


@dataclass(frozen=True)
class PublishedRow:
    """Reference numbers for one published model, as the source prints them."""

    label: str
    metrics: dict[str, float]
    note: str = ""


@dataclass(frozen=True)
class Published:
    """A published table to put next to ours, always with its source and protocol."""

    source: str
    protocol: str
    rows: list[PublishedRow] = field(default_factory=list)
    hardware: str = ""

    def row(self, label: str) -> PublishedRow | None:
        """The row labelled ``label``, if any."""
        return next((r for r in self.rows if r.label == label), None)


@dataclass(frozen=True)
class Goal:
    """A target: ``model``'s ``metric`` (or its ratio/abs difference to ``reference``) ``op`` value.

    ``model`` is a model label or ``best`` (the best model on ``metric``); ``reference`` is another
    model label or ``published`` (the model's published row); ``compare`` says how the two combine.
    """

    metric: str
    op: Literal["<=", ">="]
    value: float
    model: str = "best"
    reference: str | None = None
    compare: Literal["value", "ratio", "abs_diff"] = "value"
    stretch: float | None = None
    description: str = ""


@dataclass(frozen=True)
class BenchmarkSpec:
    """A whole benchmark: data, protocol, models, metrics, published numbers and goals."""

    name: str
    dataset: str
    protocol: ProtocolSpec
    models: list[ModelSpec]
    description: str = ""
    seeds: list[int] = field(default_factory=lambda: [42])
    relevance_threshold: float | None = None  # None: every held-out rating is relevant
    k: list[int] = field(default_factory=lambda: [10])
    metrics: list[str] = field(default_factory=lambda: ["ndcg@10"])
    recall_denominator: Literal["all", "min_k"] = "all"
    full_catalog: bool = False  # train vocabulary = every movie (cold items as empty columns)
    engine: Literal["local", "spark"] = "local"  # where metrics (and Spark models' top-k) run
    published: Published | None = None
    goals: list[Goal] = field(default_factory=list)
    # Specs (paths relative to this file's folder) that ``recsys bench run`` runs after this
    # one, each into its own results folder: the same models under another protocol.
    also: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def from_dict(cls, data: Any, where: str = "spec") -> BenchmarkSpec:
        """Build from parsed YAML; unknown keys and wrong types raise ``ConfigError``."""
        return build(cls, data, where)

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` turns back into an equal spec."""
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        """The spec as YAML text (keys in declaration order)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def select(self, labels: list[str]) -> BenchmarkSpec:
        """The same spec restricted to the models with these labels (or registry names).

        Goals about a model left out (or measured against one) are left out with it.
        """
        chosen = [m for m in self.models if m.display in labels or m.name in labels]
        missing = sorted(set(labels) - {m.display for m in chosen} - {m.name for m in chosen})
        if missing:
            raise ConfigError(
                f"Spec {self.name!r} has no model(s) {missing}; "
                f"its models are {[m.display for m in self.models]}"
            )
        kept = {m.display for m in chosen}
        goals = [g for g in self.goals
                 if g.model in kept | {"best"} and g.reference in kept | {None, "published"}]
        return dataclasses.replace(self, models=chosen, goals=goals)

    @property
    def ranking_ks(self) -> list[int]:
        """Cut-offs needed by the ranking metrics, the goals and ``k``."""
        named = {int(m.split("@")[1]) for m in self._all_metric_names() if "@" in m}
        return sorted(set(self.k) | named)

    @property
    def needs_ranking(self) -> bool:
        """True when any requested metric is computed from top-N lists."""
        return any(_METRIC.match(m)["base"] not in RATING_METRICS + COST_METRICS
                   for m in self._all_metric_names())

    @property
    def headline(self) -> str:
        """The metric the report's figures and the lab's leaderboard open on: the first listed."""
        return self.metrics[0]

    @property
    def beyond_k(self) -> int | None:
        """The cut-off of the beyond-accuracy metrics (coverage, novelty, ...): the one they
        name, else the first ``k``; None when nothing is ranked."""
        if not self.needs_ranking:
            return None
        named = _beyond_cutoffs(self._all_metric_names())
        return named[0] if named else self.k[0]

    @property
    def needs_rating(self) -> bool:
        """True when RMSE or MAE is requested."""
        return any(m in RATING_METRICS for m in self._all_metric_names())

    def _all_metric_names(self) -> list[str]:
        tuned = [m.tune.metric for m in self.models if m.tune]
        return list(self.metrics) + [g.metric for g in self.goals] + tuned


def load_spec(path: Path | str) -> BenchmarkSpec:
    """Read and validate a YAML spec file (through the one config builder)."""
    return load_yaml(path, BenchmarkSpec)


# -- validation ------------------------------------------------------------------------------
def _validate(spec: BenchmarkSpec) -> None:
    where = f"spec {spec.name!r}"
    if not spec.models:
        raise ConfigError(f"{where}: `models` is empty; list at least one model")
    if not spec.seeds:
        raise ConfigError(f"{where}: `seeds` is empty; give at least one seed")
    if any(k < 1 for k in spec.k):
        raise ConfigError(f"{where}: every k must be >= 1, got {spec.k}")
    labels = [m.display for m in spec.models]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ConfigError(f"{where}: model labels must be unique, repeated: {duplicates}")
    for metric in spec._all_metric_names():
        check_metric(metric, where)
    if len(cutoffs := _beyond_cutoffs(spec._all_metric_names())) > 1:
        raise ConfigError(
            f"{where}: the beyond-accuracy metrics ({', '.join(BEYOND_METRICS)}) are computed at "
            f"one cut-off; these name several: {cutoffs}"
        )
    _validate_references(spec, labels, where)


def _beyond_cutoffs(metrics: list[str]) -> list[int]:
    """The distinct cut-offs of the beyond-accuracy metrics among ``metrics``, ascending."""
    matches = [_METRIC.match(m) for m in metrics]
    return sorted({int(m["k"]) for m in matches if m and m["base"] in BEYOND_METRICS})


def _validate_references(spec: BenchmarkSpec, labels: list[str], where: str) -> None:
    published = {r.label for r in spec.published.rows} if spec.published else set()
    for row in spec.published.rows if spec.published else []:
        for metric in row.metrics:
            check_metric(metric, f"{where}: published row {row.label!r}")
    for model in spec.models:
        if model.published is not None and model.published not in published:
            raise ConfigError(
                f"{where}: model {model.display!r} refers to published row {model.published!r}, "
                f"which is not in `published.rows` {sorted(published)}"
            )
    for goal in spec.goals:
        if goal.model != "best" and goal.model not in labels:
            raise ConfigError(f"{where}: goal model {goal.model!r} is not a model label {labels}")
        if goal.reference not in (None, "published", *labels):
            raise ConfigError(
                f"{where}: goal reference {goal.reference!r} must be 'published' or a model label"
            )
        if (goal.compare == "value") != (goal.reference is None):
            raise ConfigError(
                f"{where}: goal on {goal.metric!r}: compare={goal.compare!r} needs "
                f"{'no reference' if goal.compare == 'value' else 'a reference'}"
            )
