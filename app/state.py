"""What the app keeps between reruns: cached resources and frames over ``recsys``, nothing else.

``st.cache_resource`` holds what every session shares and never mutates (the loaded service
with its models, the personas, the event store, the lab runner, the metrics server);
``st.cache_data`` holds frames. Cache keys include the data dir so that tests and the demo never
share entries. Widgets live in :mod:`app.widgets`, rules in :mod:`recsys.service`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from recsys.ab.events import EventStore
from recsys.ab.experiment import Experiment, load_experiment
from recsys.bench import results
from recsys.data import stats
from recsys.data.fetch import raw_dir
from recsys.data.manifest import read_manifest
from recsys.monitoring.metrics import start_metrics_server
from recsys.service import (
    FirstStarts,
    LabRunner,
    Persona,
    RecommenderService,
    load_personas,
    servable_datasets,
)
from recsys.service.lab import lab_folder
from recsys.service.personas import HISTORY_SCHEMA
from recsys.settings import Settings, get_settings
from recsys.training import trained_models

__all__ = [
    "APP_DIR",
    "benchmark_folders",
    "data_insights",
    "datasets",
    "event_store",
    "first_starts",
    "get_service",
    "lab_runner",
    "live_experiment",
    "manifest",
    "metrics_port",
    "personas",
    "quality_report",
    "recommendations",
    "settings",
    "similar_movies",
]

log = logging.getLogger(__name__)
APP_DIR = Path(__file__).resolve().parent


def settings() -> Settings:
    """The product settings (read from ``RECSYS_*`` on every call; cheap)."""
    return get_settings()


@st.cache_resource(show_spinner=False)
def metrics_port(port: int) -> int | None:
    """Start the Prometheus endpoint once per process; None when the port is taken."""
    try:
        return start_metrics_server(port)
    except OSError as error:
        log.warning("metrics endpoint not started on port %d: %s", port, error)
        return None


@st.cache_resource(show_spinner=False)
def _first_starts(data_dir: str, demo_models: str) -> FirstStarts:
    return FirstStarts(settings())


def first_starts() -> FirstStarts:
    """The process-wide first starts (one background job per dataset, seen by every session)."""
    current = settings()
    return _first_starts(str(current.data_dir), current.demo_models)


def datasets() -> list[str]:
    """The selectable releases: the demo one and every release fetched and trained."""
    return servable_datasets(settings())


def _models_signature(dataset: str) -> str:
    return "|".join(f"{c.name}@{c.trained_at}" for c in trained_models(dataset, settings()))


@st.cache_resource(show_spinner="Loading the dataset and models…", max_entries=4)
def _service(dataset: str, data_dir: str, signature: str) -> RecommenderService:
    return RecommenderService.open(dataset, settings())


def get_service(dataset: str) -> RecommenderService:
    """The loaded service of ``dataset`` (reloaded when models are retrained)."""
    return _service(dataset, str(settings().data_dir), _models_signature(dataset))


History = tuple[tuple[int, float], ...]  # a history's (item_id, rating) rows, hashable


@st.cache_resource(show_spinner=False, max_entries=1024)
def _recommendations(dataset: str, data_dir: str, signature: str, model: str,
                     user_id: int | None, rows: History | None, k: int) -> pl.DataFrame:
    history = None if rows is None else pl.DataFrame(rows, schema=HISTORY_SCHEMA, orient="row")
    return get_service(dataset).recommend(model, user_id, history, k)


def recommendations(dataset: str, model: str, k: int, user_id: int | None = None,
                    history: pl.DataFrame | None = None) -> pl.DataFrame:
    """:meth:`RecommenderService.recommend`, computed once per trained models, model, visitor
    (a user or a history) and ``k`` and shared by every session (frames are immutable):
    a rerun of the Persona view, a thumbs up, costs no model call."""
    rows = None if history is None else tuple(history.select("item_id", "rating").iter_rows())
    return _recommendations(dataset, str(settings().data_dir), _models_signature(dataset),
                            model, user_id, rows, k)


@st.cache_resource(show_spinner=False, max_entries=256)
def _similar_movies(dataset: str, data_dir: str, item_id: int, methods: tuple[str, ...],
                    k: int) -> pl.DataFrame:
    return get_service(dataset).explorer.similar(item_id, methods, k)


def similar_movies(dataset: str, item_id: int, methods: Sequence[str], k: int) -> pl.DataFrame:
    """:meth:`Explorer.similar`, computed once per movie, methods and ``k`` and shared by
    every session (the rating measures scan the whole catalogue: ~0.3 s)."""
    return _similar_movies(dataset, str(settings().data_dir), item_id, tuple(methods), k)


@st.cache_resource(show_spinner=False)
def _personas(dataset: str, data_dir: str) -> list[Persona]:
    return load_personas(APP_DIR / "personas.yaml", get_service(dataset).dataset.movies)


def personas(dataset: str) -> list[Persona]:
    """Ready-made personas resolved on ``dataset``'s catalogue."""
    return _personas(dataset, str(settings().data_dir))


@st.cache_resource(show_spinner=False)
def _event_store(url: str) -> EventStore:
    return EventStore(url)


def event_store() -> EventStore:
    """The A/B event store of the configured URL."""
    return _event_store(settings().events_url)


@st.cache_resource(show_spinner=False)
def _lab_runner(data_dir: str) -> LabRunner:
    return LabRunner(settings())


def lab_runner() -> LabRunner:
    """The process-wide background benchmark runner."""
    return _lab_runner(str(settings().data_dir))


@st.cache_resource(show_spinner=False, max_entries=16)
def _live_experiment(dataset: str, path: str, modified: float) -> Experiment:
    experiment = load_experiment(Path(path))
    return dataclasses.replace(experiment, id=f"{experiment.id}-{dataset}")


def live_experiment(dataset: str) -> Experiment:
    """The app's live experiment (``app/experiment.yaml``) for ``dataset``, read once per
    version of the file (not on every rerun of the Persona view: ~3 ms of YAML)."""
    path = APP_DIR / "experiment.yaml"
    return _live_experiment(dataset, str(path), path.stat().st_mtime)


@st.cache_data(show_spinner=False)
def manifest(dataset: str, data_dir: str) -> dict[str, Any]:
    """The raw release's manifest (source, official checksum verified, created)."""
    return read_manifest(raw_dir(dataset, settings())).to_dict()


@st.cache_data(show_spinner="Checking data quality…")
def quality_report(dataset: str, manifest_hash: str) -> dict[str, Any]:
    """The quality report of ``dataset`` as a dict (cached per data version)."""
    from recsys.data.validate import validate_dataset

    return validate_dataset(get_service(dataset).dataset).to_dict()


@st.cache_data(show_spinner="Computing statistics…")
def data_insights(dataset: str, manifest_hash: str) -> dict[str, pl.DataFrame]:
    """Every frame of the Data insights page, computed once per data version."""
    data = get_service(dataset).dataset
    return {
        "ratings": stats.rating_distribution(data.ratings),
        # the long tails' lines through their corners only: the same lines, ~20x fewer points
        "popularity": stats.long_tail_corners(stats.long_tail(data.ratings, "item_id")),
        "activity": stats.long_tail_corners(stats.long_tail(data.ratings, "user_id")),
        "time": stats.ratings_over_time(data.ratings),
        "genres": stats.genre_trends(data.ratings, data.movies),
    }


def benchmark_folders() -> list[Path]:
    """Benchmark result folders: the repo's ``benchmarks/results`` and the lab's runs."""
    return results.benchmark_folders(results.RESULTS_DIR, lab_folder(settings()))
