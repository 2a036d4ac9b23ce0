"""Data statistics for the insights page: pure functions over the ratings, movies and tags.

The rating distribution, the popularity and activity long tails, ratings over time, genre
trends and what people say about one movie (its genome relevance or user tags).
"""

from __future__ import annotations

import re

import polars as pl

from recsys.arguments import check_cutoff, check_text
from recsys.data.types import Dataset
from recsys.errors import ArgumentError, DataError, UnknownIdError

__all__ = [
    "genome_tags",
    "genre_trends",
    "long_tail",
    "long_tail_corners",
    "movie_tags",
    "rating_distribution",
    "ratings_over_time",
    "user_tags",
]

# A calendar period for ``group_by_dynamic``: one or more <count><unit> parts, e.g. 1mo, 1y2w.
_DURATION = re.compile(r"(\d+(ns|us|ms|mo|[smhdwqyi]))+")


def rating_distribution(ratings: pl.DataFrame) -> pl.DataFrame:
    """``[rating, count, share]`` over the rating values present."""
    counts = ratings.group_by("rating").agg(pl.len().alias("count")).sort("rating")
    return counts.with_columns((pl.col("count") / pl.col("count").sum()).alias("share"))


def long_tail(ratings: pl.DataFrame, by: str = "item_id") -> pl.DataFrame:
    """Ratings per movie (``item_id``) or per user (``user_id``), most first, with the
    cumulative share of all ratings: ``[rank, id, count, cumulative_share]``."""
    if by not in ("item_id", "user_id"):
        raise DataError(f"long_tail groups by item_id or user_id, got {by!r}")
    counts = ratings.group_by(by).agg(pl.len().alias("count")).sort(
        ["count", by], descending=[True, False])
    return counts.select(
        pl.int_range(1, pl.len() + 1).alias("rank"), pl.col(by).alias("id"), "count",
        (pl.col("count").cum_sum() / pl.col("count").sum()).alias("cumulative_share"),
    )


def long_tail_corners(tail: pl.DataFrame) -> pl.DataFrame:
    """The rows of a :func:`long_tail` where its count changes: the first and the last rank
    of each count. A line through them is the line through every row (flat between equal
    counts), in a few hundred points instead of one per movie or user."""
    count = pl.col("count")
    return tail.filter(count.ne_missing(count.shift(1)) | count.ne_missing(count.shift(-1)))


def ratings_over_time(ratings: pl.DataFrame, every: str = "1mo") -> pl.DataFrame:
    """``[period, ratings, mean_rating, users]`` per calendar ``every`` (polars duration)."""
    if not _DURATION.fullmatch(check_text(every, "every", max_chars=32)):
        raise ArgumentError(f"every must be a polars duration such as '1mo', '1w' or '1y', "
                            f"got {every!r}")
    return (
        ratings.with_columns(pl.from_epoch("timestamp", time_unit="s").alias("when"))
        .sort("when")
        .group_by_dynamic("when", every=every)
        .agg(pl.len().alias("ratings"), pl.col("rating").mean().alias("mean_rating"),
             pl.col("user_id").n_unique().alias("users"))
        .rename({"when": "period"})
    )


def genre_trends(ratings: pl.DataFrame, movies: pl.DataFrame, top: int = 8) -> pl.DataFrame:
    """Share of each year's ratings per genre, for the ``top`` most rated genres.

    ``[year, genre, ratings, share]``; a movie with several genres counts once per genre, the
    share is relative to the year's ratings (so shares of one year can sum above 1).
    """
    top = check_cutoff(top, "top")
    dated = ratings.select(
        pl.col("item_id"), pl.from_epoch("timestamp", time_unit="s").dt.year().alias("year"))
    per_year = dated.group_by("year").agg(pl.len().alias("total"))
    by_genre = (
        dated.join(movies.select(pl.col("item_id").cast(dated["item_id"].dtype), "genres"),
                   on="item_id")
        .explode("genres").drop_nulls("genres").rename({"genres": "genre"})
        .group_by("year", "genre").agg(pl.len().alias("ratings"))
    )
    leaders = (by_genre.group_by("genre").agg(pl.col("ratings").sum())
               .sort(["ratings", "genre"], descending=[True, False]).head(top)["genre"])
    return (
        by_genre.filter(pl.col("genre").is_in(leaders.implode()))
        .join(per_year, on="year")
        .with_columns((pl.col("ratings") / pl.col("total")).alias("share"))
        .drop("total").sort("year", "genre")
    )


def movie_tags(dataset: Dataset, item_id: int, top: int = 15) -> pl.DataFrame:
    """What people say about one movie: ``[tag, weight, source]``.

    Tag Genome relevance where the release has it, else how often users applied each tag.
    """
    if dataset.genome_scores is not None and dataset.genome_tags is not None:
        return genome_tags(dataset, item_id, top)
    return user_tags(dataset, item_id, top)


def genome_tags(dataset: Dataset, item_id: int, top: int = 15) -> pl.DataFrame:
    """The movie's ``top`` Tag Genome tags by relevance: ``[tag, weight, source]`` (empty for a
    movie outside the genome); DataError for a release without a genome."""
    _check_movie(dataset, item_id)
    if dataset.genome_scores is None or dataset.genome_tags is None:
        raise DataError(f"{dataset.name} has no Tag Genome")
    return (
        dataset.genome_scores.filter(pl.col("item_id") == item_id)
        .join(dataset.genome_tags, on="tag_id")
        .sort(["relevance", "tag"], descending=[True, False]).head(top)
        .select("tag", pl.col("relevance").cast(pl.Float64).alias("weight"),
                pl.lit("genome relevance").alias("source"))
    )


def user_tags(dataset: Dataset, item_id: int, top: int = 15) -> pl.DataFrame:
    """The movie's ``top`` user tags by how many applied each: ``[tag, weight, source]``."""
    _check_movie(dataset, item_id)
    if dataset.tags is None:
        return pl.DataFrame(schema={"tag": pl.String(), "weight": pl.Float64(),
                                    "source": pl.String()})
    return (
        dataset.tags.filter(pl.col("item_id") == item_id)
        .group_by(pl.col("tag").str.to_lowercase().str.strip_chars())
        .agg(pl.len().cast(pl.Float64).alias("weight"))
        .sort(["weight", "tag"], descending=[True, False]).head(top)
        .with_columns(pl.lit("users who applied it").alias("source"))
    )


def _check_movie(dataset: Dataset, item_id: int) -> None:
    if item_id not in set(dataset.movies["item_id"].to_list()):
        raise UnknownIdError(f"Movie {item_id} is not in the {dataset.name} catalogue")
