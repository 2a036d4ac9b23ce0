"""The one strict config builder: round trips, unknown keys, wrong types, for every config."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from recsys.bench.spec import load_spec
from recsys.config import build, check_keys, load_yaml, read_yaml
from recsys.data.validate import Thresholds
from recsys.errors import ArgumentError, ConfigError
from recsys.monitoring.drift import DriftThresholds
from recsys.registry_gate import GatePolicy

SPECS = sorted((Path(__file__).resolve().parents[2] / "benchmarks" / "specs").glob("*.yaml"))
CONFIGS = [Thresholds(), GatePolicy(), DriftThresholds()]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: type(c).__name__)
def test_round_trip(config: object) -> None:
    assert build(type(config), dataclasses.asdict(config), "test") == config


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: type(c).__name__)
def test_unknown_key_names_the_valid_ones(config: object) -> None:
    with pytest.raises(ConfigError, match=r"unknown .*\['typo'\].*valid"):
        build(type(config), {"typo": 1}, "test")


def test_wrong_type_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"test.max_missing: expected int, got str"):
        build(Thresholds, {"max_missing": "none"}, "test")
    with pytest.raises(ConfigError, match="expected a mapping"):
        check_keys(["a"], Thresholds, "test")


@pytest.mark.parametrize("path", [p for p in SPECS if not p.name.startswith("ab-")],
                         ids=lambda p: p.stem)
def test_every_committed_spec_round_trips(path: Path) -> None:
    spec = load_spec(path)
    assert type(spec).from_dict(spec.to_dict()) == spec


def test_load_yaml_reports_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "missing.yaml", GatePolicy)
    (tmp_path / "bad.yaml").write_text("gate: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(tmp_path / "bad.yaml", GatePolicy)
    (tmp_path / "gate.yaml").write_text("gate:\n  alpha: 0.01\n")
    assert load_yaml(tmp_path / "gate.yaml", GatePolicy, section="gate").alpha == 0.01


@pytest.mark.parametrize("path", [None, 3, ["spec.yaml"]])
def test_read_yaml_names_a_path_that_is_not_one(path: object) -> None:
    with pytest.raises(ArgumentError, match="path must be a path to a YAML file"):
        read_yaml(path)  # type: ignore[arg-type]
