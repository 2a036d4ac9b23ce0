"""The ``recsys`` command line: ``recsys data fetch``, ``recsys bench run``, ...

Each command group lives beside the code it drives and exposes ``register(subparsers)``;
this module only assembles them and turns ``RecsysError`` into a clean message and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from recsys.errors import RecsysError, WriteError
from recsys.io import check_writable

__all__ = ["at_least_one", "build_parser", "main"]

# Modules that add a command group; each defines ``register(subparsers)``.
COMMAND_MODULES = [
    "recsys.data.cli",
    "recsys.training",
    "recsys.bench.cli",
    "recsys.ab.cli",
    "recsys.report.cli",
]


def at_least_one(text: str) -> int:
    """An argparse type for counts (threads, seconds): a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def output_folder(text: str) -> Path:
    """An argparse type for results folders: one that is writable or can be made there,
    checked when the command line is read, before any work whose output would be lost."""
    try:
        return check_writable(text)
    except WriteError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="recsys", description="MovieLens recommenders and benchmarking lab"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 1 failed check, 2 error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args) or 0)
    except RecsysError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing half-written was kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
