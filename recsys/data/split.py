"""Reproducible splitters over a ratings frame ``[user_id, item_id, rating, timestamp]``.

Every splitter is a pure function: the same frame and seed give identical frames. Each result
is a frozen :class:`~recsys.data.types.Split` whose ``params`` hold the arguments, the input row
count and what :func:`check_split` needs to verify it (leakage, counts, time order). Work is
vectorised (NumPy ranks + polars filters), so the splitters run on ml-20m-sized frames.

Published protocols reproduced exactly:

- :func:`stratified_split` = Microsoft Recommenders' ``python_stratified_split`` (today's
  and reco_utils' 2020 algorithm);
- :func:`kfold` with ``by="rating"`` = scikit-surprise's ``KFold(random_state=seed)``;
- :func:`strong_generalization` = Liang et al. 2018's ML-20M protocol (Mult-VAE, EASE, RecVAE).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from recsys.config import checked_arguments
from recsys.data.types import Split, require_columns
from recsys.errors import ConfigError, DataError

__all__ = [
    "check_split",
    "random_holdout",
    "stratified_split",
    "temporal_global",
    "leave_last_n",
    "kfold",
    "cold_start_items",
    "cold_start_users",
    "strong_generalization",
]

log = logging.getLogger(__name__)

TRAIN, TEST, VALID, HISTORY = 0, 1, 2, 3
PAIR = ["user_id", "item_id"]


# --------------------------------------------------------------------------- invariants


def check_split(split: Split) -> Split:
    """Verify a split's invariants and return it; raise :class:`DataError` on the first breach.

    Always: no (user, item) pair in two parts, and the parts add up to ``params["n_ratings"]``.
    When the params say so: no value of ``params["disjoint_on"]`` (user or item) on both sides,
    no test rating before ``params["cut_timestamp"]``, and, per user, train ≤ valid ≤ test in time
    (``params["per_user_time_order"]``).
    """
    parts = _named_parts(split)
    where = f"split {split.protocol!r} (params {split.params})"
    expected = split.params.get("n_ratings")
    total = sum(frame.height for frame in parts.values())
    if expected is not None and total != expected:
        raise DataError(f"{where}: parts hold {total:,} rows, expected {expected:,} (the input)")
    names = list(parts)
    for pos, first in enumerate(names):
        for second in names[pos + 1 :]:
            _check_disjoint(parts[first], parts[second], PAIR, f"{where}: {first}/{second}")
    if (column := split.params.get("disjoint_on")) is not None:
        _check_disjoint(split.train, split.test, [column], f"{where}: train/test")
    if (cut := split.params.get("cut_timestamp")) is not None:
        _check_global_cut(split, cut, where)
    if split.params.get("per_user_time_order"):
        ordered = [parts[name] for name in ("train", "valid", "test") if name in parts]
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            _check_user_time_order(earlier, later, where)
    return split


def _named_parts(split: Split) -> dict[str, pl.DataFrame]:
    parts = {"train": split.train, "test": split.test}
    if split.valid is not None:
        parts["valid"] = split.valid
    if split.history is not None:
        parts["history"] = split.history
    return parts


def _check_disjoint(left: pl.DataFrame, right: pl.DataFrame, on: list[str], where: str) -> None:
    # Fast test on one int64 key per row (distinct counts); the join only names the culprit.
    key = pl.col(on[0]).cast(pl.Int64)
    if len(on) == 2:
        key = key * (1 << 32) + pl.col(on[1]).cast(pl.Int64)
    left_keys, right_keys = left.select(key).to_series(), right.select(key).to_series()
    union = pl.concat([left_keys, right_keys]).n_unique()
    if left_keys.n_unique() + right_keys.n_unique() == union:
        return
    shared = right.select(on).join(left.select(on).unique(), on=on, how="semi")
    if shared.height:
        raise DataError(
            f"{where}: {shared.height:,} rows share {'/'.join(on)} across parts "
            f"(first: {shared.row(0)}); expected none (leakage)"
        )


def _check_global_cut(split: Split, cut: int, where: str) -> None:
    latest_train = split.train["timestamp"].max()
    earliest_test = split.test["timestamp"].min()
    if latest_train is not None and latest_train >= cut:
        raise DataError(f"{where}: a train rating at {latest_train} is not before the cut {cut}")
    if earliest_test is not None and earliest_test < cut:
        raise DataError(f"{where}: a test rating at {earliest_test} is older than the cut {cut}")


def _check_user_time_order(earlier: pl.DataFrame, later: pl.DataFrame, where: str) -> None:
    last = earlier.group_by("user_id").agg(pl.col("timestamp").max().alias("last"))
    first = later.group_by("user_id").agg(pl.col("timestamp").min().alias("first"))
    bad = first.join(last, on="user_id").filter(pl.col("first") < pl.col("last"))
    if bad.height:
        user, first_ts, last_ts = bad.row(0)
        raise DataError(
            f"{where}: {bad.height:,} users have a held-out rating older than their earlier "
            f"part (user {user}: {first_ts} < {last_ts})"
        )


# --------------------------------------------------------------------------- helpers


def _require(ratings: pl.DataFrame, columns: Sequence[str]) -> None:
    require_columns(ratings, columns)
    if ratings.height == 0:
        raise DataError("ratings frame is empty: nothing to split")


def _fraction(name: str, value: float, low: float = 0.0) -> float:
    if not low <= value < 1.0:
        raise ConfigError(f"{name}={value!r} is out of range: expected {low} <= {name} < 1")
    return float(value)


def _choice(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {list(allowed)}")
    return value


def _group_rank(groups: np.ndarray, keys: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """0-based rank of every row inside its group (ordered by ``keys``, first key primary) and
    the size of that group, both aligned with the input rows."""
    columns = {"group": groups, **{f"key{pos}": key for pos, key in enumerate(keys)}}
    frame = pl.DataFrame(columns)  # polars' multi-key sort is several times faster than lexsort
    order = frame.select(pl.arg_sort_by(frame.columns, maintain_order=True)).to_series().to_numpy()
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    sizes = np.diff(np.r_[starts, len(groups)])
    rank = np.empty(len(groups), dtype=np.int64)
    rank[order] = np.arange(len(groups)) - np.repeat(starts, sizes)
    size = np.empty(len(groups), dtype=np.int64)
    size[order] = np.repeat(sizes, sizes)
    return rank, size


def _assemble(
    ratings: pl.DataFrame,
    part: np.ndarray,
    protocol: str,
    seed: int | None,
    params: dict[str, Any],
    train_order: np.ndarray | None = None,
) -> Split:
    """Cut ``ratings`` by the per-row part codes (TRAIN/TEST/VALID) into a checked Split;
    ``train_order``: the training rows' positions in the splitter's own order."""
    codes = pl.Series("part", part, dtype=pl.Int8)
    valid = ratings.filter(codes == VALID) if (part == VALID).any() else None
    history = ratings.filter(codes == HISTORY) if (part == HISTORY).any() else None
    split = Split(
        train=ratings.filter(codes == TRAIN),
        test=ratings.filter(codes == TEST),
        valid=valid,
        protocol=protocol,
        seed=seed,
        params={**params, "n_ratings": ratings.height},
        train_order=train_order,
        history=history,
    )
    return check_split(split)


def _holdout_codes(rank: np.ndarray, n_test: np.ndarray, n_valid: np.ndarray) -> np.ndarray:
    """Rows ranked first go to test, the next ones to valid, the rest to train."""
    part = np.full(len(rank), TRAIN, dtype=np.int8)
    part[rank < n_test + n_valid] = VALID
    part[rank < n_test] = TEST
    return part


# --------------------------------------------------------------------------- splitters


@checked_arguments
def random_holdout(
    ratings: pl.DataFrame, test_fraction: float = 0.2, seed: int = 42, valid_fraction: float = 0.0
) -> Split:
    """Per user, a random ``test_fraction`` (and ``valid_fraction``) of their ratings held out.

    Counts are rounded half-to-even per user; every user keeps at least one training rating.
    """
    _require(ratings, PAIR)
    test_fraction = _fraction("test_fraction", test_fraction, low=1e-9)
    valid_fraction = _fraction("valid_fraction", valid_fraction)
    if test_fraction + valid_fraction >= 1.0:
        raise ConfigError(f"test_fraction + valid_fraction = {test_fraction + valid_fraction} >= 1")
    users = ratings["user_id"].to_numpy()
    rank, size = _group_rank(users, [np.random.default_rng(seed).random(len(users))])
    n_test = np.minimum(np.rint(test_fraction * size), size - 1)
    n_valid = np.minimum(np.rint(valid_fraction * size), size - 1 - n_test)
    params = {"test_fraction": test_fraction, "valid_fraction": valid_fraction}
    return _assemble(ratings, _holdout_codes(rank, n_test, n_valid), "random_holdout", seed, params)


@checked_arguments
def stratified_split(
    ratings: pl.DataFrame,
    ratio: float = 0.75,
    by: Literal["item", "user"] = "item",
    seed: int = 42,
    shuffle: Literal["rows", "groups"] = "rows",
) -> Split:
    """Per item (or user), a random ``ratio`` of its ratings to train, the rest to test.

    Reproduces Microsoft Recommenders' ``python_stratified_split(ratio, filter_by=by, seed)``,
    in either of its two published algorithms (given the ratings in the same order, the
    partition is identical):

    - ``shuffle="rows"``, today's ``_do_stratification`` with ``is_random=True``: one uniform
      number per row drawn by ``np.random.seed(seed); np.random.rand(n)`` in input order (here
      from a local ``RandomState(seed)``, the same stream), rows ranked by (group, number);
    - ``shuffle="groups"``, reco_utils' 2020 one (``split_pandas_data_with_ratios`` with
      ``shuffle=True``), behind the README's ALS, SVD and SAR rows: each group's rows, in input
      order, shuffled by ``sample(frac=1, random_state=seed)``, i.e. by
      ``RandomState(seed).permutation(group size)``, the same seed for every group.

    A row goes to train when its 1-based rank in its group is ``<= round(ratio * group size)``
    (half-to-even). Rows keep the input order; ``train_order`` lists the training rows in the
    splitter's (by group, then rank), the order in which Microsoft Recommenders hands a model
    its training frame. ``min_rating`` filtering and multi-way ratio lists are not offered.
    """
    _require(ratings, PAIR)
    ratio = _fraction("ratio", ratio, low=1e-9)
    column = f"{_choice('by', by, ('item', 'user'))}_id"
    groups = ratings[column].to_numpy()
    if _choice("shuffle", shuffle, ("rows", "groups")) == "rows":
        rank, size = _group_rank(groups, [np.random.RandomState(seed).rand(len(groups))])
    else:
        rank, size = _shuffled_group_rank(groups, seed)
    part = np.where(rank < np.rint(ratio * size), TRAIN, TEST).astype(np.int8)
    train = part == TRAIN
    order = np.lexsort((rank[train], groups[train]))
    params = {"ratio": ratio, "by": by, "shuffle": shuffle}
    return _assemble(ratings, part, "stratified_split", seed, params, order)


def _shuffled_group_rank(groups: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rank of every row once each group (rows in input order) is permuted by
    ``RandomState(seed).permutation(size)``, and its group's size. The permutation depends on
    the size only, so it is drawn once per distinct size."""
    position, size = _group_rank(groups, [np.arange(len(groups))])
    rank = np.empty(len(groups), dtype=np.int64)
    by_size = np.argsort(size, kind="stable")
    sizes, starts = np.unique(size[by_size], return_index=True)
    for n, rows in zip(sizes, np.split(by_size, starts[1:]), strict=True):
        # new position j holds old position permutation[j]: old position p moves to argsort[p]
        rank[rows] = np.argsort(np.random.RandomState(seed).permutation(n))[position[rows]]
    return rank, size


@checked_arguments
def temporal_global(
    ratings: pl.DataFrame, test_fraction: float | None = 0.2, cut_timestamp: int | None = None
) -> Split:
    """One global cut in time: ratings at or after the cut are test, earlier ones train.

    Give either ``cut_timestamp`` or ``test_fraction`` (the cut is then the timestamp of the
    ``round(test_fraction * n)``-th latest rating; ties at the cut all go to test).
    """
    _require(ratings, [*PAIR, "timestamp"])
    timestamps = ratings["timestamp"].to_numpy()
    if cut_timestamp is None:
        if test_fraction is None:
            raise ConfigError("temporal_global needs test_fraction or cut_timestamp, got neither")
        test_fraction = _fraction("test_fraction", test_fraction, low=1e-9)
        n_test = max(1, int(np.rint(test_fraction * len(timestamps))))
        cut_timestamp = int(np.partition(timestamps, len(timestamps) - n_test)[-n_test])
    else:
        test_fraction = None
    part = (timestamps >= cut_timestamp).astype(np.int8)
    params = {"test_fraction": test_fraction, "cut_timestamp": int(cut_timestamp)}
    return _assemble(ratings, part, "temporal_global", None, params)


@checked_arguments
def leave_last_n(ratings: pl.DataFrame, n: int = 1, valid_n: int = 0) -> Split:
    """Per user, the latest ``n`` ratings to test and the ``valid_n`` before them to valid.

    Order is by timestamp, ties broken by item id (the larger id counts as later), so the
    result does not depend on row order. Users with ``n + valid_n`` ratings or fewer stay
    entirely in train.
    """
    _require(ratings, [*PAIR, "timestamp"])
    if n < 1 or valid_n < 0:
        raise ConfigError(f"leave_last_n needs n >= 1 and valid_n >= 0, got {n=}, {valid_n=}")
    users = ratings["user_id"].to_numpy()
    newest_first = [-ratings["timestamp"].to_numpy(), -ratings["item_id"].to_numpy()]
    rank, size = _group_rank(users, [key.astype(np.int64) for key in newest_first])
    eligible = size > n + valid_n
    part = _holdout_codes(rank, np.where(eligible, n, 0), np.where(eligible, valid_n, 0))
    log.info("leave_last_n: %d users kept entirely in train", len(np.unique(users[~eligible])))
    params = {"n": n, "valid_n": valid_n, "per_user_time_order": True}
    return _assemble(ratings, part, "leave_last_n", None, params)


@checked_arguments
def kfold(
    ratings: pl.DataFrame, k: int = 5, seed: int = 0, by: Literal["rating", "user"] = "rating"
) -> list[Split]:
    """``k`` folds; fold ``i`` is the test part of split ``i``.

    ``by="rating"`` reproduces scikit-surprise's ``KFold(n_splits=k, random_state=seed,
    shuffle=True)`` exactly, row order included, when the frame is in the order surprise read
    the ratings: row indices shuffled by ``RandomState(seed).shuffle``, contiguous folds, the
    first ``n % k`` folds one row longer. ``by="user"`` shuffles users the same way and holds out
    all ratings of one fold of users (strong generalisation).
    """
    _require(ratings, PAIR)
    _choice("by", by, ("rating", "user"))
    if by == "rating":
        return _kfold_ratings(ratings, k, seed)
    return _kfold_users(ratings, k, seed)


def _fold_bounds(n: int, k: int) -> np.ndarray:
    if not 2 <= k <= n:
        raise ConfigError(f"k={k} folds is out of range: expected 2 <= k <= {n:,}")
    sizes = np.full(k, n // k) + (np.arange(k) < n % k)
    return np.r_[0, np.cumsum(sizes)]


def _kfold_ratings(ratings: pl.DataFrame, k: int, seed: int) -> list[Split]:
    order = np.arange(ratings.height)
    bounds = _fold_bounds(len(order), k)
    np.random.RandomState(seed).shuffle(order)
    splits = []
    for fold in range(k):
        start, stop = bounds[fold], bounds[fold + 1]
        split = Split(
            train=ratings[np.r_[order[:start], order[stop:]]],
            test=ratings[order[start:stop]],
            protocol="kfold",
            seed=seed,
            params={"k": k, "fold": fold, "by": "rating", "n_ratings": ratings.height},
        )
        splits.append(check_split(split))
    return splits


def _kfold_users(ratings: pl.DataFrame, k: int, seed: int) -> list[Split]:
    ids = np.unique(ratings["user_id"].to_numpy())
    bounds = _fold_bounds(len(ids), k)
    shuffled = np.arange(len(ids))
    np.random.RandomState(seed).shuffle(shuffled)
    fold_of_id = np.empty(len(ids), dtype=np.int64)
    fold_of_id[shuffled] = np.searchsorted(bounds, np.arange(len(ids)), side="right") - 1
    row_fold = fold_of_id[np.searchsorted(ids, ratings["user_id"].to_numpy())]
    params = {"k": k, "by": "user", "disjoint_on": "user_id"}
    splits = []
    for fold in range(k):
        part = (row_fold == fold).astype(np.int8)
        splits.append(_assemble(ratings, part, "kfold", seed, params | {"fold": fold}))
    return splits


@checked_arguments
def cold_start_items(ratings: pl.DataFrame, fraction: float = 0.1, seed: int = 42) -> Split:
    """All ratings of a random ``fraction`` of the rated items held out: test items are unseen."""
    _require(ratings, PAIR)
    fraction = _fraction("fraction", fraction, low=1e-9)
    items = np.unique(ratings["item_id"].to_numpy())
    n_cold = max(1, int(np.rint(fraction * len(items))))
    cold = np.random.default_rng(seed).choice(items, size=n_cold, replace=False)
    part = np.isin(ratings["item_id"].to_numpy(), cold).astype(np.int8)
    params = {"fraction": fraction, "disjoint_on": "item_id"}
    return _assemble(ratings, part, "cold_start_items", seed, params)


@checked_arguments
def cold_start_users(
    ratings: pl.DataFrame,
    n_known: int = 3,
    user_fraction: float = 0.2,
    seed: int = 42,
    min_ratings: int = 10,
) -> Split:
    """Simulated new users: a random ``user_fraction`` of the users with ``>= min_ratings``
    ratings keep only ``n_known`` random ratings in train; the rest of theirs is test.

    The cold users and the order in which their ratings become known depend on ``seed`` only,
    so for one seed the known sets for n_known = 1, 3, 5 are nested (a learning curve).
    """
    _require(ratings, PAIR)
    user_fraction = _fraction("user_fraction", user_fraction, low=1e-9)
    if not 1 <= n_known < min_ratings:
        raise ConfigError(f"{n_known=} is out of range: expected 1 <= n_known < {min_ratings}")
    rng = np.random.default_rng(seed)
    users = ratings["user_id"].to_numpy()
    row_keys = rng.random(len(users))
    ids, counts = np.unique(users, return_counts=True)
    eligible = ids[counts >= min_ratings]
    if not len(eligible):
        raise DataError(f"cold_start_users: no user has >= {min_ratings} ratings to hold out")
    n_cold = max(1, int(np.rint(user_fraction * len(eligible))))
    cold = rng.choice(eligible, size=n_cold, replace=False)
    rank, _ = _group_rank(users, [row_keys])
    part = (np.isin(users, cold) & (rank >= n_known)).astype(np.int8)
    params = {"n_known": n_known, "user_fraction": user_fraction, "min_ratings": min_ratings}
    return _assemble(ratings, part, "cold_start_users", seed, params)


@checked_arguments
def strong_generalization(
    ratings: pl.DataFrame,
    n_test: int = 10_000,
    n_valid: int = 10_000,
    threshold: float = 3.5,
    min_positives: int = 5,
    fold_in: float = 0.8,
    seed: int = 98765,
) -> Split:
    """Liang et al. 2018's strong generalisation: held-out users, folded in at scoring time.

    Ratings above ``threshold`` become 1.0 (the rest is dropped); users with fewer than
    ``min_positives`` of them are dropped. ``n_valid`` + ``n_test`` random users are held out
    of training entirely: the validation users' positives go to ``valid`` (Liang's early-stopping
    users, never trained on), the test users' movies are restricted to movies seen in training,
    and per test user a random ``1 - fold_in`` of them (floored, none below 5 movies) is the test
    side while the rest is the ``history`` a model may only read at scoring time.
    """
    _require(ratings, [*PAIR, "rating"])
    fold_in = _fraction("fold_in", fold_in, low=1e-9)
    if min_positives < 1:
        raise ConfigError(f"strong_generalization: min_positives={min_positives}: expected >= 1 "
                          f"(a held-out user needs ratings to fold in and to predict)")
    positives = (ratings.filter(pl.col("rating") > threshold)
                 .filter(pl.len().over("user_id") >= min_positives)
                 .with_columns(pl.lit(1.0, dtype=ratings["rating"].dtype).alias("rating")))
    ids = np.unique(positives["user_id"].to_numpy())
    if min(n_test, n_valid) < 0 or n_test < 1 or n_test + n_valid >= len(ids):
        raise ConfigError(
            f"strong_generalization: n_test={n_test}, n_valid={n_valid} out of range: expected "
            f"n_test >= 1, n_valid >= 0 and n_test + n_valid < {len(ids):,} users with >= "
            f"{min_positives} ratings above {threshold}"
        )
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(ids)
    valid_users, test_users = shuffled[:n_valid], shuffled[n_valid : n_valid + n_test]
    held = pl.col("user_id").is_in(shuffled[: n_valid + n_test].tolist())
    seen = positives.filter(~held)["item_id"].unique()
    positives = positives.filter(~held | pl.col("item_id").is_in(seen.implode()))
    users = positives["user_id"].to_numpy()
    rank, size = _group_rank(users, [rng.random(len(users))])
    n_predict = np.where(size >= 5, np.floor(round(1.0 - fold_in, 9) * size + 1e-9), 0)
    part = np.full(len(users), TRAIN, dtype=np.int8)
    part[np.isin(users, valid_users)] = VALID
    is_test = np.isin(users, test_users)
    part[is_test] = np.where(rank[is_test] < n_predict[is_test], TEST, HISTORY)
    params = {"n_test": n_test, "n_valid": n_valid, "threshold": threshold,
              "min_positives": min_positives, "fold_in": fold_in, "disjoint_on": "user_id"}
    return _assemble(positives, part, "strong_generalization", seed, params)
