"""The retraining pipeline's run folders: their layout and the read side the app shows.

A run of dataset ``d`` lives in ``<data_dir>/runs/<d>/<run id>/`` (:func:`run_dir_for`), one
sub-folder per step, each completed step holding its done-marker (:data:`MARKER`). The
readers summarise every run (challenger, gate decision, metrics, drift alerts) and the drift
checks over time; a missing folder reads as "no run yet".
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from recsys.arguments import check_text
from recsys.data.releases import get_release
from recsys.errors import ArgumentError, DataError
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


def _read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file's content, None when the file does not exist; DataError naming the
    file when it is unreadable, not JSON or not an object."""
    if not path.exists():
        return None
    try:
        content = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"cannot read {path}: {error}") from error
    if not isinstance(content, dict):
        raise DataError(f"{path}: expected a JSON object, got {type(content).__name__}")
    return content


def _drift_checks(path: Path) -> list[dict[str, Any]]:
    """The ``checks`` of a drift report, each with its name, score, threshold and alert."""
    checks = (_read_json(path) or {}).get("checks", [])
    fields = ("name", "score", "threshold", "alert")
    if not isinstance(checks, list) or not all(
            isinstance(c, dict) and all(f in c for f in fields) for c in checks):
        raise DataError(f"{path}: expected `checks`, a list of objects with {list(fields)}")
    return checks


def pipeline_runs(dataset: str, settings: Settings) -> pl.DataFrame:
    """One row per retraining run of ``dataset`` (``<data_dir>/runs/<dataset>/*``), newest last.

    ``[run, challenger, promoted, reason, <primary metrics of the challenger>, drift_alerts]``.
    """
    root = runs_root(settings, dataset)
    rows = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        decision = _read_json(folder.joinpath(*DECISION)) or {}
        metrics = _read_json(folder.joinpath(*METRICS)) or {}
        if not all(isinstance(values, dict) for values in metrics.values()):
            raise DataError(f"{folder.joinpath(*METRICS)}: expected an object of model -> "
                            "metrics")
        marker = _read_json(folder.joinpath(*GATE_MARKER)) or {}
        challenger = marker.get("summary", {}).get("challenger") or (
            max(metrics, key=lambda m: metrics[m].get("ndcg@10", 0)) if metrics else None)
        rows.append({
            "run": folder.name, "challenger": challenger,
            "promoted": decision.get("promote"), "reason": decision.get("reason"),
            **{k: v for k, v in (metrics.get(challenger) or {}).items()
               if isinstance(v, int | float)},
            "drift_alerts": ", ".join(c["name"] for c in _drift_checks(folder.joinpath(*DRIFT))
                                      if c["alert"]),
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
