"""Genome-like item vectors where no Tag Genome exists: TF-IDF over user tags, genres and decade.

Each movie is a bag of tokens: every user tag (lower-cased; counted once per user who applied
it), every genre and one decade token ("1990s"). Counts are built with polars group-bys and one
sparse matrix, then weighted by scikit-learn's ``TfidfTransformer`` (sublinear tf, smooth idf),
so no Python loop runs per movie.
"""

from __future__ import annotations

import logging

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from recsys.data.types import Catalog, Dataset
from recsys.errors import ConfigError
from recsys.features.base import ItemFeatures

__all__ = ["movie_tokens", "tfidf_features"]

log = logging.getLogger(__name__)


def _tag_tokens(tags: pl.DataFrame | None, min_df: int) -> pl.DataFrame:
    """``[item_id, token, count]`` for user tags applied to at least ``min_df`` movies."""
    if tags is None or tags.is_empty():
        return pl.DataFrame(schema={"item_id": pl.Int64, "token": pl.String, "count": pl.Float64})
    clean = tags.select(
        pl.col("item_id").cast(pl.Int64),
        pl.col("user_id"),
        pl.col("tag").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
        .alias("token"),
    ).filter(pl.col("token").str.len_chars() > 0).unique(["item_id", "user_id", "token"])
    counts = clean.group_by("item_id", "token").agg(pl.len().cast(pl.Float64).alias("count"))
    frequent = counts.group_by("token").len().filter(pl.col("len") >= min_df).select("token")
    return counts.join(frequent, on="token", how="semi")


def movie_tokens(dataset: Catalog | Dataset, min_df: int = 2) -> pl.DataFrame:
    """Every movie's tokens with counts: ``[item_id, token, count]`` (tags, genres, decade)."""
    if isinstance(min_df, bool) or not isinstance(min_df, int | np.integer) or min_df < 1:
        raise ConfigError(f"min_df must be an int >= 1 (movies a tag must be applied to), got "
                          f"{min_df!r}")
    movies = dataset.movies.select(pl.col("item_id").cast(pl.Int64), "year", "genres")
    genres = movies.select("item_id", pl.col("genres").alias("token")).explode("token").select(
        "item_id", pl.col("token").str.to_lowercase(), pl.lit(1.0).alias("count")
    ).drop_nulls("token")
    decades = movies.drop_nulls("year").select(
        "item_id",
        ((pl.col("year") // 10 * 10).cast(pl.String) + "s").alias("token"),
        pl.lit(1.0).alias("count"),
    )
    tags = _tag_tokens(dataset.tags, min_df).join(movies.select("item_id"), on="item_id",
                                                  how="semi")
    return pl.concat([tags, genres, decades]).group_by("item_id", "token").agg(
        pl.col("count").sum()
    )


def tfidf_features(dataset: Catalog | Dataset, min_df: int = 2) -> ItemFeatures:
    """TF-IDF vectors (unit rows) of every catalogue movie over tags, genres and decade."""
    tokens = movie_tokens(dataset, min_df)
    item_ids = np.unique(dataset.movies["item_id"].cast(pl.Int64).to_numpy())
    vocabulary, cols = np.unique(tokens["token"].to_numpy().astype(str), return_inverse=True)
    rows = np.searchsorted(item_ids, tokens["item_id"].to_numpy())
    counts = sp.csr_matrix(
        (tokens["count"].to_numpy(), (rows, cols)), shape=(len(item_ids), len(vocabulary))
    )
    weights = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
    log.info("tfidf: %d movies × %d tokens, %d non-zeros", *weights.shape, weights.nnz)
    return ItemFeatures.build(item_ids, sp.csr_matrix(weights, dtype=np.float32), vocabulary,
                              "tfidf")
