"""The A/B event store: exposures and feedback in a real database through SQLAlchemy 2.

SQLite file by default (``RECSYS_EVENT_DB_URL`` / ``get_settings().events_url``), any SQLAlchemy
URL otherwise (PostgreSQL in docker-compose). Each write is one transaction; SQLite runs in WAL
mode with a busy timeout and ``BEGIN IMMEDIATE`` so that concurrent writers from several app
sessions (processes) wait for each other instead of failing or losing rows. Subjects are user
or persona ids (opaque strings): no personal data is stored. Every event is checked before it
is written (ids, arm and model version as text, items as integer ids, positions from 1,
date-times), and a database that cannot be opened, read or written is a DataError naming the
store (its password hidden), never a driver's traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
import numbers
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from recsys.ab.analysis import AbResult, analyze
from recsys.ab.assignment import NAME_CHARS
from recsys.ab.experiment import ARM_CHARS, Experiment, as_utc
from recsys.ab.sequential import SequentialResult, msprt_means, msprt_proportions
from recsys.arguments import check_cutoff, check_id, check_ids, check_number, check_text
from recsys.data.types import require_columns
from recsys.errors import ArgumentError, ConfigError, DataError
from recsys.settings import get_settings

__all__ = [
    "EVENT_TYPES",
    "FEEDBACK_TYPES",
    "LIVE_METRICS",
    "EventStore",
    "LiveResults",
    "per_subject",
    "arm_rates",
    "daily_series",
    "live_results",
]

logger = logging.getLogger(__name__)
FEEDBACK_TYPES = ("click", "thumbs_up", "thumbs_down")
EVENT_TYPES = ("exposure", *FEEDBACK_TYPES)
POSITIVE_TYPES = ("click", "thumbs_up")
# Per-subject metrics an online experiment can name as primary metric or guardrail.
LIVE_METRICS = ("conversion", "ctr", "thumbs_down_rate")
_BUSY_TIMEOUT_MS = 30_000

metadata = MetaData()


def _event_table(name: str) -> Table:
    return Table(
        name, metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("experiment_id", String(128), nullable=False, index=True),
        Column("subject_id", String(128), nullable=False),
        Column("arm", String(64), nullable=False),
        Column("item_id", BigInteger, nullable=False),
        Column("position", Integer, nullable=True),
        Column("event_type", String(16), nullable=False),
        Column("model_version", String(128), nullable=False, default=""),
        Column("ts", DateTime(timezone=True), nullable=False),
    )


exposures_table = _event_table("ab_exposures")
feedback_table = _event_table("ab_feedback")
EVENT_SCHEMA = {
    "experiment_id": pl.String(),
    "subject_id": pl.String(),
    "arm": pl.String(),
    "item_id": pl.Int64(),
    "position": pl.Int32(),
    "event_type": pl.String(),
    "model_version": pl.String(),
    "ts": pl.Datetime("us", "UTC"),
}


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    memory = parsed.database in (None, "", ":memory:")
    if not memory:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        **({"poolclass": StaticPool} if memory else {}),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" hook emits BEGIN
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class EventStore:
    """Exposures and feedback of A/B experiments in one SQLAlchemy database."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or get_settings().events_url
        try:
            parsed = make_url(self.url)
        except Exception as error:  # sqlalchemy raises ArgumentError for malformed URLs
            raise ConfigError(f"event store URL {self.url!r} is not a SQLAlchemy URL") from error
        self.shown_url = parsed.render_as_string(hide_password=True)
        with self._database("be opened"):
            self.engine = _sqlite_engine(self.url) if parsed.get_backend_name() == "sqlite" \
                else create_engine(self.url, pool_pre_ping=True)
            metadata.create_all(self.engine)

    @contextmanager
    def _database(self, action: str) -> Iterator[None]:
        """Driver and database failures as errors naming the store and ``action``."""
        try:
            yield
        except ImportError as error:
            raise ConfigError(f"event store {self.shown_url} needs a database driver that is "
                              f"not installed: {error}") from error
        except (SQLAlchemyError, OSError) as error:
            reason = str(getattr(error, "orig", None) or error).splitlines()[0]
            raise DataError(f"event store {self.shown_url} could not {action}: {reason}") \
                from error

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    def log_exposures(
        self, experiment_id: str, subject_id: str, arm: str, item_ids: Sequence[int],
        model_version: str = "", ts: dt.datetime | None = None,
    ) -> int:
        """Record one list shown to a subject (positions from 1) in one transaction."""
        common = _common(experiment_id, subject_id, arm, model_version, ts)
        rows = [{**common, "item_id": item, "position": position, "event_type": "exposure"}
                for position, item in enumerate(check_ids(item_ids, "item_ids").tolist(), 1)]
        return self._insert(exposures_table, rows)

    def log_feedback(
        self, experiment_id: str, subject_id: str, arm: str, item_id: int, event_type: str,
        position: int | None = None, model_version: str = "", ts: dt.datetime | None = None,
    ) -> int:
        """Record a click / thumbs_up / thumbs_down on a shown item (``position`` from 1)."""
        if not isinstance(event_type, str) or event_type not in FEEDBACK_TYPES:
            raise ConfigError(f"feedback event_type must be one of {FEEDBACK_TYPES}, "
                              f"got {event_type!r}")
        row = {**_common(experiment_id, subject_id, arm, model_version, ts),
               "item_id": check_id(item_id, "item_id"), "event_type": event_type,
               "position": None if position is None else check_cutoff(position, "position")}
        return self._insert(feedback_table, [row])

    def _insert(self, table: Table, rows: list[dict[str, Any]]) -> int:
        if rows:
            with self._database("be written"), self.engine.begin() as connection:
                connection.execute(insert(table), rows)
        return len(rows)

    def events(self, experiment_id: str, kind: str = "exposures") -> pl.DataFrame:
        """All ``exposures`` or ``feedback`` rows of an experiment (schema ``EVENT_SCHEMA``)."""
        tables = {"exposures": exposures_table, "feedback": feedback_table}
        if not isinstance(kind, str) or kind not in tables:
            raise ConfigError(f"kind must be one of {sorted(tables)}, got {kind!r}")
        check_text(experiment_id, "experiment_id", NAME_CHARS)
        table = tables[kind]
        columns = [table.c[name] for name in EVENT_SCHEMA]
        query = select(*columns).where(table.c.experiment_id == experiment_id).order_by(table.c.id)
        with self._database("be read"), self.engine.connect() as connection:
            rows = connection.execute(query).all()
        frame = pl.DataFrame([tuple(r) for r in rows], orient="row",
                             schema={**EVENT_SCHEMA, "ts": pl.Datetime("us")})
        return frame.with_columns(_as_utc(frame["ts"]))


def _common(experiment_id: str, subject_id: str, arm: str, model_version: str,
            ts: dt.datetime | None) -> dict[str, Any]:
    """The checked fields that every event of one call shares (``ts`` defaults to now)."""
    if isinstance(subject_id, bool) or not isinstance(subject_id, str | numbers.Integral):
        raise ArgumentError(f"subject_id must be a string (or an integer id), got {subject_id!r}")
    subject = check_text(str(subject_id), "subject_id", NAME_CHARS)
    if not (check_text(experiment_id, "experiment_id", NAME_CHARS) and subject
            and check_text(arm, "arm", ARM_CHARS)):
        raise ConfigError("events need a non-empty experiment_id, subject_id and arm")
    if ts is not None and not isinstance(ts, dt.datetime):
        raise ArgumentError(f"ts must be a datetime (naive ones are UTC), got {ts!r}")
    return {"experiment_id": experiment_id, "subject_id": subject, "arm": arm,
            "model_version": check_text(model_version, "model_version", NAME_CHARS),
            "ts": ts or dt.datetime.now(dt.UTC)}


def _as_utc(ts: pl.Series) -> pl.Series:
    """Naive timestamps (SQLite drops the zone) are UTC; aware ones are converted."""
    if getattr(ts.dtype, "time_zone", None):
        return ts.dt.convert_time_zone("UTC")
    return ts.dt.replace_time_zone("UTC")


# -- pure aggregations over event frames ---------------------------------------------------
def _event_frame(frame: Any, name: str, columns: tuple[str, ...]) -> None:
    """``frame`` is a polars frame with ``columns`` (``ts`` a date-time), else an error."""
    require_columns(frame, columns, name, text=columns)
    if "ts" in columns and not frame["ts"].dtype.is_temporal():
        raise DataError(f"{name} column ts must be a Datetime, got {frame['ts'].dtype}")


def per_subject(exposures: pl.DataFrame, feedback: pl.DataFrame) -> pl.DataFrame:
    """One row per exposed subject: ``[subject_id, arm, exposures, clicks, thumbs_down, ...]``.

    ``clicks`` counts positive feedback (click or thumbs_up); ``conversion`` is 1 when there was
    any, ``ctr`` = clicks / exposures and ``thumbs_down_rate`` = thumbs_down / exposures. Feedback
    from subjects without an exposure is ignored (it cannot be attributed to an arm).
    """
    _event_frame(exposures, "exposures", ("subject_id", "arm"))
    _event_frame(feedback, "feedback", ("subject_id", "arm", "event_type"))
    shown = exposures.group_by("subject_id", "arm").agg(pl.len().alias("exposures"))
    reactions = feedback.group_by("subject_id", "arm").agg(
        pl.col("event_type").is_in(POSITIVE_TYPES).sum().alias("clicks"),
        (pl.col("event_type") == "thumbs_down").sum().alias("thumbs_down"),
    )
    return (
        shown.join(reactions, on=["subject_id", "arm"], how="left")
        .with_columns(pl.col("clicks", "thumbs_down").fill_null(0).cast(pl.Int64))
        .with_columns(
            (pl.col("clicks") > 0).cast(pl.Int8).alias("conversion"),
            (pl.col("clicks") / pl.col("exposures")).alias("ctr"),
            (pl.col("thumbs_down") / pl.col("exposures")).alias("thumbs_down_rate"),
        )
        .sort("subject_id", "arm")
    )


def daily_series(exposures: pl.DataFrame, feedback: pl.DataFrame) -> pl.DataFrame:
    """Per day and arm: exposures, clicks, CTR, subjects, and their cumulative versions."""
    _event_frame(exposures, "exposures", ("subject_id", "arm", "ts"))
    _event_frame(feedback, "feedback", ("arm", "event_type", "ts"))
    day = pl.col("ts").dt.date().alias("day")
    shown = exposures.group_by(day, "arm").agg(pl.len().alias("exposures"))
    first_seen = exposures.group_by("subject_id", "arm").agg(pl.col("ts").min().dt.date()
                                                              .alias("day"))
    subjects = first_seen.group_by("day", "arm").agg(pl.len().alias("new_subjects"))
    clicks = feedback.filter(pl.col("event_type").is_in(POSITIVE_TYPES)).group_by(day, "arm").agg(
        pl.len().alias("clicks"))
    frame = (
        shown.join(subjects, on=["day", "arm"], how="full", coalesce=True)
        .join(clicks, on=["day", "arm"], how="full", coalesce=True)
        .with_columns(pl.col("exposures", "new_subjects", "clicks").fill_null(0).cast(pl.Int64))
        .sort("arm", "day")
    )
    return frame.with_columns(
        (pl.col("clicks") / pl.col("exposures")).alias("ctr"),
        pl.col("exposures").cum_sum().over("arm").alias("cum_exposures"),
        pl.col("clicks").cum_sum().over("arm").alias("cum_clicks"),
        pl.col("new_subjects").cum_sum().over("arm").alias("cum_subjects"),
    ).with_columns((pl.col("cum_clicks") / pl.col("cum_exposures")).alias("cum_ctr"))


@dataclass(frozen=True)
class LiveResults:
    """What the app's live-experiment panel shows: the fixed-horizon analysis, the daily
    series, and the peeking-safe sequential verdict over daily looks."""

    result: AbResult
    daily: pl.DataFrame
    looks: pl.DataFrame
    sequential: SequentialResult
    verdict: str


def live_results(experiment: Experiment, store: EventStore | None = None) -> LiveResults:
    """Analyse an online experiment from the event store (per subject, daily looks)."""
    if not isinstance(experiment, Experiment) or not isinstance(store, EventStore | None):
        raise ArgumentError(f"live_results needs an Experiment and an EventStore (or None), got "
                            f"{type(experiment).__name__} and {type(store).__name__}")
    unknown = [m for m in (experiment.primary_metric, *(g.metric for g in experiment.guardrails))
               if m not in LIVE_METRICS]
    if unknown:
        raise ConfigError(f"live experiments measure {LIVE_METRICS}; {experiment.id!r} asks for "
                          f"{unknown}")
    store = store or EventStore()
    exposures = _within(store.events(experiment.id, "exposures"), experiment)
    feedback = _within(store.events(experiment.id, "feedback"), experiment)
    control, treatment = experiment.arm_names[:2]
    subjects = per_subject(exposures, feedback)
    present = set(subjects["arm"].to_list())
    if not {control, treatment} <= present:
        raise DataError(f"experiment {experiment.id!r} has no exposures yet in arm(s) "
                        f"{sorted({control, treatment} - present)}: show recommendations first")
    result = analyze(subjects, experiment, metrics=LIVE_METRICS, n_boot=1000)
    looks = _daily_looks(exposures, feedback, experiment.primary_metric, control, treatment)
    sequential = _sequential(looks, result, experiment)
    return LiveResults(result, daily_series(exposures, feedback), looks, sequential,
                       sequential.verdict(control, treatment))


def _within(events: pl.DataFrame, exp: Experiment) -> pl.DataFrame:
    """Events between the experiment's start and stop (naive datetimes are UTC)."""
    if exp.start:
        events = events.filter(pl.col("ts") >= as_utc(exp.start))
    if exp.stop:
        events = events.filter(pl.col("ts") < as_utc(exp.stop))
    return events


def _daily_looks(exposures: pl.DataFrame, feedback: pl.DataFrame, metric: str,
                 control: str, treatment: str) -> pl.DataFrame:
    """Cumulative per-arm n, mean and variance of the per-subject metric at each day's end."""
    days = exposures["ts"].dt.date().unique().sort().to_list()
    rows = []
    for day in days:  # one look per day: a handful of iterations, each vectorised
        cut = pl.col("ts").dt.date() <= day
        subjects = per_subject(exposures.filter(cut), feedback.filter(cut))
        stats_row: list[Any] = [day]
        for arm in (control, treatment):
            values = subjects.filter(pl.col("arm") == arm)[metric].cast(pl.Float64)
            stats_row += [values.len(), values.mean() or 0.0,
                          values.var() if values.len() > 1 else 0.0]
        rows.append(stats_row)
    names = ["day"] + [f"{s}_{side}" for side in ("a", "b") for s in ("n", "mean", "var")]
    return pl.DataFrame(rows, schema=names, orient="row")


def _sequential(looks: pl.DataFrame, result: AbResult, exp: Experiment) -> SequentialResult:
    """mSPRT over the daily looks; mixture scale tau = the MDE in absolute units."""
    base = max(abs(result.primary.control_value), 1e-6)
    tau = exp.mde * base
    col = {name: looks[name].to_numpy() for name in looks.columns if name != "day"}
    if result.primary.kind == "proportion":
        return msprt_proportions(np.rint(col["mean_a"] * col["n_a"]), col["n_a"],
                                 np.rint(col["mean_b"] * col["n_b"]), col["n_b"],
                                 tau=tau, alpha=exp.alpha)
    return msprt_means(col["n_a"], col["mean_a"], col["var_a"], col["n_b"], col["mean_b"],
                       col["var_b"], tau=tau, alpha=exp.alpha)


def arm_rates(daily: pl.DataFrame, z: float = 1.959964) -> pl.DataFrame:
    """Cumulative CTR per arm at the last day with a Wilson score interval.

    ``daily`` is :func:`recsys.ab.events.daily_series`; returns
    ``[arm, subjects, exposures, clicks, ctr, ci_low, ci_high]``; ``z`` (> 0) is the normal
    quantile of the interval (1.96: 95 %).
    """
    z = check_number(z, "z", 0.0)
    require_columns(daily, ("day", "arm", "cum_exposures", "cum_clicks", "cum_subjects"), "daily",
                    text=("day", "arm"))
    last = daily.sort("day").group_by("arm", maintain_order=True).last().sort("arm")
    n, x = last["cum_exposures"].cast(pl.Float64), last["cum_clicks"].cast(pl.Float64)
    p = x / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * ((p * (1 - p) / n + z**2 / (4 * n**2)).sqrt()) / (1 + z**2 / n)
    return last.select(
        "arm", pl.col("cum_subjects").alias("subjects"), pl.col("cum_exposures").alias("exposures"),
        pl.col("cum_clicks").alias("clicks"),
    ).with_columns(p.alias("ctr"), (centre - half).alias("ci_low"),
                   (centre + half).alias("ci_high"))
