"""Team-draft interleaving: hand-checked merges, credit, the sign test, an oracle ranker wins."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recsys.ab.interleaving import (
    interleaving_credit,
    interleaving_test,
    sign_test,
    sign_test_pvalues,
    team_draft,
)
from recsys.errors import ArgumentError, DataError


def _recs(lists: dict[int, list[int]]) -> pl.DataFrame:
    rows = [(u, item, r) for u, items in lists.items() for r, item in enumerate(items, start=1)]
    return pl.DataFrame(rows, schema=["user_id", "item_id", "rank"], orient="row")


def test_disjoint_lists_alternate_teams() -> None:
    merged = team_draft(_recs({1: [10, 11, 12]}), _recs({1: [20, 21, 22]}), k=4, seed=0)
    teams = merged["team"].to_list()
    assert merged["rank"].to_list() == [1, 2, 3, 4]
    # each round both teams pick once, in coin-flip order: pairs are {A, B}
    assert sorted(teams[:2]) == ["A", "B"] and sorted(teams[2:]) == ["A", "B"]
    by_team = {t: merged.filter(pl.col("team") == t)["item_id"].to_list() for t in "AB"}
    assert by_team == {"A": [10, 11], "B": [20, 21]}  # each team in its own rank order


def test_shared_items_are_skipped_not_shown_twice() -> None:
    # A = [1, 2, 3, 4], B = [2, 1, 5, 6]: whoever picks first takes its top; the other team
    # skips it. Over seeds both orders occur and the list never repeats an item.
    orders = set()
    for seed in range(20):
        merged = team_draft(_recs({7: [1, 2, 3, 4]}), _recs({7: [2, 1, 5, 6]}), k=4, seed=seed)
        items = merged["item_id"].to_list()
        assert len(set(items)) == 4
        orders.add(tuple(items))
    assert (1, 2, 3, 5) in orders and (2, 1, 3, 5) in orders


def test_short_lists_are_filled_by_the_other_team() -> None:
    merged = team_draft(_recs({1: [10]}), _recs({1: [20, 21, 22]}), k=4, seed=1)
    assert sorted(merged["item_id"].to_list()) == [10, 20, 21, 22]


def test_credit_and_preference() -> None:
    merged = pl.DataFrame({"user_id": [1, 1, 2, 2, 3, 3], "item_id": [10, 20, 10, 20, 10, 20],
                           "rank": [1, 2] * 3, "team": ["A", "B"] * 3})
    truth = pl.DataFrame({"user_id": [1, 2, 2], "item_id": [20, 10, 20]})
    credit = interleaving_credit(merged, truth, users=[1, 2, 3, 4])
    assert credit.rows() == [(1, 0, 1, 1), (2, 1, 1, 0), (3, 0, 0, 0), (4, 0, 0, 0)]
    result = interleaving_test(credit)
    assert (result.wins_treatment, result.wins_control, result.ties) == (1, 0, 3)
    assert result.delta == pytest.approx(0.25)


def test_sign_test_known_answer() -> None:
    # 9 wins of 10: P(X <= 1) = 11/1024; two-sided p = 22/1024 = 0.021484
    assert sign_test([1] * 9 + [-1] + [0] * 5) == pytest.approx(22 / 1024)
    np.testing.assert_allclose(sign_test_pvalues([5, 0], [10, 0]), [1.0, 1.0])


def test_oracle_ranker_wins_and_identical_rankers_tie() -> None:
    rng = np.random.default_rng(0)
    users = range(200)
    truth_items = {u: rng.choice(1000, 3, replace=False).tolist() for u in users}
    noise = {u: rng.choice(1000, 10, replace=False).tolist() for u in users}
    oracle = {u: truth_items[u] + noise[u][:7] for u in users}
    truth = pl.DataFrame([(u, i) for u in users for i in truth_items[u]],
                         schema=["user_id", "item_id"], orient="row")
    strong = interleaving_test(interleaving_credit(
        team_draft(_recs(noise), _recs(oracle), k=10, seed=0), truth))
    assert strong.wins_treatment > 150 and strong.significant
    same = interleaving_test(interleaving_credit(
        team_draft(_recs(oracle), _recs(oracle), k=10, seed=0), truth))
    assert not same.significant


@pytest.mark.parametrize(("preference", "message"), [
    ([2, 3, -1], "must be -1, 0 or \\+1"),  # 2 and 3 used to count as wins
    ([float("nan"), 1], "must be finite"),  # NaN used to count as a decided loss
    (["a"], "must be numbers, got text"),
])
def test_preferences_other_than_signs_are_refused(preference: list, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        sign_test(preference)


A_RECS = _recs({1: [10, 11, 12], 2: [5, 6]})
B_RECS = _recs({1: [20, 21, 22], 2: [6, 7]})


@pytest.mark.parametrize(("call", "message"), [
    # each was a TypeError/ValueError/IndexError from NumPy, or (rank 0) an item written into
    # the last slot of the user's list
    (lambda: team_draft(A_RECS, B_RECS, k="3"), "k must be a positive integer"),
    (lambda: team_draft(A_RECS, B_RECS, k=2.5), "k must be a positive integer"),
    (lambda: team_draft(A_RECS, B_RECS, seed=-1), "seed must be an integer >= 0"),
    (lambda: team_draft(A_RECS, B_RECS, teams=("A",)), "teams must be two distinct"),
    (lambda: team_draft(None, B_RECS), "recs_a must be a polars DataFrame"),
    (lambda: team_draft(A_RECS.with_columns(pl.col("rank") - 1), B_RECS), "ranks from 1"),
    (lambda: team_draft(A_RECS.with_columns(pl.col("rank") * 0.5), B_RECS),
     "recs_a rank must be integer ids"),
    (lambda: team_draft(A_RECS, pl.concat([B_RECS, B_RECS])), "two items at one rank"),
])
def test_careless_team_draft_calls_are_named(call, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        call()


def test_team_draft_names_missing_columns() -> None:
    with pytest.raises(DataError, match=r"recs_b frame lacks column\(s\) \['rank'\]"):
        team_draft(A_RECS, B_RECS.drop("rank"))


MERGED = team_draft(A_RECS, B_RECS, k=3)
TRUTH = pl.DataFrame({"user_id": [1, 2], "item_id": [20, 7]})


@pytest.mark.parametrize(("call", "message"), [
    # other teams than the merged list's made every user a tie; ('A', 'A') a DuplicateError
    (lambda: interleaving_credit(MERGED, TRUTH, teams=("ease", "als")), "pass the teams given"),
    (lambda: interleaving_credit(MERGED, TRUTH, teams=("A", "A")), "teams must be two distinct"),
    (lambda: interleaving_credit(MERGED, TRUTH, users=["a"]), "users must be integer ids"),
    (lambda: interleaving_credit(MERGED, TRUTH, users=[1.5]), "users must be integer ids"),
    (lambda: interleaving_test(interleaving_credit(MERGED, TRUTH), alpha=1.5),
     r"alpha must be in \(0, 1\)"),  # every result was significant
    (lambda: interleaving_test(interleaving_credit(MERGED, TRUTH), alpha=float("nan")),
     "alpha must be a finite number"),  # no result was significant
    (lambda: sign_test_pvalues([11], [10]), "0 <= wins_b <= decided"),  # p was 0
    (lambda: sign_test_pvalues(["a"], [10]), "wins_b must be numbers"),
])
def test_careless_credit_and_tests_are_named(call, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        call()


def test_repeated_users_are_counted_once() -> None:
    credit = interleaving_credit(MERGED, TRUTH, users=[1, 1, 2])  # user 1 used to count twice
    assert credit["user_id"].to_list() == [1, 2]
    assert interleaving_test(credit).n_users == 2
