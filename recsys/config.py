"""One strict builder for every configuration: YAML files and mappings become typed dataclasses.

Benchmark specs, quality thresholds, drift thresholds, the gate policy, A/B experiments, replay
specs, pipeline metrics and model hyper-parameters are all checked here: an unknown key is an
error naming the valid ones (never a silent default), a wrong type names the field, and the
typed object round-trips through ``dataclasses.asdict``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import types
import typing
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import numpy as np
import yaml

from recsys.arguments import check_path
from recsys.errors import ArgumentError, ConfigError

__all__ = ["build", "check_keys", "check_params", "check_value", "checked_arguments", "load_yaml"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
SEED_RANGE = (0, 2**32)  # what NumPy's Generator and RandomState both accept


def check_keys(
    raw: Any,
    schema: type | Collection[str],
    where: str,
    noun: str = "key",
    name: str | None = None,
) -> dict[str, Any]:
    """``raw`` as a dict once its keys are checked against dataclass (or key set) ``schema``.

    Not a mapping, an unknown key or a missing required field is a ``ConfigError`` that names
    ``where``, the offending keys and the valid ones.
    """
    label = name or getattr(schema, "__name__", "it")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping for {label}, got {_kind(raw)}")
    fields = {f.name: f for f in dataclasses.fields(schema)} if isinstance(schema, type) else {}
    known = set(fields) if isinstance(schema, type) else set(schema)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown {noun}(s) {unknown} in {label}; valid {noun}s are {sorted(known)}"
        )
    required = [
        key for key, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [key for key in required if key not in raw]
    if missing:
        raise ConfigError(f"{where}: missing required {noun}(s) {missing} in {label}")
    return dict(raw)


def build(cls: type[T], data: Any, where: str, noun: str = "key") -> T:
    """An instance of dataclass ``cls`` from plain data, every value converted to its type hint.

    Nested dataclasses, ``list``, ``dict``, ``Literal``, optional values and numbers are
    checked recursively; the instance then runs its own ``__post_init__`` checks.
    """
    values = check_keys(data, cls, where, noun)
    hints = typing.get_type_hints(cls)
    typed = {key: _convert(hints[key], value, f"{where}.{key}") for key, value in values.items()}
    return cls(**typed)


def check_params(cls: type, raw: Any, where: str) -> dict[str, Any]:
    """Keyword hyper-parameters for dataclass ``cls``: keys as :func:`check_keys` checks them,
    then every ``bool``, ``int``, ``float`` or ``str`` value (also inside ``X | None`` and
    ``list[X]``) checked against its type hint, NumPy scalars turned into Python ones, NaN and
    infinities refused. Other hints (tuples, mappings, mixed unions) are left to
    ``cls.__post_init__``.
    """
    values = check_keys(raw, cls, where, noun="parameter", name="its Params")
    hints = typing.get_type_hints(cls)
    return {key: check_value(hints[key], value, f"{where}: parameter {key}")
            for key, value in values.items()}


def check_value(hint: Any, value: Any, where: str) -> Any:
    """``value`` checked against type ``hint`` as :func:`check_params` checks each parameter
    (also a ``Literal``'s choices); ConfigError naming ``where`` otherwise."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return _choice(args, value, where)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if value is None and len(inner) < len(args):
            return None
        return check_value(inner[0], value, where) if len(inner) == 1 else value
    if origin is list and args and args[0] in _CHECKED_SCALARS:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list of {args[0].__name__}, "
                              f"got {_kind(value)} {value!r}")
        return [check_value(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if hint not in _CHECKED_SCALARS:
        return value
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: expected a finite {hint.__name__}, got {value!r}")
    return _scalar(hint, value, where)


_CHECKED_SCALARS = (bool, int, float, str)


def checked_arguments(function: F) -> F:
    """``function`` with every argument after the first checked before the call: each against
    its type hint as :func:`check_value` checks it (a ``seed`` also within ``SEED_RANGE``,
    never None), and an unknown or missing one an :class:`ArgumentError` naming the valid
    ones; errors name the function and the parameter."""
    signature = inspect.signature(function)
    where = function.__name__

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            valid = list(signature.parameters)[1:]
            raise ArgumentError(f"{where}: {error}; its parameters are {valid}") from None
        hints = typing.get_type_hints(function)
        for name, value in list(bound.arguments.items())[1:]:
            bound.arguments[name] = _argument(hints.get(name, Any), name, value,
                                              f"{where}: parameter {name}")
        return function(*bound.args, **bound.kwargs)

    return cast(F, checked)


def _argument(hint: Any, name: str, value: Any, where: str) -> Any:
    value = check_value(hint, value, where)
    low, high = SEED_RANGE
    if name == "seed" and isinstance(value, int) and not low <= value < high:
        raise ConfigError(f"{where}: expected an int in [{low}, {high:,}), got {value!r}")
    return value


def read_yaml(path: Path | str) -> Any:
    """The content of a YAML file; a ConfigError when it is missing, unreadable or not YAML
    (an ArgumentError when ``path`` is not a path)."""
    path = check_path(path, "path", "a path to a YAML file")
    if not path.is_file():
        raise ConfigError(f"{path} not found: expected a YAML file")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError) as error:  # ValueError: a date such as 2026-13-45
        raise ConfigError(f"{path} is not valid YAML: {error}") from error


def load_yaml(path: Path | str, cls: type[T], section: str | None = None) -> T:
    """Read a YAML file (or one top-level ``section`` of it) into ``cls`` with :func:`build`."""
    raw = read_yaml(path)
    if section is not None and isinstance(raw, Mapping) and section in raw:
        raw = raw[section]
    return build(cls, raw, str(path))


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return build(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner, value, where)
    if origin is Literal:
        return _choice(args, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {_kind(value)}")
        return [_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {_kind(value)}")
        return {_convert(args[0], k, where): _convert(args[1], v, f"{where}.{k}")
                for k, v in value.items()}
    return _scalar(hint, value, where)


def _choice(choices: tuple[Any, ...], value: Any, where: str) -> Any:
    """``value`` when it is one of a ``Literal``'s ``choices``; ConfigError otherwise."""
    if value not in choices:
        raise ConfigError(f"{where}: {value!r} is not one of {list(choices)}")
    return value


def _scalar(hint: Any, value: Any, where: str) -> Any:
    if hint is Any:
        return value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"{where}: expected {hint.__name__}, got {_kind(value)} {value!r}")


def _kind(value: Any) -> str:
    return type(value).__name__
