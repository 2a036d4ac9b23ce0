"""The Airflow DAG, in Airflow's own venv (``make airflow-venv``): parsing and a full run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from pipelines.config import PipelineConfig
from pipelines.runner import STEPS

REPO_ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_BIN = REPO_ROOT / ".venv-airflow" / "bin"
DAGS = REPO_ROOT / "pipelines" / "dags"

# Parses DAG folders with DagBag and reports what the tests check, as JSON.
PARSE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
report = {}
for folder in sys.argv[1:]:
    bag = DagBag(dag_folder=folder)
    dag = bag.dags.get("recsys_retrain")
    report[folder] = {"errors": {k: str(v) for k, v in bag.import_errors.items()}}
    if dag is not None:
        report[folder] |= {
            "tasks": [t.task_id for t in dag.topological_sort()],
            "catchup": dag.catchup, "schedule": str(dag.schedule),
            "retries": sorted({t.retries for t in dag.tasks}),
            "upstream": {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks},
            "command": dag.get_task("gate").bash_command,
        }
report["heavy_imports"] = [m for m in ("recsys", "pipelines", "mlflow", "polars", "torch")
                           if m in sys.modules]
print(json.dumps(report))
"""


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    if not (AIRFLOW_BIN / "airflow").exists():
        pytest.skip("Airflow venv missing: run `make airflow-venv`")
    return os.environ | {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                         "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS), **extra}


def test_dag_parses_cleanly_and_a_broken_one_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "retrain_dag.py").write_text((DAGS / "retrain_dag.py").read_text()
                                           + "\nchain(undefined_task)\n")
    result = subprocess.run(
        [str(AIRFLOW_BIN / "python"), "-c", PARSE, str(DAGS), str(broken)],
        env=airflow_env(tmp_path / "home"), capture_output=True, text=True, timeout=300,
        check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    dag = report[str(DAGS)]
    assert dag["errors"] == {}
    assert dag["tasks"] == list(STEPS)
    assert dag["upstream"]["gate"] == ["evaluate"] and dag["upstream"]["ingest"] == []
    assert dag["catchup"] is False and dag["retries"] == [2] and dag["schedule"] == "@daily"
    assert "-m pipelines.retrain step gate --dataset ml-latest-small" in dag["command"]
    assert report["heavy_imports"] == []
    (error,) = report[str(broken)]["errors"].values()
    assert "undefined_task" in error


@pytest.mark.slow
def test_dag_runs_end_to_end_on_ml_100k(
    tmp_path: Path, mirror_dir: Path, config_factory: Callable[..., PipelineConfig]
) -> None:
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump(config_factory({"ease": {"reg": 500.0}}).to_dict()))
    data_dir = tmp_path / "data"
    env = airflow_env(
        tmp_path / "home", RECSYS_PYTHON=sys.executable, RECSYS_PIPELINE_DATASET="ml-100k",
        RECSYS_PIPELINE_CONFIG=str(config), RECSYS_DATA_DIR=str(data_dir),
        RECSYS_DATA_MIRROR=str(mirror_dir),
        RECSYS_MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}",
    )
    airflow = str(AIRFLOW_BIN / "airflow")
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True,
                             text=True, timeout=300, check=False)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    run = subprocess.run([airflow, "dags", "test", "recsys_retrain"], env=env,
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]
    (run_dir,) = (data_dir / "runs" / "ml-100k").iterdir()
    assert all((run_dir / step / "_done.json").exists() for step in STEPS)
    registered = json.loads((run_dir / "register" / "registered.json").read_text())
    assert registered["promoted"] and registered["version"] == "1"
