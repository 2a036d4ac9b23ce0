"""First paints of this checkout beside another commit's, interleaved on the same machine.

    python benchmarks/paint_compare.py --baseline 2c2bf30 [--repeats 3] [--pages Home,Logbook]

A first paint on the shared 2-core machine moves with its load (the same page took 1.4 s at
one hour and 1.9 s at another), so a change is judged against a baseline measured beside it:
the baseline commit is exported (``git archive``) to a temporary folder, both apps are served
on one prepared ml-latest-small data dir (``--data-dir``; a temporary one by default) and each
page is opened in a fresh Chromium context on one server, then the other, round after round
(:func:`app.journey.settle`: the page's text visible, Streamlit idle, no stale element, every
chart drawn). Prints the median seconds per page and side, and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from app.journey import CHROMIUM, CHROMIUM_ARGS, PAGES, REPO, serve, settle
from recsys.training import DEFAULT_MODELS

# The demo dataset with every default model, prepared by the code of the checkout it runs in.
PREPARE = ("import sys; from pathlib import Path; "
           "from recsys.service import DEMO_DATASET, prepare_dataset; "
           "from recsys.settings import Settings, get_settings; "
           "from recsys.training import DEFAULT_MODELS; "
           "prepare_dataset(DEMO_DATASET, Settings(data_dir=Path(sys.argv[1]), "
           "data_mirror=get_settings().data_mirror), DEFAULT_MODELS)")
# A page's marker text where the baseline's differs (the Data insights page drew every chart
# at once before its lazy tabs, "Genre trends" last).
BASELINE_TEXT = {"Data insights": "Genre trends"}


def main() -> None:
    """Serve both checkouts and time their first paints page by page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="a commit of this repository")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (after a warm-up)")
    parser.add_argument("--pages", default=",".join(PAGES), help="page titles, comma-separated")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    pages = args.pages.split(",")
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="paint-compare-"))
    # Both checkouts load the artifacts: trained by the baseline, whose format both read.
    baseline = Path(tempfile.mkdtemp(prefix="paint-baseline-"))
    subprocess.run(f"git -C {REPO} archive {args.baseline} | tar -x -C {baseline}",
                   shell=True, check=True)
    subprocess.run([sys.executable, "-c", PREPARE, str(data_dir)], cwd=baseline,
                   env={**os.environ, "PYTHONPATH": str(baseline)}, check=True)
    env = {"RECSYS_DATA_DIR": str(data_dir), "RECSYS_METRICS_PORT": "0",
           "RECSYS_DEMO_MODELS": ",".join(DEFAULT_MODELS)}
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        urls = {"baseline": stack.enter_context(serve(env, root=baseline)).url,
                "this": stack.enter_context(serve(env)).url}
        timings = _interleaved(urls, pages, args.repeats)
    print(f"`python benchmarks/paint_compare.py {' '.join(sys.argv[1:])}`")
    print(f"{args.baseline} (baseline) vs this checkout, {args.repeats} rounds, load average "
          f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    for page in pages:
        print(f"  {page:22s} baseline {statistics.median(timings[('baseline', page)]):.2f} s"
              f"   this {statistics.median(timings[('this', page)]):.2f} s")


def _interleaved(urls: dict[str, str], pages: list[str],
                 repeats: int) -> dict[tuple[str, str], list[float]]:
    """Seconds to each page's first paint per side, the sides alternating page by page."""
    from playwright.sync_api import sync_playwright

    timings: dict[tuple[str, str], list[float]] = {(s, p): [] for s in urls for p in pages}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for round_ in range(repeats + 1):  # round 0 warms both servers up
            for page in pages:
                for side, url in urls.items():
                    path, text = PAGES[page]
                    text = BASELINE_TEXT.get(page, text) if side == "baseline" else text
                    context = browser.new_context(viewport={"width": 1400, "height": 1200})
                    tab = context.new_page()
                    start = time.perf_counter()
                    tab.goto(f"{url}/{path}", timeout=120_000)
                    settle(tab, text, timeout_s=120)
                    if round_:
                        timings[(side, page)].append(time.perf_counter() - start)
                    context.close()
        browser.close()
    return timings


if __name__ == "__main__":
    main()
