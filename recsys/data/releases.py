"""The registry of MovieLens releases: where each archive lives, what it holds, how it is laid out.

Facts about the official archives (URL, size, checksum, folder inside the zip) come from
GroupLens; ``data/README.md`` cites them. Names starting with ``synthetic`` denote generated
releases in the ml-latest CSV layout (see :mod:`recsys.data.synth`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum

from recsys.errors import ArgumentError, UnknownDatasetError

__all__ = [
    "Edition",
    "Layout",
    "TableFile",
    "Release",
    "RELEASES",
    "SYNTHETIC_PREFIX",
    "SYNTHETIC_MARKER",
    "closest_edition",
    "get_release",
    "release_names",
]

BASE_URL = "https://files.grouplens.org/datasets/movielens"
SYNTHETIC_PREFIX = "synthetic"
SYNTHETIC_MARKER = "SYNTHETIC.json"
# ml-100k and ml-1m are published in Latin-1. A copy someone converted to UTF-8 must read the
# same, not as mojibake: UTF-8 is tried first (Latin-1 text with accents is not valid UTF-8).
LATIN1_OR_CONVERTED = ("utf-8", "latin-1")


class Layout(StrEnum):
    """How a release writes its tables."""

    CSV = "csv"  # comma-separated, quoted, UTF-8, with a header (ml-latest*, ml-20m, 25m, 32m)
    DAT = "dat"  # ``::``-separated, no header (ml-1m, ml-10m)
    ML100K = "ml100k"  # tab-separated u.data, ``|``-separated u.item / u.user / u.genre


@dataclass(frozen=True)
class TableFile:
    """One canonical table and the raw file it is parsed from."""

    table: str
    filename: str
    required: bool = True


@dataclass(frozen=True)
class Edition:
    """One published edition of a release, with the counts its README states."""

    label: str  # when GroupLens generated it, e.g. "2018-09"
    ratings: int
    users: int
    movies: int  # rows of the movies file (rated or not)

    def counts(self) -> dict[str, int]:
        """The counts that identify the edition."""
        return {"ratings": self.ratings, "users": self.users, "movies": self.movies}


@dataclass(frozen=True)
class Release:
    """Everything the fetcher and the parsers need to know about one release."""

    name: str
    folder: str
    layout: Layout
    tables: tuple[TableFile, ...]
    rating_scale: tuple[float, float] = (0.5, 5.0)
    encodings: tuple[str, ...] = ("utf-8",)
    size: int | None = None
    sha256: str | None = None
    md5_url: str | None = None
    has_genome: bool = False
    has_demographics: bool = False
    synthetic: bool = False
    url: str = ""
    editions: tuple[Edition, ...] = ()  # newest first; the checksums are the newest one's

    @property
    def required_files(self) -> tuple[str, ...]:
        """Raw files that must exist for the release to load."""
        return tuple(t.filename for t in self.tables if t.required)

    def table_file(self, table: str) -> TableFile | None:
        """The raw file of ``table``, or None when the release does not have that table."""
        return next((t for t in self.tables if t.table == table), None)


_LATEST = (
    TableFile("ratings", "ratings.csv"),
    TableFile("movies", "movies.csv"),
    TableFile("tags", "tags.csv"),
    TableFile("links", "links.csv"),
)
_GENOME = (
    TableFile("genome_scores", "genome-scores.csv"),
    TableFile("genome_tags", "genome-tags.csv"),
)
_SYNTHETIC = (
    TableFile("ratings", "ratings.csv"),
    TableFile("movies", "movies.csv"),
    TableFile("tags", "tags.csv", required=False),
    TableFile("links", "links.csv", required=False),
    TableFile("genome_scores", "genome-scores.csv", required=False),  # `recsys data synth --genome`
    TableFile("genome_tags", "genome-tags.csv", required=False),
)


def _official(name: str, **facts: object) -> Release:
    return Release(name=name, url=f"{BASE_URL}/{name}.zip", **facts)  # type: ignore[arg-type]


RELEASES: dict[str, Release] = {
    r.name: r
    for r in (
        _official(
            "ml-latest-small",
            folder="ml-latest-small",
            layout=Layout.CSV,
            tables=_LATEST,
            size=978_202,
            sha256="696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
            editions=(
                Edition("2018-09", 100_836, 610, 9_742),
                Edition("2016-10", 100_004, 671, 9_125),
                Edition("2016-01", 105_339, 668, 10_329),
            ),
        ),
        _official(
            "ml-100k",
            folder="ml-100k",
            layout=Layout.ML100K,
            tables=(
                TableFile("ratings", "u.data"),
                TableFile("movies", "u.item"),
                TableFile("genres", "u.genre"),
                TableFile("users", "u.user"),
            ),
            rating_scale=(1.0, 5.0),
            encodings=LATIN1_OR_CONVERTED,
            size=4_924_029,
            sha256="50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
            has_demographics=True,
            editions=(Edition("1998-04", 100_000, 943, 1_682),),
        ),
        _official(
            "ml-1m",
            folder="ml-1m",
            layout=Layout.DAT,
            tables=(
                TableFile("ratings", "ratings.dat"),
                TableFile("movies", "movies.dat"),
                TableFile("users", "users.dat"),
            ),
            rating_scale=(1.0, 5.0),
            encodings=LATIN1_OR_CONVERTED,
            size=5_917_549,
            sha256="a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
            has_demographics=True,
            editions=(Edition("2003-02", 1_000_209, 6_040, 3_883),),
        ),
        _official(
            "ml-10m",
            folder="ml-10M100K",
            layout=Layout.DAT,
            tables=(
                TableFile("ratings", "ratings.dat"),
                TableFile("movies", "movies.dat"),
                TableFile("tags", "tags.dat"),
            ),
            # GroupLens does not state the encoding; UTF-8 first, Latin-1 as the fallback.
            encodings=("utf-8", "latin-1"),
            md5_url=f"{BASE_URL}/ml-10m.zip.md5",
            editions=(Edition("2009-01", 10_000_054, 69_878, 10_681),),
        ),
        _official(
            "ml-20m",
            folder="ml-20m",
            layout=Layout.CSV,
            tables=_LATEST + _GENOME,
            size=198_702_078,
            sha256="96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3",
            has_genome=True,
            editions=(Edition("2016-10", 20_000_263, 138_493, 27_278),),
        ),
        _official(
            "ml-25m",
            folder="ml-25m",
            layout=Layout.CSV,
            tables=_LATEST + _GENOME,
            size=261_978_986,
            sha256="8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa",
            has_genome=True,
            editions=(Edition("2019-11", 25_000_095, 162_541, 62_423),),
        ),
        _official(
            "ml-32m",
            folder="ml-32m",
            layout=Layout.CSV,
            tables=_LATEST,
            md5_url=f"{BASE_URL}/ml-32m.zip.md5",
            editions=(Edition("2023-10", 32_000_204, 200_948, 87_585),),
        ),
    )
}


def closest_edition(release: Release, counts: dict[str, int]) -> Edition | None:
    """The published edition of ``release`` whose counts are nearest (relative) to ``counts``."""

    def distance(edition: Edition) -> float:
        return sum(abs(counts[k] - v) / v for k, v in edition.counts().items())

    return min(release.editions, key=distance, default=None)


def release_names() -> list[str]:
    """Names of the official releases, in registry order."""
    return list(RELEASES)


def get_release(name: str) -> Release:
    """The release called ``name``; ``synthetic*`` names give a generated ml-latest layout."""
    if not isinstance(name, str):
        raise ArgumentError(f"name must be a release name such as 'ml-latest-small', got "
                            f"{type(name).__name__} {name!r}")
    if name in RELEASES:
        return RELEASES[name]
    if name.startswith(SYNTHETIC_PREFIX) and "/" not in name and name.strip() == name:
        return Release(name=name, folder=name, layout=Layout.CSV, tables=_SYNTHETIC, synthetic=True)
    raise UnknownDatasetError(
        f"Unknown dataset {name!r}{_did_you_mean(name)}: expected one of {', '.join(RELEASES)} "
        f"or a name starting with {SYNTHETIC_PREFIX!r} (see `recsys data list`)"
    )


def _did_you_mean(name: str) -> str:
    """A hint for a release name in another case, a path, or a near spelling."""
    if name.strip().lower() in RELEASES:
        return f" (did you mean {name.strip().lower()!r}? release names are lower-case)"
    if "/" in name or "\\" in name:
        return (" (a release name, not a path: to read a folder or zip of its files, run "
                "`recsys data fetch NAME --from PATH` or call ingest(NAME, source=PATH))")
    close = difflib.get_close_matches(name.lower(), list(RELEASES), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""
