"""The shared demo as its visitors meet it: first paint per page, concurrency, server memory.

    python benchmarks/demo_server.py [--sessions 20] [--clicks 3] [--repeats 3]

Prepares ml-latest-small with every default model (``recsys.training.DEFAULT_MODELS``) in
``--data-dir`` (a temporary one by default; up-to-date models are not retrained), starts
``streamlit run app/main.py`` on it, times every page's first paint in fresh sessions of a
warm server (:func:`app.journey.first_paints`), runs ``--sessions`` concurrent visitors
(:func:`app.journey.visitors`) and reads the server's RSS; writes ``report.md`` and
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

from app.journey import Server, first_paints, serve, summarise, visitors
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
        memory = _memory(server)
        concurrency = _concurrency(server, settings, args.sessions, args.clicks)
        memory_after = _memory(server)
    results = {
        "commit": git_commit(Path(__file__).resolve().parents[1]),
        "machine": f"{platform.node()}: {psutil.cpu_count()} cores, load average "
                   f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after",
        "dataset": DEMO_DATASET, "models": list(DEFAULT_MODELS),
        "prepare_s": round(prepared_s, 1),
        "first_paint_s": paints, "memory_after_pages_mb": memory,
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


def _concurrency(server: Server, settings: Settings, n: int, clicks: int) -> dict[str, Any]:
    """``n`` concurrent visitors; their figures checked against the event store."""
    service = RecommenderService.open(DEMO_DATASET, settings)
    personas = [(p.name, p.description)
                for p in load_personas(APP_DIR / "personas.yaml", service.dataset.movies)]
    top = service.catalog.movies.sort("n_ratings", descending=True).head(n)
    started = time.perf_counter()
    try:
        logs = visitors(server.url, n, clicks, personas, top["title"].to_list())
    except Exception as error:  # noqa: BLE001 (the report says how the run failed)
        return {"sessions": n, "failed": f"{type(error).__name__}: {str(error).splitlines()[0]}",
                "wall_s": round(time.perf_counter() - started, 1)}
    wall = time.perf_counter() - started
    feedback = EventStore(settings.events_url).events(f"app-live-{DEMO_DATASET}", "feedback")
    summary = summarise(logs, feedback, service.catalog.label(top["item_id"].to_list()))
    return {**{k: round(v, 3) if isinstance(v, float) else v for k, v in summary.items()},
            "wall_s": round(wall, 1)}


def _report(results: dict[str, Any]) -> str:
    paints = results["first_paint_s"]
    rows = [f"| {title} | {statistics.median(v):.2f} | {max(v):.2f} | "
            f"{'yes' if max(v) <= FIRST_PAINT_TARGET_S else 'no'} |"
            for title, v in paints.items()]
    c, m = results["concurrency"], results["memory_after_pages_mb"]
    after = results["memory_after_sessions_mb"]
    concurrency = (_concurrency_table(c) if "failed" not in c else
                   [f"The run failed after {c['wall_s']} s: `{c['failed']}`."])
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
        "Seconds from opening the page's URL until its content is visible and Streamlit has "
        f"stopped running; {len(next(iter(paints.values())))} sessions per page after one "
        "warm-up visit of every page.",
        "",
        "| page | median s | max s | ≤ 2 s |",
        "|---|---|---|---|",
        *rows,
        "",
        f"## {c['sessions']} concurrent sessions (target p95 < {P95_TARGET_S:.0f} s)",
        "",
        "Each session (a browser context of one Chromium: its own cookies and storage) opens "
        "the Persona view, picks personas and gives thumbs up, then rates a movie of its own.",
        "",
        *concurrency,
        "",
        f"## Server memory (target ≤ {RSS_TARGET_MB} MB with {results['dataset']} loaded)",
        "",
        f"RSS after every page was visited: {m['rss']} MB (peak {m['peak']} MB); after the "
        f"concurrent sessions: {after['rss']} MB (peak {after['peak']} MB).",
        "",
    ])


def _concurrency_table(c: dict[str, Any]) -> list[str]:
    return [
        f"{c['interactions']} timed interactions in {c['wall_s']} s.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| interaction latency p50 / p95 / max | {c['p50_s']:.2f} / {c['p95_s']:.2f} / "
        f"{c['max_s']:.2f} s |",
        f"| distinct A/B subjects | {c['distinct_subjects']} of {c['sessions']} |",
        f"| feedback rows stored / given | {c['feedback_stored']} / {c['feedback_given']} |",
        f"| sessions whose stored arm differs from the one shown | "
        f"{c['sessions_with_wrong_arm']} |",
        f"| sessions whose stored thumbs differ from their clicks | "
        f"{c['sessions_with_wrong_feedback']} |",
        f"| sessions seeing another session's rating | "
        f"{c['sessions_seeing_other_ratings']} |",
    ]


if __name__ == "__main__":
    main()
