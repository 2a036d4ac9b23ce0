"""Command line of the retraining pipeline (cron, Docker's trainer and Airflow tasks).

    python -m pipelines.retrain --dataset ml-latest-small            # every step
    python -m pipelines.retrain step gate --dataset ml-100k --run-id 2025-01-31
    python -m pipelines.retrain status --dataset ml-100k --run-id 2025-01-31

A run lives in ``<data_dir>/runs/<dataset>/<run id>/`` (run id: today's UTC date unless
given), or in ``--run-dir``. Running the same run again resumes it: completed steps whose
inputs are unchanged are skipped. Exit codes: 0 ok, 2 a pipeline error (RecsysError).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pipelines.config import DEFAULT_CONFIG, PipelineConfig, RunContext
from pipelines.runner import STEPS, run_pipeline
from recsys.errors import RecsysError
from recsys.runs import run_dir_for
from recsys.settings import get_settings

__all__ = ["main", "build_parser", "run_dir_for"]


def _common(defaults: bool) -> argparse.ArgumentParser:
    """The options every command takes. The subcommands' copy has no defaults, so that an
    option given before the subcommand (``--config X step gate``) is not reset by it."""
    common = argparse.ArgumentParser(add_help=False)

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    common.add_argument("--dataset", default=default(None),
                        help="release name (default: the config's)")
    common.add_argument("--config", type=Path, default=default(DEFAULT_CONFIG),
                        help="pipeline YAML")
    common.add_argument("--run-id", default=default(None),
                        help="run id (default: today's UTC date)")
    common.add_argument("--run-dir", type=Path, default=default(None),
                        help="explicit run folder (overrides --run-id)")
    common.add_argument("-v", "--verbose", action="store_true", default=default(False),
                        help="debug logging")
    return common


def build_parser() -> argparse.ArgumentParser:
    """Options shared by the whole pipeline and by single steps, before or after the step."""
    parser = argparse.ArgumentParser(prog="python -m pipelines.retrain", parents=[_common(True)],
                                     description="Retrain, gate and register recommenders.")
    sub = parser.add_subparsers(dest="command")
    step = sub.add_parser("step", parents=[_common(False)], help="run one step")
    step.add_argument("name", choices=list(STEPS))
    sub.add_parser("status", parents=[_common(False)], help="list the completed steps of a run")
    return parser


def _context(args: argparse.Namespace) -> RunContext:
    config = PipelineConfig.load(args.config, args.dataset)
    settings = get_settings()
    run_dir = args.run_dir or run_dir_for(settings, config.dataset, args.run_id)
    return RunContext(run_dir, config, settings)


def _status(ctx: RunContext) -> int:
    for step in STEPS:
        marker = ctx.marker(step)
        state = f"done in {marker['seconds']:.2f} s" if marker else "pending"
        print(f"{step:10s} {state}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        ctx = _context(args)
        if args.command == "status":
            return _status(ctx)
        steps = [args.name] if args.command == "step" else None
        results = run_pipeline(ctx, steps)
    except RecsysError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    logging.getLogger(__name__).info("run %s: %s", ctx.run_dir, ", ".join(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
