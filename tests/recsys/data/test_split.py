"""Splitters: invariants on real data, known answers on handmade frames, published protocols."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from recsys.data import split as S
from recsys.data.types import Dataset, Split
from recsys.errors import ArgumentError, ConfigError, DataError

PAIR = ["user_id", "item_id"]

SPLITTERS: dict[str, Callable[[pl.DataFrame], Split]] = {
    "random_holdout": lambda r: S.random_holdout(r, 0.2, seed=1, valid_fraction=0.1),
    "stratified_item": lambda r: S.stratified_split(r, 0.75, by="item", seed=42),
    "stratified_user": lambda r: S.stratified_split(r, 0.75, by="user", seed=42),
    "stratified_groups": lambda r: S.stratified_split(r, 0.75, seed=42, shuffle="groups"),
    "temporal_global": lambda r: S.temporal_global(r, test_fraction=0.2),
    "leave_last_n": lambda r: S.leave_last_n(r, n=2, valid_n=1),
    "kfold_rating": lambda r: S.kfold(r, k=5, seed=0)[3],
    "kfold_user": lambda r: S.kfold(r, k=5, seed=0, by="user")[1],
    "cold_start_items": lambda r: S.cold_start_items(r, 0.1, seed=3),
    "cold_start_users": lambda r: S.cold_start_users(r, n_known=3, seed=3),
}
SEEDED = {
    "random_holdout": lambda r, s: S.random_holdout(r, 0.2, seed=s),
    "stratified": lambda r, s: S.stratified_split(r, seed=s),
    "kfold_rating": lambda r, s: S.kfold(r, seed=s)[0],
    "kfold_user": lambda r, s: S.kfold(r, seed=s, by="user")[0],
    "cold_start_items": lambda r, s: S.cold_start_items(r, 0.2, seed=s),
    "cold_start_users": lambda r, s: S.cold_start_users(r, seed=s),
    "strong_generalization": lambda r, s: S.strong_generalization(r, 50, 50, seed=s),
}


def _frame(rows: list[tuple[int, int, float, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"user_id": pl.Int32, "item_id": pl.Int32, "rating": pl.Float32,
                "timestamp": pl.Int64},
        orient="row",
    )


def _pairs(frame: pl.DataFrame | None) -> set[tuple[int, int]]:
    return set() if frame is None else set(frame.select(PAIR).iter_rows())


def _parts(split: Split) -> list[pl.DataFrame]:
    return [part for part in (split.train, split.test, split.valid) if part is not None]


# --------------------------------------------------------------------------- real data


@pytest.mark.parametrize("name", list(SPLITTERS))
def test_invariants_on_ml_latest_small(ml_small: Dataset, name: str) -> None:
    ratings = ml_small.ratings
    split = SPLITTERS[name](ratings)
    parts = _parts(split)
    assert sum(part.height for part in parts) == ratings.height
    assert pl.concat(parts).sort(PAIR).equals(ratings.sort(PAIR))
    assert not _pairs(split.train) & _pairs(split.test)
    assert not _pairs(split.valid) & (_pairs(split.train) | _pairs(split.test))
    assert split.test.height > 0.05 * ratings.height or name == "leave_last_n"
    assert split.params["n_ratings"] == ratings.height


def test_temporal_global_has_no_test_rating_before_the_cut(ml_small: Dataset) -> None:
    split = S.temporal_global(ml_small.ratings, test_fraction=0.2)
    cut = split.params["cut_timestamp"]
    assert split.train["timestamp"].max() < cut <= split.test["timestamp"].min()
    assert split.test.height == pytest.approx(0.2 * ml_small.ratings.height, rel=0.01)


def test_leave_last_n_holds_out_each_users_latest(ml_small: Dataset) -> None:
    split = S.leave_last_n(ml_small.ratings, n=2, valid_n=1)
    assert split.valid is not None
    assert split.test.group_by("user_id").len()["len"].unique().to_list() == [2]
    assert split.valid.height == ml_small.n_users  # every user here has >= 20 ratings
    last_train = split.train.group_by("user_id").agg(pl.col("timestamp").max().alias("last"))
    first_test = split.test.group_by("user_id").agg(pl.col("timestamp").min().alias("first"))
    joined = last_train.join(first_test, on="user_id")
    assert (joined["first"] >= joined["last"]).all()


def test_kfold_by_rating_partitions_the_ratings(ml_small: Dataset) -> None:
    folds = S.kfold(ml_small.ratings, k=5, seed=0)
    tests = pl.concat([fold.test for fold in folds])
    assert tests.height == ml_small.ratings.height
    assert tests.select(PAIR).is_unique().all()
    assert [fold.test.height for fold in folds] == [20168, 20167, 20167, 20167, 20167]


def test_kfold_by_user_puts_every_user_in_one_test_fold(ml_small: Dataset) -> None:
    folds = S.kfold(ml_small.ratings, k=5, seed=0, by="user")
    test_users = [set(fold.test["user_id"]) for fold in folds]
    assert sum(len(users) for users in test_users) == ml_small.n_users
    assert set().union(*test_users) == set(ml_small.ratings["user_id"])
    for users, fold in zip(test_users, folds, strict=True):
        assert not users & set(fold.train["user_id"])
    assert sorted(len(users) for users in test_users) == [122, 122, 122, 122, 122]


@pytest.mark.parametrize("name", list(SEEDED))
def test_same_seed_same_split_other_seed_other_split(ml_small: Dataset, name: str) -> None:
    first, again, other = (SEEDED[name](ml_small.ratings, seed) for seed in (7, 7, 8))
    assert first.train.equals(again.train) and first.test.equals(again.test)
    assert not first.test.equals(other.test)


def test_strong_generalization_follows_liang_et_al(ml_small: Dataset) -> None:
    """Held-out users never train; 80% of each is a history, floor(20%) the test side; only
    ratings above 3.5 of users with >= 5 of them, binarised; test movies are training movies."""
    split = S.strong_generalization(ml_small.ratings, n_test=60, n_valid=40, seed=3)
    assert split.history is not None and split.valid is not None
    positives = ml_small.ratings.filter(pl.col("rating") > 3.5).filter(
        pl.len().over("user_id") >= 5)
    train_users, valid_users = set(split.train["user_id"]), set(split.valid["user_id"])
    test_users = set(split.history["user_id"])
    assert len(valid_users) == 40 and len(test_users) == 60
    assert not (train_users & test_users) and not (train_users & valid_users)
    assert train_users | valid_users | test_users == set(positives["user_id"])
    assert set(split.test["user_id"]) <= test_users
    assert set(split.test["item_id"]) | set(split.history["item_id"]) <= set(split.train["item_id"])
    parts = [split.train, split.valid, split.history, split.test]
    assert all(part["rating"].unique().to_list() == [1.0] for part in parts)
    assert not _pairs(split.history) & _pairs(split.test)
    counts = pl.concat([split.history, split.test]).group_by("user_id").len("n").join(
        split.test.group_by("user_id").len("held"), on="user_id", how="left").fill_null(0)
    expected = np.where(counts["n"] >= 5, np.floor(0.2 * counts["n"].to_numpy() + 1e-9), 0)
    assert counts["held"].to_list() == expected.astype(int).tolist()
    assert split.params["n_ratings"] == sum(part.height for part in parts)


# --------------------------------------------------------------------------- published protocols


def _u_data(mirror_dir: Path) -> Path:
    return mirror_dir / "ml-100k" / "u.data"


def _read_u_data(path: Path) -> pl.DataFrame:
    names = ["user_id", "item_id", "rating", "timestamp"]
    frame = pl.read_csv(path, separator="\t", has_header=False, new_columns=names)
    return frame.cast({"user_id": pl.Int32, "item_id": pl.Int32, "rating": pl.Float32})


def test_kfold_reproduces_surprise_kfold_exactly(mirror_dir: Path) -> None:
    surprise = pytest.importorskip("surprise")
    path = _u_data(mirror_dir)
    reader = surprise.Reader(line_format="user item rating timestamp", sep="\t")
    data = surprise.Dataset.load_from_file(str(path), reader=reader)
    theirs = surprise.model_selection.KFold(n_splits=5, random_state=0, shuffle=True).split(data)
    ours = S.kfold(_read_u_data(path), k=5, seed=0)
    for fold, (trainset, testset) in zip(ours, theirs, strict=True):
        expected_test = [(int(u), int(i), r) for u, i, r in testset]
        assert list(fold.test.select(PAIR + ["rating"]).iter_rows()) == expected_test
        expected_train = {
            (int(trainset.to_raw_uid(u)), int(trainset.to_raw_iid(i)))
            for u, i, _ in trainset.all_ratings()
        }
        assert fold.train.height == trainset.n_ratings
        assert _pairs(fold.train) == expected_train


def _recommenders_reference(ratings: pl.DataFrame, ratio: float, column: str, seed: int) -> list:
    """Microsoft Recommenders' python_stratified_split algorithm, written out in pandas: the
    training (user, item) pairs in the order of their training frame."""
    frame = ratings.to_pandas()
    saved = np.random.get_state()
    try:
        np.random.seed(seed)
        frame["random"] = np.random.rand(len(frame))
    finally:
        np.random.set_state(saved)
    frame = frame.sort_values([column, "random"])
    groups = frame.groupby(column)
    frame["count"] = groups[column].transform("count")
    frame["rank"] = groups.cumcount() + 1
    train = frame[frame["rank"] <= round(ratio * frame["count"])]
    return list(zip(train["user_id"], train["item_id"], strict=True))


@pytest.mark.parametrize("by", ["item", "user"])
def test_stratified_split_matches_microsoft_recommenders(mirror_dir: Path, by: str) -> None:
    """The same partition, and ``ordered_train`` row for row their training frame."""
    ratings = _read_u_data(_u_data(mirror_dir))
    split = S.stratified_split(ratings, ratio=0.75, by=by, seed=42)
    theirs = _recommenders_reference(ratings, 0.75, f"{by}_id", 42)
    assert _pairs(split.train) == set(theirs)
    assert list(split.ordered_train.select(PAIR).iter_rows()) == theirs


def _reco_utils_2020_reference(ratings: pl.DataFrame, ratio: float, seed: int) -> list:
    """reco_utils' 2020 python_stratified_split (per item: ``sample(frac=1, random_state=seed)``
    of its rows in input order, the first ``round(ratio * n)`` to train), written out in pandas:
    the training (user, item) pairs in the order of their training frame."""
    frame = ratings.to_pandas()
    train = []
    for _, group in frame.groupby("item_id"):
        shuffled = group.sample(frac=1, random_state=seed)
        train.append(shuffled.iloc[: round(ratio * len(shuffled))])
    joined = pd.concat(train)
    return list(zip(joined["user_id"], joined["item_id"], strict=True))


def test_stratified_split_by_groups_matches_reco_utils_2020(mirror_dir: Path) -> None:
    """The partition of the README's ALS/SVD/SAR rows, row for row their training frame."""
    ratings = _read_u_data(_u_data(mirror_dir))
    split = S.stratified_split(ratings, ratio=0.75, by="item", seed=42, shuffle="groups")
    theirs = _reco_utils_2020_reference(ratings, 0.75, 42)
    assert list(split.ordered_train.select(PAIR).iter_rows()) == theirs
    assert split.params["shuffle"] == "groups"
    rows = S.stratified_split(ratings, ratio=0.75, by="item", seed=42)
    assert _pairs(rows.train) != _pairs(split.train)  # the two algorithms differ


def test_stratified_split_by_groups_reproduces_the_published_svd_rmse(mirror_dir: Path) -> None:
    """Surprise's SVD at the README's settings, fitted on the 2020 split's training frame in
    its order, gives the README's RMSE 0.938681 (to its 6 digits)."""
    surprise = pytest.importorskip("surprise")
    ratings = _read_u_data(_u_data(mirror_dir))
    split = S.stratified_split(ratings, ratio=0.75, by="item", seed=42, shuffle="groups")
    train = split.ordered_train.select(*PAIR, "rating").to_pandas()
    data = surprise.Dataset.load_from_df(train, surprise.Reader("ml-100k"))
    trainset = data.build_full_trainset()
    svd = surprise.SVD(n_factors=150, n_epochs=15, lr_all=0.005, reg_all=0.02, random_state=42)
    svd.fit(trainset)
    test = split.test
    predicted = np.array([svd.predict(u, i).est for u, i in test.select(PAIR).iter_rows()])
    rmse = float(np.sqrt(np.mean((predicted - test["rating"].to_numpy()) ** 2)))
    assert rmse == pytest.approx(0.938681, abs=5e-7)


def test_stratified_split_shuffles_each_group_by_the_same_permutation() -> None:
    rows = [(u, item, 3.0, u) for item in (10, 20) for u in range(4)]
    split = S.stratified_split(_frame(rows), ratio=0.5, seed=7, shuffle="groups")
    permutation = np.random.RandomState(7).permutation(4)  # both groups have 4 rows
    expected = {(int(u), item) for item in (10, 20) for u in permutation[:2]}
    assert _pairs(split.train) == expected
    with pytest.raises(ConfigError, match="shuffle"):
        S.stratified_split(_frame(rows), shuffle="cells")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- known answers


def test_stratified_split_rounds_half_to_even_per_group() -> None:
    sizes = {10: 4, 20: 2, 30: 1, 40: 6}  # item -> number of ratings
    rows = [(u, item, 3.0, u) for item, n in sizes.items() for u in range(n)]
    split = S.stratified_split(_frame(rows), ratio=0.75, seed=0)
    train_counts = dict(split.train.group_by("item_id").len().iter_rows())
    # round(3.0)=3, round(1.5)=2, round(0.75)=1, round(4.5)=4 (half to even, like NumPy)
    assert train_counts == {10: 3, 20: 2, 30: 1, 40: 4}


def test_random_holdout_counts_per_user() -> None:
    sizes = {1: 10, 2: 1, 3: 3, 4: 5}
    rows = [(u, i, 4.0, i) for u, n in sizes.items() for i in range(n)]
    split = S.random_holdout(_frame(rows), test_fraction=0.2, valid_fraction=0.2, seed=0)
    assert split.valid is not None
    test_counts = dict(split.test.group_by("user_id").len().iter_rows())
    valid_counts = dict(split.valid.group_by("user_id").len().iter_rows())
    # user 1: 2 + 2 of 10; user 2 keeps its only rating; user 3: rint(0.6)=1 test, 1 valid;
    # user 4: rint(1.0)=1 test, 1 valid
    assert test_counts == {1: 2, 3: 1, 4: 1}
    assert valid_counts == {1: 2, 3: 1, 4: 1}


def test_leave_last_n_breaks_timestamp_ties_by_item_id() -> None:
    rows = [
        (1, 5, 4.0, 10), (1, 6, 3.0, 20), (1, 8, 5.0, 30), (1, 7, 2.0, 30),
        (2, 1, 4.0, 50), (2, 2, 4.0, 40),
    ]  # fmt: skip
    split = S.leave_last_n(_frame(rows), n=1, valid_n=1)
    assert _pairs(split.test) == {(1, 8)}
    assert _pairs(split.valid) == {(1, 7)}
    assert _pairs(split.train) == {(1, 5), (1, 6), (2, 1), (2, 2)}  # user 2 has too few
    reversed_rows = S.leave_last_n(_frame(rows[::-1]), n=1, valid_n=1)
    assert _pairs(reversed_rows.test) == {(1, 8)}


def test_temporal_global_with_explicit_cut() -> None:
    rows = [(1, 1, 4.0, 100), (1, 2, 4.0, 200), (2, 1, 3.0, 200), (2, 3, 3.0, 300)]
    split = S.temporal_global(_frame(rows), cut_timestamp=200)
    assert _pairs(split.train) == {(1, 1)}
    assert _pairs(split.test) == {(1, 2), (2, 1), (2, 3)}
    by_fraction = S.temporal_global(_frame(rows), test_fraction=0.25)
    assert by_fraction.params["cut_timestamp"] == 300
    assert _pairs(by_fraction.test) == {(2, 3)}


def test_kfold_fold_sizes_follow_surprise() -> None:
    rows = [(u, 1, 3.0, u) for u in range(7)]
    folds = S.kfold(_frame(rows), k=3, seed=0)
    assert [fold.test.height for fold in folds] == [3, 2, 2]
    assert sorted(pl.concat([f.test for f in folds])["user_id"].to_list()) == list(range(7))


def test_cold_start_items_hold_out_whole_items(ml_small: Dataset) -> None:
    split = S.cold_start_items(ml_small.ratings, fraction=0.1, seed=0)
    cold = set(split.test["item_id"])
    assert not cold & set(split.train["item_id"])
    assert len(cold) == round(0.1 * ml_small.ratings["item_id"].n_unique())


def test_cold_start_users_keep_n_known_ratings_nested(ml_small: Dataset) -> None:
    splits = {n: S.cold_start_users(ml_small.ratings, n_known=n, seed=5) for n in (1, 3, 5)}
    cold = {n: set(s.test["user_id"]) for n, s in splits.items()}
    assert cold[1] == cold[3] == cold[5]
    assert len(cold[1]) == round(0.2 * ml_small.n_users)
    known = {}
    for n, split in splits.items():
        mine = split.train.filter(pl.col("user_id").is_in(list(cold[n])))
        assert set(mine.group_by("user_id").len()["len"]) == {n}
        known[n] = _pairs(mine)
    assert known[1] < known[3] < known[5]


# --------------------------------------------------------------------------- the checker


def _good_split() -> Split:
    rows = [(1, 1, 4.0, 10), (1, 2, 4.0, 20), (2, 1, 3.0, 30), (2, 2, 3.0, 40)]
    return S.leave_last_n(_frame(rows), n=1)


def test_check_split_rejects_a_pair_in_both_parts() -> None:
    good = _good_split()
    leaked = Split(good.train, pl.concat([good.test, good.train.head(1)]), protocol="x",
                   params={})  # fmt: skip
    with pytest.raises(DataError, match="leakage"):
        S.check_split(leaked)


def test_check_split_rejects_counts_that_do_not_add_up() -> None:
    good = _good_split()
    short = Split(good.train.head(1), good.test, protocol="x", params={"n_ratings": 4})
    with pytest.raises(DataError, match="expected 4"):
        S.check_split(short)


def test_check_split_rejects_test_before_train_for_a_user() -> None:
    good = _good_split()
    swapped = Split(good.test, good.train, protocol="x", params={"per_user_time_order": True})
    with pytest.raises(DataError, match="older than their earlier part"):
        S.check_split(swapped)


def test_check_split_rejects_ratings_on_the_wrong_side_of_the_cut() -> None:
    train = _frame([(1, 1, 4.0, 10)])
    with pytest.raises(DataError, match="older than the cut"):
        S.check_split(Split(train, _frame([(1, 2, 4.0, 12)]), params={"cut_timestamp": 15}))
    with pytest.raises(DataError, match="not before the cut"):
        S.check_split(Split(train, _frame([(1, 2, 4.0, 20)]), params={"cut_timestamp": 10}))


def test_check_split_rejects_shared_items_in_a_cold_item_split() -> None:
    train, test = _frame([(1, 1, 4.0, 10)]), _frame([(2, 1, 4.0, 10)])
    with pytest.raises(DataError, match="item_id"):
        S.check_split(Split(train, test, params={"disjoint_on": "item_id"}))


@pytest.mark.parametrize(
    "call",
    [
        lambda r: S.random_holdout(r, test_fraction=1.2),
        lambda r: S.random_holdout(r, test_fraction=0.6, valid_fraction=0.5),
        lambda r: S.stratified_split(r, by="movie"),
        lambda r: S.kfold(r, k=1),
        lambda r: S.kfold(r, by="item"),
        lambda r: S.leave_last_n(r, n=0),
        lambda r: S.temporal_global(r, test_fraction=None),
        lambda r: S.cold_start_users(r, n_known=10),
        lambda r: S.strong_generalization(r, n_test=0),
        lambda r: S.strong_generalization(r, n_test=2, n_valid=2, min_positives=1),
        lambda r: S.strong_generalization(r, n_test=1, n_valid=0, fold_in=1.0),
    ],
)
def test_bad_parameters_raise_config_error(call: Callable[[pl.DataFrame], Split]) -> None:
    with pytest.raises(ConfigError):
        call(_good_split().train)


def test_missing_column_raises_data_error() -> None:
    with pytest.raises(DataError, match="timestamp"):
        S.leave_last_n(_good_split().train.drop("timestamp"))


@pytest.mark.parametrize(("call", "message"), [
    (lambda r: S.stratified_split(r, ratio="0.75"), "stratified_split: parameter ratio: expected "
                                                    "float, got str '0.75'"),
    (lambda r: S.leave_last_n(r, n=2.5), "leave_last_n: parameter n: expected int, got float"),
    (lambda r: S.kfold(r, k=True), "kfold: parameter k: expected int, got bool"),
    (lambda r: S.strong_generalization(r, threshold=float("nan")),
     "parameter threshold: expected a finite float"),
    (lambda r: S.random_holdout(r, seed=None), "random_holdout: parameter seed: expected int"),
    (lambda r: S.cold_start_items(r, seed=-1), r"parameter seed: expected an int in \[0, "),
    (lambda r: S.stratified_split(r, ration=0.75), r"stratified_split: .*'ration'.*its "
                                                   r"parameters are \['ratio', 'by'"),
])
def test_a_careless_argument_is_refused_naming_it(
    call: Callable[[pl.DataFrame], Split], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):  # never a silent unseeded split
        call(_good_split().train)


def test_a_frame_of_the_wrong_kind_or_types_is_refused() -> None:
    train = _good_split().train
    with pytest.raises(ArgumentError, match=r"got pandas\.DataFrame \(polars\.from_pandas"):
        S.stratified_split(train.to_pandas())
    with pytest.raises(DataError, match=r"\{'rating': 'String'\} are not numeric"):
        S.strong_generalization(train.with_columns(pl.col("rating").cast(pl.Utf8)))
