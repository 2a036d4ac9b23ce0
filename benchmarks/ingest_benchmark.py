"""Ingest benchmark: our ingest + validate of a synthetic release of an official shape against a
bare ``polars.read_csv`` (and ``pandas.read_csv``) of the same ratings.csv, in the same run.

Each step runs in a fresh Python process (this script with ``--child STEP``); the parent takes
the child's wall time and its peak RSS from ``os.wait4`` (the kernel's per-child rusage), and
the child reports the time of the work itself (imports excluded). Results go to
``benchmarks/results/ingest/<shape>/results.{json,md}``, written atomically.

    python benchmarks/ingest_benchmark.py --like ml-32m   # 32,000,204 ratings
    python benchmarks/ingest_benchmark.py --users 2000 --items 1000 --ratings 200000 --out /tmp/i

Target (issue 12): ingest + validate within 2× the bare polars read and under 4 GiB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import psutil

from recsys.data.fetch import raw_dir
from recsys.data.load import ingest, load_dataset
from recsys.data.synth import OFFICIAL_SHAPES, is_generated, write_synthetic_release
from recsys.data.validate import validate_dataset
from recsys.io import write_json, write_text
from recsys.settings import get_settings

RESULTS = Path(__file__).resolve().parent / "results" / "ingest"
TARGET_RATIO, TARGET_RSS_BYTES = 2.0, 4 * 1024**3


# --------------------------------------------------------------------------- child steps


def _ratings_csv(args: argparse.Namespace) -> Path:
    return raw_dir(args.name, get_settings()) / "ratings.csv"


def _generate(args: argparse.Namespace) -> dict[str, Any]:
    folder = raw_dir(args.name, get_settings())
    write_synthetic_release(folder, args.users, args.items, args.ratings, seed=args.seed)
    return {"bytes": (folder / "ratings.csv").stat().st_size}


def _pandas_read(args: argparse.Namespace) -> dict[str, Any]:
    return {"rows": len(pd.read_csv(_ratings_csv(args)))}


def _polars_read(args: argparse.Namespace) -> dict[str, Any]:
    return {"rows": pl.read_csv(_ratings_csv(args)).height}


def _ingest_validate(args: argparse.Namespace) -> dict[str, Any]:
    dataset = ingest(args.name, force=True)
    return _validated(dataset)


def _load_validate(args: argparse.Namespace) -> dict[str, Any]:
    return _validated(load_dataset(args.name))


def _validated(dataset: Any) -> dict[str, Any]:
    report = validate_dataset(dataset)
    return {"rows": dataset.ratings.height, "report_ok": report.ok, "synthetic": dataset.synthetic}


STEPS: dict[str, tuple[str, Callable[[argparse.Namespace], dict[str, Any]]]] = {
    "generate": ("generate the synthetic release (CSV files)", _generate),
    "pandas_read_csv": ("bare pandas.read_csv(ratings.csv), default options", _pandas_read),
    "polars_read_csv": ("bare polars.read_csv(ratings.csv), for reference", _polars_read),
    "ingest_validate": (
        "ingest(force=True): parse 4 CSVs, hash raw files, write parquet + manifest; "
        "then validate_dataset",
        _ingest_validate,
    ),
    "load_validate": (
        "load_dataset: re-verify raw hashes, read parquet; then validate_dataset",
        _load_validate,
    ),
}


def _run_child(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    result = STEPS[args.child][1](args)
    result["work_s"] = time.perf_counter() - start
    print(json.dumps(result))


# --------------------------------------------------------------------------- parent


def _measure(step: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one step in a fresh interpreter; wall time and peak RSS of that process alone."""
    command = [sys.executable, __file__, "--child", step, *_shape_flags(args)]
    with tempfile.TemporaryFile(mode="w+") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            raise SystemExit(f"step {step!r} failed with exit code {process.returncode}")
        out.seek(0)
        result = json.loads(out.read().strip().splitlines()[-1])
    result.update(
        step=step,
        what=STEPS[step][0],
        process_wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_bytes=usage.ru_maxrss * 1024,  # Linux reports KiB
    )
    print(
        f"{step:16s} work {result['work_s']:7.2f} s  process {wall:7.2f} s  "
        f"peak RSS {result['peak_rss_bytes'] / 2**20:8.0f} MiB",
        flush=True,
    )
    return result


def _shape_flags(args: argparse.Namespace) -> list[str]:
    return [
        "--name", args.name, "--users", str(args.users), "--items", str(args.items),
        "--ratings", str(args.ratings), "--seed", str(args.seed),
    ]  # fmt: skip


def _reusable(args: argparse.Namespace) -> bool:
    return is_generated(raw_dir(args.name, get_settings()), args.users, args.items,
                        args.ratings, args.seed)


def _hardware() -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "polars": pl.__version__,
        "pandas": pd.__version__,
        "platform": platform.platform(),
    }


def _git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def _verdict(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ours, bare = results["ingest_validate"], results["polars_read_csv"]
    ratio = ours["work_s"] / bare["work_s"]
    return {
        "ratio_ingest_validate_vs_polars": ratio,
        "ratio_target": TARGET_RATIO,
        "ratio_met": ratio <= TARGET_RATIO,
        "peak_rss_target_bytes": TARGET_RSS_BYTES,
        "peak_rss_met": ours["peak_rss_bytes"] < TARGET_RSS_BYTES,
    }


def _markdown(payload: dict[str, Any]) -> str:
    shape, verdict = payload["shape"], payload["verdict"]
    bare = payload["results"]["polars_read_csv"]["work_s"]
    lines = [
        f"# Ingest benchmark (synthetic {payload.get('like', 'custom')}-shaped release)",
        "",
        f"Data: SYNTHETIC, {shape['n_ratings']:,} ratings, {shape['n_users']:,} users, "
        f"{shape['n_items']:,} movies, seed {shape['seed']}; ratings.csv "
        f"{payload['ratings_csv_bytes'] / 1e6:,.0f} MB. Commit `{payload['git_commit'][:12]}`, "
        f"{payload['started']}.",
        "",
        "| step | work (s) | process wall (s) | CPU (s) | peak RSS (MiB) | × polars | what |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for step, row in payload["results"].items():
        lines.append(
            f"| {step} | {row['work_s']:.2f} | {row['process_wall_s']:.2f} | {row['cpu_s']:.2f} "
            f"| {row['peak_rss_bytes'] / 2**20:,.0f} | {row['work_s'] / bare:.2f} | {row['what']} |"
        )
    lines += [
        "",
        f"Target: ingest + validate within {verdict['ratio_target']}× the bare polars read "
        f"→ {verdict['ratio_ingest_validate_vs_polars']:.2f}× "
        f"({'met' if verdict['ratio_met'] else 'MISSED'}); peak RSS under "
        f"{TARGET_RSS_BYTES / 2**30:.0f} GiB → "
        f"{payload['results']['ingest_validate']['peak_rss_bytes'] / 2**30:.2f} GiB "
        f"({'met' if verdict['peak_rss_met'] else 'MISSED'}).",
        "",
        "Work = the step itself inside the child (imports excluded); process wall includes "
        "interpreter start and imports. Peak RSS is the child's, from `os.wait4`.",
        "",
        "Hardware: " + ", ".join(f"{k} {v}" for k, v in payload["hardware"].items()) + ".",
        "",
    ]
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> None:
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    hardware = _hardware()
    steps = ["pandas_read_csv", "polars_read_csv", "ingest_validate", "load_validate"]
    if args.regenerate or not _reusable(args):
        steps.insert(0, "generate")
    results = {step: _measure(step, args) for step in steps}
    payload = {
        "benchmark": "ingest",
        "synthetic": True,
        "like": args.like,
        "started": started,
        "git_commit": _git_commit(),
        "shape": {"n_users": args.users, "n_items": args.items, "n_ratings": args.ratings,
                  "seed": args.seed},
        "ratings_csv_bytes": _ratings_csv(args).stat().st_size,
        "hardware": hardware,
        "results": results,
        "verdict": _verdict(results),
    }  # fmt: skip
    out = Path(args.out)
    write_json(out / "results.json", payload)
    write_text(out / "results.md", _markdown(payload))
    print(_markdown(payload))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--like", choices=sorted(OFFICIAL_SHAPES), default="ml-20m",
                        help="an official release's shape (--users etc. override it)")
    parser.add_argument("--name", help="synthetic release name (default synthetic-<like>)")
    parser.add_argument("--users", type=int)
    parser.add_argument("--items", type=int)
    parser.add_argument("--ratings", type=int)
    parser.add_argument("--seed", type=int, default=0, help="as benchmarks/scale.py's")
    parser.add_argument("--regenerate", action="store_true", help="rewrite the release")
    parser.add_argument("--out", help="results folder (default results/ingest/<like>)")
    parser.add_argument("--child", choices=list(STEPS), help=argparse.SUPPRESS)
    return parser


def _arguments() -> argparse.Namespace:
    """The parsed flags, the shape of ``--like`` filling whatever was not given."""
    args = _parser().parse_args()
    for key, value in OFFICIAL_SHAPES[args.like].items():
        name = key.removeprefix("n_")
        setattr(args, name, getattr(args, name) or value)
    args.name = args.name or f"synthetic-{args.like}"
    args.out = args.out or str(RESULTS / args.like)
    return args


if __name__ == "__main__":
    arguments = _arguments()
    if arguments.child:
        _run_child(arguments)
    else:
        _run(arguments)
