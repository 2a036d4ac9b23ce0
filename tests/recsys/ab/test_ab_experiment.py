"""Experiment definitions: strict loading, round trip, assignment through the experiment."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from recsys.ab.experiment import Arm, Experiment, load_experiment
from recsys.errors import ArgumentError, ConfigError

RAW = {
    "id": "exp-1",
    "salt": "2026",
    "arms": [{"name": "A", "model": "ease", "params": {"reg": 250.0}},
             {"name": "B", "version": "models:/hybrid/3"}],
    "traffic": [0.5, 0.5],
    "primary_metric": "ctr",
    "guardrails": [{"metric": "thumbs_down_rate", "direction": "lower_is_better",
                    "tolerance": 0.1}],
    "mde": 0.05,
    "start": "2026-11-01",
    "stop": "2026-12-01T00:00:00",
}


def test_from_dict_round_trips() -> None:
    exp = Experiment.from_dict(RAW)
    assert exp.arm("B").version == "models:/hybrid/3"
    assert exp.start == dt.datetime(2026, 11, 1)
    assert Experiment.from_dict(exp.to_dict()) == exp


def test_a_numeric_yaml_salt_or_id_is_read_as_its_text(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({**RAW, "salt": 2026, "id": 7}))
    exp = load_experiment(path)
    assert (exp.salt, exp.id) == ("2026", "7")
    assert exp.assign([1, 2, 3]) == Experiment.from_dict({**RAW, "id": "7"}).assign([1, 2, 3])


def test_yaml_file_with_experiment_section(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({"experiment": RAW}))
    assert load_experiment(path).id == "exp-1"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"colour": "red"}, "unknown key"),
        ({"arms": [{"name": "A", "model": "ease", "param": {}}, {"name": "B", "model": "x"}]},
         "unknown key"),
        ({"traffic": [0.7, 0.7]}, "sum to 1"),
        ({"traffic": [1.0]}, "one share per arm"),
        ({"alpha": 1.5}, "alpha"),
        ({"arms": [{"name": "A", "model": "ease"}, {"name": "A", "model": "als"}]}, "unique"),
        ({"arms": [{"name": "A"}, {"name": "B", "model": "als"}]}, "exactly one of"),
        ({"guardrails": [{"metric": "x", "direction": "up"}]}, "direction"),
        ({"stop": "2026-10-01"}, "not after start"),
        ({"start": "yesterday"}, "ISO"),
    ],
)
def test_bad_definitions_fail_loudly(patch: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Experiment.from_dict({**RAW, **patch})


def test_missing_required_key() -> None:
    raw = {k: v for k, v in RAW.items() if k != "primary_metric"}
    with pytest.raises(ConfigError, match="missing required key"):
        Experiment.from_dict(raw)


def test_assign_uses_experiment_id_and_salt() -> None:
    exp = Experiment.from_dict(RAW)
    arms = exp.assign(list(range(500)))
    assert set(arms) == {"A", "B"}
    assert exp.assign_frame(list(range(500)))["arm"].to_list() == arms


@pytest.mark.parametrize(
    ("patch", "message"),
    [  # each used to be a TypeError/ValueError, or an experiment analysed with NaN or True
        ({"traffic": ["a", "b"]}, "traffic must be numbers, got text"),
        ({"traffic": 0.5}, "traffic must be 1-D"),
        ({"traffic": None}, "traffic must be numbers"),
        ({"alpha": "0.05"}, "alpha must be a finite number"),
        ({"mde": float("nan")}, "mde must be a finite number"),
        ({"mde": True}, "mde must be a finite number"),
        ({"mde": float("inf")}, "mde must be a finite number"),
        ({"id": 1.5}, "id must be a string"),
        ({"salt": None}, "salt must be a string"),
        ({"primary_metric": None}, "primary_metric must be a string"),
        ({"guardrails": [{"metric": "x", "tolerance": "0.1"}]}, "tolerance must be a finite"),
        ({"guardrails": [{"metric": "x", "tolerance": float("nan")}]}, "tolerance must be a"),
        ({"arms": [{"name": 1, "model": "ease"}, {"name": "B", "model": "x"}]}, "arm name must"),
        ({"arms": [{"name": "A", "model": "ease", "params": "reg=1"},
                   {"name": "B", "model": "x"}]}, "params must be a mapping"),
    ],
)
def test_careless_values_are_named(patch: dict, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        Experiment.from_dict({**RAW, **patch})


@pytest.mark.parametrize(("patch", "message"), [
    ({"arms": None}, "`arms` must be a list of mappings"),  # a TypeError
    ({"guardrails": None}, "`guardrails` must be a list of mappings"),
    ({"primary_metric": ""}, "non-empty `primary_metric`"),
    # an aware start against a naive stop was a TypeError; naive date-times are UTC
    ({"start": "2026-12-01T00:00:00+00:00", "stop": "2026-12-01"}, "not after start"),
])
def test_careless_structure_is_named(patch: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Experiment.from_dict({**RAW, **patch})


def test_experiment_built_in_code_is_checked_and_equals_the_yaml_one() -> None:
    exp = Experiment.from_dict(RAW)
    assert Experiment(exp.id, list(exp.arms), [0.5, 0.5], "ctr", salt="2026",
                      guardrails=list(exp.guardrails), start=exp.start, stop=exp.stop) == exp
    with pytest.raises(ArgumentError, match="arms must be a list of Arm"):
        Experiment("x", [{"name": "A"}], (1.0,), "ctr")
    with pytest.raises(ArgumentError, match="start must be a datetime"):
        Experiment("x", (Arm("A", "m"), Arm("B", "m")), (0.5, 0.5), "ctr", start="2026-11-01")
