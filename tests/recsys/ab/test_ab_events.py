"""Event store: round trip, aggregations by hand, live results, concurrent writers."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recsys.ab.events import EventStore, arm_rates, daily_series, live_results, per_subject
from recsys.ab.experiment import Experiment
from recsys.errors import ArgumentError, ConfigError, DataError, RecsysError

DAY = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
EXPERIMENT = Experiment.from_dict({
    "id": "live", "arms": [{"name": "A", "model": "ease"}, {"name": "B", "model": "als"}],
    "traffic": [0.5, 0.5], "primary_metric": "conversion", "mde": 0.2,
    "guardrails": [{"metric": "thumbs_down_rate", "direction": "lower_is_better",
                    "tolerance": 0.5}],
})


@pytest.fixture()
def store(tmp_path: Path) -> EventStore:
    events = EventStore(f"sqlite:///{tmp_path / 'sub' / 'events.db'}")
    yield events
    events.close()


def test_round_trip_and_wal(store: EventStore) -> None:
    assert store.log_exposures("e", "persona-1", "A", [5, 6, 7], "ease@3", ts=DAY) == 3
    store.log_feedback("e", "persona-1", "A", 6, "thumbs_up", position=2, ts=DAY)
    shown = store.events("e", "exposures")
    assert shown["position"].to_list() == [1, 2, 3]
    assert shown["ts"].to_list() == [DAY] * 3
    assert shown["model_version"].unique().to_list() == ["ease@3"]
    assert store.events("e", "feedback").select("item_id", "event_type").row(0) == (
        6, "thumbs_up")
    assert store.events("other", "exposures").is_empty()
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_bad_events_fail_loudly(store: EventStore) -> None:
    with pytest.raises(ConfigError, match="event_type"):
        store.log_feedback("e", "u", "A", 1, "like")
    with pytest.raises(ConfigError, match="non-empty"):
        store.log_exposures("e", "", "A", [1])
    with pytest.raises(ConfigError, match="kind"):
        store.events("e", "clicks")


def _frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["subject_id", "arm", "event_type", "ts"], orient="row")


def test_per_subject_and_daily_known_answer() -> None:
    d1, d2 = DAY, DAY + dt.timedelta(days=1)
    exposures = _frame([("u1", "A", "exposure", d1)] * 4 + [("u2", "B", "exposure", d1)] * 2
                       + [("u2", "B", "exposure", d2)] * 2 + [("u3", "B", "exposure", d2)] * 4)
    feedback = _frame([("u1", "A", "click", d1), ("u1", "A", "thumbs_down", d1),
                       ("u2", "B", "thumbs_up", d2), ("u2", "B", "click", d2),
                       ("ghost", "B", "click", d2)])
    subjects = per_subject(exposures, feedback)
    assert subjects.select("subject_id", "exposures", "clicks", "conversion", "ctr",
                           "thumbs_down_rate").rows() == [
        ("u1", 4, 1, 1, 0.25, 0.25), ("u2", 4, 2, 1, 0.5, 0.0), ("u3", 4, 0, 0, 0.0, 0.0)]
    daily = daily_series(exposures, feedback)
    assert daily.select("arm", "exposures", "new_subjects", "clicks", "cum_exposures",
                        "cum_clicks", "cum_subjects").rows() == [
        ("A", 4, 1, 1, 4, 1, 1), ("B", 2, 1, 0, 2, 0, 1), ("B", 6, 1, 3, 8, 3, 2)]
    assert daily["cum_ctr"].to_list() == [0.25, 0.0, 3 / 8]


def _simulate(store: EventStore, rate_a: float, rate_b: float, users: int = 600) -> None:
    rng = np.random.default_rng(0)
    subjects = [f"p{u}" for u in range(users)]
    for u, arm in zip(subjects, EXPERIMENT.assign(subjects), strict=True):
        ts = DAY + dt.timedelta(days=int(rng.integers(0, 5)))
        store.log_exposures("live", u, arm, [1, 2, 3], "v1", ts)
        if rng.random() < (rate_a if arm == "A" else rate_b):
            store.log_feedback("live", u, arm, 2, "thumbs_up", 2, "v1", ts)


def test_live_results_with_a_clear_winner(store: EventStore) -> None:
    _simulate(store, 0.2, 0.5)
    live = live_results(EXPERIMENT, store)
    assert live.result.conclusion.startswith("B beats A on conversion")
    assert live.result.primary.n_control + live.result.primary.n_treatment == 600
    assert live.looks.height == 5 and live.looks["n_a"].is_sorted()
    assert live.sequential.rejected and live.verdict.startswith("Stop: B is better")
    assert set(live.daily["arm"]) == {"A", "B"}


def test_live_results_need_both_arms_and_live_metrics(store: EventStore) -> None:
    store.log_exposures("live", "p1", "A", [1], ts=DAY)
    with pytest.raises(DataError, match="no exposures yet"):
        live_results(EXPERIMENT, store)
    offline = Experiment.from_dict({**EXPERIMENT.to_dict(), "primary_metric": "hit_rate@10"})
    with pytest.raises(ConfigError, match="live experiments measure"):
        live_results(offline, store)


def _writer(url: str, worker: int, n: int) -> None:
    store = EventStore(url)
    for i in range(n):
        store.log_feedback("concurrency", f"w{worker}-{i}", "A", i, "click")
    store.close()


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    EventStore(url).close()  # create the schema once, as the app does at start-up
    context = multiprocessing.get_context("fork")  # children open their own engines
    workers = [context.Process(target=_writer, args=(url, w, 200)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]
    store = EventStore(url)
    events = store.events("concurrency", "feedback")
    store.close()
    assert events.height == 800 and events["subject_id"].n_unique() == 800


def test_live_results_only_count_events_between_start_and_stop(store: EventStore) -> None:
    _simulate(store, 0.2, 0.5)
    window = Experiment.from_dict({**EXPERIMENT.to_dict(), "start": "2026-11-03",
                                   "stop": "2026-11-05"})
    live = live_results(window, store)
    assert live.looks["day"].cast(pl.String).to_list() == ["2026-11-03", "2026-11-04"]
    assert live.result.primary.n_control + live.result.primary.n_treatment < 600


def test_arm_rates_wilson_interval() -> None:
    ts = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    exposures = pl.DataFrame({"subject_id": [f"s{i}" for i in range(10)],
                              "arm": ["a"] * 10, "ts": [ts] * 10})
    feedback = pl.DataFrame({"event_type": ["click"] * 5, "arm": ["a"] * 5,
                             "ts": [ts] * 5, "subject_id": ["s0"] * 5})
    rates = arm_rates(daily_series(exposures, feedback))
    assert rates["ctr"][0] == 0.5 and rates["subjects"][0] == 10
    # Wilson 95% for 5/10: 0.2366 .. 0.7634
    assert (rates["ci_low"][0], rates["ci_high"][0]) == pytest.approx((0.2366, 0.7634), abs=1e-4)


@pytest.mark.parametrize(("call", "message"), [
    # "123" was logged as items 1, 2, 3; 1.7 as item 1; position 0, -3, "2" and 1.5 were
    # stored as given; None, "a" and 2**70 were TypeError/ValueError/OverflowError
    (lambda s: s.log_exposures("e", "u", "A", "123"), "item_ids must be integer ids"),
    (lambda s: s.log_exposures("e", "u", "A", [1.7]), "item_ids must be integer ids"),
    (lambda s: s.log_exposures("e", "u", "A", [None]), "item_ids must be integer ids"),
    (lambda s: s.log_exposures("e", "u", "A", [2**70]), "item_ids holds ids beyond"),
    (lambda s: s.log_exposures(123, "u", "A", [1]), "experiment_id must be a string"),
    (lambda s: s.log_exposures("e", "u", "A", [1], None), "model_version must be a string"),
    (lambda s: s.log_exposures("e", "u", "A", [1], ts="2026-11-02"), "ts must be a datetime"),
    (lambda s: s.log_exposures("e", None, "A", [1]), "subject_id must be a string"),
    (lambda s: s.log_feedback("e", "u", "A", 7.5, "click"), "item_id must be integer ids"),
    (lambda s: s.log_feedback("e", "u", "A", None, "click"), "item_id must be integer ids"),
    (lambda s: s.log_feedback("e", "u", "A", 1, "click", 0), "position must be a positive"),
    (lambda s: s.log_feedback("e", "u", "A", 1, "click", "2"), "position must be a positive"),
    (lambda s: s.log_feedback("e", "u", "A", 1, "click", 1.5), "position must be a positive"),
    (lambda s: s.events(None), "experiment_id must be a string"),
])
def test_careless_events_are_named_and_nothing_is_written(store: EventStore, call,
                                                          message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        call(store)
    assert store.events("e").is_empty() and store.events("e", "feedback").is_empty()


def test_unusable_databases_are_named(tmp_path: Path) -> None:
    (tmp_path / "corrupt.db").write_bytes(b"not a database" * 100)
    for url in (f"sqlite:///{tmp_path}", f"sqlite:///{tmp_path / 'corrupt.db'}"):
        with pytest.raises(DataError, match="could not be opened"):  # sqlite3 errors
            EventStore(url)
    with pytest.raises(RecsysError) as caught:  # psycopg's OperationalError
        EventStore("postgresql://user:secret@127.0.0.1:1/events")
    assert "secret" not in str(caught.value) and "***" in str(caught.value)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: per_subject(pl.DataFrame(), pl.DataFrame()), DataError, "exposures frame lacks"),
    (lambda: per_subject(None, None), ArgumentError, "exposures must be a polars DataFrame"),
    (lambda: daily_series(pl.DataFrame({"subject_id": ["a"], "arm": ["A"], "ts": ["x"]}),
                          pl.DataFrame()), DataError, "ts must be a Datetime"),
    (lambda: arm_rates(pl.DataFrame()), DataError, "daily frame lacks"),
    # a negative z gave ci_low > ci_high, NaN gave NaN bounds
    (lambda: arm_rates(pl.DataFrame(), z=-1.96), ArgumentError, r"z must be in \(0, inf\)"),
    (lambda: arm_rates(pl.DataFrame(), z=float("nan")), ArgumentError, "z must be a finite"),
    (lambda: live_results(None), ArgumentError, "needs an Experiment"),
])
def test_careless_aggregations_are_named(call, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()
