"""Deterministic arm assignment: sha256(experiment id, salt, user id) -> bucket -> arm.

A user's bucket depends only on the experiment id, the salt and their own id, so the same
user always lands in the same arm and adding users never moves anybody. Changing the salt
re-shuffles everybody (use it to start a fresh experiment on the same population). The
experiment id and the salt are strings; user ids are integers or strings (``1`` and ``"1"``
are the same user); anything else (None, floats, bools, nested lists, a whole frame) is an
ArgumentError rather than a bucket of its printed form.
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from recsys.arguments import check_numbers, check_text
from recsys.errors import ArgumentError, ConfigError

__all__ = ["N_BUCKETS", "bucket_of", "buckets", "arm_boundaries", "assign", "assign_frame"]

N_BUCKETS = 10_000
NAME_CHARS = 128  # the event store's column width for experiment ids


def bucket_of(experiment_id: str, salt: str, user_id: object) -> int:
    """The bucket in ``[0, N_BUCKETS)`` of one user: the first 8 bytes of sha256, mod N."""
    key = f"{experiment_id}:{salt}:{user_id}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % N_BUCKETS


def buckets(experiment_id: str, salt: str, user_ids: Iterable[object]) -> np.ndarray:
    """Buckets of many users (one hash per user; ids may be ints or strings)."""
    return _buckets(experiment_id, salt, _user_list(user_ids))


def _buckets(experiment_id: str, salt: str, users: list[object]) -> np.ndarray:
    check_text(experiment_id, "experiment_id", NAME_CHARS)
    check_text(salt, "salt", NAME_CHARS)
    return np.fromiter((bucket_of(experiment_id, salt, u) for u in users), dtype=np.int64,
                       count=len(users))


def _user_list(user_ids: Iterable[object]) -> list[object]:
    """``user_ids`` as a list of int or str ids, else ArgumentError naming ``user_ids``."""
    if isinstance(user_ids, str | bytes | pl.DataFrame) or not isinstance(user_ids, Iterable):
        raise ArgumentError(f"user_ids must be a list or array of ids, got {user_ids!r}")
    users = list(user_ids)
    bad = [u for u in users if isinstance(u, bool | np.bool_)
           or not isinstance(u, numbers.Integral | str)]
    if bad:
        raise ArgumentError(f"user_ids must be integers or strings, got {bad[:5]!r}")
    return users


def arm_boundaries(traffic: Sequence[float]) -> np.ndarray:
    """Cumulative bucket boundaries of a traffic split (fractions summing to 1)."""
    shares = check_numbers(traffic, "traffic")
    if len(shares) < 2 or (shares <= 0).any():
        raise ConfigError(f"traffic must list at least two positive shares, got {shares.tolist()}")
    if not np.isclose(shares.sum(), 1.0, atol=1e-9):
        raise ConfigError(f"traffic shares must sum to 1, got {shares.sum():.6f} "
                          f"({shares.tolist()})")
    bounds = np.rint(np.cumsum(shares) * N_BUCKETS).astype(np.int64)
    bounds[-1] = N_BUCKETS
    return bounds


def assign(
    experiment_id: str, salt: str, user_ids: Iterable[object], traffic: Sequence[float]
) -> np.ndarray:
    """Arm index of each user under ``traffic`` (arm i owns buckets [bound[i-1], bound[i]))."""
    return _arm_of(buckets(experiment_id, salt, user_ids), traffic)


def _arm_of(user_buckets: np.ndarray, traffic: Sequence[float]) -> np.ndarray:
    return np.searchsorted(arm_boundaries(traffic), user_buckets, side="right")


def assign_frame(
    experiment_id: str,
    salt: str,
    user_ids: Sequence[object],
    arms: Sequence[str],
    traffic: Sequence[float],
) -> pl.DataFrame:
    """``[user_id, bucket, arm]`` for every user, arm given by name (distinct strings, one
    per traffic share)."""
    names = _arm_names(arms)
    shares = check_numbers(traffic, "traffic")
    if len(names) != len(shares):
        raise ConfigError(f"{len(names)} arms but {len(shares)} traffic shares; expected one each")
    users = _user_list(user_ids)
    user_bucket = _buckets(experiment_id, salt, users)
    arm_index = _arm_of(user_bucket, shares)
    return pl.DataFrame(
        {
            "user_id": users,
            "bucket": user_bucket,
            "arm": np.asarray(names, dtype=object)[arm_index].tolist(),
        }
    )


def _arm_names(arms: Sequence[str]) -> list[str]:
    """``arms`` as a list of distinct non-empty strings, else ArgumentError naming ``arms``."""
    if isinstance(arms, str) or not isinstance(arms, Sequence) or not all(
            isinstance(a, str) and a for a in arms) or len(set(arms)) != len(arms):
        raise ArgumentError(f"arms must be a list of distinct non-empty arm names, got {arms!r}")
    return list(arms)
