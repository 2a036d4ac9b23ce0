"""Core data types: the immutable ``Dataset``, the ``Interactions`` matrix and a ``Split``.

Raw ids (MovieLens userId/movieId) live in polars frames; contiguous indices live only
inside ``Interactions`` and the models. The two never mix.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.errors import ArgumentError, DataError, UnknownIdError

__all__ = [
    "Catalog",
    "Dataset",
    "Interactions",
    "Provenance",
    "Split",
    "TrainingData",
    "RATINGS_SCHEMA",
    "MOVIES_SCHEMA",
    "UNKNOWN_INDEX",
    "count_duplicate_pairs",
    "keep_latest_ratings",
    "require_columns",
]

log = logging.getLogger(__name__)
UNKNOWN_INDEX = -1  # the index ``missing="mark"`` gives to an id outside the vocabulary

RATINGS_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.Int32(),
    "item_id": pl.Int32(),
    "rating": pl.Float32(),
    "timestamp": pl.Int64(),
}
MOVIES_SCHEMA: dict[str, pl.DataType] = {
    "item_id": pl.Int32(),
    "title": pl.String(),
    "year": pl.Int32(),
    "genres": pl.List(pl.String()),
}


def count_duplicate_pairs(users: np.ndarray, items: np.ndarray) -> int:
    """Rows whose (user, item) pair already occurred: int64 keys, no hashing.

    MovieLens files come sorted by user, then movie: keys already in order skip the sort.
    """
    key = np.left_shift(users, 32, dtype=np.int64)
    key |= items.astype(np.uint32)
    if not bool(np.all(key[1:] >= key[:-1])):
        key.sort()
    return int(np.count_nonzero(key[1:] == key[:-1]))


def require_columns(frame: Any, columns: Sequence[str], name: str = "ratings",
                    text: Sequence[str] = ()) -> pl.DataFrame:
    """``frame`` once it is a polars DataFrame holding ``columns``, each numeric but those in
    ``text``: an ArgumentError for another kind of frame, a DataError naming the missing or
    non-numeric columns otherwise (``name``: what the frame is, for the messages)."""
    if not isinstance(frame, pl.DataFrame):
        kind = f"{type(frame).__module__.partition('.')[0]}.{type(frame).__name__}"
        raise ArgumentError(f"{name} must be a polars DataFrame, got {kind} "
                            "(polars.from_pandas converts a pandas one)")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(f"{name} frame lacks column(s) {missing}; has {frame.columns}, "
                        f"expected at least {list(columns)}")
    wrong = {column: str(frame[column].dtype) for column in columns
             if column not in text and not frame[column].dtype.is_numeric()}
    if wrong:
        raise DataError(f"{name} column(s) {wrong} are not numeric: expected numeric ids, "
                        "ratings, ranks and timestamps")
    return frame


def keep_latest_ratings(ratings: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The duplicates policy: one rating per (user, item), the latest by timestamp.

    Among equal timestamps (or without a ``timestamp`` column) the row that comes last wins.
    Other rows keep their order. Returns the frame and the number of rows dropped. Every
    consumer gets it through the loader (:mod:`recsys.data.load`) or
    :meth:`Interactions.from_frame`, so that a rating is never summed or counted twice.
    """
    keys = ratings.select("user_id", "item_id").drop_nulls()
    if not count_duplicate_pairs(keys["user_id"].to_numpy(), keys["item_id"].to_numpy()):
        return ratings, 0
    order = ["timestamp", "_row"] if "timestamp" in ratings.columns else ["_row"]
    kept = (
        ratings.with_row_index("_row")
        .sort(order)
        .group_by("user_id", "item_id")
        .agg(pl.col("_row").last())["_row"]
        .sort()
    )
    return ratings[kept.to_numpy()], ratings.height - len(kept)


@dataclass(frozen=True)
class Provenance:
    """Where a loaded release came from and what the loader had to repair in it.

    ``verified`` is None for datasets built in code (no raw files behind them).
    """

    source: str = ""
    verified: bool | None = None
    trailing_empty_columns: dict[str, int] = field(default_factory=dict)
    duplicate_ratings_dropped: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the quality report's ``provenance`` section)."""
        return {
            "source": self.source,
            "verified": self.verified,
            "trailing_empty_columns": dict(self.trailing_empty_columns),
            "duplicate_ratings_dropped": self.duplicate_ratings_dropped,
        }


@dataclass(frozen=True)
class Dataset:
    """One MovieLens release (or a synthetic stand-in) as canonical polars frames."""

    name: str
    ratings: pl.DataFrame
    movies: pl.DataFrame
    tags: pl.DataFrame | None = None
    links: pl.DataFrame | None = None
    users: pl.DataFrame | None = None
    genome_scores: pl.DataFrame | None = None
    genome_tags: pl.DataFrame | None = None
    manifest_hash: str = ""
    synthetic: bool = False
    rating_scale: tuple[float, float] = (0.5, 5.0)
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def n_users(self) -> int:
        """Number of distinct users with at least one rating."""
        return int(self.ratings["user_id"].n_unique())

    @property
    def n_items(self) -> int:
        """Number of movies in the catalogue (rated or not)."""
        return int(self.movies.height)

    def summary(self) -> dict[str, Any]:
        """Headline counts, as shown on dataset cards and in reports."""
        return {
            "name": self.name,
            "ratings": self.ratings.height,
            "users": self.n_users,
            "movies": self.n_items,
            "tags": 0 if self.tags is None else self.tags.height,
            "users_with_demographics": 0 if self.users is None else self.users.height,
            "has_genome": self.genome_scores is not None,
            "synthetic": self.synthetic,
            "manifest_hash": self.manifest_hash,
        }


@dataclass(frozen=True)
class Catalog:
    """What is known about the items at training time: never a rating.

    Movies, links and the Tag Genome are item facts; ``tags`` are user-written and hold only
    what the training side may know (for an evaluation, the tags whose (user, movie) pair is a
    training rating, older than a temporal cut: see :mod:`recsys.evaluation.protocol`).
    """

    name: str
    movies: pl.DataFrame
    tags: pl.DataFrame | None = None
    links: pl.DataFrame | None = None
    genome_scores: pl.DataFrame | None = None
    genome_tags: pl.DataFrame | None = None
    manifest_hash: str = ""

    @classmethod
    def from_dataset(cls, dataset: Dataset, tags: pl.DataFrame | None = None) -> Catalog:
        """The catalogue of ``dataset`` with ``tags`` (default: all of them, for serving)."""
        return cls(
            name=dataset.name,
            movies=dataset.movies,
            tags=dataset.tags if tags is None else tags,
            links=dataset.links,
            genome_scores=dataset.genome_scores,
            genome_tags=dataset.genome_tags,
            manifest_hash=dataset.manifest_hash,
        )


@dataclass(frozen=True)
class TrainingData:
    """The one argument of ``Recommender.fit``: training ratings and the catalogue known then.

    ``ratings`` are the same training ratings as rows in the splitter's order
    (:attr:`Split.ordered_train`), for the peers whose model depends on the order they read
    rows in (cornac numbers users and items by first appearance); our models read
    ``interactions`` only.
    """

    interactions: Interactions
    catalog: Catalog | None = None
    ratings: pl.DataFrame | None = None

    @classmethod
    def for_serving(cls, interactions: Interactions, dataset: Dataset) -> TrainingData:
        """Training on everything ``dataset`` knows (every tag): for serving, never to evaluate."""
        return cls(interactions, Catalog.from_dataset(dataset))

    @classmethod
    def of(cls, train: TrainingData | Interactions) -> TrainingData:
        """``train`` itself, or bare ``Interactions`` without a catalogue."""
        if isinstance(train, TrainingData):
            return train
        if isinstance(train, Interactions):
            return cls(train)
        raise ArgumentError(
            f"fit expects TrainingData (or Interactions), got {type(train).__name__}"
        )


@dataclass(frozen=True)
class Split:
    """A reproducible train/test (and optional validation) partition of ratings.

    ``history`` (strong generalisation only) holds the test users' ratings that are known at
    scoring time, as a folded-in history, and never at training time.
    """

    train: pl.DataFrame
    test: pl.DataFrame
    valid: pl.DataFrame | None = None
    protocol: str = ""
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    history: pl.DataFrame | None = None
    train_order: np.ndarray | None = None  # positions of ``train`` rows in the splitter's order

    @property
    def ordered_train(self) -> pl.DataFrame:
        """The training rows in the order the splitter ranked them (``train``'s own if none)."""
        return self.train if self.train_order is None else self.train[self.train_order]


class Interactions:
    """A user × item CSR matrix of ratings plus the raw-id vocabularies of both axes.

    Build it once per split with :meth:`from_frame`; every model shares it. ``rating_scale``
    bounds the ratings a folded-in history may hold (default: the stored ratings' range).
    ``times`` (None when the ratings had no ``timestamp``) holds each stored rating's
    timestamp, aligned with ``matrix.data``: the order in which a user rated, for the models
    that read it.
    """

    def __init__(
        self,
        matrix: sp.csr_matrix,
        user_ids: np.ndarray,
        item_ids: np.ndarray,
        rating_scale: tuple[float, float] | None = None,
        times: np.ndarray | None = None,
    ) -> None:
        if matrix.shape != (len(user_ids), len(item_ids)):
            raise DataError(
                f"Interactions matrix shape {matrix.shape} does not match "
                f"{len(user_ids)} users × {len(item_ids)} items"
            )
        self.matrix = matrix.tocsr().astype(np.float32)
        if times is not None:
            times = np.asarray(times, dtype=np.float64)
            if times.shape != (self.matrix.nnz,):
                raise DataError(f"Interactions times hold {times.size} values for "
                                f"{self.matrix.nnz} stored ratings")
            if not self.matrix.has_sorted_indices:  # sort the timestamps with the entries
                order = _entry_order(self.matrix)
                times = times[order]
                self.matrix = sp.csr_matrix((self.matrix.data[order],
                                             self.matrix.indices[order], self.matrix.indptr),
                                            shape=self.matrix.shape)
        self.times = times
        self.matrix.sort_indices()
        self.user_ids = np.asarray(user_ids, dtype=np.int64)
        self.item_ids = np.asarray(item_ids, dtype=np.int64)
        self.rating_scale = rating_scale or _observed_scale(self.matrix)
        self._user_index = {int(u): i for i, u in enumerate(self.user_ids)}
        self._item_index = {int(i): j for j, i in enumerate(self.item_ids)}

    @classmethod
    def from_frame(
        cls,
        ratings: pl.DataFrame,
        items: np.ndarray | pl.Series | None = None,
        users: np.ndarray | pl.Series | None = None,
        rating_scale: tuple[float, float] | None = None,
    ) -> Interactions:
        """Build from a ``[user_id, item_id, rating]`` frame (``timestamp`` optional).

        ``items`` / ``users`` widen the vocabularies (e.g. the whole catalogue, so that items
        with no training rating still exist as empty columns for content models). A pair rated
        more than once keeps its latest rating (:func:`keep_latest_ratings`), never a sum.
        """
        _check_entries(require_columns(ratings, ["user_id", "item_id", "rating"]))
        user_vocab = _vocabulary(ratings["user_id"], users)
        item_vocab = _vocabulary(ratings["item_id"], items)
        entries = _Entries(ratings, user_vocab, item_vocab)
        if entries.repeated:
            ratings, dropped = keep_latest_ratings(ratings)
            log.warning("%d repeated (user, item) ratings dropped: the latest is kept", dropped)
            entries = _Entries(ratings, user_vocab, item_vocab)
        return cls(entries.matrix(ratings["rating"].to_numpy()), user_vocab, item_vocab,
                   rating_scale, entries.times(ratings))

    def required_times(self, reader: str, off: str) -> np.ndarray:
        """``times``, or a DataError saying that ``reader`` needs them (``off``: the setting
        that does without)."""
        if self.times is None:
            raise DataError(f"{reader} needs each training rating's timestamp; these training "
                            "data have no timestamp column, or a rating without a finite "
                            f"timestamp (build them from ratings that all have one, or set "
                            f"{off})")
        return self.times

    def keeping(self, kept: np.ndarray) -> Interactions:
        """The same vocabularies with only the stored ratings where ``kept`` (a boolean per
        entry of ``matrix.data``) is True, their timestamps with them."""
        kept_before = np.concatenate([[0], np.cumsum(kept)])
        matrix = sp.csr_matrix((self.matrix.data[kept], self.matrix.indices[kept],
                                kept_before[self.matrix.indptr]), shape=self.shape)
        times = None if self.times is None else self.times[kept]
        return Interactions(matrix, self.user_ids, self.item_ids, self.rating_scale, times)

    @property
    def shape(self) -> tuple[int, int]:
        """(number of users, number of items)."""
        return self.matrix.shape  # type: ignore[return-value]

    @property
    def nnz(self) -> int:
        """Number of stored ratings."""
        return int(self.matrix.nnz)

    def user_index(self, user_ids: Any, missing: str = "raise") -> np.ndarray:
        """Map raw user ids to row indices; ``missing='mark'`` gives ``UNKNOWN_INDEX``."""
        return _lookup(self._user_index, user_ids, "user", missing)

    def item_index(self, item_ids: Any, missing: str = "raise") -> np.ndarray:
        """Map raw item ids to column indices; ``missing='mark'`` gives ``UNKNOWN_INDEX``."""
        return _lookup(self._item_index, item_ids, "item", missing)

    def binarize(self, threshold: float = 0.0) -> sp.csr_matrix:
        """Implicit view: 1 where the rating is above ``threshold``."""
        binary = self.matrix.copy()
        binary.data = (binary.data > threshold).astype(np.float32)
        binary.eliminate_zeros()
        return binary

    def to_frame(self) -> pl.DataFrame:
        """The stored ratings back as a ``[user_id, item_id, rating]`` frame."""
        coo = self.matrix.tocoo()
        return pl.DataFrame(
            {
                "user_id": self.user_ids[coo.row].astype(np.int32),
                "item_id": self.item_ids[coo.col].astype(np.int32),
                "rating": coo.data.astype(np.float32),
            }
        )


def _observed_scale(matrix: sp.csr_matrix) -> tuple[float, float]:
    """The range of the stored ratings; any finite rating when there is none."""
    if matrix.nnz == 0:
        return (-np.inf, np.inf)
    return (float(matrix.data.min()), float(matrix.data.max()))


class _Entries:
    """Where each row of a ratings frame goes in the users × items CSR matrix."""

    def __init__(self, ratings: pl.DataFrame, user_vocab: np.ndarray,
                 item_vocab: np.ndarray) -> None:
        rows = np.searchsorted(user_vocab, ratings["user_id"].to_numpy()).astype(np.int64)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(rows,
                                                                 minlength=len(user_vocab)))])
        cells = rows * len(item_vocab)  # one int64 per rating: row-major cell numbers
        del rows
        cells += np.searchsorted(item_vocab, ratings["item_id"].to_numpy())
        self.order = np.argsort(cells, kind="stable")  # row-major, columns increasing
        cells = cells[self.order]
        self.repeated = bool(np.any(cells[1:] == cells[:-1]))
        self.columns = (cells % len(item_vocab)).astype(np.int32)
        self.shape = (len(user_vocab), len(item_vocab))

    def matrix(self, values: np.ndarray) -> sp.csr_matrix:
        """The frame's ratings (one per pair) as a float32 CSR, columns sorted."""
        return sp.csr_matrix((values[self.order].astype(np.float32), self.columns,
                              self.indptr), shape=self.shape)

    def times(self, ratings: pl.DataFrame) -> np.ndarray | None:
        """Each rating's timestamp in CSR order; None unless every rating has a finite one."""
        if "timestamp" not in ratings.columns or ratings["timestamp"].null_count():
            return None
        times = ratings["timestamp"].to_numpy().astype(np.float64)[self.order]
        return times if np.isfinite(times).all() else None


def _check_entries(ratings: pl.DataFrame) -> None:
    """Every rating has an integral user and item id and a finite rating (DataError)."""
    for column in ("user_id", "item_id", "rating"):
        values = ratings[column]
        bad = values.is_null()
        if values.dtype.is_float():
            numbers = values.fill_null(0).to_numpy()
            wrong = ~np.isfinite(numbers)
            if column != "rating":
                wrong |= numbers % 1 != 0
            bad |= pl.Series(wrong)
        if bad.any():
            first = ratings.filter(bad).row(0, named=True)
            what = "a finite number" if column == "rating" else "an integral id"
            raise DataError(f"ratings {column}: {int(bad.sum()):,} row(s) lack {what}, e.g. "
                            f"{first}: drop or fix them before building Interactions")


def _entry_order(matrix: sp.csr_matrix) -> np.ndarray:
    """The permutation of ``matrix.data`` that puts each row's columns in increasing order."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    return np.lexsort((matrix.indices, rows))


def _vocabulary(observed: pl.Series, extra: np.ndarray | pl.Series | None) -> np.ndarray:
    values = observed.to_numpy()
    if extra is not None:
        values = np.concatenate([values, np.asarray(extra)])
    return np.unique(values.astype(np.int64))


def _lookup(index: dict[int, int], ids: Any, kind: str, missing: str) -> np.ndarray:
    flat = np.atleast_1d(np.asarray(ids, dtype=np.int64))
    result = np.fromiter((index.get(int(i), UNKNOWN_INDEX) for i in flat), dtype=np.int64,
                         count=len(flat))
    if missing == "raise" and (result < 0).any():
        unknown = flat[result < 0][:5].tolist()
        raise UnknownIdError(
            f"Unknown {kind} id(s) {unknown}: not in the training data of this model "
            f"({len(index):,} known {kind}s)"
        )
    return result
