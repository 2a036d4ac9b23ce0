"""App fixtures: one session-wide data dir with both releases fetched, a synthetic release with
a Tag Genome generated, and light models trained on each."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from recsys.data.synth import write_synthetic_release
from recsys.service import prepare_dataset
from recsys.settings import Settings
from recsys.training import DEFAULT_MODELS

REPO = Path(__file__).resolve().parents[2]
MAIN = REPO / "app" / "main.py"
# The app serves the live experiment's arms (most_popular, item_knn: ~7 s on ml-latest-small);
# EASE, the third default model (~1 min there), is left to the slow first-start test.
DEMO_MODELS = "most_popular,item_knn"
ITEM_KNN = DEFAULT_MODELS["item_knn"]
APP_MODELS = {
    "ml-100k": {"most_popular": {}, "item_knn": ITEM_KNN, "content": {}},
    "ml-latest-small": {"most_popular": {}, "item_knn": ITEM_KNN, "content": {}},
    "synthetic-genome": {"most_popular": {}, "item_knn": ITEM_KNN},
}


@pytest.fixture(scope="session")
def app_env(mirror_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """``RECSYS_*`` variables of a prepared data dir, set in ``os.environ`` for the session."""
    data_dir = tmp_path_factory.mktemp("app-data")
    env = {"RECSYS_DATA_DIR": str(data_dir), "RECSYS_DATA_MIRROR": str(mirror_dir),
           "RECSYS_METRICS_PORT": "0", "HF_HUB_OFFLINE": "1", "RECSYS_DEMO_MODELS": DEMO_MODELS}
    settings = Settings(data_dir=data_dir, data_mirror=mirror_dir)
    write_synthetic_release(data_dir / "raw" / "synthetic-genome", 300, 500, 15_000, seed=11,
                            genome=True)
    for dataset, models in APP_MODELS.items():
        prepare_dataset(dataset, settings, models)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def app(app_env: dict) -> AppTest:
    """A fresh AppTest of the entry script (the prepared data dir is in the environment)."""
    return AppTest.from_file(str(MAIN), default_timeout=120)
