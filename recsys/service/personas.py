"""Who is watching: ready-made personas, real MovieLens users, a visitor's own ratings.

Personas are a few titles and ratings in a YAML file, resolved against the catalogue of the
release at hand (:func:`resolve_titles`); :class:`RealUsers` gives a real user's history and
demographics; :func:`history_frame` turns a visitor's ratings into a history; and
:func:`taste_profile` summarises any history by genre.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from recsys.arguments import check_id, check_ids, check_number, check_numbers
from recsys.config import build, check_keys, read_yaml
from recsys.data.types import require_columns
from recsys.errors import ArgumentError, ConfigError, UnknownIdError
from recsys.service.catalog import MovieCatalog, normalise_titles

__all__ = [
    "Persona",
    "RealUsers",
    "history_frame",
    "load_personas",
    "resolve_titles",
    "taste_profile",
]

log = logging.getLogger(__name__)

HISTORY_SCHEMA = {"item_id": pl.Int64(), "rating": pl.Float32()}
MIN_PERSONA_MOVIES = 3
_PERSONA_KEYS = {"id", "name", "description", "ratings"}
MAX_STARS = 5.0  # the top of every MovieLens rating scale


@dataclass(frozen=True)
class PersonaRating:
    """One movie of a persona file: its title and year as the catalogue spells them, and a
    rating in (0, :data:`MAX_STARS`]."""

    title: str
    year: int
    rating: float

    def __post_init__(self) -> None:
        """A rating the service would accept: finite, above 0, at most :data:`MAX_STARS`."""
        if check_number(self.rating, f"persona rating of {self.title!r}", low=0) > MAX_STARS:
            raise ArgumentError(f"persona rating of {self.title!r} must be at most "
                                f"{MAX_STARS:g} stars, got {self.rating!r}")


@dataclass(frozen=True)
class Persona:
    """A ready-made taste: a few catalogue movies and their ratings."""

    id: str
    name: str
    description: str
    ratings: pl.DataFrame  # [item_id, rating, title]

    @property
    def history(self) -> pl.DataFrame:
        """The persona's ``[item_id, rating]`` history."""
        return self.ratings.select("item_id", "rating")


def resolve_titles(movies: pl.DataFrame, wanted: pl.DataFrame) -> pl.DataFrame:
    """Match ``[title, year, rating]`` rows to catalogue ids: ``[item_id, rating, title]``.

    A wanted title matches a catalogue movie of the same year whose normalised title equals
    it or contains it as whole words (so "The Empire Strikes Back" finds "Star Wars: Episode V
    - The Empire Strikes Back"); among several matches the exact one, then the shortest title,
    wins. Titles that match nothing are left out (releases differ in their catalogues).
    """
    catalogue = movies.select(
        pl.col("item_id").cast(pl.Int64), "title", "year",
        normalise_titles(movies["title"]).alias("key"),
    )
    queries = wanted.with_row_index("query").with_columns(
        normalise_titles(wanted["title"]).alias("wanted_key"))
    candidates = queries.join(catalogue.drop("title"), on="year", how="inner").filter(
        (" " + pl.col("key") + " ").str.contains(" " + pl.col("wanted_key") + " ", literal=True)
    )
    best = (
        candidates.with_columns(
            (pl.col("key") != pl.col("wanted_key")).alias("inexact"),
            pl.col("key").str.len_chars().alias("length"),
        )
        .sort("query", "inexact", "length", "item_id")
        .group_by("query", maintain_order=True).first()
    )
    return best.join(catalogue.select("item_id", pl.col("title").alias("catalogue_title")),
                     on="item_id").select(
        "item_id", pl.col("rating").cast(pl.Float32), pl.col("catalogue_title").alias("title"),
    ).unique("item_id", keep="first", maintain_order=True)


def load_personas(path: Path | str, movies: pl.DataFrame) -> list[Persona]:
    """Personas of a YAML file, their titles resolved against ``movies``.

    Personas with fewer than 3 resolved movies on this catalogue are left out (logged).
    """
    raw = read_yaml(path)
    entries = raw.get("personas") if isinstance(raw, Mapping) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected a top-level `personas:` list")
    personas = [p for p in (_persona(path, entry, movies) for entry in entries) if p is not None]
    ids = [p.id for p in personas]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ConfigError(f"{path}: persona id(s) {repeated} are used more than once")
    return personas


def _persona(path: Path | str, entry: Mapping[str, Any], movies: pl.DataFrame) -> Persona | None:
    entry = check_keys(entry, _PERSONA_KEYS, str(path), name="a persona")
    if not entry.get("id") or not entry.get("ratings"):
        raise ConfigError(f"{path}: persona {entry.get('id')!r} needs id, name, ratings")
    where = f"{path}: persona {entry['id']!r} ratings"
    if not isinstance(entry["ratings"], list):
        raise ConfigError(f"{where}: expected a list of {{title, year, rating}}, got "
                          f"{type(entry['ratings']).__name__}")
    rows = [build(PersonaRating, row, where, noun="rating key") for row in entry["ratings"]]
    wanted = pl.DataFrame([(r.title, r.year, r.rating) for r in rows], orient="row",
                          schema={"title": pl.String(), "year": pl.Int32(),
                                  "rating": pl.Float32()})
    resolved = resolve_titles(movies, wanted)
    if resolved.height < MIN_PERSONA_MOVIES:
        log.warning("persona %s: only %d of %d titles in this catalogue; skipped",
                    entry["id"], resolved.height, wanted.height)
        return None
    return Persona(entry["id"], entry.get("name", entry["id"]), entry.get("description", ""),
                   resolved)


def history_frame(ratings: Mapping[int, float]) -> pl.DataFrame:
    """A ``[item_id, rating]`` history from ``{item_id: rating}`` (the persona builder);
    ids that are not integers or ratings that are not finite numbers are an ArgumentError."""
    if not isinstance(ratings, Mapping):
        raise ArgumentError(f"ratings must be a mapping {{item_id: rating}}, got "
                            f"{type(ratings).__name__}")
    return pl.DataFrame({"item_id": check_ids(list(ratings), "ratings item_id"),
                         "rating": check_numbers(list(ratings.values()), "ratings")},
                        schema=HISTORY_SCHEMA)


def taste_profile(history: pl.DataFrame, movies: pl.DataFrame) -> pl.DataFrame:
    """Genre weights of a history: ``[genre, weight, movies]`` with weight = rating - 2.5 summed.

    Ratings above the middle of the scale pull a genre up, ratings below push it down.
    """
    history = require_columns(history, ["item_id", "rating"], "history")
    rated = history.join(movies.select(pl.col("item_id").cast(pl.Int64), "genres"),
                         on="item_id", how="inner")
    return (
        rated.explode("genres").drop_nulls("genres")
        .group_by(pl.col("genres").alias("genre"))
        .agg((pl.col("rating") - 2.5).sum().alias("weight"), pl.len().alias("movies"))
        .sort("weight", "genre", descending=[True, False])
    )


class RealUsers:
    """The release's users: their ids, their rating histories with titles, demographics."""

    def __init__(self, catalog: MovieCatalog) -> None:
        self.catalog = catalog
        self.dataset = catalog.dataset

    def ids(self) -> list[int]:
        """Every user with ratings, ascending."""
        return self.dataset.ratings["user_id"].unique().sort().to_list()

    def history(self, user_id: int) -> pl.DataFrame:
        """A user's ratings with titles, best and newest first: ``[item_id, title, year,
        genres, rating, timestamp]``; UnknownIdError for a user without ratings."""
        user_id = check_id(user_id, "user_id")
        rows = self.dataset.ratings.filter(pl.col("user_id") == user_id)
        if rows.is_empty():
            raise UnknownIdError(f"User {user_id} has no ratings in {self.dataset.name}")
        return (
            self.catalog.with_titles(rows.with_columns(pl.col("item_id").cast(pl.Int64)))
            .sort("rating", "timestamp", descending=True)
            .select("item_id", "title", "year", "genres", "rating", "timestamp")
        )

    def demographics(self, user_id: int) -> dict[str, Any] | None:
        """Age, gender, occupation of a user where the release has them (ml-100k), else None."""
        user_id, users = check_id(user_id, "user_id"), self.dataset.users
        if users is None:
            return None
        row = users.filter(pl.col("user_id") == user_id).drop("zip_code", strict=False)
        return row.row(0, named=True) if row.height else None
