"""The similarity explorer: one movie's neighbours by several measures, their overlap, a map.

:func:`similar_movies` ranks neighbours by rating co-occurrence (cosine, Pearson, adjusted
cosine over the item × user rating matrix, computed for the one query row with sparse
products), by the TF-IDF of tags, genres and decade, by the Tag Genome and by text embeddings;
:func:`list_overlap` compares the lists (Jaccard@k) and :func:`catalog_map` projects any
representation to 2-D. :class:`Explorer` holds one dataset's representations, built once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import polars as pl
import scipy.sparse as sp
from sklearn.decomposition import PCA, TruncatedSVD

from recsys.arguments import check_count, check_cutoff, check_id
from recsys.data.types import Dataset, Interactions
from recsys.errors import ConfigError, UnknownIdError
from recsys.features import ItemFeatures, genome_features, movie_embeddings, tfidf_features
from recsys.features.base import dense
from recsys.linalg import centred_values, similarity_block
from recsys.monitoring.metrics import timed
from recsys.service.catalog import MAX_K, MovieCatalog

__all__ = [
    "EXPLORER_SCHEMA",
    "METHODS",
    "REPRESENTATION_METHODS",
    "Explorer",
    "GenomeVsRating",
    "catalog_map",
    "list_overlap",
    "rating_matrix",
    "similar_movies",
]

RATING_METHODS = {"rating_cosine": "cosine", "rating_pearson": "pearson",
                  "adjusted_cosine": "adjusted_cosine"}
REPRESENTATION_METHODS = ("tfidf", "genome", "embedding")
METHODS = (*RATING_METHODS, *REPRESENTATION_METHODS)
# Co-rated similarities are 1.0 for two movies sharing a single rater; significance weighting
# (n / (n + shrinkage), at least ``_MIN_CO_RATERS``) keeps such flukes out of the neighbours.
_RATING_SHRINKAGE = 25.0
_MIN_CO_RATERS = 3
EXPLORER_SCHEMA = {"method": pl.String(), "rank": pl.Int32(), "item_id": pl.Int64(),
                   "title": pl.String(), "score": pl.Float64()}
_TOP_SCHEMA = {c: t for c, t in EXPLORER_SCHEMA.items() if c != "title"}


def representation(dataset: Dataset, kind: str) -> ItemFeatures:
    """The item representation ``kind`` of :data:`REPRESENTATION_METHODS`, built from
    ``dataset`` (embeddings come from their on-disk cache when unchanged)."""
    check_representation(kind)
    if kind == "tfidf":
        return tfidf_features(dataset)
    if kind == "genome":
        return genome_features(dataset)
    return movie_embeddings(dataset, progress=False)


def check_representation(kind: object) -> str:
    """``kind`` when it is one of :data:`REPRESENTATION_METHODS`, else ConfigError."""
    if not isinstance(kind, str) or kind not in REPRESENTATION_METHODS:
        raise ConfigError(f"Unknown representation {kind!r}; expected one of "
                          f"{list(REPRESENTATION_METHODS)}")
    return kind


def _feature_scores(features: ItemFeatures, item_id: int, item_ids: np.ndarray) -> np.ndarray:
    """Cosine of ``item_id``'s vector to every id in ``item_ids`` (0 where one has none)."""
    aligned = features.align(item_ids)
    return np.asarray(aligned @ features.vector(item_id), dtype=np.float64).ravel()


def _rating_scores(train: Interactions, item_id: int, kind: str) -> np.ndarray:
    """Significance-weighted similarity of one item's ratings to every item's (co-raters)."""
    by_item = sp.csr_matrix(train.matrix.T)
    row = int(train.item_index([item_id])[0])
    values = centred_values(by_item, kind)
    return similarity_block(values, np.array([row]), kind, _MIN_CO_RATERS, _RATING_SHRINKAGE)[0]


def _scores(
    dataset: Dataset, train: Interactions, item_id: int, method: str,
    features: Mapping[str, ItemFeatures],
) -> np.ndarray:
    if method in RATING_METHODS:
        return _rating_scores(train, item_id, RATING_METHODS[method])
    vectors = features[method] if method in features else representation(dataset, method)
    return _feature_scores(vectors, item_id, train.item_ids)


def similar_movies(
    dataset: Dataset,
    item_id: int,
    k: int = 10,
    methods: Sequence[str] = ("rating_cosine", "rating_pearson", "adjusted_cosine", "tfidf",
                              "embedding"),
    features: Mapping[str, ItemFeatures] | None = None,
    train: Interactions | None = None,
) -> pl.DataFrame:
    """The ``k`` nearest movies to ``item_id`` per method: ``[method, rank, item_id, title,
    score]``.

    ``features`` maps ``tfidf`` / ``genome`` / ``embedding`` to precomputed representations
    and ``train`` is :func:`rating_matrix` of ``dataset`` (the app caches both); missing ones
    are built from ``dataset``. Only positive similarities are listed, so a method may return
    fewer than ``k`` movies.
    """
    k, item_id = check_cutoff(k, "k"), check_id(item_id, "item_id")
    if isinstance(methods, str) or not methods:
        raise ConfigError(f"similar_movies: methods must be a non-empty list of {METHODS}, got "
                          f"{methods!r}")
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ConfigError(f"similar_movies: methods must be in {METHODS}; got unknown {unknown}")
    methods = list(dict.fromkeys(methods))  # a method asked twice is listed once
    train = train if train is not None else rating_matrix(dataset)
    if item_id not in set(train.item_ids.tolist()):
        raise UnknownIdError(f"Movie {item_id} is not in {dataset.name}'s catalogue")
    frames = [_top_frame(method, _scores(dataset, train, item_id, method, features or {}),
                         train.item_ids, item_id, k) for method in methods]
    titles = dataset.movies.select(pl.col("item_id").cast(pl.Int64), "title")
    return pl.concat(frames).join(titles, on="item_id", how="left").select(
        list(EXPLORER_SCHEMA)).cast(EXPLORER_SCHEMA)


def rating_matrix(dataset: Dataset) -> Interactions:
    """Every rating of ``dataset`` over its whole catalogue (rated or not)."""
    return Interactions.from_frame(dataset.ratings,
                                   items=dataset.movies["item_id"].cast(pl.Int64).to_numpy())


def _top_frame(method: str, scores: np.ndarray, item_ids: np.ndarray, item_id: int,
               k: int) -> pl.DataFrame:
    scores = np.where(item_ids == item_id, -np.inf, scores)
    order = np.lexsort((item_ids, -scores))[:k]
    order = order[scores[order] > 0]
    return pl.DataFrame({"method": method, "rank": np.arange(1, len(order) + 1),
                         "item_id": item_ids[order], "score": scores[order]},
                        schema=_TOP_SCHEMA)  # typed even when no similarity is positive


def list_overlap(frame: pl.DataFrame) -> pl.DataFrame:
    """Jaccard@k between every two methods' lists: ``[method, <one column per method>]``."""
    methods = frame["method"].unique(maintain_order=True).to_list()
    sets = {m: set(frame.filter(pl.col("method") == m)["item_id"].to_list()) for m in methods}
    return pl.DataFrame(
        {"method": methods}
        | {b: [len(sets[a] & sets[b]) / max(len(sets[a] | sets[b]), 1) for a in methods]
           for b in methods}
    )


def catalog_map(features: ItemFeatures, seed: int = 0) -> pl.DataFrame:
    """A 2-D projection of every item with a vector: ``[item_id, x, y]`` (TruncatedSVD or PCA)."""
    seed = check_count(seed, "seed")
    norms = np.asarray(abs(features.matrix).sum(axis=1)).ravel()
    keep = norms > 0
    if keep.sum() < 3:
        raise ConfigError(f"catalog_map needs at least 3 items with vectors, got {keep.sum()}")
    rows = features.matrix[keep]
    if sp.issparse(rows):
        points = TruncatedSVD(n_components=2, random_state=seed).fit_transform(rows)
    else:
        points = PCA(n_components=2, random_state=seed).fit_transform(dense(rows))
    return pl.DataFrame({"item_id": features.item_ids[keep], "x": points[:, 0],
                         "y": points[:, 1]})


class GenomeVsRating(NamedTuple):
    """One movie's similarity to others by the genome and by ratings: ``pairs`` is
    ``[item_id, title, genome, rating]``; ``spearman`` their rank correlation (None under 3
    movies)."""

    pairs: pl.DataFrame
    spearman: float | None


class Explorer:
    """One dataset's similarity explorer; representations and maps are built once, shared."""

    def __init__(self, catalog: MovieCatalog) -> None:
        self.catalog = catalog
        self.dataset = catalog.dataset
        self._features: dict[str, ItemFeatures] = {}
        self._maps: dict[str, pl.DataFrame] = {}
        self._train: Interactions | None = None
        self._lock = threading.RLock()

    @property
    def train(self) -> Interactions:
        """The rating matrix the rating-based measures read, built once."""
        with self._lock:
            if self._train is None:
                self._train = rating_matrix(self.dataset)
        return self._train

    def methods(self) -> list[str]:
        """Methods that make sense on this dataset (the genome only where it exists)."""
        return [m for m in METHODS if m != "genome" or self.dataset.genome_scores is not None]

    def features(self, kind: str) -> ItemFeatures:
        """The item representation ``kind`` (tfidf, genome, embedding), built once."""
        with self._lock:
            if check_representation(kind) not in self._features:
                self._features[kind] = representation(self.dataset, kind)
        return self._features[kind]

    def similar(self, item_id: int, methods: Sequence[str], k: int = 10) -> pl.DataFrame:
        """Neighbours of one catalogue movie per method: ``[method, rank, item_id, title,
        score]``; at most ``MAX_K`` per method."""
        if not methods:
            raise ConfigError("Pick at least one similarity method")
        k = check_cutoff(k, "k", MAX_K)
        self.catalog.movie(item_id)
        features = {m: self.features(m) for m in methods if m in REPRESENTATION_METHODS}
        with timed("explorer", endpoint="similar"):
            return similar_movies(self.dataset, item_id, k, list(methods), features, self.train)

    def genome_movies(self) -> pl.DataFrame:
        """The catalogue movies the Tag Genome covers, most rated first (``MovieCatalog``
        columns)."""
        ids = self.features("genome").item_ids.tolist()
        return (self.catalog.movies.filter(pl.col("item_id").is_in(ids))
                .sort(["n_ratings", "item_id"], descending=[True, False]))

    def genome_vs_rating(self, item_id: int) -> GenomeVsRating:
        """How one genome movie's genome similarity to the others compares with its rating
        similarity, over the movies sharing at least ``_MIN_CO_RATERS`` raters with it."""
        self.features("genome").vector(item_id)  # UnknownIdError for a movie outside it
        train = self.train
        scores = {"genome": _scores(self.dataset, train, item_id, "genome",
                                    {"genome": self.features("genome")}),
                  "rating": _rating_scores(train, item_id, "cosine")}
        frame = pl.DataFrame({"item_id": train.item_ids} | scores)
        genome_ids = self.features("genome").item_ids
        pairs = (
            frame.filter(pl.col("item_id").is_in(genome_ids.tolist()),
                         pl.col("item_id") != item_id, pl.col("rating") > 0)
            .join(self.catalog.movies.select("item_id", "title"), on="item_id", how="left")
            .sort(["genome", "item_id"], descending=[True, False])
            .select("item_id", "title", "genome", "rating")
        )
        spearman = (pairs.select(pl.corr("genome", "rating", method="spearman")).item()
                    if pairs.height > 2 else None)
        return GenomeVsRating(pairs, spearman)

    def catalog_map(self, kind: str = "tfidf") -> pl.DataFrame:
        """2-D projection of the catalogue: ``[item_id, x, y, title, n_ratings, genre]``."""
        with self._lock:
            if check_representation(kind) not in self._maps:
                self._maps[kind] = catalog_map(self.features(kind))
        return self._maps[kind].join(
            self.catalog.movies.select(
                "item_id", "title", "n_ratings",
                pl.col("genres").list.first().fill_null("(none)").alias("genre")),
            on="item_id", how="left")
