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

from recsys.arguments import check_cutoff, check_history, check_id, check_ids, check_text
from recsys.data.fetch import raw_dir
from recsys.data.manifest import MANIFEST_NAME
from recsys.data.releases import RELEASES, SYNTHETIC_PREFIX, get_release
from recsys.data.types import Dataset, require_columns
from recsys.errors import ConfigError, UnknownIdError
from recsys.service.champion import has_champion
from recsys.settings import Settings, get_settings
from recsys.training import TrainedModel, trained_models

__all__ = [
    "DEMO_DATASET",
    "MAX_K",
    "MAX_QUERY_CHARS",
    "MAX_RATINGS",
    "MovieCatalog",
    "dataset_label",
    "has_genome",
    "normalise_titles",
    "prepare_dataset",
    "servable_datasets",
]

DEMO_DATASET = "ml-latest-small"  # what a fresh server fetches and trains first
MAX_K = 50  # recommendations, neighbours or search hits per request
MAX_QUERY_CHARS = 100
MAX_RATINGS = 50  # ratings in a visitor's history
MOVIE_COLUMNS = ("item_id", "title", "year", "genres", "n_ratings")


def servable_datasets(settings: Settings | None = None) -> list[str]:
    """The demo release, then every other release fetched here and trained, by name: trained
    by the app (its models are under the data dir) or by the retraining pipeline (its
    registered model has a champion). Official or synthetic."""
    settings = settings or get_settings()
    root = settings.data_dir / "raw"
    names = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.exists() else []
    fetched = [n for n in names if (n in RELEASES or n.startswith(SYNTHETIC_PREFIX))
               and n != DEMO_DATASET and (raw_dir(n, settings) / MANIFEST_NAME).exists()]
    served = [n for n in fetched if trained_models(n, settings) or has_champion(n, settings)]
    return [DEMO_DATASET, *served]


def has_genome(name: str, settings: Settings | None = None) -> bool:
    """True when the fetched release ``name`` holds a Tag Genome (its raw genome file is
    there: ml-20m, ml-25m, or a release made by ``recsys data synth --genome``)."""
    table = get_release(name).table_file("genome_scores")
    return table is not None and (raw_dir(name, settings or get_settings())
                                  / table.filename).exists()


def dataset_label(name: str) -> str:
    """How the dataset selector shows ``name``: generated releases are labelled synthetic."""
    return f"{name} (synthetic)" if get_release(name).synthetic else name


def normalise_titles(titles: pl.Series) -> pl.Series:
    """Lower-case, accent-free, article-first ("Godfather, The" -> "the godfather"),
    punctuation-free titles."""
    lowered = (titles.str.normalize("NFKD").str.replace_all(r"\p{M}", "")  # é -> e
               .str.to_lowercase().str.strip_chars())
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
        self._labels = dict(zip(self.movies["item_id"].to_list(), self.movies.select(
            pl.when(pl.col("year").is_not_null())
            .then(pl.format("{} ({})", "title", "year")).otherwise("title"))
            .to_series().to_list(), strict=True))

    def search(self, query: str, limit: int = 20) -> pl.DataFrame:
        """Movies whose title contains ``query`` (most rated first): ``[item_id, title, year,
        genres, n_ratings]``; at most ``MAX_QUERY_CHARS`` characters of input."""
        key = normalise_titles(pl.Series([check_text(query, "Search text", MAX_QUERY_CHARS)]))[0]
        if not key:
            return self.movies.head(0).select(MOVIE_COLUMNS)
        return (
            self.movies.filter(pl.col("key").str.contains(key, literal=True))
            .sort("n_ratings", "item_id", descending=[True, False])
            .head(min(check_cutoff(limit, "limit"), MAX_K))
            .select(MOVIE_COLUMNS)
        )

    def movie(self, item_id: int) -> dict[str, Any]:
        """One catalogue movie as a dict; UnknownIdError if it is not in the catalogue."""
        item_id = check_id(item_id, "item_id")
        row = self.movies.filter(pl.col("item_id") == item_id)
        if row.is_empty():
            raise UnknownIdError(f"Movie {item_id} is not in the {self.dataset.name} catalogue")
        return row.row(0, named=True)

    def label(self, item_ids: Sequence[int]) -> list[str]:
        """"Title (year)" of each id, in order ("movie ID" for an id not in the catalogue)."""
        return [self._labels.get(item, f"movie {item}")
                for item in check_ids(item_ids, "item_ids").tolist()]

    def with_titles(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` (with an ``item_id`` column) joined to title, year and genres, in order."""
        require_columns(frame, ["item_id"], "movies")
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
