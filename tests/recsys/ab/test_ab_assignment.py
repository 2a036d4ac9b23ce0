"""Assignment: deterministic, stable under adding users, proportions as designed."""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
import pytest
from scipy import stats

from recsys.ab.assignment import N_BUCKETS, arm_boundaries, assign, assign_frame, bucket_of
from recsys.errors import ArgumentError, ConfigError


def test_bucket_is_sha256_of_the_key_mod_10000() -> None:
    digest = hashlib.sha256(b"exp-1:salt:42").digest()
    assert bucket_of("exp-1", "salt", 42) == int.from_bytes(digest[:8], "big") % 10_000


def test_same_user_same_arm_and_adding_users_changes_nobody() -> None:
    first = assign("exp", "s", range(1000), [0.5, 0.5])
    again = assign("exp", "s", range(1000), [0.5, 0.5])
    grown = assign("exp", "s", range(3000), [0.5, 0.5])
    reordered = assign("exp", "s", list(reversed(range(1000))), [0.5, 0.5])
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, grown[:1000])
    np.testing.assert_array_equal(first, reordered[::-1])


def test_salt_and_experiment_reshuffle() -> None:
    base = assign("exp", "s", range(2000), [0.5, 0.5])
    assert 0.4 < (base != assign("exp", "other", range(2000), [0.5, 0.5])).mean() < 0.6
    assert 0.4 < (base != assign("exp2", "s", range(2000), [0.5, 0.5])).mean() < 0.6


@pytest.mark.parametrize("traffic", [[0.5, 0.5], [0.9, 0.1], [0.2, 0.3, 0.5]])
def test_split_proportions_pass_a_chi_square_test(traffic: list[float]) -> None:
    arms = assign("proportions", "x", range(20_000), traffic)
    counts = np.bincount(arms, minlength=len(traffic))
    expected = np.asarray(traffic) * len(arms)
    assert stats.chisquare(counts, expected).pvalue > 0.001


def test_chi_square_check_detects_a_two_point_skew() -> None:
    counts = np.bincount(assign("proportions", "x", range(20_000), [0.5, 0.5]))
    assert stats.chisquare(counts, [0.52 * 20_000, 0.48 * 20_000]).pvalue < 0.001


def test_boundaries_cover_all_buckets() -> None:
    np.testing.assert_array_equal(arm_boundaries([0.2, 0.3, 0.5]), [2000, 5000, N_BUCKETS])


@pytest.mark.parametrize("traffic", [[1.0], [0.6, 0.6], [0.5, 0.0, 0.5], [-0.5, 1.5]])
def test_bad_traffic_fails_loudly(traffic: list[float]) -> None:
    with pytest.raises(ConfigError):
        arm_boundaries(traffic)


def test_assign_frame_names_arms_and_accepts_string_ids() -> None:
    personas = ["persona-a", "persona-b", "persona-c"]
    frame = assign_frame("exp", "s", personas, ["A", "B"], [0.5, 0.5])
    assert frame.columns == ["user_id", "bucket", "arm"]
    assert set(frame["arm"]) <= {"A", "B"}
    assert frame["bucket"].to_list() == [bucket_of("exp", "s", u) for u in frame["user_id"]]
    with pytest.raises(ConfigError, match="2 arms but 3"):
        assign_frame("exp", "s", [1], ["A", "B"], [0.2, 0.3, 0.5])


def test_careless_traffic_and_ids_are_named() -> None:
    with pytest.raises(ArgumentError, match="traffic must be finite"):
        assign("e", "s", [1, 2], [float("nan"), 1.0])
    with pytest.raises(ArgumentError, match="traffic must be numbers, got text"):
        assign("e", "s", [1, 2], ["a", "b"])
    with pytest.raises(ArgumentError, match="user_ids must be a list or array of ids"):
        assign("e", "s", None, [0.5, 0.5])


@pytest.mark.parametrize(("call", "message"), [
    # None, 1.5, True and [1, 2] were hashed as their printed forms; a frame by its columns
    (lambda: assign("e", "s", [1, None], [0.5, 0.5]), "user_ids must be integers or strings"),
    (lambda: assign("e", "s", [1.5], [0.5, 0.5]), "user_ids must be integers or strings"),
    (lambda: assign("e", "s", [True], [0.5, 0.5]), "user_ids must be integers or strings"),
    (lambda: assign("e", "s", [[1, 2]], [0.5, 0.5]), "user_ids must be integers or strings"),
    (lambda: assign("e", "s", pl.DataFrame({"u": [1, 2]}), [0.5, 0.5]), "user_ids must be a list"),
    (lambda: assign(None, "s", [1], [0.5, 0.5]), "experiment_id must be a string"),
    (lambda: assign("e", 2026, [1], [0.5, 0.5]), "salt must be a string"),
    (lambda: assign("e", "s", [1], 0.5), "traffic must be 1-D"),  # a TypeError
    (lambda: assign_frame("e", "s", [1], None, [0.5, 0.5]), "arms must be a list"),
    (lambda: assign_frame("e", "s", [1], "AB", [0.5, 0.5]), "arms must be a list"),
    (lambda: assign_frame("e", "s", [1], ["A", "A"], [0.5, 0.5]), "distinct"),
    (lambda: assign_frame("e", "s", [1], ["A", "B"], None), "traffic must be numbers"),
])
def test_careless_assignment_calls_are_named(call, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        call()


def test_assign_frame_takes_any_iterable_of_ids() -> None:
    # a generator used to be consumed by the hashing, leaving no ids for the frame
    frame = assign_frame("exp", "s", (u for u in [1, 2, 3]), ["A", "B"], [0.5, 0.5])
    assert frame["user_id"].to_list() == [1, 2, 3]
    assert frame["arm"].to_list() == [["A", "B"][i] for i in assign("exp", "s", [1, 2, 3],
                                                                       [0.5, 0.5])]
