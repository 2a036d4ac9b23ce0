"""Retraining run folders read back: runs, gate decisions, drift over time."""

from __future__ import annotations

import json
from pathlib import Path

from recsys.runs import drift_history, pipeline_runs
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
