"""The experiment definition: arms, traffic, metrics and design, loaded strictly from YAML/dict."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from recsys.ab.assignment import arm_boundaries, assign, assign_frame
from recsys.config import check_keys, read_yaml
from recsys.errors import ConfigError

__all__ = ["Arm", "Guardrail", "Experiment", "load_experiment"]

DIRECTIONS = ("higher_is_better", "lower_is_better")


@dataclass(frozen=True)
class Arm:
    """One variant: a registered model + params, or a model version from the registry."""

    name: str
    model: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    version: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("every arm needs a non-empty `name`")
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
        if self.direction not in DIRECTIONS:
            raise ConfigError(
                f"guardrail {self.metric!r}: direction must be one of {DIRECTIONS}, "
                f"got {self.direction!r}"
            )
        if self.tolerance < 0:
            raise ConfigError(f"guardrail {self.metric!r}: tolerance must be >= 0")


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
        if not self.id:
            raise ConfigError("experiment needs a non-empty `id`")
        names = [arm.name for arm in self.arms]
        if len(set(names)) != len(names):
            raise ConfigError(f"experiment {self.id!r}: arm names must be unique, got {names}")
        if len(self.traffic) != len(self.arms):
            raise ConfigError(
                f"experiment {self.id!r}: {len(self.arms)} arms but {len(self.traffic)} "
                "traffic shares; expected one share per arm"
            )
        arm_boundaries(self.traffic)
        for name, value in (("alpha", self.alpha), ("power", self.power)):
            if not 0 < value < 1:
                raise ConfigError(f"experiment {self.id!r}: {name} must be in (0, 1), got {value}")
        if self.mde <= 0:
            raise ConfigError(f"experiment {self.id!r}: mde must be > 0, got {self.mde}")
        if self.start and self.stop and self.stop <= self.start:
            raise ConfigError(f"experiment {self.id!r}: stop {self.stop} is not after start")

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
        values["arms"] = tuple(Arm(**check_keys(a, Arm, "experiment arm")) for a in values["arms"])
        values["traffic"] = tuple(float(t) for t in values["traffic"])
        values["guardrails"] = tuple(
            Guardrail(**check_keys(g, Guardrail, "experiment guardrail"))
            for g in values.get("guardrails", ())
        )
        for key in ("start", "stop"):
            if values.get(key) is not None:
                values[key] = _datetime(values[key], key)
        return cls(**values)


def load_experiment(path: Path | str) -> Experiment:
    """Read an experiment from a YAML file (the whole file, or its ``experiment:`` section)."""
    raw = read_yaml(path)
    if isinstance(raw, Mapping) and "experiment" in raw:
        raw = raw["experiment"]
    return Experiment.from_dict(raw)


def _datetime(value: Any, key: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"experiment `{key}` must be an ISO date/time, got {value!r}") from None
