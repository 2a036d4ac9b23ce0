"""``recsys ab plan`` and ``recsys ab replay`` through the real CLI, on ml-latest-small."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from recsys.cli import main

SPEC = {
    "dataset": "ml-latest-small",
    "split": {"protocol": "temporal_global", "test_fraction": 0.2},
    "k": 10,
    "relevance_threshold": 3.5,
    "n_boot": 200,
    "sensitivity_users": [200],
    "sensitivity_reps": 100,
    "experiment": {
        "id": "cli-replay", "salt": "s",
        "arms": [{"name": "random", "model": "random"},
                 {"name": "popular", "model": "most_popular"}],
        "traffic": [0.5, 0.5],
        "primary_metric": "hit_rate@10",
    },
}


def test_plan_prints_the_sample_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ab", "plan", "--baseline", "0.1", "--mde", "0.02"]) == 0
    assert "3,841 users per arm, 7,682 in total" in capsys.readouterr().out
    assert main(["ab", "plan", "--sd", "1", "--mde", "0.2"]) == 0
    assert "393 users per arm" in capsys.readouterr().out
    assert main(["ab", "plan", "--mde", "0.2"]) == 2
    for mde, sd in (("inf", "1"), ("0.2", "inf")):  # 0 users per arm; an OverflowError
        assert main(["ab", "plan", "--sd", sd, "--mde", mde]) == 2
        assert "must be a finite number, got inf" in capsys.readouterr().err
    # --relative with --sd used to be ignored: a relative 0.2 was planned as an absolute 0.2
    assert main(["ab", "plan", "--sd", "1", "--mde", "0.2", "--relative"]) == 2
    assert "--relative applies to --baseline" in capsys.readouterr().err
    assert main(["ab", "plan", "--baseline", "0.1", "--mde", "1e-300"]) == 2  # ZeroDivisionError
    assert "too small to plan for" in capsys.readouterr().err


def test_replay_writes_report_and_results(
    tmp_path: Path, mirror_dir: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RECSYS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RECSYS_DATA_MIRROR", str(mirror_dir))
    spec = tmp_path / "replay.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "results"
    assert main(["ab", "replay", str(spec), "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["meta"]["manifest_hash"]
    assert results["split"]["protocol"] == "temporal_global"
    assert results["ab"]["conclusion"].startswith("popular beats random")
    report = (out / "report.md").read_text()
    assert report.startswith("# Offline A/B replay: cli-replay")
    assert results["ab"]["conclusion"] in capsys.readouterr().out
    assert not list(out.glob(".*tmp"))  # atomic writes leave no temp files
