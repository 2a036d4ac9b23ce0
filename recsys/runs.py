"""The retraining pipeline's run folders: their layout and the read side the app shows.

A run of dataset ``d`` lives in ``<data_dir>/runs/<d>/<run id>/`` (:func:`run_dir_for`), one
sub-folder per step, each completed step holding its done-marker (:data:`MARKER`). The
readers summarise every run (challenger, gate decision, metrics, drift alerts) and the drift
checks over time; a missing folder reads as "no run yet".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from recsys.arguments import check_text
from recsys.data.releases import get_release
from recsys.errors import ArgumentError, DataError
from recsys.io import read_json_object
from recsys.settings import Settings

__all__ = ["MARKER", "drift_history", "pipeline_runs", "run_dir_for", "runs_root"]

MARKER = "_done.json"  # written by a step when it completed, with the hash of its inputs
DECISION = ("gate", "decision.json")
METRICS = ("evaluate", "metrics.json")
DRIFT = ("drift", "drift.json")
GATE_MARKER = ("gate", MARKER)
_MAX_RUN_ID_CHARS = 200
DRIFT_SCHEMA = {"run": pl.String(), "check": pl.String(), "score": pl.Float64(),
                "threshold": pl.Float64(), "alert": pl.Boolean()}


def runs_root(settings: Settings, dataset: str) -> Path:
    """``<data_dir>/runs/<dataset>``: every retraining run of ``dataset`` (a release name, so
    that no name reaches outside the runs folder)."""
    return settings.data_dir / "runs" / get_release(dataset).name


def run_dir_for(settings: Settings, dataset: str, run_id: str | None) -> Path:
    """``<data_dir>/runs/<dataset>/<run id>``; the id is made path-safe (Airflow's have ':');
    an id of dots only (``..``, which would be a parent folder) is an ArgumentError."""
    if run_id is None:
        run_id = datetime.now(UTC).strftime("%Y-%m-%d")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", check_text(run_id, "run_id", _MAX_RUN_ID_CHARS))
    if not safe.strip("."):
        raise ArgumentError(f"run_id must name a folder (letters, digits, . _ -), got "
                            f"{run_id!r}")
    return runs_root(settings, dataset) / safe


def _read_json(path: Path) -> dict[str, Any]:
    """A step's JSON object, empty when the step has not written it (a run in progress);
    DataError naming the file when it is damaged."""
    return read_json_object(path) if path.exists() else {}


def _is_number(value: Any) -> bool:
    """A real number, not a bool and not NaN (infinities pass: a drift score may be one)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _metrics(path: Path) -> dict[str, dict[str, float]]:
    """The numbers of each model in a run's ``metrics.json`` (``{model: {metric: value}}``)."""
    metrics = _read_json(path)
    if not all(isinstance(values, dict) for values in metrics.values()):
        raise DataError(f"{path} must map each model to its metrics, got {metrics!r:.200}")
    return {model: {k: float(v) for k, v in values.items() if _is_number(v)}
            for model, values in metrics.items()}


def _drift_checks(path: Path) -> list[dict[str, Any]]:
    """The checks of a run's ``drift.json``, each with a name, a score and a threshold that
    are numbers and a true/false alert; DataError naming the file otherwise (a NaN score, or
    an alert "no" read as true, made a wrong chart)."""
    checks = read_json_object(path, ("checks",))["checks"]
    if not isinstance(checks, list) or not all(
            isinstance(c, dict) and isinstance(c.get("name"), str) and _is_number(c.get("score"))
            and _is_number(c.get("threshold")) and isinstance(c.get("alert"), bool)
            for c in checks):
        raise DataError(f"{path}: checks must be a list of {{name, score, threshold, alert}} "
                        f"with numbers and a true/false alert, got {checks!r:.200}")
    return checks


def _gate(folder: Path) -> tuple[str | None, bool | None, str | None]:
    """The gate step's challenger, promotion and reason (None before the step ran)."""
    summary = _read_json(folder.joinpath(*GATE_MARKER)).get("summary", {})
    decision = _read_json(folder.joinpath(*DECISION))
    challenger = summary.get("challenger") if isinstance(summary, dict) else summary
    promoted, reason = decision.get("promote"), decision.get("reason")
    if not (isinstance(summary, dict) and isinstance(challenger, str | None)
            and isinstance(promoted, bool | None) and isinstance(reason, str | None)):
        raise DataError(f"{folder / 'gate'}: needs a challenger name, promote true or false and "
                        f"a reason text, got summary {summary!r:.100}, promote {promoted!r:.50}, "
                        f"reason {reason!r:.100}")
    return challenger, promoted, reason


def pipeline_runs(dataset: str, settings: Settings) -> pl.DataFrame:
    """One row per retraining run of ``dataset`` (``<data_dir>/runs/<dataset>/*``), newest last.

    ``[run, challenger, promoted, reason, <primary metrics of the challenger>, drift_alerts]``;
    a step not run yet leaves its cells empty, a damaged step file is a DataError naming it.
    """
    root = runs_root(settings, dataset)
    rows = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        metrics = _metrics(folder.joinpath(*METRICS))
        challenger, promoted, reason = _gate(folder)
        challenger = challenger or (
            max(metrics, key=lambda m: metrics[m].get("ndcg@10", 0)) if metrics else None)
        drift = folder.joinpath(*DRIFT)
        checks = _drift_checks(drift) if drift.exists() else []
        rows.append({
            "run": folder.name, "challenger": challenger, "promoted": promoted, "reason": reason,
            **metrics.get(challenger, {}),
            "drift_alerts": ", ".join(c["name"] for c in checks if c["alert"]),
        })
    return pl.DataFrame(rows) if rows else pl.DataFrame()


def drift_history(dataset: str, settings: Settings) -> pl.DataFrame:
    """Drift checks of every retraining run: ``[run, check, score, threshold, alert]``."""
    root = runs_root(settings, dataset)
    rows = [
        {"run": path.parents[1].name, "check": c["name"], "score": float(c["score"]),
         "threshold": float(c["threshold"]), "alert": bool(c["alert"])}
        for path in sorted(root.glob("*/" + "/".join(DRIFT))) if root.is_dir()
        for c in _drift_checks(path)
    ]
    return pl.DataFrame(rows, schema=DRIFT_SCHEMA)
