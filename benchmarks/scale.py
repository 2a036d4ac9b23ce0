"""Scale benchmark (issue 12): the product's own commands on a synthetic release of an official
MovieLens shape, each in a fresh process, timed with its peak RSS.

Steps: ``recsys data synth`` (generate + ingest; skipped when the release already has this
shape and seed), a bare ``polars.read_csv`` of its ratings.csv for reference, ``recsys data
validate``, and ``recsys train --force`` with the demo defaults (``recsys.training``). Each
step's wall time is taken here, its CPU time and peak RSS by GNU time; the per-model fit
times come from the trained models' cards. Results go to ``benchmarks/results/scale/<name>/``
(``results.json``, ``results.md``), with the machine and its load before and after each step:
the machine is shared, so read the figures with the load beside them.

    python benchmarks/scale.py --like ml-20m            # 20,000,263 ratings: minutes, run once
    python benchmarks/scale.py --users 2000 --items 1000 --ratings 200000 --name synthetic-tiny
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from recsys.bench.runner import hardware_info
from recsys.data.fetch import raw_dir
from recsys.io import write_json, write_text
from recsys.settings import get_settings
from recsys.tracking import git_commit
from recsys.training import DEFAULT_MODELS, models_dir

RESULTS = Path(__file__).resolve().parent / "results" / "scale"
SHAPES: dict[str, dict[str, int]] = {  # the official releases' users, movies, ratings
    "ml-20m": {"users": 138_493, "items": 26_744, "ratings": 20_000_263},
    "ml-25m": {"users": 162_541, "items": 62_423, "ratings": 25_000_095},
    "ml-32m": {"users": 200_948, "items": 87_585, "ratings": 32_000_204},
}
TIME = "/usr/bin/time"  # GNU time (Debian package "time")
GOALS = {"ml-20m": {"train_s": 300, "train_rss_gib": 6}, "ml-32m": {"train_s": 600,
                                                                   "train_rss_gib": 10}}


def _recsys(*args: str) -> list[str]:
    return [sys.executable, "-m", "recsys.cli", *args]


def _steps(args: argparse.Namespace, csv: Path) -> dict[str, list[str]]:
    shape = ["--users", str(args.users), "--items", str(args.items),
             "--ratings", str(args.ratings), "--seed", str(args.seed)]
    read = f"import polars; print(polars.read_csv({str(csv)!r}).height)"
    steps = {
        "synth_ingest": _recsys("data", "synth", "--name", args.name, *shape),
        "polars_read_csv": [sys.executable, "-c", read],
        "validate": _recsys("data", "validate", args.name),
        "train": _recsys("train", args.name, "--force"),
    }
    if _reusable(args):
        del steps["synth_ingest"]
    return steps


def _reusable(args: argparse.Namespace) -> bool:
    card = raw_dir(args.name, get_settings()) / "SYNTHETIC.json"
    if args.regenerate or not card.exists():
        return False
    meta = json.loads(card.read_text(encoding="utf-8"))
    wanted = {"n_users": args.users, "n_items": args.items, "n_ratings": args.ratings}
    return meta.get("params") == wanted and meta.get("seed") == args.seed


def _measure(step: str, command: list[str], log: Path) -> dict[str, Any]:
    """Run one step as a child process: its wall time, CPU time and peak RSS.

    GNU time runs the command, so that the peak RSS is the command's own: a child forked
    straight from this process would count this process's memory too (the kernel records the
    parent's high-water mark at exec).
    """
    usage = log.with_suffix(".time")
    load_before = os.getloadavg()
    with log.open("w") as out:
        start = time.perf_counter()
        code = subprocess.run([TIME, "-f", "%M %U %S", "-o", str(usage), *command],
                              stdout=out, stderr=subprocess.STDOUT, check=False).returncode
        wall = time.perf_counter() - start
    rss_kib, user, system = usage.read_text().split()[-3:]
    result = {
        "step": step, "command": " ".join(command[1:]), "exit_code": code, "wall_s": wall,
        "cpu_s": float(user) + float(system), "peak_rss_gib": int(rss_kib) / 2**20,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"{step:16s} {wall:8.1f} s  cpu {result['cpu_s']:8.1f} s  peak RSS "
          f"{result['peak_rss_gib']:6.2f} GiB  load {result['load_before'][0]:.1f}"
          f"→{result['load_after'][0]:.1f}  exit {code}", flush=True)
    if code:
        raise SystemExit(f"step {step!r} failed (exit {code}); see {log}")
    return result


def _fit_seconds(name: str) -> dict[str, float]:
    folder = models_dir(name, get_settings())
    return {model: json.loads((folder / model / "card.json").read_text())["fit_seconds"]
            for model in DEFAULT_MODELS}


def _markdown(payload: dict[str, Any]) -> str:
    shape, steps = payload["shape"], payload["steps"]
    lines = [
        f"# Scale benchmark: {payload['name']} (SYNTHETIC, {payload['like'] or 'custom'} shape)",
        "",
        f"{shape['ratings']:,} ratings, {shape['users']:,} users, {shape['items']:,} movies, "
        f"seed {shape['seed']}. Commit `{payload['git_commit'][:12]}`, {payload['started']}.",
        "",
        "| step | wall (s) | CPU (s) | peak RSS (GiB) | load 1-min before → after |",
        "|---|---:|---:|---:|---|",
        *(f"| {s['step']} | {s['wall_s']:.1f} | {s['cpu_s']:.1f} | {s['peak_rss_gib']:.2f} "
          f"| {s['load_before'][0]:.1f} → {s['load_after'][0]:.1f} |" for s in steps.values()),
        "",
        "Per-model fit time inside `recsys train` (s): " + ", ".join(
            f"{model} {seconds:.1f}" for model, seconds in payload["fit_seconds"].items()),
        "",
        f"Demo defaults: `{json.dumps(DEFAULT_MODELS)}`.",
    ]
    goal = GOALS.get(payload["like"] or "")
    if goal:
        train = steps["train"]
        lines += ["", f"Goal: `recsys train` ≤ {goal['train_s']} s wall and ≤ "
                  f"{goal['train_rss_gib']} GiB peak RSS → {train['wall_s']:.0f} s, "
                  f"{train['peak_rss_gib']:.2f} GiB."]
    hardware = ", ".join(f"{k} {v}" for k, v in payload["hardware"].items())
    lines += ["", f"Machine: {hardware}. The machine is shared: the load averages above are "
              "the whole machine's, this run included.", ""]
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> None:
    out = Path(args.out) / args.name
    out.mkdir(parents=True, exist_ok=True)
    csv = raw_dir(args.name, get_settings()) / "ratings.csv"
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    steps = {step: _measure(step, command, out / f"{step}.log")
             for step, command in _steps(args, csv).items()}
    payload = {
        "benchmark": "scale", "synthetic": True, "name": args.name, "like": args.like,
        "started": started, "git_commit": git_commit(), "hardware": hardware_info(),
        "shape": {"users": args.users, "items": args.items, "ratings": args.ratings,
                  "seed": args.seed},
        "steps": steps, "fit_seconds": _fit_seconds(args.name),
    }
    write_json(out / "results.json", payload)
    write_text(out / "results.md", _markdown(payload))
    print(_markdown(payload))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--like", choices=sorted(SHAPES), help="an official release's shape")
    parser.add_argument("--name", help="synthetic release name (default synthetic-<like>)")
    parser.add_argument("--users", type=int)
    parser.add_argument("--items", type=int)
    parser.add_argument("--ratings", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--regenerate", action="store_true", help="rewrite the release")
    parser.add_argument("--out", default=str(RESULTS), help="results folder")
    return parser


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    args = _parser().parse_args(argv)
    for key, value in SHAPES.get(args.like or "", {}).items():
        setattr(args, key, getattr(args, key) or value)
    args.name = args.name or f"synthetic-{args.like}"
    if None in (args.users, args.items, args.ratings) or not args.name.startswith("synthetic"):
        raise SystemExit("give --like, or --users, --items, --ratings and --name synthetic-...")
    return args


if __name__ == "__main__":
    _run(_arguments())
