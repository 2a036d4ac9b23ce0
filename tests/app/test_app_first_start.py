"""A visitor of a fresh shared demo: navigating while the first start trains loses nothing.

A real ``streamlit run`` server on an empty data dir, Debian's Chromium through Playwright:
the first start runs in the background while the visitor switches pages, refreshes, opens a
second tab and closes the first; in the end every default model is trained and the live A/B
experiment is on. Screenshots land in ``test-output/screenshots/first-start-*.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import DEMO_MODELS

from app.journey import CHROMIUM, CHROMIUM_ARGS, serve, settle
from recsys.settings import Settings
from recsys.training import demo_models, trained_models

playwright = pytest.importorskip("playwright.sync_api")

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
FIRST_START = "First start of ml-latest-small"


@pytest.mark.parametrize("models", [
    pytest.param(DEMO_MODELS, id="live-experiment-arms"),
    pytest.param("", id="every-default-model", marks=pytest.mark.slow),  # EASE: ~1 min more
])
def test_navigating_during_the_first_start(mirror_dir: Path, tmp_path: Path, models: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = {"RECSYS_DATA_DIR": str(tmp_path), "RECSYS_DATA_MIRROR": str(mirror_dir),
           "RECSYS_METRICS_PORT": "0", "HF_HUB_OFFLINE": "1", "RECSYS_DEMO_MODELS": models}
    expected = sorted(demo_models(Settings(demo_models=models)))
    with serve(env) as server, playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        first = browser.new_page(viewport={"width": 1400, "height": 1000})
        first.goto(server.url)
        first.get_by_text("Still training").wait_for(timeout=30_000)
        first.screenshot(path=str(SHOTS / "first-start-1-home.png"))
        first.get_by_role("link", name="Similarity explorer").click()  # navigate away...
        first.get_by_text(FIRST_START).wait_for(timeout=30_000)
        first.reload()  # ...refresh...
        first.get_by_text(FIRST_START).wait_for(timeout=30_000)
        second = browser.new_page(viewport={"width": 1400, "height": 1000})
        second.goto(f"{server.url}/ab")  # ...a second visitor joins (the job may be done)...
        second.get_by_text(re.compile(f"{FIRST_START}|Overlap of the two")).first.wait_for(
            timeout=30_000)
        second.screenshot(path=str(SHOTS / "first-start-2-second-visitor.png"))
        first.close()  # ...and the first one leaves
        settle(second, "Overlap of the two top-10 lists", timeout_s=600)  # ready: it rendered
        second.get_by_role("link", name="Persona view").click()
        settle(second, "Top 10 from")
        live = second.get_by_role("switch", name="Let the live A/B experiment choose the model")
        assert live.is_enabled() and live.is_checked()
        assert second.get_by_text("is in arm").first.is_visible()
        second.get_by_label("Model", exact=True).first.click()
        served = second.get_by_role("option").all_inner_texts()
        second.screenshot(path=str(SHOTS / "first-start-3-ready.png"))
        browser.close()
    settings = Settings(data_dir=tmp_path)
    assert sorted(served) == expected
    assert sorted(card.name for card in trained_models("ml-latest-small", settings)) == expected
