"""The experiment definition: arms, traffic, metrics and design, loaded strictly from YAML/dict.

Every value is checked when an experiment is built, from a file or in code: names are
non-empty strings, ``traffic`` positive shares summing to 1, ``alpha``/``power`` in (0, 1),
``mde`` and tolerances finite numbers (not bools or text), ``start``/``stop`` date-times
(naive ones are UTC); a careless value is a ConfigError (an ArgumentError for a wrong type)
naming the field, never a TypeError or an experiment that analyses with NaN.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from recsys.ab.assignment import NAME_CHARS, arm_boundaries, assign, assign_frame
from recsys.arguments import check_number, check_numbers, check_text
from recsys.config import check_keys, read_yaml
from recsys.errors import ArgumentError, ConfigError

__all__ = ["Arm", "Guardrail", "Experiment", "as_utc", "load_experiment"]

DIRECTIONS = ("higher_is_better", "lower_is_better")
ARM_CHARS = 64  # the event store's column width for arm names


@dataclass(frozen=True)
class Arm:
    """One variant: a registered model + params, or a model version from the registry."""

    name: str
    model: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    version: str = ""

    def __post_init__(self) -> None:
        if not check_text(self.name, "arm name", ARM_CHARS):
            raise ConfigError("every arm needs a non-empty `name`")
        for key in ("model", "version"):
            check_text(getattr(self, key), f"arm {self.name!r}: {key}", NAME_CHARS)
        if not isinstance(self.params, Mapping):
            raise ArgumentError(f"arm {self.name!r}: params must be a mapping of "
                                f"hyper-parameters, got {self.params!r}")
        if bool(self.model) == bool(self.version):
            raise ConfigError(
                f"arm {self.name!r} must set exactly one of `model` (registered model name) "
                f"or `version` (registry model version), got model={self.model!r} "
                f"version={self.version!r}"
            )


@dataclass(frozen=True)
class Guardrail:
    """A metric that must not regress by more than ``tolerance`` (relative, e.g. 0.02 = 2 %)."""

    metric: str
    direction: str = "higher_is_better"
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if not check_text(self.metric, "guardrail metric", NAME_CHARS):
            raise ConfigError("every guardrail needs a non-empty `metric`")
        if self.direction not in DIRECTIONS:
            raise ConfigError(
                f"guardrail {self.metric!r}: direction must be one of {DIRECTIONS}, "
                f"got {self.direction!r}"
            )
        if check_number(self.tolerance, f"guardrail {self.metric!r}: tolerance") < 0:
            raise ConfigError(f"guardrail {self.metric!r}: tolerance must be >= 0, "
                              f"got {self.tolerance}")


@dataclass(frozen=True)
class Experiment:
    """An A/B experiment; the first arm is the control."""

    id: str
    arms: tuple[Arm, ...]
    traffic: tuple[float, ...]
    primary_metric: str
    salt: str = ""
    guardrails: tuple[Guardrail, ...] = ()
    mde: float = 0.05
    alpha: float = 0.05
    power: float = 0.8
    start: dt.datetime | None = None
    stop: dt.datetime | None = None

    def __post_init__(self) -> None:
        if not check_text(self.id, "experiment id", NAME_CHARS):
            raise ConfigError("experiment needs a non-empty `id`")
        where = f"experiment {self.id!r}"
        check_text(self.salt, f"{where}: salt", NAME_CHARS)
        if not check_text(self.primary_metric, f"{where}: primary_metric", NAME_CHARS):
            raise ConfigError(f"{where}: needs a non-empty `primary_metric`")
        # normalised in place (frozen): tuples, so that an experiment built in code with lists
        # equals and hashes like one read from YAML
        object.__setattr__(self, "arms", _items(self.arms, Arm, f"{where}: arms"))
        object.__setattr__(self, "guardrails",
                           _items(self.guardrails, Guardrail, f"{where}: guardrails"))
        object.__setattr__(self, "traffic",
                           tuple(check_numbers(self.traffic, f"{where}: traffic").tolist()))
        names = [arm.name for arm in self.arms]
        if len(set(names)) != len(names):
            raise ConfigError(f"{where}: arm names must be unique, got {names}")
        if len(self.traffic) != len(self.arms):
            raise ConfigError(
                f"{where}: {len(self.arms)} arms but {len(self.traffic)} "
                "traffic shares; expected one share per arm"
            )
        arm_boundaries(self.traffic)
        for name in ("alpha", "power"):
            check_number(getattr(self, name), f"{where}: {name}", 0.0, 1.0)
        check_number(self.mde, f"{where}: mde", 0.0)
        for name in ("start", "stop"):
            if not isinstance(getattr(self, name), dt.datetime | None):
                raise ArgumentError(f"{where}: {name} must be a datetime or None, got "
                                    f"{getattr(self, name)!r}")
        if self.start and self.stop and as_utc(self.stop) <= as_utc(self.start):
            raise ConfigError(f"{where}: stop {self.stop} is not after start")

    @property
    def arm_names(self) -> list[str]:
        """Arm names in definition order (control first)."""
        return [arm.name for arm in self.arms]

    def arm(self, name: str) -> Arm:
        """The arm called ``name``."""
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise ConfigError(f"experiment {self.id!r} has no arm {name!r}; arms: {self.arm_names}")

    def assign(self, user_ids: Sequence[object]) -> list[str]:
        """Arm name of each user (deterministic, see :mod:`recsys.ab.assignment`)."""
        index = assign(self.id, self.salt, user_ids, self.traffic)
        return [self.arm_names[i] for i in index]

    def assign_frame(self, user_ids: Sequence[object]) -> pl.DataFrame:
        """``[user_id, bucket, arm]`` for every user."""
        return assign_frame(self.id, self.salt, user_ids, self.arm_names, self.traffic)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict that :meth:`from_dict` turns back into an equal experiment."""
        raw = dataclasses.asdict(self)
        raw["arms"] = [
            {k: v for k, v in arm.items() if v not in ("", {})} for arm in raw["arms"]
        ]
        raw["traffic"] = list(self.traffic)
        raw["guardrails"] = list(raw["guardrails"])
        return raw

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Experiment:
        """Build from a mapping, failing loudly on unknown or missing keys."""
        values = check_keys(raw, cls, "experiment")
        values["arms"] = [Arm(**check_keys(a, Arm, "experiment arm"))
                          for a in _listed(values["arms"], "arms")]
        values["guardrails"] = [Guardrail(**check_keys(g, Guardrail, "experiment guardrail"))
                                for g in _listed(values.get("guardrails", []), "guardrails")]
        for key in ("start", "stop"):
            if values.get(key) is not None:
                values[key] = _datetime(values[key], key)
        for key in ("id", "salt"):  # YAML reads `salt: 2026` as a number
            if isinstance(values.get(key), int) and not isinstance(values[key], bool):
                values[key] = str(values[key])
        return cls(**values)


def load_experiment(path: Path | str) -> Experiment:
    """Read an experiment from a YAML file (the whole file, or its ``experiment:`` section)."""
    raw = read_yaml(path)
    if isinstance(raw, Mapping) and "experiment" in raw:
        raw = raw["experiment"]
    return Experiment.from_dict(raw)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC; a naive date-time is read as UTC."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _listed(value: Any, key: str) -> list[Any]:
    """A YAML list (``arms``, ``guardrails``), else ConfigError naming ``key``."""
    if not isinstance(value, list | tuple):
        raise ConfigError(f"experiment `{key}` must be a list of mappings, got "
                          f"{type(value).__name__} {value!r}")
    return list(value)


def _items(values: Any, kind: type, where: str) -> tuple[Any, ...]:
    """``values`` as a tuple when every one is a ``kind``, else ArgumentError naming ``where``."""
    if isinstance(values, str) or not isinstance(values, Sequence) or not all(
            isinstance(v, kind) for v in values):
        raise ArgumentError(f"{where} must be a list of {kind.__name__}, got {values!r}")
    return tuple(values)


def _datetime(value: Any, key: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"experiment `{key}` must be an ISO date/time, got {value!r}") from None
