"""Scale benchmark (issue 12): the product's own commands on a synthetic release of an official
MovieLens shape, each in a fresh process, timed with its peak RSS.

Steps: ``recsys data synth`` (generate + ingest; skipped when the release already has this
shape and seed), ``recsys data fetch --force`` (ingest alone) beside a bare ``polars.read_csv``
of its ratings.csv, ``recsys data validate``, ``recsys train --force`` with the demo defaults
(``recsys.training``), then the probes of ``scale_probes.py``: our ALS beside implicit's
(seconds per iteration), the chunked evaluation on a global temporal split, the app's service
(loading the trained models, persona latency) and, with ``--pipeline``, the retraining
pipeline end to end. Each step's wall time is taken here, its CPU time and peak RSS by GNU
time; the per-model fit times come from the trained models' cards. Results go to
``benchmarks/results/scale/<name>/`` (``results.json``, ``results.md``), with the machine and
its load before and after each step: the machine is shared, so read the figures with the load
beside them. ``--profile`` reruns the chosen steps under cProfile and adds where their time goes
(own time per function, ``<step>.profile.md``) to the report, leaving the timed figures alone.

    python benchmarks/scale.py --like ml-20m --pipeline   # 20,000,263 ratings: ~30 min
    python benchmarks/scale.py --like ml-20m --only train evaluate --profile
    python benchmarks/scale.py --users 2000 --items 1000 --ratings 200000 --name synthetic-tiny
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from recsys.bench.plots import step_cost_figure, write_figure
from recsys.bench.runner import hardware_info
from recsys.data.fetch import raw_dir
from recsys.data.synth import OFFICIAL_SHAPES, is_generated
from recsys.io import write_json, write_text
from recsys.settings import get_settings
from recsys.tracking import git_commit
from recsys.training import DEFAULT_MODELS, models_dir

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "scale"
TIME = "/usr/bin/time"  # GNU time (Debian package "time")
# Issue 12's goals: (step, figure, at most, unit) per official shape.
GOALS: dict[str, list[tuple[str, str, float, str]]] = {
    "ml-20m": [("train", "wall_s", 300, "s"), ("train", "peak_rss_gib", 6, "GiB"),
               ("fit_seconds", "item_knn", 60, "s"),
               ("evaluate", "evaluate_s", 120, "s"), ("evaluate", "top10_every_user_s", 120, "s"),
               ("evaluate", "peak_rss_gib", 4, "GiB"),
               ("serve", "open_s", 10, "s"), ("serve", "peak_rss_gib", 4, "GiB"),
               *(("serve", f"{model}_p95_ms", 50, "ms") for model in DEFAULT_MODELS),
               ("pipeline", "wall_s", 900, "s")],
    "ml-32m": [("train", "wall_s", 600, "s"), ("train", "peak_rss_gib", 10, "GiB"),
               ("ingest", "peak_rss_gib", 4, "GiB")],
}
RESULT = "RESULT "  # the line a probe prints its figures on
PROFILE_ROWS = 12  # functions per profile, by own time
STEP_ORDER = ("synth_ingest", "ingest", "polars_read_csv", "validate", "train", "als",
              "implicit_als", "evaluate", "ease_dense", "serve", "pipeline", "surprise",
              "spark_als")


def _recsys(*args: str) -> list[str]:
    return [sys.executable, "-m", "recsys.cli", *args]


def _probe(*args: str) -> list[str]:
    return [sys.executable, str(HERE / "scale_probes.py"), *args]


def _steps(args: argparse.Namespace, csv: Path) -> dict[str, list[str]]:
    shape = ["--users", str(args.users), "--items", str(args.items),
             "--ratings", str(args.ratings), "--seed", str(args.seed)]
    read = f"import polars; print(polars.read_csv({str(csv)!r}).height)"
    steps = {
        "synth_ingest": _recsys("data", "synth", "--name", args.name, *shape),
        "ingest": _recsys("data", "fetch", args.name, "--force"),
        "polars_read_csv": [sys.executable, "-c", read],
        "validate": _recsys("data", "validate", args.name),
        "train": _recsys("train", args.name, "--force"),
        "als": _probe("als", args.name),
        "implicit_als": _probe("implicit_als", args.name),
        "evaluate": _probe("evaluate", args.name),
        "serve": _probe("serve", args.name),
        "pipeline": [sys.executable, "-m", "pipelines.retrain", "--dataset", args.name,
                     "--run-id", "scale-benchmark"],
        "surprise": _probe("surprise", args.name, *(["--sample", str(args.surprise_sample)]
                                                   if args.surprise_sample else [])),
        "spark_als": _probe("spark_als", args.name),
        "ease_dense": _probe("ease_dense", args.name),
    }
    if _reusable(args):
        del steps["synth_ingest"]
    for optional, flag in (("pipeline", "pipeline"), ("surprise", "surprise"),
                           ("spark_als", "spark"), ("ease_dense", "ease_dense")):
        if not getattr(args, flag):
            del steps[optional]
    return {step: command for step, command in steps.items()
            if not args.only or step in args.only}


def _reusable(args: argparse.Namespace) -> bool:
    return not args.regenerate and is_generated(raw_dir(args.name, get_settings()), args.users,
                                                args.items, args.ratings, args.seed)


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
        "figures": _figures(log),
    }
    print(f"{step:16s} {wall:8.1f} s  cpu {result['cpu_s']:8.1f} s  peak RSS "
          f"{result['peak_rss_gib']:6.2f} GiB  load {result['load_before'][0]:.1f}"
          f"→{result['load_after'][0]:.1f}  exit {code}", flush=True)
    if code:
        raise SystemExit(f"step {step!r} failed (exit {code}); see {log}")
    return result


def _figures(log: Path) -> dict[str, Any]:
    """What a probe printed on its last ``RESULT`` line (empty for the other steps)."""
    lines = [line for line in log.read_text(errors="replace").splitlines()
             if line.startswith(RESULT)]
    return json.loads(lines[-1][len(RESULT):]) if lines else {}


def _profile(step: str, command: list[str], out: Path) -> None:
    """Run a Python step under cProfile; write its top functions by own time to
    ``<step>.profile.md`` (a ``python -c`` step has no file to profile and is skipped)."""
    if command[0] != sys.executable or command[1] == "-c":
        print(f"{step:16s} not profiled (not a Python module or script)", flush=True)
        return
    raw = out / f"{step}.prof"
    with (out / f"{step}.profile.log").open("w") as log:
        code = subprocess.run([sys.executable, str(HERE / "profiled.py"), str(raw), *command[1:]],
                              stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    if code:
        raise SystemExit(f"profiling {step!r} failed (exit {code}); see {log.name}")
    write_text(out / f"{step}.profile.md", _profile_table(step, pstats.Stats(str(raw))))
    raw.unlink()
    print(f"{step:16s} profiled: {out / f'{step}.profile.md'}", flush=True)


def _profile_table(step: str, stats: pstats.Stats) -> str:
    """The functions that spend the most own time (compiled kernels and C calls count as
    the Python function that calls them)."""
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)
    total = sum(entry[2] for _, entry in rows) or 1.0
    lines = [f"**{step}** under cProfile: {total:.1f} s of own time in all.", "",
             "| function | own s | share | with callees s | calls |", "|---|---:|---:|---:|---:|"]
    for (file, line, name), (_, calls, own, cumulative, _) in rows[:PROFILE_ROWS]:
        where = f"{Path(file).name}:{line} {name}" if line else name
        lines.append(f"| `{where}` | {own:.2f} | {own / total:.0%} | {cumulative:.2f} | "
                     f"{calls:,} |")
    return "\n".join(lines) + "\n"


def _profiles(out: Path) -> list[str]:
    """The report's section on where the time goes, from the profiles in ``out``."""
    tables = [out / f"{step}.profile.md" for step in STEP_ORDER]
    found = [table.read_text().rstrip() for table in tables if table.exists()]
    if not found:
        return []
    return ["", "## Where the time goes", "",
            "Each profiled step ran again under cProfile (`--profile`), after its timed run: "
            "the timed figures above do not carry the profiler. cProfile sees the main thread "
            "only: work that a pool of threads does (ranking batches of users in parallel) "
            "shows as the main thread's `acquire` of a lock.", "",
            *"\n\n".join(found).splitlines()]


def _fit_seconds(name: str) -> dict[str, float]:
    """Each trained default model's fit time, from its card (none before ``train`` ran)."""
    cards = [models_dir(name, get_settings()) / model / "card.json" for model in DEFAULT_MODELS]
    return {card.parent.name: json.loads(card.read_text())["fit_seconds"]
            for card in cards if card.exists()}


def _ordered(steps: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(steps.values(), key=lambda step: STEP_ORDER.index(step["step"]))


def _goal_rows(payload: dict[str, Any]) -> list[str]:
    """One row per goal of the shape: the measured figure and whether it is met."""
    rows, steps = [], payload["steps"]
    measured = steps | {"fit_seconds": {"figures": payload["fit_seconds"]}}
    for step, figure, limit, unit in GOALS.get(payload["like"] or "", []):
        if step not in measured:
            rows.append(f"| {step} {figure} | ≤ {limit:g} {unit} | not run | — |")
            continue
        value = measured[step].get(figure, measured[step]["figures"].get(figure))
        rows.append(f"| {step} {figure} | ≤ {limit:g} {unit} | {value:.2f} {unit} | "
                    f"{'met' if value <= limit else 'NOT met'} |")
    if {"als", "implicit_als"} <= set(steps):
        ours, peer = (steps[s]["figures"]["s_per_iteration"] for s in ("als", "implicit_als"))
        rows.append(f"| ALS s/iteration vs implicit's | ≤ {peer:.2f} s | {ours:.2f} s | "
                    f"{'met' if ours <= peer * 1.05 else 'NOT met'} (±5% noise) |")
    return rows


def _markdown(payload: dict[str, Any], out: Path) -> str:
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
          f"| {s['load_before'][0]:.1f} → {s['load_after'][0]:.1f} |" for s in _ordered(steps)),
        "",
        "Per-model fit time inside `recsys train` (s): " + (", ".join(
            f"{model} {seconds:.1f}" for model, seconds in payload["fit_seconds"].items())
            or "not trained"),
        "",
        f"Demo defaults: `{json.dumps(DEFAULT_MODELS)}`.",
    ]
    goals = _goal_rows(payload)
    if goals:
        lines += ["", "## Goals (issue 12)", "", "| goal | target | measured | |",
                  "|---|---|---|---|", *goals]
    probes = [step for step in _ordered(steps) if step["figures"]]
    if probes:
        lines += ["", "## What each probe measured", ""]
        lines += [f"- **{step['step']}**: " + ", ".join(
            f"{key} {value}" for key, value in step["figures"].items()) for step in probes]
    lines += _profiles(out)
    lines += ["", "Ingest + validate against a bare read, timed inside each process (imports "
              "excluded): `benchmarks/results/ingest/<shape>/results.md`."]
    hardware = ", ".join(f"{k} {v}" for k, v in payload["hardware"].items())
    lines += ["", f"Machine: {hardware}. The machine is shared: the load averages above are "
              "the whole machine's, this run included.", ""]
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> None:
    out = Path(args.out) / args.name
    out.mkdir(parents=True, exist_ok=True)
    csv = raw_dir(args.name, get_settings()) / "ratings.csv"
    earlier = out / "results.json"
    if args.profile:
        for step, command in _steps(args, csv).items():
            _profile(step, command, out)
        if not earlier.exists():
            return
        payload = json.loads(earlier.read_text())
    else:
        payload = _measured(args, out, csv)
    write_text(out / "results.md", _markdown(payload, out))
    print(_markdown(payload, out))
    _summary(Path(args.out))


def _measured(args: argparse.Namespace, out: Path, csv: Path) -> dict[str, Any]:
    """Run and time the steps (``--only``: keep the other steps' earlier figures)."""
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    earlier = out / "results.json"
    steps = json.loads(earlier.read_text())["steps"] if args.only and earlier.exists() else {}
    steps |= {step: _measure(step, command, out / f"{step}.log")
              for step, command in _steps(args, csv).items()}
    payload = {
        "benchmark": "scale", "synthetic": True, "name": args.name, "like": args.like,
        "started": started, "git_commit": git_commit(), "hardware": hardware_info(),
        "shape": {"users": args.users, "items": args.items, "ratings": args.ratings,
                  "seed": args.seed},
        "steps": steps, "fit_seconds": _fit_seconds(args.name),
    }
    write_json(earlier, payload)
    return payload


def _summary(folder: Path) -> None:
    """``summary.md`` and ``summary.html`` over every run in ``folder``: the steps side by side."""
    runs = [json.loads(path.read_text()) for path in sorted(folder.glob("*/results.json"))]
    rows = [{"run": f"{run['name']} ({run['shape']['ratings']:,} ratings)", "step": step["step"],
             "wall_s": step["wall_s"], "cpu_s": step["cpu_s"],
             "peak_rss_gib": step["peak_rss_gib"]}
            for run in runs for step in _ordered(run["steps"])]
    if not rows:
        return
    frame = pl.DataFrame(rows)
    write_figure(step_cost_figure(frame, list(STEP_ORDER)), folder / "summary.html")
    lines = ["# Scale benchmark: every synthetic shape", "",
             "Generated by `benchmarks/scale.py` from each `*/results.json`; figure: "
             "`summary.html`. Wall time on a shared 2-core machine (see each run's load).", "",
             "| run | step | wall (s) | CPU (s) | peak RSS (GiB) |", "|---|---|---:|---:|---:|"]
    lines += [f"| {r['run']} | {r['step']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
              f"{r['peak_rss_gib']:.2f} |" for r in rows]
    write_text(folder / "summary.md", "\n".join(lines) + "\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--like", choices=sorted(OFFICIAL_SHAPES),
                        help="an official release's shape")
    parser.add_argument("--name", help="synthetic release name (default synthetic-<like>)")
    parser.add_argument("--users", type=int)
    parser.add_argument("--items", type=int)
    parser.add_argument("--ratings", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--regenerate", action="store_true", help="rewrite the release")
    parser.add_argument("--out", default=str(RESULTS), help="results folder")
    parser.add_argument("--pipeline", action="store_true",
                        help="also run the retraining pipeline end to end (~15 min at ml-20m)")
    parser.add_argument("--surprise", action="store_true",
                        help="also fit scikit-surprise's SVD and KNNBaseline (the peer rows)")
    parser.add_argument("--surprise-sample", type=int, help="on a sample of this many ratings")
    parser.add_argument("--spark", action="store_true",
                        help="also run Spark ALS in local[2] beside ours (the spark extra)")
    parser.add_argument("--ease-dense", action="store_true",
                        help="also fit dense EASE over every movie beside the demo's cut one "
                             "(~9 GiB at the ml-20m shape)")
    parser.add_argument("--only", nargs="+", metavar="STEP",
                        help="rerun these steps only, keeping the others' earlier figures")
    parser.add_argument("--profile", action="store_true",
                        help="run the steps under cProfile for the report's 'where the time "
                             "goes' (the timed figures are kept)")
    return parser


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    args = _parser().parse_args(argv)
    for key, value in OFFICIAL_SHAPES.get(args.like or "", {}).items():
        setattr(args, key.removeprefix("n_"), getattr(args, key.removeprefix("n_")) or value)
    args.name = args.name or f"synthetic-{args.like}"
    if None in (args.users, args.items, args.ratings) or not args.name.startswith("synthetic"):
        raise SystemExit("give --like, or --users, --items, --ratings and --name synthetic-...")
    return args


if __name__ == "__main__":
    _run(_arguments())
