"""Team-draft interleaving (Radlinski, Kurup & Joachims 2008) of two rankers, offline.

Every user sees one list merged from both rankings: the team with fewer picks so far (a coin
flip on ties) adds its highest-ranked item not already shown. A click on an item credits the
team that contributed it; the user prefers the team with more credited clicks. Because each
user compares both rankers at once, between-user variance cancels, and far fewer users are
needed than in a split test. Vectorised over users: the loops run over the k positions only.
Frames are checked at the boundary (columns, integer ids, ranks from 1 and distinct per user,
two distinct team names, the teams a credit is asked for being those of the merged list), so
that a careless call is an error naming the argument, never a tie for every user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from recsys.arguments import (
    check_count,
    check_cutoff,
    check_ids,
    check_number,
    check_numbers,
    unique_in_order,
)
from recsys.data.types import require_columns
from recsys.errors import ArgumentError

__all__ = [
    "InterleavingResult",
    "team_draft",
    "interleaving_credit",
    "sign_test",
    "sign_test_pvalues",
    "interleaving_test",
]

_EMPTY = -1
INTERLEAVED_SCHEMA = {
    "user_id": pl.Int64(),
    "item_id": pl.Int64(),
    "rank": pl.Int32(),
    "team": pl.String(),
}


@dataclass(frozen=True)
class InterleavingResult:
    """Per-user preferences summed up, with a two-sided sign (binomial) test."""

    control: str
    treatment: str
    n_users: int
    wins_control: int
    wins_treatment: int
    ties: int
    p_value: float
    alpha: float

    @property
    def delta(self) -> float:
        """(wins of treatment - wins of control) / users, in [-1, 1] (Chapelle et al.)."""
        return (self.wins_treatment - self.wins_control) / max(self.n_users, 1)

    @property
    def win_share(self) -> float:
        """Treatment's share of the users who preferred one side."""
        decided = self.wins_treatment + self.wins_control
        return self.wins_treatment / decided if decided else 0.5

    @property
    def significant(self) -> bool:
        """True when the sign test's p-value is below alpha."""
        return self.p_value < self.alpha

    def summary(self) -> str:
        """One plain sentence."""
        leader = self.treatment if self.wins_treatment >= self.wins_control else self.control
        p = "p < 0.001" if self.p_value < 0.001 else f"p = {self.p_value:.3f}"
        verdict = f"{leader} preferred" if self.significant else "no significant preference"
        return (f"Interleaving over {self.n_users:,} users: {verdict} — {self.treatment} wins "
                f"{self.wins_treatment:,}, {self.control} wins {self.wins_control:,}, "
                f"{self.ties:,} ties (delta {self.delta:+.3f}, sign test {p}).")


def _teams(teams: Any) -> tuple[str, str]:
    """``teams`` when it is two distinct non-empty names, else ArgumentError naming it."""
    if isinstance(teams, str) or not isinstance(teams, Sequence) or len(teams) != 2 or not all(
            isinstance(t, str) and t for t in teams) or teams[0] == teams[1]:
        raise ArgumentError(f"teams must be two distinct non-empty names, got {teams!r}")
    return teams[0], teams[1]


def _check_ranked(recs: Any, name: str) -> None:
    """A ``[user_id, item_id, rank]`` frame of integer ids (items >= 0: -1 marks an empty
    slot) and ranks from 1, one item per user and rank; else an error naming ``name``."""
    require_columns(recs, ("user_id", "item_id", "rank"), name)
    user, item, rank = (check_ids(recs[c], f"{name} {c}") for c in ("user_id", "item_id", "rank"))
    if (item < 0).any() or (rank < 1).any():
        raise ArgumentError(f"{name} needs item ids >= 0 and ranks from 1, got items down to "
                            f"{item.min()} and ranks down to {rank.min()}")
    if len(np.unique(np.stack([user, rank]), axis=1)[0]) != len(rank):
        raise ArgumentError(f"{name} holds two items at one rank of one user: expected one "
                            "item per (user_id, rank)")


def _dense(recs: pl.DataFrame, users: np.ndarray, k: int) -> np.ndarray:
    """Users × k matrix of item ids by rank, padded with -1."""
    top = recs.filter(pl.col("rank") <= k)
    rows = np.searchsorted(users, top["user_id"].to_numpy())
    known = (rows < len(users)) & (users[np.minimum(rows, len(users) - 1)]
                                   == top["user_id"].to_numpy())
    dense = np.full((len(users), k), _EMPTY, dtype=np.int64)
    dense[rows[known], top["rank"].to_numpy()[known] - 1] = top["item_id"].to_numpy()[known]
    return dense


def _advance(lists: np.ndarray, pointer: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Move each user's pointer past items already in the interleaved list."""
    rows = np.arange(len(lists))
    for _ in range(lists.shape[1]):
        current = lists[rows, np.minimum(pointer, lists.shape[1] - 1)]
        taken = (pointer < lists.shape[1]) & (current != _EMPTY) & (
            chosen == current[:, None]).any(axis=1)
        if not taken.any():
            break
        pointer = pointer + taken
    return pointer


def team_draft(
    recs_a: pl.DataFrame, recs_b: pl.DataFrame, k: int = 10, seed: int = 0,
    teams: tuple[str, str] = ("A", "B"),
) -> pl.DataFrame:
    """Interleave two ``[user_id, item_id, rank]`` frames: ``[user_id, item_id, rank, team]``."""
    k, seed, teams = check_cutoff(k, "k"), check_count(seed, "seed"), _teams(teams)
    _check_ranked(recs_a, "recs_a")
    _check_ranked(recs_b, "recs_b")
    users = np.union1d(recs_a["user_id"].to_numpy(), recs_b["user_id"].to_numpy()).astype(np.int64)
    lists = (_dense(recs_a, users, k), _dense(recs_b, users, k))
    coins = np.random.default_rng(seed).random((len(users), k)) < 0.5
    chosen = np.full((len(users), k), _EMPTY, dtype=np.int64)
    team = np.full((len(users), k), _EMPTY, dtype=np.int64)
    pointers, counts = [np.zeros(len(users), np.int64) for _ in range(2)], np.zeros((2, len(users)))
    rows = np.arange(len(users))
    for step in range(k):
        pointers = [_advance(lists[t], pointers[t], chosen) for t in range(2)]
        nxt = [lists[t][rows, np.minimum(pointers[t], k - 1)] for t in range(2)]
        avail = [(pointers[t] < k) & (nxt[t] != _EMPTY) for t in range(2)]
        a_turn = (counts[0] < counts[1]) | ((counts[0] == counts[1]) & coins[:, step])
        pick_a = avail[0] & (a_turn | ~avail[1])
        pick_b = avail[1] & ~pick_a
        chosen[:, step] = np.where(pick_a, nxt[0], np.where(pick_b, nxt[1], _EMPTY))
        team[:, step] = np.where(pick_a, 0, np.where(pick_b, 1, _EMPTY))
        for t, picked in enumerate((pick_a, pick_b)):
            counts[t] += picked
            pointers[t] = pointers[t] + picked
    keep = chosen.ravel() != _EMPTY
    return pl.DataFrame(
        {
            "user_id": np.repeat(users, k)[keep],
            "item_id": chosen.ravel()[keep],
            "rank": np.tile(np.arange(1, k + 1), len(users))[keep],
            "team": np.asarray(teams, dtype=object)[team.ravel()[keep]].tolist(),
        },
        schema=INTERLEAVED_SCHEMA,
    )


def interleaving_credit(
    interleaved: pl.DataFrame, truth: pl.DataFrame, teams: tuple[str, str] = ("A", "B"),
    users: Any = None,
) -> pl.DataFrame:
    """Clicks (items in ``truth``) credited per team.

    Returns ``[user_id, clicks_<A>, clicks_<B>, preference]``, one row per user.

    ``preference`` is +1 when the second team got more clicks, -1 when the first did, else 0.
    ``users`` (default: users of ``interleaved``) fixes who is counted, with 0 clicks if absent
    (each once). ``teams`` must be the teams of ``interleaved``.
    """
    teams = _teams(teams)
    require_columns(interleaved, ("user_id", "item_id", "team"), "interleaved", text=("team",))
    require_columns(truth, ("user_id", "item_id"), "truth")
    others = sorted(set(interleaved["team"].unique().to_list()) - set(teams))
    if others:
        raise ArgumentError(f"interleaved holds team(s) {others} but teams are {list(teams)}: "
                            "pass the teams given to team_draft")
    clicks = interleaved.join(truth.select("user_id", "item_id").unique(),
                              on=["user_id", "item_id"], how="semi")
    counts = clicks.group_by("user_id").agg(
        [(pl.col("team") == t).sum().cast(pl.Int64).alias(f"clicks_{t}") for t in teams]
    )
    ids = interleaved["user_id"].unique() if users is None else pl.Series(
        "user_id", unique_in_order(check_ids(users, "users")))
    a, b = (f"clicks_{t}" for t in teams)
    return (
        pl.DataFrame({"user_id": ids.cast(pl.Int64)}).sort("user_id")
        .join(counts, on="user_id", how="left")
        .with_columns(pl.col(a, b).fill_null(0))
        .with_columns((pl.col(b) - pl.col(a)).sign().cast(pl.Int8).alias("preference"))
    )


def sign_test_pvalues(wins_b: Any, decided: Any) -> np.ndarray:
    """Exact two-sided sign test p-values, element-wise (``decided`` = users with a preference);
    counts of one shape with ``0 <= wins_b <= decided``."""
    wins_b, decided = check_numbers(wins_b, "wins_b", None), check_numbers(decided, "decided", None)
    if wins_b.shape != decided.shape or ((wins_b < 0) | (wins_b > decided)).any() or (
            wins_b % 1).any() or (decided % 1).any():
        raise ArgumentError(f"wins_b and decided must be whole counts of one shape with 0 <= "
                            f"wins_b <= decided, got shapes {wins_b.shape} and {decided.shape}")
    low = stats.binom.cdf(np.minimum(wins_b, decided - wins_b), decided, 0.5)
    return np.where(decided > 0, np.minimum(1.0, 2 * low), 1.0)


def sign_test(preference: Any) -> float:
    """Two-sided sign test of per-user preferences in {-1, 0, +1} (ties dropped); other
    values are an ArgumentError."""
    preference = check_numbers(preference, "preference")
    if not np.isin(preference, (-1, 0, 1)).all():
        raise ArgumentError(f"preference values must be -1, 0 or +1, got "
                            f"{np.unique(preference[~np.isin(preference, (-1, 0, 1))])[:5]}")
    return float(sign_test_pvalues((preference > 0).sum(), (preference != 0).sum()))


def interleaving_test(
    credit: pl.DataFrame, alpha: float = 0.05, teams: tuple[str, str] = ("A", "B")
) -> InterleavingResult:
    """Sign test over the users' preferences from :func:`interleaving_credit`."""
    alpha, (control, treatment) = check_number(alpha, "alpha", 0.0, 1.0), _teams(teams)
    preference = require_columns(credit, ("preference",), "credit")["preference"].to_numpy()
    return InterleavingResult(
        control=control, treatment=treatment, n_users=len(preference),
        wins_control=int((preference < 0).sum()), wins_treatment=int((preference > 0).sum()),
        ties=int((preference == 0).sum()), p_value=sign_test(preference), alpha=alpha,
    )
