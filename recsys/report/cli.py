"""``recsys report logbook | notebooks``: regenerate the logbook, render the step notebooks."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from recsys.cli import at_least_one, output_folder
from recsys.report import ENTRIES_DIR, NOTEBOOKS_DIR, REPO_ROOT

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` command group."""
    report = subparsers.add_parser("report", help="the project logbook and the step notebooks")
    commands = report.add_subparsers(dest="report_command", required=True)

    logbook = commands.add_parser("logbook", help="regenerate docs/logbook (Markdown + HTML)")
    logbook.add_argument("--out", type=output_folder, default=ENTRIES_DIR)
    logbook.add_argument("--results", type=Path, default=None,
                         help="benchmark results folder (default: benchmarks/results)")
    logbook.add_argument("--junit", type=Path, action="append", default=None,
                         help="pytest JUnit XML (default: test-output/junit*.xml)")
    logbook.set_defaults(handler=_logbook)

    notebooks = commands.add_parser("notebooks", help="execute notebooks/*.py and render HTML")
    notebooks.add_argument("--out", type=output_folder, default=REPO_ROOT / "build" / "notebooks")
    notebooks.add_argument("--timeout", type=at_least_one, default=600, help="seconds per cell")
    notebooks.set_defaults(handler=_notebooks)


def _logbook(args: argparse.Namespace) -> int:
    from recsys.report.entries import load_entries
    from recsys.report.logbook import open_context, write_logbook
    from recsys.settings import get_settings

    started = time.perf_counter()
    ctx = open_context(REPO_ROOT, get_settings(), args.results, args.junit)
    paths = write_logbook(ctx, load_entries(ENTRIES_DIR), args.out)
    for path in paths:
        print(path)
    log.info("logbook regenerated in %.1f s", time.perf_counter() - started)
    return 0


def _notebooks(args: argparse.Namespace) -> int:
    from recsys.report.notebooks import notebook_paths, render_html

    for path in notebook_paths(NOTEBOOKS_DIR):
        print(render_html(path, args.out, args.timeout))
    return 0
