"""The catalogue the app serves: datasets, movie search, titles, bounded histories.

:class:`MovieCatalog` wraps one dataset's movies with their rating counts and answers what the
pages ask about movies: search by title (bounded input), one movie, "Title (year)" labels, and
whether a visitor's history is one the service accepts. :func:`prepare_dataset` is the first
start: fetch a release and train the default models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from recsys.arguments import check_history, check_text
from recsys.data.types import Dataset
from recsys.errors import ConfigError, UnknownIdError
from recsys.settings import Settings, get_settings
from recsys.training import TrainedModel

__all__ = [
    "DATASETS",
    "MAX_K",
    "MAX_QUERY_CHARS",
    "MAX_RATINGS",
    "MovieCatalog",
    "normalise_titles",
    "prepare_dataset",
]

DATASETS = ("ml-latest-small", "ml-100k")
MAX_K = 50  # recommendations, neighbours or search hits per request
MAX_QUERY_CHARS = 100
MAX_RATINGS = 50  # ratings in a visitor's history
MOVIE_COLUMNS = ("item_id", "title", "year", "genres", "n_ratings")


def normalise_titles(titles: pl.Series) -> pl.Series:
    """Lower-case, article-first ("Godfather, The" -> "the godfather"), punctuation-free titles."""
    lowered = titles.str.to_lowercase().str.strip_chars()
    moved = lowered.str.replace(r"^(.*), (the|a|an)(:.*)?$", "$2 $1$3")
    return moved.str.replace_all(r"[^0-9a-z]+", " ").str.strip_chars()


class MovieCatalog:
    """One dataset's movies with rating counts: search, labels, accepted histories."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        counts = dataset.ratings.group_by("item_id").agg(
            pl.len().alias("n_ratings"), pl.col("rating").mean().alias("mean_rating"))
        self.movies = (
            dataset.movies.join(counts, on="item_id", how="left")
            .with_columns(pl.col("item_id").cast(pl.Int64), pl.col("n_ratings").fill_null(0),
                          normalise_titles(dataset.movies["title"]).alias("key"))
        )

    def search(self, query: str, limit: int = 20) -> pl.DataFrame:
        """Movies whose title contains ``query`` (most rated first): ``[item_id, title, year,
        genres, n_ratings]``; at most ``MAX_QUERY_CHARS`` characters of input."""
        key = normalise_titles(pl.Series([check_text(query, "Search text", MAX_QUERY_CHARS)]))[0]
        if not key:
            return self.movies.head(0).select(MOVIE_COLUMNS)
        return (
            self.movies.filter(pl.col("key").str.contains(key, literal=True))
            .sort("n_ratings", "item_id", descending=[True, False])
            .head(min(limit, MAX_K))
            .select(MOVIE_COLUMNS)
        )

    def movie(self, item_id: int) -> dict[str, Any]:
        """One catalogue movie as a dict; UnknownIdError if it is not in the catalogue."""
        row = self.movies.filter(pl.col("item_id") == item_id)
        if row.is_empty():
            raise UnknownIdError(f"Movie {item_id} is not in the {self.dataset.name} catalogue")
        return row.row(0, named=True)

    def label(self, item_ids: Sequence[int]) -> list[str]:
        """"Title (year)" of each id, in order."""
        wanted = pl.DataFrame({"item_id": list(item_ids)}, schema={"item_id": pl.Int64()})
        named = wanted.join(self.movies.select("item_id", "title", "year"), on="item_id",
                            how="left", maintain_order="left")
        return [f"{t} ({y})" if y else str(t) for t, y in named.select("title", "year").rows()]

    def with_titles(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` (with an ``item_id`` column) joined to title, year and genres, in order."""
        return frame.join(self.movies.select("item_id", "title", "year", "genres"),
                          on="item_id", how="left", maintain_order="left")

    def check_history(self, history: pl.DataFrame) -> pl.DataFrame:
        """A bounded, in-scale history of catalogue movies (rules of :func:`check_history`)."""
        history = check_history(history, self.dataset.rating_scale)
        if history.height > MAX_RATINGS:
            raise ConfigError(f"{history.height} ratings given; at most {MAX_RATINGS} are allowed")
        known = history.join(self.movies.select("item_id"), on="item_id", how="semi")
        if known.height < history.height:
            raise UnknownIdError(f"Movie id(s) not in the {self.dataset.name} catalogue: "
                                 f"{sorted(set(history['item_id']) - set(known['item_id']))[:5]}")
        return history.select(pl.col("item_id").cast(pl.Int64), pl.col("rating").cast(pl.Float32))


def prepare_dataset(
    name: str,
    settings: Settings | None = None,
    models: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> list[TrainedModel]:
    """Fetch ``name`` if needed and train the missing default models (a first start).

    ``progress(fraction, message)`` is called before each step.
    """
    from recsys.data.load import ingest
    from recsys.training import DEFAULT_MODELS, train_default_models

    settings = settings or get_settings()
    report = progress or (lambda fraction, message: None)
    report(0.0, f"Fetching and verifying {name}")
    ingest(name, settings=settings)
    wanted = dict(models or DEFAULT_MODELS)
    cards = []
    for index, (model, params) in enumerate(wanted.items()):
        report((index + 1) / (len(wanted) + 1), f"Training {model} on {name}")
        cards += train_default_models(name, {model: dict(params)}, settings)
    report(1.0, "Ready")
    return cards
