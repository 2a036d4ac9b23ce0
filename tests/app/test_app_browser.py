"""A real browser journey through every page: Playwright driving Debian's Chromium.

The app runs under ``streamlit run`` on 127.0.0.1 with the session's prepared data dir.
Screenshots land in ``test-output/screenshots/``; each page switch is timed (click until the
page's content is rendered and Streamlit has stopped running) and printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import APP_MODELS

from app.journey import CHROMIUM, CHROMIUM_ARGS, choose, free_port, serve, settle

playwright = pytest.importorskip("playwright.sync_api")

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-output" / "screenshots"
PAGE_SWITCH_LIMIT_S = 2.0


@pytest.fixture(scope="module")
def metrics_port() -> int:
    """The Prometheus port of the app process under test."""
    return free_port()


@pytest.fixture(scope="module")
def app_url(app_env: dict, metrics_port: int) -> Iterator[str]:
    """``streamlit run app/main.py`` on a free port; stopped after the module."""
    with serve({**app_env, "RECSYS_METRICS_PORT": str(metrics_port)}) as server:
        yield server.url


@pytest.fixture(scope="module")
def page(app_url: str) -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is missing: apt-get install -y chromium chromium-driver")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 2400})
        yield tab
        browser.close()


def switch(tab: object, title: str, expected: str, timings: dict[str, float]) -> None:
    """Click the navigation link ``title``, time the render, save a screenshot."""
    tab.get_by_role("link", name=title).first.click()
    timings[title] = settle(tab, expected)
    name = re.sub(r"[^a-z0-9]+", "-", title.lower())
    tab.screenshot(path=str(SHOTS / f"{len(timings):02d}-{name}.png"), full_page=True)


# The start of each model's own reason on the Persona view (see tests/app/test_app_pages.py).
MODEL_REASONS = {"most_popular": "Popular with everyone: rated by", "item_knn": "Because you ",
                 "content": "matches your taste for"}


def persona_reasons_per_model(tab: object) -> None:
    """With the live experiment off, every sidebar model shows its own reasons: screenshots
    ``02-persona-<model>.png``; no raw id is on the page."""
    tab.get_by_text("Let the live A/B experiment choose the model").first.click()
    for model, reason in MODEL_REASONS.items():
        choose(tab, "Model", model)
        settle(tab, f"Top 10 from {model}")
        assert tab.get_by_text(reason).first.is_visible(), model
        page_text = tab.inner_text("[data-testid='stMain']")
        assert not re.search(r"\b(item|movie|user) \d+", page_text), model
        tab.screenshot(path=str(SHOTS / f"02-persona-{model}.png"), full_page=True)


def test_journey_through_every_page(app_url: str, page: object) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab = page
    timings: dict[str, float] = {}
    tab.goto(app_url)
    settle(tab, "Dataset: ml-latest-small", timeout_s=90)
    choose(tab, "Dataset", "ml-100k")
    timings["Home"] = settle(tab, "Dataset: ml-100k")
    assert tab.get_by_text("943").first.is_visible()
    tab.screenshot(path=str(SHOTS / "01-home.png"), full_page=True)

    switch(tab, "Persona view", "Top 10 from", timings)
    tab.locator("[class*='st-key-up_'] button").first.click()
    tab.get_by_text("Your feedback is recorded").first.wait_for(timeout=15_000)
    persona_reasons_per_model(tab)

    switch(tab, "Similarity explorer", "Neighbours of Toy Story", timings)
    tab.get_by_text("Catalogue map").first.click()  # the lazy map: drawn once opened
    tab.wait_for_function("() => document.querySelectorAll("
                          "'[data-testid=\"stVegaLiteChart\"] .marks').length >= 2",
                          timeout=60_000)

    switch(tab, "A/B comparison", "Overlap of the two top-10 lists", timings)
    tab.get_by_role("tab", name="Live experiment").click()
    tab.get_by_text("app-live-ml-100k").filter(visible=True).first.wait_for(timeout=15_000)
    tab.screenshot(path=str(SHOTS / "04a-ab-live.png"), full_page=True)
    tab.get_by_role("tab", name="Sample-size planner").click()
    tab.get_by_text("Users per arm", exact=True).filter(visible=True).first.wait_for(timeout=15_000)
    tab.screenshot(path=str(SHOTS / "04b-ab-planner.png"), full_page=True)

    switch(tab, "Benchmark lab", "vs fit time", timings)
    switch(tab, "Data insights", "Ratings per month", timings)
    switch(tab, "Monitoring", "Live recommendation latency", timings)
    assert tab.get_by_text("Latency per model").first.is_visible()
    switch(tab, "Logbook", "Journal of problems and fixes", timings)

    for title, seconds in timings.items():
        print(f"page render {title:20s} {seconds:.2f} s")
    slow = {t: s for t, s in timings.items() if s > PAGE_SWITCH_LIMIT_S * 3}
    assert not slow, f"pages far above the {PAGE_SWITCH_LIMIT_S} s target: {slow}"


def test_the_app_process_publishes_its_served_models(
    app_url: str, page: object, metrics_port: int
) -> None:
    """Once a visitor has loaded a dataset, /metrics of the app process names its models."""
    page.goto(app_url)
    settle(page, "Dataset: ml-latest-small", timeout_s=90)
    text = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    served = {
        (m["model"], m["dataset"])
        for m in (dict(re.findall(r'(\w+)="([^"]*)"', line)) for line in text.splitlines()
                  if line.startswith("recsys_model_info{") and line.endswith(" 1.0"))
    }
    expected = {(name, "ml-latest-small") for name in APP_MODELS["ml-latest-small"]}
    assert expected <= served
