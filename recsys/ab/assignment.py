"""Deterministic arm assignment: sha256(experiment id, salt, user id) -> bucket -> arm.

A user's bucket depends only on the experiment id, the salt and their own id, so the same
user always lands in the same arm and adding users never moves anybody. Changing the salt
re-shuffles everybody (use it to start a fresh experiment on the same population).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from recsys.arguments import check_numbers
from recsys.errors import ArgumentError, ConfigError

__all__ = ["N_BUCKETS", "bucket_of", "buckets", "arm_boundaries", "assign", "assign_frame"]

N_BUCKETS = 10_000


def bucket_of(experiment_id: str, salt: str, user_id: object) -> int:
    """The bucket in ``[0, N_BUCKETS)`` of one user: the first 8 bytes of sha256, mod N."""
    key = f"{experiment_id}:{salt}:{user_id}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % N_BUCKETS


def buckets(experiment_id: str, salt: str, user_ids: Iterable[object]) -> np.ndarray:
    """Buckets of many users (one hash per user; ids may be ints or strings)."""
    if isinstance(user_ids, str | bytes) or not isinstance(user_ids, Iterable):
        raise ArgumentError(f"user_ids must be a list or array of ids, got {user_ids!r}")
    return np.fromiter(
        (bucket_of(experiment_id, salt, u) for u in user_ids), dtype=np.int64
    )


def arm_boundaries(traffic: Sequence[float]) -> np.ndarray:
    """Cumulative bucket boundaries of a traffic split (fractions summing to 1)."""
    shares = check_numbers(traffic, "traffic", None)
    if shares.ndim != 1 or len(shares) < 2 or (shares <= 0).any():
        raise ConfigError(f"traffic must list at least two positive shares, got {list(traffic)}")
    if not np.isclose(shares.sum(), 1.0, atol=1e-9):
        raise ConfigError(f"traffic shares must sum to 1, got {shares.sum():.6f} ({list(traffic)})")
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
    """``[user_id, bucket, arm]`` for every user, arm given by name."""
    if len(arms) != len(traffic):
        raise ConfigError(f"{len(arms)} arms but {len(traffic)} traffic shares; expected one each")
    user_bucket = buckets(experiment_id, salt, user_ids)
    arm_index = _arm_of(user_bucket, traffic)
    return pl.DataFrame(
        {
            "user_id": list(user_ids),
            "bucket": user_bucket,
            "arm": np.asarray(arms, dtype=object)[arm_index].tolist(),
        }
    )
