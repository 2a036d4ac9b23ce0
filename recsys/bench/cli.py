"""``recsys bench run SPEC.yaml`` and ``recsys bench list``."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from recsys.bench.results import RESULTS_DIR
from recsys.cli import at_least_one, output_folder
from recsys.errors import ConfigError

__all__ = ["register"]

SPEC_DIR = Path("benchmarks") / "specs"
# a comma outside parentheses separates two labels: "ALS (Spark, rank 10)" is one
_LABEL_SEPARATOR = re.compile(r",(?![^()]*\))")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bench`` command group."""
    bench = subparsers.add_parser("bench", help="run declarative benchmark specs")
    commands = bench.add_subparsers(dest="bench_command", required=True)

    run = commands.add_parser("run", help="run one spec and write its results folder")
    run.add_argument("spec", type=Path, help="YAML spec, e.g. benchmarks/specs/NAME.yaml")
    run.add_argument("--output", type=output_folder, default=None,
                     help="results folder (default: benchmarks/results/<spec name>); the "
                          "specs of its `also` list write beside it, under their names")
    run.add_argument("--no-mlflow", action="store_true", help="do not log runs to MLflow")
    run.add_argument("--models", default="",
                     help="comma-separated model labels (or registry names) to run, default "
                          "all; a comma inside parentheses belongs to its label")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--threads", type=at_least_one, default=None,
                     help="cap BLAS/OpenMP threads (default: the libraries' own choice)")
    run.set_defaults(handler=_run)

    listing = commands.add_parser("list", help="list the specs and whether results exist")
    listing.add_argument("--specs", type=Path, default=SPEC_DIR, help="folder of YAML specs")
    listing.set_defaults(handler=_list)


def _run(args: argparse.Namespace) -> int:
    from recsys.bench.spec import load_spec

    spec = load_spec(args.spec)
    failed = [_run_one(args.spec, args, args.output)]
    for extra in spec.also:  # beside the main results folder, each under its own name
        companion = args.spec.parent / extra
        output = None if args.output is None else args.output.parent / load_spec(companion).name
        failed.append(_run_one(companion, args, output))
    return 1 if any(failed) else 0


def model_labels(text: str) -> list[str]:
    """The labels of a ``--models`` value: split on commas outside parentheses."""
    return [label.strip() for label in _LABEL_SEPARATOR.split(text) if label.strip()]


def _run_one(path: Path, args: argparse.Namespace, output: Path | None) -> bool:
    """Run one spec file and write its results (``output``: default folder when None); True
    when a model failed."""
    from recsys.bench import report, runner
    from recsys.bench.spec import load_spec

    spec = load_spec(path)
    if args.models:
        spec = spec.select(model_labels(args.models))
    result = runner.run_benchmark(
        spec, progress=not args.no_progress, tracking=not args.no_mlflow,
        spec_text=path.read_text(encoding="utf-8"), threads=args.threads,
    )
    folder = report.write_results(result, output or RESULTS_DIR / spec.name)
    goals = report.evaluate_goals(spec, result.summary)
    print(f"{spec.name}: {result.summary.height} model(s), results in {folder}")
    for outcome in goals:
        print(f"  goal {'MET   ' if outcome.met else 'MISSED'} {outcome.text}")
    return bool(result.errors)


def _list(args: argparse.Namespace) -> int:
    from recsys.bench.spec import load_spec

    if not args.specs.is_dir():
        raise ConfigError(f"No spec folder at {args.specs}: expected YAML files there")
    for path in sorted(args.specs.glob("*.yaml")):
        try:
            spec = load_spec(path)
        except ConfigError as error:
            sys.stdout.write(f"{path}  not a benchmark spec: {str(error)[:120]}\n")
            continue
        done = (RESULTS_DIR / spec.name / "report.md").exists()
        sys.stdout.write(
            f"{path}  {spec.dataset:16} {spec.protocol.kind:14} {len(spec.models):3} models  "
            f"{'results' if done else 'no results yet'}\n"
        )
    return 0
