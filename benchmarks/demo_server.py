"""The shared demo as its visitors meet it: first paint per page, concurrency, server memory.

    python benchmarks/demo_server.py [--sessions 20] [--clicks 3] [--repeats 3]

Prepares ml-latest-small with every default model (``recsys.training.DEFAULT_MODELS``) in
``--data-dir`` (a temporary one by default; up-to-date models are not retrained), starts
``streamlit run app/main.py`` on it, times every page's first paint in fresh sessions of a
warm server in Chromium (:func:`app.journey.first_paints`), runs ``--sessions`` concurrent
visitors as websocket sessions (:func:`app.sessions.ws_visitors`: once with a think time
between each session's clicks, once all clicking at the same moment) and reads the server's
RSS; writes ``report.md`` and
``results.json`` to ``--out`` (``benchmarks/results/demo/``). Needs Debian's Chromium and the
MovieLens mirror (``RECSYS_DATA_MIRROR``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from app.journey import PAGES, Server, first_paints, serve, summarise
from app.sessions import THINK_S, page_runs, ws_visitors
from app.state import APP_DIR
from recsys.ab.events import EventStore
from recsys.service import DEMO_DATASET, RecommenderService, load_personas, prepare_dataset
from recsys.settings import Settings, get_settings
from recsys.tracking import git_commit
from recsys.training import DEFAULT_MODELS

OUT = Path(__file__).resolve().parent / "results" / "demo"
FIRST_PAINT_TARGET_S, P95_TARGET_S, RSS_TARGET_MB = 2.0, 1.0, 1000


def main() -> None:
    """Run the three measurements and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--clicks", type=int, default=3, help="thumbs up per session")
    parser.add_argument("--repeats", type=int, default=3, help="fresh sessions per page")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="demo-server-"))
    settings = Settings(data_dir=data_dir, data_mirror=get_settings().data_mirror)
    started = time.perf_counter()
    prepare_dataset(DEMO_DATASET, settings, DEFAULT_MODELS)
    prepared_s = time.perf_counter() - started
    env = {"RECSYS_DATA_DIR": str(data_dir), "RECSYS_METRICS_PORT": "0",
           "RECSYS_DEMO_MODELS": ",".join(DEFAULT_MODELS)}
    load_before = os.getloadavg()
    with serve(env) as server:
        paints = first_paints(server.url, args.repeats)
        runs = page_runs(server.url, {title: path for title, (path, _) in PAGES.items()},
                         args.repeats)
        memory = _memory(server)
        concurrency = _concurrency(server, settings, args.sessions, args.clicks)
        memory_after = _memory(server)
    results = {
        "commit": git_commit(Path(__file__).resolve().parents[1]),
        "machine": f"{platform.node()}: {psutil.cpu_count()} cores, load average "
                   f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after",
        "dataset": DEMO_DATASET, "models": list(DEFAULT_MODELS),
        "prepare_s": round(prepared_s, 1),
        "first_paint_s": paints, "server_run_s": runs, "memory_after_pages_mb": memory,
        "memory_after_sessions_mb": memory_after, "concurrency": concurrency,
        "command": "python benchmarks/demo_server.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
            if k in ("sessions", "clicks", "repeats")),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "report.md").write_text(_report(results))
    print((args.out / "report.md").read_text())


def _memory(server: Server) -> dict[str, float]:
    """The server's RSS now and its peak (VmHWM), in MB."""
    status = Path(f"/proc/{server.pid}/status").read_text()
    peak_kb = next(int(line.split()[1]) for line in status.splitlines()
                   if line.startswith("VmHWM:"))
    return {"rss": round(server.rss_mb()), "peak": round(peak_kb * 1024 / 1e6)}


def _concurrency(server: Server, settings: Settings, n: int,
                 clicks: int) -> dict[str, dict[str, Any]]:
    """``n`` concurrent websocket visitors thinking between clicks, then ``n`` others all
    clicking at once; each mode's figures checked against the event store."""
    service = RecommenderService.open(DEMO_DATASET, settings)
    personas = [(p.name, p.description)
                for p in load_personas(APP_DIR / "personas.yaml", service.dataset.movies)]
    top = service.catalog.movies.sort("n_ratings", descending=True).head(n)
    labels = service.catalog.label(top["item_id"].to_list())
    modes = {}
    for mode, burst, seed in (("think", False, 0), ("burst", True, n)):  # distinct sessions
        started = time.perf_counter()
        try:
            logs = ws_visitors(server.url, n, clicks, personas, top["title"].to_list(),
                               burst=burst, seed=seed)
        except Exception as error:  # noqa: BLE001 (the report says how the run failed)
            modes[mode] = {"sessions": n, "wall_s": round(time.perf_counter() - started, 1),
                           "failed": f"{type(error).__name__}: {str(error).splitlines()[0]}"}
            continue
        wall = time.perf_counter() - started
        store = EventStore(settings.events_url)
        feedback, exposures = (store.events(f"app-live-{DEMO_DATASET}", kind)
                               for kind in ("feedback", "exposures"))
        summary = summarise(logs, feedback, exposures, labels)
        modes[mode] = {**{k: round(v, 3) if isinstance(v, float) else v
                          for k, v in summary.items()}, "wall_s": round(wall, 1)}
    return modes


def _report(results: dict[str, Any]) -> str:
    paints, runs = results["first_paint_s"], results["server_run_s"]
    rows = [f"| {title} | {statistics.median(v):.2f} | {max(v):.2f} | "
            f"{'yes' if max(v) <= FIRST_PAINT_TARGET_S else 'no'} | "
            f"{statistics.median(runs[title]):.3f} |"
            for title, v in paints.items()]
    c, m = results["concurrency"], results["memory_after_pages_mb"]
    after = results["memory_after_sessions_mb"]
    failed = [f"The {mode} run failed after {r['wall_s']} s: `{r['failed']}`."
              for mode, r in c.items() if "failed" in r]
    concurrency = failed or _concurrency_table(c)
    return "\n".join([
        "# The shared demo: first paint, concurrency, memory",
        "",
        f"`{results['command']}` at commit `{results['commit'][:12]}` on {results['machine']}"
        f" (a shared 2-core machine: the browsers run on the same cores as the server). "
        f"Dataset {results['dataset']} with the default models "
        f"{', '.join(results['models'])} (prepared in {results['prepare_s']} s).",
        "",
        f"## First paint per page (warm server, fresh session each, target ≤ "
        f"{FIRST_PAINT_TARGET_S:.0f} s)",
        "",
        "Seconds from opening the page's URL in a fresh Chromium context until its text is "
        "visible, Streamlit is idle, no element is stale and every chart is drawn; "
        f"{len(next(iter(paints.values())))} sessions per page after one warm-up visit of "
        "every page. *Server run*: the page's first script run in a fresh websocket session "
        "(no browser), from its `BackMsg` to `script_finished`: the rest of a paint is the "
        "browser's (bundle, lazy chunks, drawing).",
        "",
        "| page | median s | max s | ≤ 2 s | server run, median s |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"## {c['think']['sessions']} concurrent sessions (target p95 < {P95_TARGET_S:.0f} s)",
        "",
        "Each session is a websocket session speaking Streamlit's own protocol "
        "(`app/sessions.py`: no browser, so that the 2 cores run the server rather than "
        f"{c['think']['sessions']} renderers): it opens the Persona view, picks personas and "
        "gives thumbs up, then rates a movie of its own. An interaction's latency runs from "
        "sending its `BackMsg` to the server's `script_finished`. *Think*: each session "
        f"pauses {THINK_S[0]:g}-{THINK_S[1]:g} s (uniform) before each click; *burst*: other "
        "sessions, all clicking at the same moment, every click.",
        "",
        *concurrency,
        "",
        f"## Server memory (target ≤ {RSS_TARGET_MB} MB with {results['dataset']} loaded)",
        "",
        f"RSS after every page was visited: {m['rss']} MB (peak {m['peak']} MB); after the "
        f"concurrent sessions: {after['rss']} MB (peak {after['peak']} MB).",
        "",
    ])


def _concurrency_table(modes: dict[str, dict[str, Any]]) -> list[str]:
    def row(label: str, cell: Any) -> str:
        return f"| {label} | " + " | ".join(cell(c) for c in modes.values()) + " |"

    return [
        "| figure | " + " | ".join(modes) + " |",
        "|---|" + "---|" * len(modes),
        row("timed interactions (wall s)", lambda c: f"{c['interactions']} ({c['wall_s']} s)"),
        row("latency p50 / p95 / max s",
            lambda c: f"{c['p50_s']:.2f} / {c['p95_s']:.2f} / {c['max_s']:.2f}"),
        row(f"p95 < {P95_TARGET_S:.0f} s", lambda c: "yes" if c["p95_s"] < P95_TARGET_S else "no"),
        row("distinct A/B subjects", lambda c: f"{c['distinct_subjects']} of {c['sessions']}"),
        row("feedback rows stored / given",
            lambda c: f"{c['feedback_stored']} / {c['feedback_given']}"),
        row("sessions whose stored arm differs from the one shown",
            lambda c: str(c["sessions_with_wrong_arm"])),
        row("sessions whose stored thumbs differ from their clicks",
            lambda c: str(c["sessions_with_wrong_feedback"])),
        row("sessions seeing another session's rating",
            lambda c: str(c["sessions_seeing_other_ratings"])),
    ]


if __name__ == "__main__":
    main()
