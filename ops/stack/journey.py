"""A visitor of the app container, in Debian's Chromium driven by Playwright.

Streamlit runs the app's script (models, champion, metrics server) only for a browser session,
so the stack test opens one: the first start prepares ml-latest-small, the visitor switches to
ml-100k (the documented retraining command's dataset), opens the Persona view with the live A/B
experiment (exposures and a thumbs up go to PostgreSQL), then turns the experiment off and gets
the sidebar's model, which defaults to the pipeline's champion.
"""

from __future__ import annotations

from pathlib import Path

from ops.stack.commands import StackError

__all__ = ["CHROMIUM", "visit_app"]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
FIRST_START_S = 900  # fetch + train the default models of both datasets on 2 busy cores
PAGE_S = 120


def _settle(tab: object, text: str, timeout_s: float) -> None:
    """Wait until ``text`` is visible and Streamlit's running indicator has gone."""
    tab.get_by_text(text, exact=False).filter(visible=True).first.wait_for(
        timeout=timeout_s * 1000)
    tab.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                          timeout=timeout_s * 1000)


def _journey(tab: object, url: str, dataset: str, shots: Path) -> None:
    tab.goto(url)
    _settle(tab, "Dataset: ml-latest-small", FIRST_START_S)
    tab.get_by_label("Dataset", exact=True).first.click()
    tab.get_by_role("option", name=dataset, exact=True).first.click()
    _settle(tab, f"Dataset: {dataset}", FIRST_START_S)
    tab.screenshot(path=str(shots / "stack-home.png"), full_page=True)
    tab.get_by_role("link", name="Persona view").first.click()
    _settle(tab, "Top 10 from", PAGE_S)
    tab.locator("[class*='st-key-up_'] button").first.click()
    _settle(tab, "Your feedback is recorded", PAGE_S)
    tab.get_by_text("Let the live A/B experiment choose the model").first.click()
    _settle(tab, "Top 10 from champion", PAGE_S)
    tab.screenshot(path=str(shots / "stack-persona-champion.png"), full_page=True)


def visit_app(url: str, dataset: str, shots: Path) -> None:
    """Run the visit; a missing page element is a StackError (screenshot in ``shots``)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise StackError(f"{CHROMIUM} missing: apt-get install chromium (.ci/run does)")
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 2000})
        try:
            _journey(tab, url, dataset, shots)
        except PlaywrightError as error:
            tab.screenshot(path=str(shots / "stack-failure.png"), full_page=True)
            raise StackError(f"app visit failed: {error.message.splitlines()[0]} (screenshot: "
                             f"{shots / 'stack-failure.png'})") from error
        finally:
            browser.close()
