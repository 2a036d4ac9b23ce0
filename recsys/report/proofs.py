"""Check a proof or read a measurement against the real sources; a missing source fails.

:func:`check` answers a :class:`Status` for every :class:`~recsys.report.entries.Proof`:
green only when the source exists and says so, red (with the reason) when it says otherwise
*or is missing*. :func:`measure` reads the number a
:class:`~recsys.report.entries.Measurement` points at.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from recsys.bench import results
from recsys.bench.spec import load_spec, lower_is_better
from recsys.errors import DataError, RecsysError
from recsys.io import read_json_object
from recsys.report.entries import Measurement, Proof
from recsys.report.sources import Git, MlflowSource, TestRun, read_quality
from recsys.settings import Settings
from recsys.tracking import CHAMPION_ALIAS, registered_model_name

__all__ = ["Context", "Status", "Reading", "benchmark_run", "check", "measure"]


@dataclass(frozen=True)
class Context:
    """Where the sources are: the checkout, results, test run, data reports, MLflow."""

    repo: Path
    results_root: Path
    settings: Settings
    tests: TestRun | None
    mlflow: MlflowSource
    git: Git
    memo: dict[tuple[str, str], Any] = field(default_factory=dict, compare=False, repr=False)

    def cached(self, kind: str, key: str, read: Callable[[], Any]) -> Any:
        """``read()`` once per (kind, key) in this context: a source is read once per logbook."""
        if (kind, key) not in self.memo:
            self.memo[kind, key] = read()
        return self.memo[kind, key]

    def rel(self, path: Path) -> str:
        """``path`` relative to the checkout when inside it (links are repository paths)."""
        try:
            return path.resolve().relative_to(self.repo.resolve()).as_posix()
        except ValueError:
            return path.as_posix()


@dataclass(frozen=True)
class Status:
    """The verdict on one proof: ``ok`` (green) or not (red), why, and where to look."""

    ok: bool
    detail: str
    link: str | None = None


@dataclass(frozen=True)
class Reading:
    """A measurement's value (None when its source is missing) and where it came from."""

    label: str
    value: float | None
    source: str
    link: str | None = None


def check(proof: Proof, ctx: Context) -> Status:
    """The status of ``proof`` against the sources of ``ctx``."""
    checker = _CHECKERS[proof.kind]
    try:
        return checker(proof, ctx)
    except RecsysError as error:  # an unreadable source is a failed proof, said as such
        return Status(False, f"unreadable: {error}")


def _test(proof: Proof, ctx: Context) -> Status:
    link = proof.target.partition("::")[0]
    if ctx.tests is None:
        return Status(False, "no test results: run `make test` (writes test-output/*.xml)", link)
    outcomes = list(ctx.tests.select(proof.target).values())
    failed, passed = outcomes.count("failed"), outcomes.count("passed")
    if not outcomes:
        return Status(False, "not found in the last test run", link)
    if failed:
        return Status(False, f"{failed} of {len(outcomes)} failed in the last run", link)
    if not passed:
        return Status(False, "skipped in the last run", link)
    return Status(True, f"{passed} passed", link)


def _quality(proof: Proof, ctx: Context) -> Status:
    report = read_quality(proof.target, ctx.settings)
    link = ctx.rel(ctx.settings.data_dir / "reports" / proof.target / "quality.md")
    if report is None:
        return Status(False, f"no quality report: run `recsys data validate {proof.target}`",
                      link)
    levels = [finding["level"] for finding in report["findings"]]
    detail = f"{levels.count('error')} errors, {levels.count('warning')} warnings"
    return Status(bool(report["ok"]), ("PASS: " if report["ok"] else "FAIL: ") + detail, link)


def _folder(ctx: Context, name: str) -> Path:
    return ctx.results_root / name


def _results(proof: Proof, ctx: Context) -> Status:
    folder = _folder(ctx, proof.target)
    found = [folder / name for name in ("results.csv", "results.json") if (folder / name).exists()]
    report = next((p for p in (folder / "report.md", folder / "results.md") if p.exists()), None)
    link = ctx.rel(report or folder)
    if not found:
        return Status(False, "missing: no results.csv or results.json", link)
    is_json = found[0].suffix == ".json"
    verdict = read_json_object(found[0]).get("verdict", {}) if is_json else {}
    if not isinstance(verdict, dict):
        raise DataError(f"{found[0]}: verdict must be an object of targets, got "
                        f"{type(verdict).__name__}")
    missed = sorted(key for key, met in verdict.items() if key.endswith("_met") and not met)
    if missed:
        return Status(False, f"{found[0].name}: targets missed: {', '.join(missed)}", link)
    met = sum(key.endswith("_met") for key in verdict)
    return Status(True, f"{found[0].name} present" + (f", {met} targets met" if met else ""),
                  link)


def benchmark_run(ctx: Context, name: str) -> results.BenchmarkRun | None:
    """The results folder ``name`` read once per context (None when it has no results.csv)."""
    folder = _folder(ctx, name)
    return ctx.cached("benchmark", name, lambda: results.load_benchmark(folder)
                      if (folder / "results.csv").exists() else None)


def _summary(ctx: Context, name: str) -> pl.DataFrame | None:
    run = benchmark_run(ctx, name)
    return None if run is None else run.summary


def _goals(proof: Proof, ctx: Context) -> Status:
    from recsys.bench.report import evaluate_goals  # loads the models: only when needed

    spec_path = ctx.repo / "benchmarks" / "specs" / f"{proof.target}.yaml"
    summary = _summary(ctx, proof.target)
    link = ctx.rel(_folder(ctx, proof.target) / "report.md")
    if not spec_path.exists() or summary is None:
        return Status(False, "missing: spec or results.csv", link)
    every = ctx.cached("goals", proof.target,
                       lambda: evaluate_goals(load_spec(spec_path), summary))
    outcomes = [o for o in every if proof.metric in (None, o.goal.metric)]
    missed = [o.text for o in outcomes if not o.met]
    if not outcomes:
        return Status(False, f"the spec states no goal on {proof.metric or 'any metric'}", link)
    if missed:
        return Status(False, f"{len(missed)} of {len(outcomes)} goals missed: "
                      + "; ".join(missed), link)
    return Status(True, f"{len(outcomes)} of {len(outcomes)} goals met", link)


def _value(summary: pl.DataFrame, model: str, metric: str) -> float | None:
    if metric not in summary.columns:
        return None
    if not summary[metric].dtype.is_numeric():
        raise DataError(f"the {metric} column of the results holds {summary[metric].dtype}, "
                        "not numbers")
    row = summary.filter(pl.col("model") == model)
    value = row[metric][0] if row.height else None
    return None if value is None or math.isnan(float(value)) else float(value)


def _significant(ctx: Context, proof: Proof) -> bool | None:
    run = benchmark_run(ctx, proof.target)
    significance = None if run is None else run.significance
    if significance is None:
        return None
    pair = {proof.better, proof.than}
    rows = significance.filter(pl.col("metric") == proof.metric)
    row = rows.filter(pl.col("model_a").is_in(list(pair)) & pl.col("model_b").is_in(list(pair)))
    return bool(row["significant"][0]) if row.height else None


def _compare(proof: Proof, ctx: Context) -> Status:
    summary = _summary(ctx, proof.target)
    link = ctx.rel(_folder(ctx, proof.target) / "report.md")
    if summary is None:
        return Status(False, "missing: results.csv", link)
    metric = str(proof.metric)
    better, than = _value(summary, str(proof.better), metric), _value(summary, str(proof.than),
                                                                       metric)
    if better is None or than is None:
        return Status(False, f"{metric} of {proof.better!r} or {proof.than!r} not in the results",
                      link)
    wins = better < than if lower_is_better(metric) else better > than
    significant = _significant(ctx, proof)
    detail = f"{metric} {better:.4g} vs {than:.4g}"
    detail += {True: ", significant (Holm)", False: ", not significant (Holm)",
               None: ""}[significant]
    ok = wins and (significant is True or not proof.significant)
    return Status(ok, detail, link)


def _champion(proof: Proof, ctx: Context) -> Status:
    name = registered_model_name(proof.target)
    if not ctx.mlflow.available:
        return Status(False, f"no MLflow store at {ctx.mlflow.tracking_uri}: run the pipeline")
    holder = next((v for v in ctx.mlflow.versions(name)
                   if CHAMPION_ALIAS in v["aliases"].split(", ")), None)
    if holder is None:
        return Status(False, f"{name} has no {CHAMPION_ALIAS!r} version in "
                      f"{ctx.mlflow.tracking_uri}")
    return Status(True, f"{name} v{holder['version']} (run {holder['run']})")


_CHECKERS = {"test": _test, "quality": _quality, "results": _results, "goals": _goals,
             "compare": _compare, "champion": _champion}


def measure(measurement: Measurement, ctx: Context) -> Reading:
    """Read the value a measurement points at (from git as of its commit when it names one)."""
    if measurement.reported is not None:
        return Reading(measurement.label, measurement.reported,
                       f"reported by {measurement.source}; not a committed result yet")
    relative = ctx.rel(_folder(ctx, str(measurement.results)) / "results.csv")
    if measurement.commit:
        raw = ctx.git.show(measurement.commit, relative)
        where = f"`{relative}` at {measurement.commit}"
    else:
        path = ctx.repo / relative
        raw = path.read_bytes() if path.exists() else None
        where = f"`{relative}`"
    source = f"{measurement.model} {measurement.metric} in {where}"
    try:
        value = None if raw is None else _value(results.read_summary(where, raw),
                                                str(measurement.model), str(measurement.metric))
    except DataError as error:  # shown as missing, with the reason
        value, source = None, f"{source}, unreadable: {error}"
    return Reading(measurement.label, value, source, relative)
