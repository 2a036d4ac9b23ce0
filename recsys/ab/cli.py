"""``recsys ab replay SPEC`` and ``recsys ab plan``: A/B tools from the command line."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import time
from pathlib import Path

from recsys.bench.results import RESULTS_DIR
from recsys.cli import output_folder
from recsys.errors import ConfigError
from recsys.io import write_json, write_text

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ab`` command group."""
    ab = subparsers.add_parser("ab", help="A/B testing: offline replay and sample-size planning")
    commands = ab.add_subparsers(dest="ab_command", required=True)

    replay = commands.add_parser("replay", help="replay an A/B of two models on a dataset")
    replay.add_argument("spec", type=Path, help="replay spec YAML")
    replay.add_argument("--out", type=output_folder, default=None,
                        help="results folder (default benchmarks/results/<spec name>)")
    replay.set_defaults(handler=_replay)

    plan = commands.add_parser("plan", help="users per arm for a minimum detectable effect")
    plan.add_argument("--baseline", type=float, help="control rate, e.g. 0.1 (proportions)")
    plan.add_argument("--sd", type=float, help="per-user standard deviation (means)")
    plan.add_argument("--mde", type=float, required=True,
                      help="effect to detect: absolute (0.02 = +2 points) unless --relative")
    plan.add_argument("--relative", action="store_true", help="the MDE is relative (0.1 = +10%%)")
    plan.add_argument("--alpha", type=float, default=0.05)
    plan.add_argument("--power", type=float, default=0.8)
    plan.set_defaults(handler=_plan)


def _replay(args: argparse.Namespace) -> int:
    from recsys.ab.replay import RESULTS_FILE, load_replay_spec, render_report, run_replay
    from recsys.data.load import ingest
    from recsys.tracking import git_commit

    spec = load_replay_spec(args.spec)
    out = args.out or RESULTS_DIR / args.spec.stem
    started = time.perf_counter()
    dataset = ingest(spec.dataset)
    result = run_replay(dataset, spec)
    meta = {
        "spec_file": str(args.spec),
        "manifest_hash": dataset.manifest_hash,
        "git_commit": git_commit(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    write_json(out / RESULTS_FILE, {"meta": meta, **result.to_dict()})
    write_text(out / "report.md", render_report(result, meta))
    print(result.ab.conclusion)
    print(result.interleaving.summary())
    print(f"report: {out / 'report.md'}")
    return 0


def _plan(args: argparse.Namespace) -> int:
    from recsys.ab.design import plan_proportions, sample_size_means

    if (args.baseline is None) == (args.sd is None):
        raise ConfigError("recsys ab plan: give exactly one of --baseline (proportions) "
                          "or --sd (means)")
    if args.relative and args.sd is not None:
        raise ConfigError("recsys ab plan: --relative applies to --baseline (proportions); "
                          "give --mde in the units of --sd for means")
    if args.baseline is not None:
        print(plan_proportions(args.baseline, args.mde, args.alpha, args.power,
                               args.relative).summary())
    else:
        n = sample_size_means(args.sd, args.mde, args.alpha, args.power)
        print(f"To detect a difference of {args.mde:g} in means (sd {args.sd:g}) with "
              f"{args.power:.0%} power at alpha {args.alpha:g} (two-sided): {n:,} users per arm, "
              f"{2 * n:,} in total.")
    return 0
