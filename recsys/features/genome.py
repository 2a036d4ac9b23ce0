"""The Tag Genome (ml-20m, ml-25m): an item × 1,128-tag relevance matrix.

``genome-scores.csv`` (movieId, tagId, relevance) lists every genome movie × every tag;
``genome-tags.csv`` (tagId, tag) names the tags. The long frame is scattered into a dense
float32 matrix in one step (1,128 floats per movie: ~60 MB for ml-25m's 13,816 movies).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl

from recsys.data.parsers import parse_table
from recsys.data.releases import get_release
from recsys.data.types import Catalog, Dataset
from recsys.errors import DataError
from recsys.features.base import ItemFeatures

__all__ = ["genome_features", "genome_from_frames", "read_genome"]

log = logging.getLogger(__name__)


def genome_from_frames(scores: pl.DataFrame, tags: pl.DataFrame) -> ItemFeatures:
    """Genome vectors from ``scores[item_id, tag_id, relevance]`` and ``tags[tag_id, tag]``.

    Every (movie, tag) pair must appear exactly once, as in the published files, with a
    relevance in [0, 1]; a missing, repeated or impossible score is a DataError (a NaN would
    otherwise spread through every similarity it enters).
    """
    _check_relevance(scores)
    tag_ids = np.sort(tags["tag_id"].cast(pl.Int64).to_numpy())
    item_ids = np.unique(scores["item_id"].cast(pl.Int64).to_numpy())
    if scores.height != len(item_ids) * len(tag_ids):
        raise DataError(
            f"genome scores hold {scores.height:,} rows; expected every movie × every tag = "
            f"{len(item_ids):,} × {len(tag_ids):,} = {len(item_ids) * len(tag_ids):,}"
        )
    score_tags = scores["tag_id"].cast(pl.Int64).to_numpy()
    cols = np.searchsorted(tag_ids, score_tags).clip(0, len(tag_ids) - 1)
    if not np.array_equal(tag_ids[cols], score_tags):
        raise DataError("genome scores refer to tag ids missing from genome tags")
    rows = np.searchsorted(item_ids, scores["item_id"].cast(pl.Int64).to_numpy())
    if np.bincount(rows * len(tag_ids) + cols, minlength=scores.height).max(initial=0) > 1:
        raise DataError("genome scores list some (movie, tag) pairs more than once; expected "
                        "each pair exactly once")
    matrix = np.zeros((len(item_ids), len(tag_ids)), dtype=np.float32)
    matrix[rows, cols] = scores["relevance"].to_numpy().astype(np.float32)
    names = tags.sort("tag_id")["tag"].to_numpy().astype(str)
    log.info("genome: %d movies × %d tags", *matrix.shape)
    return ItemFeatures.build(item_ids, matrix, names, "genome")


def _check_relevance(scores: pl.DataFrame) -> None:
    relevance = pl.col("relevance")
    bad = scores.filter(relevance.is_null() | relevance.is_nan() | (relevance < 0)
                        | (relevance > 1))
    if bad.height:
        first = bad.row(0, named=True)
        raise DataError(
            f"genome scores: {bad.height:,} relevance value(s) missing or outside [0, 1], the "
            f"first for movie {first['item_id']} and tag {first['tag_id']} "
            f"({first['relevance']})"
        )


def genome_features(dataset: Catalog | Dataset) -> ItemFeatures:
    """The dataset's genome as item features; ``DataError`` for a release without one."""
    if dataset.genome_scores is None or dataset.genome_tags is None:
        raise DataError(
            f"{dataset.name} has no Tag Genome (only ml-20m and ml-25m do); "
            "use the tfidf or embedding representation instead"
        )
    return genome_from_frames(dataset.genome_scores, dataset.genome_tags)


def read_genome(folder: Path | str, release: str = "ml-25m") -> ItemFeatures:
    """Parse ``genome-scores.csv`` and ``genome-tags.csv`` of ``release`` from ``folder``."""
    spec, folder = get_release(release), Path(folder)
    return genome_from_frames(
        parse_table(spec, "genome_scores", folder), parse_table(spec, "genome_tags", folder)
    )
