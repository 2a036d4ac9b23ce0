"""MLflow helpers: one tracker that logs runs in batches, the provenance every run carries,
and the read side the app shows (latest runs, registered versions).

The tracking URI comes from settings (``RECSYS_MLFLOW_TRACKING_URI``), by default a local SQLite
file ``<data_dir>/mlflow.db`` whose artifacts go to ``<data_dir>/mlartifacts``. The tracker uses
``MlflowClient`` directly (no global active run), and logs params, metrics and tags with one
``log_batch`` call per run to keep the overhead low. Each dataset has one registered model,
:func:`registered_model_name`, whose serving version holds the alias :data:`CHAMPION_ALIAS`.
Readers never create a store: a missing SQLite file reads as "nothing tracked yet".
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from recsys.arguments import check_cutoff, check_flag, check_number
from recsys.errors import ArgumentError, ConfigError, DataError
from recsys.settings import Settings, get_settings

__all__ = [
    "CHAMPION_ALIAS",
    "REGISTERED_MODEL",
    "NullTracker",
    "Tracker",
    "artifact_files",
    "artifact_root",
    "check_model_name",
    "check_tracking_uri",
    "existing_client",
    "git_commit",
    "mlflow_runs",
    "open_tracker",
    "registered_model_name",
    "registered_versions",
    "store_exists",
]

log = logging.getLogger(__name__)
_MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value
_MAX_BATCH_METRICS = 1000  # MLflow's limit on the metrics of one log_batch call
_MAX_RESULTS = 50_000  # MLflow's limit on the runs of one search
_SQLITE = "sqlite:///"
_SQLITE_HEADER = b"SQLite format 3\x00"  # the first bytes of every SQLite database file
CHAMPION_ALIAS = "champion"  # the alias of the registered version the app serves
REGISTERED_MODEL = "recsys-{dataset}"  # the registered model of each dataset


def check_model_name(name: Any) -> str:
    """A registered model name MLflow can search for: non-empty text without a quote."""
    if not isinstance(name, str) or not name or "'" in name:
        raise ArgumentError(f"registered model name must be non-empty text without a quote "
                            f"('), got {name!r}")
    return name


def registered_model_name(dataset: str) -> str:
    """The MLflow registered model of ``dataset`` (``recsys-<dataset>``)."""
    return REGISTERED_MODEL.format(dataset=dataset)


def git_commit(cwd: Path | str | None = None) -> str:
    """The checked-out commit (``git rev-parse HEAD``), or ``"unknown"`` outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "unknown"


def check_tracking_uri(tracking_uri: Any) -> str:
    """``tracking_uri`` when it is a non-empty string whose local SQLite file (if any) is a
    database or not there yet; a folder, a file that is not SQLite, or a parent that is a file
    is a ConfigError (MLflow would retry for minutes, then fail with a raw SQLAlchemy error)."""
    if not isinstance(tracking_uri, str) or not tracking_uri:
        raise ArgumentError(f"tracking_uri must be a non-empty MLflow tracking URI string, got "
                            f"{tracking_uri!r}")
    if tracking_uri.startswith(_SQLITE):
        database = Path(tracking_uri.removeprefix(_SQLITE))
        if database.is_dir():
            raise ConfigError(f"MLflow tracking URI {tracking_uri} is a folder; expected a "
                              "SQLite database file, e.g. sqlite:///<folder>/mlflow.db")
        if any(parent.is_file() for parent in database.parents):
            raise ConfigError(f"MLflow tracking URI {tracking_uri}: a parent of the database "
                              "is a file, not a folder")
        if database.is_file() and database.stat().st_size and not _is_sqlite(database):
            raise ConfigError(f"MLflow tracking URI {tracking_uri}: {database} is not a SQLite "
                              "database")
    return tracking_uri


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER


def artifact_root(tracking_uri: str) -> str | None:
    """Where a new experiment stores artifacts: beside a SQLite store, else the server's default."""
    if check_tracking_uri(tracking_uri).startswith(_SQLITE):
        database = Path(tracking_uri.removeprefix(_SQLITE))
        return (database.parent / "mlartifacts").resolve().as_uri()
    return None


class Tracker:
    """Logs runs (and nested child runs) of one MLflow experiment."""

    def __init__(self, tracking_uri: str, experiment: str) -> None:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        if check_tracking_uri(tracking_uri).startswith(_SQLITE):
            Path(tracking_uri.removeprefix(_SQLITE)).parent.mkdir(parents=True, exist_ok=True)
        self.tracking_uri = tracking_uri
        try:
            self.client = MlflowClient(tracking_uri=tracking_uri)
            found = self.client.get_experiment_by_name(experiment)
            self.experiment_id = (
                found.experiment_id
                if found is not None
                else self.client.create_experiment(experiment, artifact_root(tracking_uri))
            )
        except MlflowException as error:
            raise ConfigError(f"cannot open MLflow experiment {experiment!r} at "
                              f"{tracking_uri}: {error.message}") from error

    def start_run(
        self, name: str, tags: Mapping[str, Any] | None = None, parent_id: str | None = None
    ) -> str:
        """Open a run (a child of ``parent_id`` when given) and return its id."""
        all_tags = {k: str(v) for k, v in (tags or {}).items()}
        if parent_id is not None:
            all_tags["mlflow.parentRunId"] = parent_id
        run = self.client.create_run(self.experiment_id, tags=all_tags, run_name=name)
        return run.info.run_id

    def log(
        self,
        run_id: str,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Log params, finite metrics and tags in one batch."""
        from mlflow.entities import Metric, Param, RunTag

        stamp = int(time.time() * 1000)
        self.client.log_batch(
            run_id,
            metrics=[Metric(_metric_key(k), v, stamp, 0)
                     for k, v in _finite_metrics(metrics or {}).items()],
            params=[Param(k, _param_value(v)) for k, v in (params or {}).items()],
            tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()],
        )

    def log_curve(self, run_id: str, curve: list[dict[str, float]]) -> None:
        """Log a learning curve: entry ``i`` holds the metrics of epoch ``i + 1`` (MLflow step)."""
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        metrics = [Metric(_metric_key(k), v, stamp, step)
                   for step, point in enumerate(curve, start=1)
                   for k, v in _finite_metrics(point).items()]
        for start in range(0, len(metrics), _MAX_BATCH_METRICS):
            self.client.log_batch(run_id, metrics=metrics[start : start + _MAX_BATCH_METRICS])

    def log_files(self, run_id: str, paths: Sequence[Path]) -> None:
        """Attach files as artifacts (under their own names); each must be a file."""
        for path in artifact_files(paths):
            self.client.log_artifact(run_id, str(path))

    def log_text(self, run_id: str, text: str, name: str) -> None:
        """Attach a text artifact (e.g. the spec file)."""
        self.client.log_text(run_id, text, name)

    def end_run(self, run_id: str, failed: bool = False) -> None:
        """Close a run as FINISHED or FAILED."""
        self.client.set_terminated(run_id, "FAILED" if failed else "FINISHED")


class NullTracker:
    """The tracker used with ``--no-mlflow``: same interface, records nothing."""

    tracking_uri = ""

    def start_run(
        self, name: str, tags: Mapping[str, Any] | None = None, parent_id: str | None = None
    ) -> str:
        """Return an empty run id."""
        return ""

    def log(self, run_id: str, params: Any = None, metrics: Any = None, tags: Any = None) -> None:
        """Do nothing."""

    def log_curve(self, run_id: str, curve: list[dict[str, float]]) -> None:
        """Do nothing."""

    def log_files(self, run_id: str, paths: list[Path]) -> None:
        """Do nothing."""

    def log_text(self, run_id: str, text: str, name: str) -> None:
        """Do nothing."""

    def end_run(self, run_id: str, failed: bool = False) -> None:
        """Do nothing."""


def open_tracker(
    experiment: str, settings: Settings | None = None, enabled: bool = True
) -> Tracker | NullTracker:
    """A tracker on the configured URI (``NullTracker`` when disabled)."""
    if not check_flag(enabled, "enabled"):
        return NullTracker()
    settings = settings or get_settings()
    uri = settings.tracking_uri
    if not uri:
        raise ConfigError("MLflow tracking URI is empty: set RECSYS_MLFLOW_TRACKING_URI")
    log.info("MLflow tracking at %s (experiment %r)", uri, experiment)
    return Tracker(uri, experiment)


def artifact_files(paths: Any) -> list[Path]:
    """``paths`` as a list of existing files: a single path (which would be read character by
    character) is an ArgumentError, a missing file or a folder a DataError."""
    if isinstance(paths, str | bytes | Path) or not isinstance(paths, Sequence):
        raise ArgumentError(f"paths must be a list of file paths, got {type(paths).__name__} "
                            f"{paths!r}")
    files = [Path(path) for path in paths]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise DataError(f"cannot attach {missing} as artifacts: not a file")
    return files


def _finite_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The finite values of ``metrics`` as floats (None, NaN and inf are left out); a value
    that is not a number (text, a bool) is an ArgumentError naming the metric."""
    if not isinstance(metrics, Mapping):
        raise ArgumentError(f"metrics must be a mapping of name to number, got "
                            f"{type(metrics).__name__}")
    return {key: check_number(value, f"metric {key!r}") for key, value in metrics.items()
            if value is not None and not (isinstance(value, numbers.Real)
                                          and not isinstance(value, bool)
                                          and not math.isfinite(value))}


def _metric_key(name: str) -> str:
    # MLflow allows alphanumerics, _ - . space : / ; ``ndcg@10`` becomes ``ndcg_at_10``.
    return name.replace("@", "_at_")


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text[:_MAX_PARAM_LENGTH]


# -- the read side ------------------------------------------------------------------------------
def store_exists(tracking_uri: str) -> bool:
    """False for a local SQLite store whose file does not exist yet (no run was tracked);
    ConfigError for a URI no store can be at (:func:`check_tracking_uri`)."""
    return not check_tracking_uri(tracking_uri).startswith(_SQLITE) or Path(
        tracking_uri.removeprefix(_SQLITE)).exists()


def existing_client(settings: Settings) -> Any | None:
    """An ``MlflowClient`` of the configured store, None when the store does not exist."""
    if not store_exists(settings.tracking_uri):
        return None
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=settings.tracking_uri)


def mlflow_runs(settings: Settings, experiment: str = "retrain", limit: int = 20) -> pl.DataFrame:
    """The latest ``limit`` runs of an MLflow experiment: ``[run, name, status, start,
    <metrics>]``."""
    limit = check_cutoff(limit, "limit", _MAX_RESULTS)
    client = existing_client(settings)
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
    """Versions of a registered model: ``[version, model, aliases, created, run, promote]``."""
    client = existing_client(settings)
    versions = client.search_model_versions(f"name='{check_model_name(name)}'") if client else []
    if not versions:
        return pl.DataFrame()
    aliases = _aliases(client, name)
    return pl.DataFrame([
        {"version": int(v.version), "model": v.tags.get("model", ""),
         "aliases": ", ".join(sorted(a for a, n in aliases.items() if n == int(v.version))),
         "created": v.creation_timestamp, "run": (v.run_id or "")[:8],
         "promote": v.tags.get("gate.promote", "")}
        for v in versions
    ]).with_columns(pl.from_epoch("created", time_unit="ms")).sort("version", descending=True)


def _aliases(client: Any, name: str) -> dict[str, int]:
    """Alias -> version of a registered model (``search_model_versions`` leaves them empty)."""
    from mlflow.exceptions import MlflowException

    try:
        return {alias: int(version)
                for alias, version in client.get_registered_model(name).aliases.items()}
    except MlflowException:
        return {}
