"""Airflow DAG ``recsys_retrain``: the retraining pipeline, one task per step, daily.

Each task runs ``python -m pipelines.retrain step <name>`` with the application's Python (the
pipeline and Airflow live in separate environments), so parsing this file imports nothing
but Airflow. All tasks of a DAG run share one run folder (``--run-id {{ run_id }}``), so a
cleared or retried task resumes the run: completed steps with unchanged inputs are skipped.

Environment: ``RECSYS_PYTHON`` (the interpreter where ``recsys`` is installed, default
``python``), ``RECSYS_PIPELINE_DATASET`` (default ml-latest-small),
``RECSYS_PIPELINE_CONFIG`` (a pipeline YAML, default the repo's), plus the usual ``RECSYS_*``
settings, which the tasks inherit.
"""

from __future__ import annotations

import os
import shlex
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, chain

# The order of pipelines.runner.STEPS (tests/pipelines/test_airflow_dag.py checks they agree).
STEPS = ("ingest", "validate", "split", "select", "train", "evaluate", "gate", "drift", "register",
         "publish")
REPO_ROOT = Path(__file__).resolve().parents[2]


def step_command(step: str) -> str:
    """The shell command of one task (``run_id`` is rendered by Airflow)."""
    python = os.environ.get("RECSYS_PYTHON", "python")
    args = [python, "-m", "pipelines.retrain", "step", step,
            "--dataset", os.environ.get("RECSYS_PIPELINE_DATASET", "ml-latest-small")]
    if os.environ.get("RECSYS_PIPELINE_CONFIG"):
        args += ["--config", os.environ["RECSYS_PIPELINE_CONFIG"]]
    return shlex.join(args) + " --run-id '{{ run_id }}'"  # the CLI makes the id path-safe


with DAG(
    dag_id="recsys_retrain",
    description="ingest -> validate -> split -> train -> evaluate -> gate -> drift -> register "
                "-> publish",
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(hours=2),
    },
    tags=["recsys", "retraining"],
) as dag:
    chain(*[
        BashOperator(task_id=step, bash_command=step_command(step), cwd=str(REPO_ROOT))
        for step in STEPS
    ])
