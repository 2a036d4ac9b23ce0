"""Experiment definitions: strict loading, round trip, assignment through the experiment."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from recsys.ab.experiment import Experiment, load_experiment
from recsys.errors import ConfigError

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
