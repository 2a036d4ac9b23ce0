"""Careless journeys through the app: each ends on a page or a message, never a traceback."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from conftest import MAIN
from streamlit.testing.v1 import AppTest
from test_app_pages import open_page, texts

from app import state
from recsys.data.load import load_dataset
from recsys.errors import ConfigError
from recsys.settings import get_settings


def test_a_movie_of_one_rater_shows_empty_rating_lists(app: AppTest) -> None:
    # its rating measures have no neighbour: that was a raw SchemaError, page and map
    data = load_dataset("ml-latest-small", get_settings())
    once = data.ratings.group_by("item_id").len().filter(pl.col("len") == 1)["item_id"]
    lowered = data.movies["title"].str.to_lowercase()
    title = next(t for t in data.movies.filter(pl.col("item_id").is_in(once.to_list()))["title"]
                 if lowered.str.contains(t.lower(), literal=True).sum() == 1)  # found alone
    open_page(app, "ml-latest-small", "similarity")
    app.text_input(key="similar_search").set_value(title).run()
    app.session_state["similar_map"] = True
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert f"Neighbours of {title}" in texts(app)
    assert [c.value for c in app.caption].count("No positive similarity") >= 3


@pytest.mark.parametrize("page", ["similarity", "insights"])
@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_search_asks_for_a_title(app: AppTest, page: str, query: str) -> None:
    open_page(app, "ml-100k", page)
    if page == "insights":
        app.session_state["insights_tab"] = "Tag explorer"
        app.run()
    key = "similar_search" if page == "similarity" else "tags_search"
    app.text_input(key=key).set_value(query).run()
    assert not app.exception
    assert "Type a word of a movie title above to pick a movie." in texts(app)


@pytest.mark.parametrize(("baseline", "lift", "shown"), [
    (0.001, 0.01, "0.1% -> 0.101% (+0.001% absolute, +1% relative)"),  # was 0.10% -> 0.10%
    (0.99, 2.0, "No plan for these inputs: baseline 0.99 with mde 2.0 gives rate 2.97"),
])
def test_the_planner_at_its_extremes(app: AppTest, baseline: float, lift: float,
                                     shown: str) -> None:
    open_page(app, "ml-100k", "ab")
    app.session_state["ab_tab"] = "Sample-size planner"
    app.run()
    app.number_input(key="plan_baseline").set_value(baseline).run()
    app.number_input(key="plan_lift").set_value(lift).run()
    assert not app.exception
    assert shown in texts(app)


@pytest.fixture
def held_benchmark(app_env: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The lab's benchmark runs until the returned event is set, then fails (no real run)."""
    release = threading.Event()

    def held(*args: object) -> Path:
        release.wait(30)
        raise ConfigError("stopped by the test")

    deadline = time.monotonic() + 60  # a benchmark of another test may still be running
    while state.lab_runner().busy() and time.monotonic() < deadline:
        time.sleep(0.2)
    monkeypatch.setattr("recsys.service.lab.run_lab", held)
    yield release
    release.set()


def launch_tab(app: AppTest) -> AppTest:
    """The Benchmark lab's launch tab on ml-100k with one model picked."""
    open_page(app, "ml-100k", "lab")
    app.session_state["lab_tab"] = "Launch a benchmark"
    app.run()
    app.multiselect(key="lab_models").set_value(["most_popular"]).run()
    return app


def test_a_second_benchmark_waits_for_the_first(
    app: AppTest, held_benchmark: threading.Event
) -> None:
    late = launch_tab(AppTest.from_file(str(MAIN), default_timeout=120))  # drawn before
    launch_tab(app).button(key="lab_run").click().run()
    assert app.button(key="lab_run").disabled  # off at once, not after a second click
    late.button(key="lab_run").click().run()  # a visitor whose button was still on
    assert not late.exception, [e.message for e in late.exception]
    assert "A benchmark is already running" in late.error[0].value
    assert "Another visitor's benchmark is running" in texts(late)
    assert late.button(key="lab_run").disabled
    held_benchmark.set()
    while state.lab_runner().busy():
        time.sleep(0.05)
    app.run()
    assert not app.button(key="lab_run").disabled
    assert "The benchmark failed: stopped by the test" in app.error[0].value


def test_a_damaged_retraining_run_is_named_on_the_monitoring_page(app: AppTest) -> None:
    drift = get_settings().data_dir / "runs" / "ml-100k" / "2026-01-01" / "drift"
    drift.mkdir(parents=True)
    try:  # a hand-edited report: was a raw TypeError
        (drift / "drift.json").write_text('{"checks": [{"name": "psi", "score": null}]}')
        open_page(app, "ml-100k", "monitoring")
    finally:
        shutil.rmtree(drift.parent)
    assert f"{drift / 'drift.json'}: checks must be a list" in app.error[0].value


def test_one_middling_rating_gives_content_nothing_to_rank_by(app: AppTest) -> None:
    # a lone 3-star rating is at the history's mean: the content model's profile is empty and
    # its list used to be the catalogue in id order at score 0 (Toy Story, Jumanji, ...)
    open_page(app, "ml-latest-small", "persona")
    app.toggle(key="persona_live").set_value(False).run()
    app.selectbox(key="model").set_value("content").run()
    app.radio(key="persona_kind").set_value("Build your own").run()
    app.text_input(key="persona_search").set_value("alien").run()
    app.slider(key="persona_stars").set_value(3.0).run()
    app.button(key="persona_add").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert any("history gives content nothing to rank by" in e.value for e in app.error)
