"""The MLflow read side never creates a store."""

from __future__ import annotations

from pathlib import Path

from recsys.settings import Settings
from recsys.tracking import mlflow_runs, registered_versions


def test_mlflow_readers_do_not_create_a_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert mlflow_runs(settings).is_empty()
    assert registered_versions(settings, "recsys-ml-100k").is_empty()
    assert not (tmp_path / "mlflow.db").exists()
