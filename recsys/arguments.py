"""Checks of the arguments of the public verbs, in one place.

The model API (``recommend``, ``recommend_for_history``, ``predict``, ``similar_items``,
``explain``), the metrics and the service call these, so that a careless call gets the same
clear :class:`~recsys.errors.ArgumentError` everywhere, naming the argument and what was
expected, instead of a NumPy traceback or a silently wrong answer. The rules:

* a cut-off (``k``, ``top``) is an ``int`` or NumPy integer, at least 1 (not a bool, a float
  or a string) and, where a caller bounds it, at most that bound;
* a search text is a string of at most the caller's number of characters; a list of names
  (models, labels) is a list or tuple of strings, not one string;
* a path is a ``str`` or ``os.PathLike`` (``None``, numbers and lists are refused);
* ids are integers: an ``int``, a NumPy integer, or a 1-D list, array or Series of integers
  (floats such as ``1.5``, strings, bools, ``None`` and nested lists are refused); a
  repeated id in one request is answered once, in the order of first appearance;
* paired arguments (``predict(user_ids, item_ids)``) have equal lengths;
* a history is a polars frame ``[item_id, rating]`` of integer ids and finite ratings
  within the rating scale; a movie rated twice in it keeps its last rating;
* a block of histories (``recommend_for_rows``) is a SciPy sparse matrix or a 2-D NumPy
  array of the expected shape whose values are finite and not negative;
* a number (an A/B test's alpha, a sample size's inputs) is a finite real, not a bool; a
  count is an integer >= 0; a sequence of numbers (per-user values, per-look statistics) is
  an array of finite reals, not text.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.errors import ArgumentError

__all__ = [
    "check_cutoff",
    "check_flag",
    "check_history",
    "check_id",
    "check_count",
    "check_ids",
    "check_names",
    "check_number",
    "check_numbers",
    "check_pairs",
    "check_path",
    "check_rows",
    "check_text",
    "unique_in_order",
]

_SHOWN = 5  # offending values quoted in a message


def check_cutoff(value: Any, name: str = "k", maximum: int | None = None) -> int:
    """``value`` as an int when it is an integer >= 1 (and <= ``maximum`` when given), else
    ArgumentError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentError(
            f"{name} must be a positive integer (int or numpy integer), got {value!r} "
            f"({type(value).__name__})"
        )
    if value < 1:
        raise ArgumentError(f"{name} must be a positive integer, got {value}")
    if maximum is not None and value > maximum:
        raise ArgumentError(f"{name} must be between 1 and {maximum}, got {value}")
    return int(value)


def check_number(value: Any, name: str, low: float | None = None,
                 high: float | None = None) -> float:
    """``value`` as a float when it is a finite real number (not a bool) strictly between
    ``low`` and ``high`` where given, else ArgumentError naming ``name``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real) or not (
            np.isfinite(value)):
        raise ArgumentError(f"{name} must be a finite number, got {value!r}")
    if (low is not None and not value > low) or (high is not None and not value < high):
        bounds = f"({'-inf' if low is None else f'{low:g}'}, " \
                 f"{'inf' if high is None else f'{high:g}'})"
        raise ArgumentError(f"{name} must be in {bounds}, got {value!r}")
    return float(value)


def check_count(value: Any, name: str) -> int:
    """``value`` as an int when it is an integer >= 0 (int or NumPy integer, not a bool)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral) or (
            value < 0):
        raise ArgumentError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def check_numbers(values: Any, name: str, ndim: int | None = 1) -> np.ndarray:
    """``values`` as a float64 array of finite reals (``ndim`` dimensions when given; a
    polars Series is read as its values), else ArgumentError naming ``name``."""
    if isinstance(values, pl.Series):
        values = values.to_numpy()
    if values is None or isinstance(values, str | bytes):
        raise ArgumentError(f"{name} must be numbers, got {values!r}")
    try:
        array = np.asarray(values)
        kind_ok = array.dtype.kind in "iuf"
        array = array.astype(np.float64) if kind_ok else array
    except (TypeError, ValueError) as error:  # ragged lists
        raise ArgumentError(f"{name} must be an array of numbers, got {values!r}") from error
    if not kind_ok:
        kind = {"U": "text", "S": "bytes", "O": "objects", "b": "booleans"}.get(
            array.dtype.kind, str(array.dtype))
        raise ArgumentError(f"{name} must be numbers, got {kind}")
    if ndim is not None and array.ndim != ndim:
        raise ArgumentError(f"{name} must be {ndim}-D, got shape {array.shape}")
    bad = array[~np.isfinite(array)]
    if bad.size:
        raise ArgumentError(f"{name} must be finite, got {bad.ravel()[:_SHOWN].tolist()}")
    return array


def check_text(value: Any, name: str, max_chars: int) -> str:
    """A string of at most ``max_chars`` characters, else ArgumentError naming ``name``."""
    if not isinstance(value, str):
        raise ArgumentError(f"{name} must be a string, got {type(value).__name__}")
    if len(value) > max_chars:
        raise ArgumentError(f"{name} is {len(value)} characters long; at most {max_chars} "
                            "are allowed")
    return value


def check_names(values: Any, name: str) -> list[str]:
    """``values`` as a list when it is a list or tuple of strings (a lone string is refused:
    it would read as its characters), else ArgumentError naming ``name``."""
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise ArgumentError(f"{name} must be a list of names (strings), got {values!r}")
    return list(values)


def check_path(value: Any, name: str, what: str = "a path") -> Path:
    """``value`` as a Path when it is a ``str`` or ``os.PathLike``, else ArgumentError saying
    that ``name`` must be ``what``."""
    if not isinstance(value, str | os.PathLike):
        raise ArgumentError(f"{name} must be {what} (str or pathlib.Path), got "
                            f"{type(value).__name__} {value!r}")
    return Path(value)


def check_flag(value: Any, name: str) -> bool:
    """``value`` when it is a bool (or NumPy bool), else ArgumentError naming ``name``."""
    if not isinstance(value, bool | np.bool_):
        raise ArgumentError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_ids(values: Any, name: str) -> np.ndarray:
    """Integer ids as a 1-D int64 array (a scalar becomes one id); ArgumentError otherwise."""
    if isinstance(values, pl.Series):
        values = values.to_numpy()
    elif isinstance(values, str | bytes) or values is None:
        raise _not_ids(values, name)
    try:
        array = np.asarray(values)
    except (ValueError, OverflowError) as error:  # ragged or too large for int64
        raise _not_ids(values, name) from error
    if array.ndim > 1:
        raise ArgumentError(f"{name} must be a flat list of ids, got shape {array.shape}")
    array = np.atleast_1d(array)
    if not array.size:  # an empty list reads as float64: it is still a list of no ids
        return np.empty(0, dtype=np.int64)
    if array.dtype == object:
        array = _integral_objects(array, values, name)
    if array.dtype.kind not in "iu":
        raise _not_ids(values, name)
    return array.astype(np.int64)


def _integral_objects(array: np.ndarray, values: Any, name: str) -> np.ndarray:
    """An object array (mixed Python and NumPy ints) whose every element is an integer."""
    bad = [v for v in array if isinstance(v, bool) or not isinstance(v, numbers.Integral)]
    if bad:
        raise _not_ids(values, name)
    try:
        return array.astype(np.int64)
    except OverflowError as error:
        raise ArgumentError(f"{name} holds ids beyond the 64-bit range") from error


def _not_ids(values: Any, name: str) -> ArgumentError:
    shown = values
    if isinstance(values, Sequence | np.ndarray) and not isinstance(values, str | bytes):
        shown = list(values[:_SHOWN])
    return ArgumentError(
        f"{name} must be integer ids (an int, or a list/array of ints), got {shown!r}"
    )


def check_id(value: Any, name: str) -> int:
    """One integer id, else ArgumentError naming ``name``."""
    ids = check_ids(value, name)
    if ids.shape != (1,) or np.ndim(value) != 0:
        raise ArgumentError(f"{name} must be one integer id, got {value!r}")
    return int(ids[0])


def unique_in_order(ids: np.ndarray) -> np.ndarray:
    """``ids`` without repeats, in the order of their first appearance."""
    _, first = np.unique(ids, return_index=True)
    return ids[np.sort(first)]


def check_pairs(first: Any, second: Any, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Two id arguments of equal length (e.g. ``predict(user_ids, item_ids)``)."""
    a, b = check_ids(first, names[0]), check_ids(second, names[1])
    if len(a) != len(b):
        raise ArgumentError(
            f"{names[0]} and {names[1]} must have the same length (one pair per position), "
            f"got {len(a)} and {len(b)}"
        )
    return a, b


def check_rows(rows: Any, shape: tuple[int, int], name: str = "rows") -> sp.csr_matrix:
    """A block of histories as a CSR matrix: sparse or a 2-D array, ``shape`` (users × the
    model's items), finite values that are not negative."""
    if not (sp.issparse(rows) or isinstance(rows, np.ndarray)):
        raise ArgumentError(f"{name} must be a SciPy sparse matrix or a 2-D NumPy array, got "
                            f"{type(rows).__name__}")
    if rows.shape != shape:
        raise ArgumentError(f"{name} must be {shape[0]} users × {shape[1]} items (the "
                            f"model's), got {rows.shape}")
    if not np.issubdtype(rows.dtype, np.number) or np.issubdtype(rows.dtype, np.complexfloating):
        raise ArgumentError(f"{name} must hold real numbers, got {rows.dtype}")
    block = sp.csr_matrix(rows, dtype=np.float32)
    bad = block.data[~np.isfinite(block.data) | (block.data < 0)]
    if len(bad):
        raise ArgumentError(f"{name} must hold finite ratings that are not negative, got "
                            f"{bad[:_SHOWN].tolist()}")
    return block


def check_history(history: Any, scale: tuple[float, float]) -> pl.DataFrame:
    """A ``[item_id, rating]`` history, checked; one row per movie (its last rating)."""
    if not isinstance(history, pl.DataFrame):
        raise ArgumentError(
            f"history must be a polars DataFrame with columns item_id and rating, got "
            f"{type(history).__name__}"
        )
    missing = [c for c in ("item_id", "rating") if c not in history.columns]
    if missing:
        raise ArgumentError(
            f"history lacks column(s) {missing}: expected [item_id, rating], got "
            f"{history.columns}"
        )
    if history.is_empty():
        raise ArgumentError("history is empty: rate at least one movie first")
    items = check_ids(history["item_id"], "history item_id")
    ratings = _check_ratings(history["rating"], scale)
    # each movie's last rating, in the order of those last ratings (NumPy: a request's history
    # is small, and a polars query would wait for its thread pool on a busy server)
    _, last_from_end = np.unique(items[::-1], return_index=True)
    kept = np.sort(len(items) - 1 - last_from_end)
    return pl.DataFrame({"item_id": items[kept], "rating": ratings[kept]})


def _check_ratings(column: pl.Series, scale: tuple[float, float]) -> np.ndarray:
    if not column.dtype.is_numeric():
        raise ArgumentError(f"history ratings must be numbers, got {column.dtype}")
    values = column.cast(pl.Float64).to_numpy()
    low, high = scale
    bad = values[~np.isfinite(values) | (values < low) | (values > high)]
    if len(bad):
        raise ArgumentError(
            f"history ratings must be finite and within the rating scale [{low}, {high}], "
            f"got {bad[:_SHOWN].tolist()}"
        )
    return values.astype(np.float32)
