"""The demo as visitors see it: a ``streamlit run`` server, Chromium sessions, timed clicks.

Shared by the browser tests (``tests/app/test_app_browser.py``, ``test_app_concurrency.py``)
and the demo report (``python -m benchmarks.demo_server``): :func:`serve` starts the app on a
free port, :func:`settle` times a render as a visitor perceives it (the expected text visible
and Streamlit's running indicator gone), :func:`first_paints` times every page of a warm
server, and :func:`visitors` runs N concurrent sessions clicking through personas (the
lighter websocket visitors of the demo report are :mod:`app.sessions`). Playwright drives
Debian's Chromium (``/usr/bin/chromium``); never ``playwright install``.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "PAGES",
    "Server",
    "VisitorLog",
    "choose",
    "first_paints",
    "free_port",
    "serve",
    "percentile",
    "settle",
    "summarise",
    "visitors",
]

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "test-output" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Every page that needs no genome: its URL path and a text that means it has rendered.
PAGES: dict[str, tuple[str, str]] = {
    "Home": ("", "Deployed models"),
    "Persona view": ("persona", "Top 10 from"),
    "Similarity explorer": ("similarity", "Neighbours of"),
    "A/B comparison": ("ab", "Overlap of the two top-10 lists"),
    "Benchmark lab": ("lab", "vs fit time"),
    "Data insights": ("insights", "Ratings per month"),
    "Monitoring": ("monitoring", "Live recommendation latency"),
    "Logbook": ("logbook", "Journal of problems and fixes"),
}
_ACTION_MS = 120_000  # a click or a fill on a loaded machine
# A button's widget key, read from the st-key-<key> class of the element holding it.
_BUTTON_KEY = ("b => [...b.closest(\"[class*='st-key-']\").classList]"
               ".find(c => c.startsWith('st-key-')).slice(7)")
# Idle: no script run in progress, and none of its elements still stale (a run that has begun
# keeps the previous run's elements, marked stale, until it replaces them; the status widget
# shows only after a delay, so a fast rerun's stale cards can look like the new ones).
_IDLE = ("() => !document.querySelector('[data-testid=\"stStatusWidget\"]') && "
         "!document.querySelector('[data-stale=\"true\"]')")
# Drawn: no skeleton left, every plotly chart has its SVG and every Vega-Lite chart its marks.
_DRAWN = ("() => !document.querySelector('[data-testid=\"stSkeleton\"]') && "
          "[...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
          ".every(c => c.querySelector('.main-svg')) && "
          "[...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')]"
          ".every(c => c.querySelector('svg.marks, canvas.marks'))")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Server:
    """A running app: its URL and its process (for the RSS)."""

    url: str
    pid: int

    def rss_mb(self) -> float:
        """Resident memory of the server process, in MB (10^6 bytes)."""
        return psutil.Process(self.pid).memory_info().rss / 1e6


@contextmanager
def serve(env: Mapping[str, str], timeout_s: float = 60, root: Path = REPO) -> Iterator[Server]:
    """``streamlit run app/main.py`` of the checkout at ``root`` (this one by default) on a
    free port with ``env`` added; stopped on exit."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(root / "app" / "main.py"),
         "--server.headless", "true", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=root, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while not _healthy(url):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"streamlit did not become healthy on {url} in {timeout_s} s")
            time.sleep(0.2)
        yield Server(url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/_stcore/health", timeout=1).ok
    except requests.ConnectionError:
        return False


def settle(tab: Any, text: str, timeout_s: float = 60) -> float:
    """Seconds until ``text`` is visible and Streamlit's running indicator has gone (then
    waits for every chart to draw, untimed, so that screenshots are complete)."""
    start = time.perf_counter()
    tab.get_by_text(text, exact=False).filter(visible=True).first.wait_for(timeout=timeout_s * 1000)
    tab.wait_for_function(_IDLE, timeout=timeout_s * 1000)
    seconds = time.perf_counter() - start
    tab.wait_for_function(_DRAWN, timeout=timeout_s * 1000)
    return seconds


def choose(tab: Any, label: str, option: str) -> None:
    """Pick ``option`` in the Streamlit selectbox labelled ``label``."""
    tab.get_by_label(label, exact=True).first.click()
    tab.get_by_role("option", name=option, exact=True).first.click()


def first_paints(url: str, repeats: int = 3) -> dict[str, list[float]]:
    """Seconds from opening each page's URL in a fresh session until it has rendered, on a
    server warmed by one visit of every page first; ``repeats`` fresh sessions per page."""
    from playwright.sync_api import sync_playwright

    timings: dict[str, list[float]] = {title: [] for title in PAGES}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for round_ in range(repeats + 1):  # round 0 warms the server's caches up
            for title, (path, text) in PAGES.items():
                context = browser.new_context(viewport={"width": 1400, "height": 1200})
                tab = context.new_page()
                start = time.perf_counter()
                tab.goto(f"{url}/{path}", timeout=_ACTION_MS)
                settle(tab, text, timeout_s=120)
                if round_:
                    timings[title].append(time.perf_counter() - start)
                context.close()
        browser.close()
    return timings


@dataclass
class VisitorLog:
    """What one concurrent session did and saw."""

    subject: str = ""
    arm: str = ""
    rated: str = ""  # the one movie this session rated in "Build your own"
    rated_table: str = ""  # the text of its ratings table as shown
    liked: list[int] = field(default_factory=list)  # positions it gave a thumbs up
    liked_keys: list[str] = field(default_factory=list)  # the keys of the buttons it pressed
    latencies: list[float] = field(default_factory=list)  # seconds per interaction


async def _settled(tab: Any, text: str, timeout_ms: float = 120_000) -> None:
    await tab.get_by_text(text, exact=False).filter(visible=True).first.wait_for(
        timeout=timeout_ms)
    await tab.wait_for_function(_IDLE, timeout=timeout_ms)


async def _timed(log: VisitorLog, tab: Any, action: Any, text: str) -> None:
    start = time.perf_counter()
    await action
    await _settled(tab, text)
    log.latencies.append(time.perf_counter() - start)


# Clicks are DOM events (``dispatch_event``), not synthetic mouse input, which waits on a busy
# renderer for tens of seconds on a loaded machine.
async def _session(tab: Any, url: str, personas: list[tuple[str, str]], movie: str,
                   clicks: int, seed: int, opened: asyncio.Barrier) -> VisitorLog:
    """One visitor: open the Persona view and read its arm; once every visitor has opened it
    (``opened``: the timed interactions run beside each other, not beside the first page loads
    of the others), ``clicks`` times pick a persona (``(name, description)``) and give a
    thumbs up, thinking 0.5-1.5 s before each interaction; last rate ``movie`` in "Build your
    own" and read its ratings table."""
    rng, log = random.Random(seed), VisitorLog(rated=movie)
    await tab.goto(f"{url}/persona", timeout=300_000)
    await _settled(tab, "is in arm", 300_000)
    caption = await tab.get_by_text("is in arm").first.inner_text()
    log.subject, log.arm = re.search(r"session (\w+) is in arm (\w+)", caption).groups()
    await opened.wait()
    toast = tab.get_by_text("Your feedback is recorded")
    for click in range(clicks):
        name, description = personas[(seed + click + 1) % len(personas)]
        await asyncio.sleep(rng.uniform(0.5, 1.5))
        box = tab.get_by_label("Persona", exact=True).first
        await box.click(timeout=_ACTION_MS)  # open the list, type to filter it
        await box.fill(name, timeout=_ACTION_MS)
        await _timed(log, tab, box.press("Enter", timeout=_ACTION_MS), description)
        await toast.first.wait_for(state="hidden", timeout=_ACTION_MS)  # the last one has gone
        await asyncio.sleep(rng.uniform(0.5, 1.5))
        position = rng.randrange(10)
        thumbs = tab.locator("[class*='st-key-up_'] button").filter(visible=True).nth(position)
        log.liked_keys.append(await thumbs.evaluate(_BUTTON_KEY, timeout=_ACTION_MS))
        await _timed(log, tab, thumbs.dispatch_event("click", timeout=_ACTION_MS),
                     "Your feedback is recorded")
        log.liked.append(position + 1)
    own = tab.get_by_text("Build your own").first
    await _timed(log, tab, own.dispatch_event("click", timeout=_ACTION_MS), "Search a movie")
    search = tab.get_by_label("Search a movie").first
    await search.fill(movie, timeout=_ACTION_MS)
    await _timed(log, tab, search.press("Enter", timeout=_ACTION_MS), "Add rating")
    add = tab.get_by_role("button", name="Add rating").first
    await _timed(log, tab, add.dispatch_event("click", timeout=_ACTION_MS), "Clear my ratings")
    table = await tab.locator("[data-testid='stDataFrame']").first.element_handle()
    await tab.wait_for_function("t => t.textContent.includes('(')", arg=table,
                                timeout=_ACTION_MS)  # its grid has drawn a movie
    log.rated_table = await table.text_content() or ""
    return log


async def _visit(browser: Any, url: str, personas: list[tuple[str, str]], movie: str,
                 clicks: int, seed: int, opened: asyncio.Barrier) -> VisitorLog:
    """One visitor in a browser context of its own (its own cookies and storage: an isolated
    session); a screenshot of its page when it fails
    (``test-output/screenshots/visitor-<seed>.png``)."""
    context = await browser.new_context(viewport={"width": 1200, "height": 1000})
    tab = await context.new_page()
    try:
        return await _session(tab, url, personas, movie, clicks, seed, opened)
    except Exception:
        SHOTS.mkdir(parents=True, exist_ok=True)
        await tab.screenshot(path=str(SHOTS / f"visitor-{seed}.png"), full_page=True)
        raise
    finally:
        await context.close()


def visitors(url: str, n: int, clicks: int, personas: list[tuple[str, str]],
             movies: list[str], seed: int = 0) -> list[VisitorLog]:
    """``n`` concurrent sessions (browser contexts of one Chromium, so that the figures
    measure the server rather than ``n`` browsers) on the Persona view of a server warmed by
    one visit; session ``i`` rates ``movies[i]`` and gives ``clicks`` thumbs up."""
    from playwright.async_api import async_playwright

    async def main() -> list[VisitorLog]:
        async with async_playwright() as driver:
            browser = await driver.chromium.launch(executable_path=str(CHROMIUM),
                                                   args=CHROMIUM_ARGS)
            warm = await browser.new_context()  # a warm server: models and caches loaded
            tab = await warm.new_page()
            await tab.goto(f"{url}/persona", timeout=300_000)
            await _settled(tab, "Top 10 from", 300_000)
            await warm.close()
            opened = asyncio.Barrier(n)
            logs = await asyncio.gather(*(
                _visit(browser, url, personas, movies[i], clicks, seed + i, opened)
                for i in range(n)))
            await browser.close()
            return list(logs)

    return asyncio.run(main())


def _shown_position(shown: Any, item: int, ts: Any) -> int | None:
    """``item``'s position in the last list of ``shown`` (one subject's exposures) logged at
    or before ``ts``; None when it was not in it."""
    before = shown.filter(shown["ts"] <= ts)
    last = before.filter(before["ts"] == before["ts"].max())
    found = last.filter(last["item_id"] == item)["position"]
    return int(found[0]) if len(found) else None


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linearly interpolated."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(logs: list[VisitorLog], feedback: Any, exposures: Any,
              labels: list[str]) -> dict[str, Any]:
    """What the concurrent sessions prove: latency quantiles, and isolation counts checked
    against the event store's ``feedback`` and ``exposures`` frames (``EVENT_SCHEMA``): rows
    stored vs given, sessions whose stored arm differs from the one they saw, sessions whose
    stored thumbs are not the movies they pressed or not at those movies' positions in the
    list last shown to them (``feedback_mismatches`` lists each), and sessions whose ratings
    table shows another session's movie (``labels[i]`` is session ``i``'s)."""
    subjects = [log.subject for log in logs]
    mine = feedback.filter(feedback["subject_id"].is_in(subjects))
    wrong_arm = leaks = 0
    mismatches = []
    for log, label in zip(logs, labels, strict=True):
        rows = mine.filter(mine["subject_id"] == log.subject).sort("ts")
        wrong_arm += set(rows["arm"]) != {log.arm}
        shown = exposures.filter(exposures["subject_id"] == log.subject)
        pressed = sorted(int(key.removeprefix("up_")) for key in log.liked_keys)
        at = [_shown_position(shown, item, ts) for item, ts in rows.select("item_id", "ts").rows()]
        if sorted(rows["item_id"]) != pressed or at != rows["position"].to_list():
            mismatches.append({"subject": log.subject,
                               "clicked": list(zip(log.liked, log.liked_keys, strict=True)),
                               "stored": rows.select("position", "item_id").rows(),
                               "shown_at": at})
        leaks += [other for other in labels if other in log.rated_table] != [label]
    latencies = [s for log in logs for s in log.latencies]
    return {
        "sessions": len(logs), "distinct_subjects": len(set(subjects)),
        "feedback_given": sum(len(log.liked) for log in logs), "feedback_stored": mine.height,
        "sessions_with_wrong_arm": wrong_arm, "sessions_with_wrong_feedback": len(mismatches),
        "feedback_mismatches": mismatches,
        "sessions_seeing_other_ratings": leaks, "interactions": len(latencies),
        "p50_s": percentile(latencies, 50), "p95_s": percentile(latencies, 95),
        "max_s": max(latencies),
    }
