"""Shared fixtures: the local MovieLens mirror and small real datasets built from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recsys.data.load import ingest
from recsys.data.types import Dataset
from recsys.settings import Settings
from recsys.tracking import git_commit

REPO_ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["service_fixtures"]  # real services: tests/service_fixtures.py


def _mirror() -> Path:
    configured = os.environ.get("RECSYS_DATA_MIRROR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "data" / "movielens"


@pytest.fixture(scope="session", autouse=True)
def _junit_commit(record_testsuite_property) -> None:  # noqa: ANN001 (pytest's fixture)
    """Record the tested commit in the JUnit XML (the logbook shows which commit passed)."""
    record_testsuite_property("git_commit", git_commit(REPO_ROOT))


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """Folder holding extracted MovieLens releases (ml-latest-small, ml-100k)."""
    path = _mirror()
    if not (path / "ml-latest-small" / "ratings.csv").exists():
        pytest.fail(f"MovieLens mirror not found at {path}: set RECSYS_DATA_MIRROR")
    return path


@pytest.fixture(scope="session")
def data_settings(mirror_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings with a session-wide temporary data dir fed from the mirror."""
    return Settings(data_dir=tmp_path_factory.mktemp("recsys-data"), data_mirror=mirror_dir)


@pytest.fixture(scope="session")
def ml_small(data_settings: Settings) -> Dataset:
    """ml-latest-small as a canonical Dataset, fetched from the mirror and loaded."""
    return ingest("ml-latest-small", settings=data_settings)


@pytest.fixture(scope="session")
def ml_100k(data_settings: Settings) -> Dataset:
    """ml-100k as a canonical Dataset (with u.user demographics), from the mirror."""
    return ingest("ml-100k", settings=data_settings)


@pytest.fixture(scope="session")
def genome_dataset(data_settings: Settings) -> Dataset:
    """A small synthetic release with a Tag Genome (``recsys data synth --genome``), loaded."""
    from recsys.data.synth import write_synthetic_release

    write_synthetic_release(data_settings.data_dir / "raw" / "synthetic-genome", 300, 500,
                            15_000, seed=11, genome=True)
    return ingest("synthetic-genome", settings=data_settings)
