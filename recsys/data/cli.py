"""``recsys data list | fetch | validate | synth``: the data layer from the command line."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from recsys.data.fetch import raw_dir
from recsys.data.load import ingest, load_dataset
from recsys.data.releases import RELEASES, SYNTHETIC_PREFIX, get_release
from recsys.data.synth import OFFICIAL_SHAPES, write_synthetic_release
from recsys.data.validate import validate_dataset, write_quality_report
from recsys.errors import ConfigError
from recsys.settings import get_settings

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``data`` command group."""
    data = subparsers.add_parser("data", help="fetch, validate and generate MovieLens data")
    commands = data.add_subparsers(dest="data_command", required=True)

    listing = commands.add_parser("list", help="list the known releases")
    listing.set_defaults(handler=_list)

    fetch = commands.add_parser("fetch", help="fetch, verify and ingest a release")
    fetch.add_argument("name", help="release name, e.g. ml-latest-small")
    fetch.add_argument("--from", dest="source", type=Path, help="official zip or folder")
    fetch.add_argument("--force", action="store_true", help="fetch again even if present")
    fetch.add_argument(
        "--allow-unverified", action="store_true", help="accept a checksum that differs"
    )
    fetch.set_defaults(handler=_fetch)

    validate = commands.add_parser("validate", help="write and print a quality report")
    validate.add_argument("name")
    validate.add_argument("--format", choices=("md", "json"), default="md")
    validate.set_defaults(handler=_validate)

    synth = commands.add_parser("synth", help="generate a MovieLens-shaped synthetic release")
    synth.add_argument("--like", choices=sorted(OFFICIAL_SHAPES),
                       help="an official release's shape (its users, movies and ratings)")
    synth.add_argument("--name", help="must start with 'synthetic' (default synthetic-<like>)")
    synth.add_argument("--users", type=int, help="default: the --like release's")
    synth.add_argument("--items", type=int, help="default: the --like release's")
    synth.add_argument("--ratings", type=int, help="default: the --like release's")
    synth.add_argument("--seed", type=int, default=42)
    synth.add_argument("--genome", action="store_true",
                       help="also write a Tag Genome (genome-scores.csv, genome-tags.csv)")
    synth.set_defaults(handler=_synth)


def _list(args: argparse.Namespace) -> int:
    settings = get_settings()
    print(f"{'name':<16} {'layout':<7} {'scale':<9} {'genome':<7} {'users':<6} fetched  url")
    for release in RELEASES.values():
        fetched = (raw_dir(release.name, settings) / "manifest.json").exists()
        print(
            f"{release.name:<16} {release.layout:<7} "
            f"{release.rating_scale[0]}-{release.rating_scale[1]:<5} "
            f"{'yes' if release.has_genome else 'no':<7} "
            f"{'yes' if release.has_demographics else 'no':<6} "
            f"{'yes' if fetched else 'no':<8} {release.url}"
        )
    print("synthetic-*: generated with `recsys data synth` (labelled synthetic)")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    dataset = ingest(
        args.name, source=args.source, force=args.force, allow_unverified=args.allow_unverified
    )
    summary = dataset.summary()
    print(
        f"{dataset.name}: {summary['ratings']:,} ratings, {summary['users']:,} users, "
        f"{summary['movies']:,} movies, {summary['tags']:,} tags "
        f"(manifest {dataset.manifest_hash[:12]})"
    )
    return 0


def _validate(args: argparse.Namespace) -> int:
    settings = get_settings()
    report = validate_dataset(load_dataset(args.name, settings))
    path = write_quality_report(report, settings)
    print(report.to_json() if args.format == "json" else report.to_markdown(), end="")
    log.info("reports written to %s", path.parent)
    return 0 if report.ok else 1


def _synth(args: argparse.Namespace) -> int:
    shape = OFFICIAL_SHAPES.get(args.like or "", {})
    name = args.name or (f"{SYNTHETIC_PREFIX}-{args.like}" if args.like else None)
    sizes = {key: shape.get(f"n_{key}") if getattr(args, key) is None else getattr(args, key)
             for key in ("users", "items", "ratings")}  # an explicit 0 is refused, not a default
    missing = [f"--{key}" for key, value in sizes.items() if value is None]
    if name is None or missing:
        raise ConfigError("recsys data synth needs --like ml-20m|ml-25m|ml-32m, or --name "
                          f"synthetic-... with --users, --items and --ratings (missing: "
                          f"{', '.join(missing or ['--name'])})")
    if not get_release(name).synthetic:
        raise ConfigError(f"--name must start with {SYNTHETIC_PREFIX!r}, got {name!r}")
    settings = get_settings()
    write_synthetic_release(raw_dir(name, settings), sizes["users"], sizes["items"],
                            sizes["ratings"], args.seed, args.genome)
    dataset = ingest(name, force=True, settings=settings)
    print(f"{dataset.name} (SYNTHETIC): {dataset.ratings.height:,} ratings ingested")
    return 0
