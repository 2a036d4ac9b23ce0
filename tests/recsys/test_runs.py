"""Retraining run folders read back: runs, gate decisions, drift over time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recsys.errors import ArgumentError, DataError, UnknownDatasetError
from recsys.runs import drift_history, pipeline_runs, run_dir_for
from recsys.settings import Settings


def test_pipeline_runs_and_drift_history(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    for run, score in (("2025-01-01", 0.1), ("2025-01-02", 0.3)):
        folder = tmp_path / "runs" / "ml-100k" / run
        (folder / "drift").mkdir(parents=True)
        (folder / "evaluate").mkdir()
        (folder / "gate").mkdir()
        checks = [{"name": "rating_psi", "score": score, "threshold": 0.2, "alert": score > 0.2}]
        (folder / "drift" / "drift.json").write_text(json.dumps({"checks": checks}))
        (folder / "evaluate" / "metrics.json").write_text(json.dumps({"ease": {"ndcg@10": 0.3}}))
        (folder / "gate" / "decision.json").write_text(json.dumps({"promote": True,
                                                                   "reason": "better"}))
    drift = drift_history("ml-100k", settings)
    assert drift["score"].to_list() == [0.1, 0.3] and drift["alert"].to_list() == [False, True]
    runs = pipeline_runs("ml-100k", settings)
    assert runs["challenger"].to_list() == ["ease", "ease"]
    assert runs["drift_alerts"].to_list() == ["", "rating_psi"]
    assert pipeline_runs("ml-1m", settings).is_empty()


def _run_with(tmp_path: Path, step_file: str, content: object) -> Settings:
    """Settings over one run of ml-100k whose ``step_file`` holds ``content`` (JSON)."""
    path = tmp_path / "runs" / "ml-100k" / "2025-01-01" / step_file
    path.parent.mkdir(parents=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return Settings(data_dir=tmp_path)


DAMAGED = [
    ("drift/drift.json", "{", "not readable JSON"),
    ("drift/drift.json", {}, r"lacks key\(s\) \['checks'\]"),
    ("drift/drift.json", {"checks": "rating_psi"}, "checks must be a list"),
    ("drift/drift.json", {"checks": [{"name": "x", "threshold": 0.2, "alert": True}]},
     "checks must be a list"),  # no score: a KeyError
    ("drift/drift.json", {"checks": [{"name": "x", "score": None, "threshold": 0.2,
                                      "alert": True}]}, "checks must be a list"),  # TypeError
    ("drift/drift.json", {"checks": [{"name": "x", "score": "NaN", "threshold": 0.2,
                                      "alert": "no"}]}, "checks must be a list"),  # NaN, True
    ("gate/decision.json", "not json", "not readable JSON"),
    ("gate/decision.json", [1, 2], "holds list, not a JSON object"),
    ("gate/decision.json", {"promote": "yes", "reason": "better"}, "promote true or false"),
    ("gate/_done.json", {"summary": "ease"}, "needs a challenger name"),
    ("evaluate/metrics.json", [1], "holds list, not a JSON object"),
    ("evaluate/metrics.json", {"ease": 0.3}, "must map each model to its metrics"),
]


@pytest.mark.parametrize(("step_file", "content", "message"), DAMAGED)
def test_a_damaged_run_file_is_a_data_error_naming_it(
    tmp_path: Path, step_file: str, content: object, message: str
) -> None:
    settings = _run_with(tmp_path, step_file, content)
    readers = [pipeline_runs] + ([drift_history] if step_file.startswith("drift") else [])
    for reader in readers:
        with pytest.raises(DataError, match=message) as caught:
            reader("ml-100k", settings)
        assert step_file.split("/")[0] in str(caught.value)


def test_a_run_in_progress_has_empty_cells(tmp_path: Path) -> None:
    settings = _run_with(tmp_path, "evaluate/metrics.json",
                         {"ease": {"ndcg@10": 1, "note": "text", "recall@10": float("nan")}})
    runs = pipeline_runs("ml-100k", settings)
    assert runs.row(0, named=True) == {"run": "2025-01-01", "challenger": "ease",
                                       "promoted": None, "reason": None, "ndcg@10": 1.0,
                                       "drift_alerts": ""}
    assert drift_history("ml-100k", settings).is_empty()


def test_a_run_file_that_is_a_folder_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "runs" / "ml-100k" / "r1" / "drift" / "drift.json").mkdir(parents=True)
    with pytest.raises(DataError, match="drift.json is not readable JSON"):
        drift_history("ml-100k", Settings(data_dir=tmp_path))


@pytest.mark.parametrize(("run_id", "message"), [
    ("..", "run_id must name a folder"), (".", "run_id must name a folder"),
    (5, "run_id must be a string"), ("x" * 201, "run_id is 201 characters long"),
])
def test_run_dir_for_refuses_ids_that_name_no_run_folder(
        tmp_path: Path, run_id: object, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        run_dir_for(Settings(data_dir=tmp_path), "ml-100k", run_id)


def test_run_folders_belong_to_a_release(tmp_path: Path) -> None:
    with pytest.raises(UnknownDatasetError, match="a release name, not a path"):
        run_dir_for(Settings(data_dir=tmp_path), "../elsewhere", "r1")


def test_run_dir_for_makes_airflow_ids_path_safe(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert run_dir_for(settings, "ml-100k", "scheduled__2025-01-01T00:00:00").name == (
        "scheduled__2025-01-01T00_00_00")
    assert run_dir_for(settings, "ml-100k", "../../etc").parent == tmp_path / "runs" / "ml-100k"
