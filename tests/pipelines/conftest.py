"""Pipeline runs on ml-100k from the mirror, each in its own data dir and MLflow SQLite store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipelines.config import DEFAULT_CONFIG, PipelineConfig, RunContext
from recsys.settings import Settings

# Quick runs: few latency calls; the random starter champion covers the whole catalogue, so
# the coverage guardrail is opened up here (tests/pipelines/test_gate.py covers it).
FAST_GATE = {"latency_users": 20, "max_coverage_drop": 1.0}


def fast_config(models: dict[str, dict[str, Any]], **sections: dict[str, Any]) -> PipelineConfig:
    """The repo's config on ml-100k with other models and some sections overridden."""
    base = PipelineConfig.load(DEFAULT_CONFIG, "ml-100k").to_dict()
    base["gate"] |= FAST_GATE
    for name, values in sections.items():
        base[name] = base[name] | values
    return PipelineConfig.from_mapping(base | {"models": models})


@pytest.fixture(scope="session")
def config_factory() -> Callable[..., PipelineConfig]:
    """``config_factory(models, **sections)``: the fast ml-100k test config."""
    return fast_config


@pytest.fixture(scope="module")
def pipeline_settings(mirror_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A data dir and SQLite MLflow registry shared by the runs of one test module."""
    data_dir = tmp_path_factory.mktemp("pipeline-data")
    return Settings(data_dir=data_dir, data_mirror=mirror_dir,
                    mlflow_tracking_uri=f"sqlite:///{data_dir / 'mlflow.db'}")


@pytest.fixture
def make_context(pipeline_settings: Settings) -> Callable[..., RunContext]:
    """``make_context(run_id, models, **sections)``: a run of the test config."""

    def make(run_id: str, models: dict[str, dict[str, Any]], **sections: Any) -> RunContext:
        run_dir = pipeline_settings.data_dir / "runs" / run_id
        return RunContext(run_dir, fast_config(models, **sections), pipeline_settings)

    return make
