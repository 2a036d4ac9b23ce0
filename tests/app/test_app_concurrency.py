"""Concurrent visitors of one server: fast answers, nothing of one session in another, no lost
event.

N Playwright contexts of one Chromium open the Persona view at once; each reads its A/B arm,
picks personas and gives thumbs up (M of them), then rates one movie of its own. Every
interaction is timed from the click until the page shows its answer and Streamlit is idle.
Both runs (2 sessions by default, 4 in the slow suite) check isolation and the event store
and print the latencies; the latency target (p95 < 1 s) is measured by
``benchmarks/demo_server.py`` (benchmarks/results/demo/), not held by a timed test.
"""

from __future__ import annotations

import pytest
from conftest import APP_MODELS

from app.journey import serve, summarise, visitors
from app.state import APP_DIR
from recsys.ab.events import EventStore
from recsys.data.load import load_dataset
from recsys.service import MovieCatalog, load_personas
from recsys.settings import get_settings

pytest.importorskip("playwright.async_api")

CLICKS = 3  # thumbs up per session


@pytest.mark.parametrize("n", [
    pytest.param(2, id="2-sessions"),
    # 20 sessions, even as contexts of one Chromium (20 renderers), starve the 2 shared cores
    # (timed out at load 10-39): benchmarks/demo_server.py --sessions 20 measures them; the
    # slow suite holds isolation at 4
    pytest.param(4, id="4-sessions", marks=pytest.mark.slow),
])
def test_concurrent_sessions(app_env: dict, n: int) -> None:
    assert "item_knn" in APP_MODELS["ml-latest-small"]  # the live experiment runs
    settings = get_settings()
    catalog = MovieCatalog(load_dataset("ml-latest-small", settings))
    personas = [(p.name, p.description)
                for p in load_personas(APP_DIR / "personas.yaml", catalog.dataset.movies)]
    top = catalog.movies.sort("n_ratings", descending=True).head(n)
    movies, labels = top["title"].to_list(), catalog.label(top["item_id"].to_list())
    with serve(app_env) as server:
        logs = visitors(server.url, n, CLICKS, personas, movies)
    feedback = EventStore(settings.events_url).events("app-live-ml-latest-small", "feedback")
    summary = summarise(logs, feedback, labels)
    print(summary)
    assert summary["distinct_subjects"] == n
    assert summary["feedback_stored"] == summary["feedback_given"] == n * CLICKS  # none lost
    assert summary["sessions_with_wrong_arm"] == summary["sessions_with_wrong_feedback"] == 0
    assert summary["sessions_seeing_other_ratings"] == 0
