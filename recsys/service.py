"""The serving layer the app wraps: one dataset, its trained models, bounded queries.

:class:`RecommenderService` loads a dataset and its trained models once and answers what the
pages ask: search the catalogue, a real user's history, recommendations for a user or for a
history folded in at query time (personas), explanations, two models side by side, similar
movies and a 2-D catalogue map. Inputs are validated and bounded (k, search strings, number of
ratings) so that nothing a visitor types can make a request expensive, and every
recommendation is timed into the Prometheus metrics of :mod:`recsys.monitoring.metrics`.
:class:`LabRunner` runs small benchmarks in a background thread with a progress fraction.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
import yaml

from recsys.arguments import check_cutoff, check_history
from recsys.data.types import Dataset
from recsys.errors import ConfigError, RecsysError, UnknownIdError
from recsys.models import Capability, Recommender
from recsys.monitoring.metrics import set_model_info, timed
from recsys.settings import Settings, get_settings
from recsys.training import TrainedModel, load_trained_model, trained_models

__all__ = [
    "DATASETS",
    "MAX_K",
    "MAX_QUERY_CHARS",
    "MAX_RATINGS",
    "LabJob",
    "LabRunner",
    "Persona",
    "RecommenderService",
    "history_frame",
    "jaccard",
    "load_personas",
    "normalise_titles",
    "prepare_dataset",
    "resolve_titles",
    "taste_profile",
]

log = logging.getLogger(__name__)

DATASETS = ("ml-latest-small", "ml-100k")
MAX_K = 50
MAX_QUERY_CHARS = 100
MAX_RATINGS = 50
LIKED_THRESHOLD = 4.0
HISTORY_SCHEMA = {"item_id": pl.Int64(), "rating": pl.Float32()}


# -- titles and personas ------------------------------------------------------------------------
def normalise_titles(titles: pl.Series) -> pl.Series:
    """Lower-case, article-first ("Godfather, The" -> "the godfather"), punctuation-free titles."""
    lowered = titles.str.to_lowercase().str.strip_chars()
    moved = lowered.str.replace(r"^(.*), (the|a|an)(:.*)?$", "$2 $1$3")
    return moved.str.replace_all(r"[^0-9a-z]+", " ").str.strip_chars()


def resolve_titles(movies: pl.DataFrame, wanted: pl.DataFrame) -> pl.DataFrame:
    """Match ``[title, year, rating]`` rows to catalogue ids: ``[item_id, rating, title]``.

    A wanted title matches a catalogue movie of the same year whose normalised title equals
    it or contains it as whole words (so "The Empire Strikes Back" finds "Star Wars: Episode V
    - The Empire Strikes Back"); among several matches the exact one, then the shortest title,
    wins. Titles that match nothing are left out (releases differ in their catalogues).
    """
    catalogue = movies.select(
        pl.col("item_id").cast(pl.Int64), "title", "year",
        normalise_titles(movies["title"]).alias("key"),
    )
    queries = wanted.with_row_index("query").with_columns(
        normalise_titles(wanted["title"]).alias("wanted_key"))
    candidates = queries.join(catalogue.drop("title"), on="year", how="inner").filter(
        (" " + pl.col("key") + " ").str.contains(" " + pl.col("wanted_key") + " ", literal=True)
    )
    best = (
        candidates.with_columns(
            (pl.col("key") != pl.col("wanted_key")).alias("inexact"),
            pl.col("key").str.len_chars().alias("length"),
        )
        .sort("query", "inexact", "length", "item_id")
        .group_by("query", maintain_order=True).first()
    )
    return best.join(catalogue.select("item_id", pl.col("title").alias("catalogue_title")),
                     on="item_id").select(
        "item_id", pl.col("rating").cast(pl.Float32), pl.col("catalogue_title").alias("title"),
    ).unique("item_id", keep="first", maintain_order=True)


@dataclass(frozen=True)
class Persona:
    """A ready-made taste: a few catalogue movies and their ratings."""

    id: str
    name: str
    description: str
    ratings: pl.DataFrame  # [item_id, rating, title]


def load_personas(path: Path | str, movies: pl.DataFrame) -> list[Persona]:
    """Personas of a YAML file, their titles resolved against ``movies``.

    Personas with fewer than 3 resolved movies on this catalogue are left out (logged).
    """
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    entries = raw.get("personas") if isinstance(raw, Mapping) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected a top-level `personas:` list")
    personas = []
    for entry in entries:
        unknown = sorted(set(entry) - {"id", "name", "description", "ratings"})
        if unknown or not entry.get("id") or not entry.get("ratings"):
            raise ConfigError(f"{path}: persona {entry.get('id')!r} needs id, name, ratings; "
                              f"unknown keys {unknown}")
        wanted = pl.DataFrame(entry["ratings"], schema={"title": pl.String(), "year": pl.Int32(),
                                                        "rating": pl.Float32()})
        resolved = resolve_titles(movies, wanted)
        if resolved.height < 3:
            log.warning("persona %s: only %d of %d titles in this catalogue; skipped",
                        entry["id"], resolved.height, wanted.height)
            continue
        personas.append(Persona(entry["id"], entry.get("name", entry["id"]),
                                entry.get("description", ""), resolved))
    return personas


def history_frame(ratings: Mapping[int, float]) -> pl.DataFrame:
    """A ``[item_id, rating]`` history from ``{item_id: rating}`` (the persona builder)."""
    return pl.DataFrame({"item_id": list(ratings), "rating": list(ratings.values())},
                        schema=HISTORY_SCHEMA)


def jaccard(a: Sequence[int], b: Sequence[int]) -> float:
    """Overlap of two recommendation lists: |A ∩ B| / |A ∪ B| (0 for two empty lists)."""
    union = set(a) | set(b)
    return len(set(a) & set(b)) / len(union) if union else 0.0


def taste_profile(history: pl.DataFrame, movies: pl.DataFrame) -> pl.DataFrame:
    """Genre weights of a history: ``[genre, weight, movies]`` with weight = rating - 2.5 summed.

    Ratings above the middle of the scale pull a genre up, ratings below push it down.
    """
    rated = history.join(movies.select(pl.col("item_id").cast(pl.Int64), "genres"),
                         on="item_id", how="inner")
    return (
        rated.explode("genres").drop_nulls("genres")
        .group_by(pl.col("genres").alias("genre"))
        .agg((pl.col("rating") - 2.5).sum().alias("weight"), pl.len().alias("movies"))
        .sort("weight", "genre", descending=[True, False])
    )


# -- preparing a dataset -----------------------------------------------------------------------
def prepare_dataset(
    name: str,
    settings: Settings | None = None,
    models: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> list[TrainedModel]:
    """Fetch ``name`` if needed and train the missing default models (a first start).

    ``progress(fraction, message)`` is called before each step.
    """
    from recsys.data.load import ingest
    from recsys.training import DEFAULT_MODELS, train_default_models

    settings = settings or get_settings()
    report = progress or (lambda fraction, message: None)
    report(0.0, f"Fetching and verifying {name}")
    ingest(name, settings=settings)
    wanted = dict(models or DEFAULT_MODELS)
    cards = []
    for index, (model, params) in enumerate(wanted.items()):
        report((index + 1) / (len(wanted) + 1), f"Training {model} on {name}")
        cards += train_default_models(name, {model: dict(params)}, settings)
    report(1.0, "Ready")
    return cards


# -- the service ---------------------------------------------------------------------------------
CHAMPION_NAME = "champion"


def registry_champion(
    dataset_name: str, settings: Settings
) -> tuple[Recommender, TrainedModel] | None:
    """The model the retraining pipeline promoted (MLflow alias ``champion``), if any.

    A local SQLite registry that does not exist yet means "no pipeline has run": nothing is
    created just by looking.
    """
    uri = settings.tracking_uri
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return None
    from recsys.registry_gate import ModelRegistry

    registry = ModelRegistry(uri, f"recsys-{dataset_name}")
    version = registry.champion()
    if version is None:
        return None
    model = registry.load_champion()
    metrics = registry.client.get_run(version.run_id).data.metrics
    created = datetime.fromtimestamp(version.creation_timestamp / 1000, UTC)
    card = TrainedModel(
        name=f"{CHAMPION_NAME} (v{version.version}: {model.name})", dataset=dataset_name,
        path=Path(f"models:/{registry.name}@{CHAMPION_NAME}"),
        trained_at=created.isoformat(timespec="seconds"),
        fit_seconds=float(metrics.get("fit_seconds", float("nan"))),
        manifest_hash=version.tags.get("manifest_hash", ""), params=model.get_params(),
        version=str(version.version),
    )
    return model, card


class RecommenderService:
    """A dataset plus its trained models, answering the app's questions."""

    def __init__(self, dataset: Dataset, models: Mapping[str, Recommender],
                 cards: Mapping[str, TrainedModel] | None = None) -> None:
        self.dataset = dataset
        self.models = dict(models)
        self.cards = dict(cards or {})
        counts = dataset.ratings.group_by("item_id").agg(
            pl.len().alias("n_ratings"), pl.col("rating").mean().alias("mean_rating"))
        self.movies = (
            dataset.movies.join(counts, on="item_id", how="left")
            .with_columns(pl.col("item_id").cast(pl.Int64), pl.col("n_ratings").fill_null(0),
                          normalise_titles(dataset.movies["title"]).alias("key"))
        )
        self._features: dict[str, Any] = {}
        self._genres: tuple[sp.csr_matrix, np.ndarray] | None = None
        self._lock = threading.RLock()

    @classmethod
    def open(cls, dataset_name: str, settings: Settings | None = None) -> RecommenderService:
        """Load ``dataset_name`` and every model trained on it (none trained is an error)."""
        from recsys.data.load import load_dataset

        settings = settings or get_settings()
        dataset = load_dataset(dataset_name, settings)
        cards = {card.name: card for card in trained_models(dataset_name, settings)}
        if not cards:
            raise RecsysError(f"No model is trained on {dataset_name} yet: run "
                              f"`recsys train {dataset_name}` (or start the app to train them)")
        models = {name: load_trained_model(dataset_name, name, settings) for name in cards}
        champion = registry_champion(dataset_name, settings)
        if champion is not None:
            models[CHAMPION_NAME], cards[CHAMPION_NAME] = champion
        for name, card in cards.items():  # Grafana's "Served model versions" panel
            set_model_info(name, card.served_version, dataset_name)
        return cls(dataset, models, cards)

    # -- catalogue --------------------------------------------------------------------------
    @property
    def model_names(self) -> list[str]:
        """Names of the loaded models."""
        return sorted(self.models)

    def model(self, name: str) -> Recommender:
        """The loaded model ``name``; a clear error lists what is loaded."""
        if name not in self.models:
            raise ConfigError(f"Model {name!r} is not trained on {self.dataset.name}; trained "
                              f"models: {self.model_names}. Run `recsys train {self.dataset.name}`")
        return self.models[name]

    def search(self, query: str, limit: int = 20) -> pl.DataFrame:
        """Catalogue movies whose title contains ``query`` (most rated first), bounded input."""
        if len(query) > MAX_QUERY_CHARS:
            raise ConfigError(f"Search text is {len(query)} characters long; at most "
                              f"{MAX_QUERY_CHARS} are allowed")
        key = normalise_titles(pl.Series([query]))[0]
        if not key:
            return self.movies.head(0).select("item_id", "title", "year", "genres", "n_ratings")
        return (
            self.movies.filter(pl.col("key").str.contains(key, literal=True))
            .sort("n_ratings", "item_id", descending=[True, False])
            .head(min(limit, MAX_K))
            .select("item_id", "title", "year", "genres", "n_ratings")
        )

    def movie(self, item_id: int) -> dict[str, Any]:
        """One catalogue movie as a dict; UnknownIdError if it is not in the catalogue."""
        row = self.movies.filter(pl.col("item_id") == item_id)
        if row.is_empty():
            raise UnknownIdError(f"Movie {item_id} is not in the {self.dataset.name} catalogue")
        return row.row(0, named=True)

    def label(self, item_ids: Sequence[int]) -> list[str]:
        """"Title (year)" of each id."""
        wanted = pl.DataFrame({"item_id": list(item_ids)}, schema={"item_id": pl.Int64()})
        named = wanted.join(self.movies.select("item_id", "title", "year"), on="item_id",
                            how="left", maintain_order="left")
        return [f"{t} ({y})" if y else str(t) for t, y in named.select("title", "year").rows()]

    def user_ids(self) -> list[int]:
        """Every user with ratings, ascending."""
        return self.dataset.ratings["user_id"].unique().sort().to_list()

    def user_history(self, user_id: int) -> pl.DataFrame:
        """A real user's ratings with titles, best and newest first."""
        rows = self.dataset.ratings.filter(pl.col("user_id") == user_id)
        if rows.is_empty():
            raise UnknownIdError(f"User {user_id} has no ratings in {self.dataset.name}")
        return (
            rows.with_columns(pl.col("item_id").cast(pl.Int64))
            .join(self.movies.select("item_id", "title", "year", "genres"), on="item_id",
                  how="left")
            .sort("rating", "timestamp", descending=True)
            .select("item_id", "title", "year", "genres", "rating", "timestamp")
        )

    def demographics(self, user_id: int) -> dict[str, Any] | None:
        """Age, gender, occupation of a user where the release has them (ml-100k), else None."""
        users = self.dataset.users
        if users is None:
            return None
        row = users.filter(pl.col("user_id") == user_id).drop("zip_code", strict=False)
        return row.row(0, named=True) if row.height else None

    def check_history(self, history: pl.DataFrame) -> pl.DataFrame:
        """A bounded, in-scale history of known movies (rules of :func:`check_history`)."""
        history = check_history(history, self.dataset.rating_scale)
        if history.height > MAX_RATINGS:
            raise ConfigError(f"{history.height} ratings given; at most {MAX_RATINGS} are allowed")
        known = history.join(self.movies.select("item_id"), on="item_id", how="semi")
        if known.height < history.height:
            raise UnknownIdError(f"Movie id(s) not in the {self.dataset.name} catalogue: "
                                 f"{sorted(set(history['item_id']) - set(known['item_id']))[:5]}")
        return history.select(pl.col("item_id").cast(pl.Int64), pl.col("rating").cast(pl.Float32))

    # -- recommendations ----------------------------------------------------------------------
    def recommend(
        self, model_name: str, user_id: int | None = None, history: pl.DataFrame | None = None,
        k: int = 10,
    ) -> pl.DataFrame:
        """Top-``k`` for a real user or a folded-in history, with titles and a reason.

        Returns ``[rank, item_id, title, year, genres, score, why]``; timed into Prometheus.
        """
        if not 1 <= check_cutoff(k) <= MAX_K:
            raise ConfigError(f"k must be between 1 and {MAX_K}, got {k}")
        if (user_id is None) == (history is None):
            raise ConfigError("recommend needs exactly one of user_id or history")
        model = self.model(model_name)
        with timed(model_name):
            if history is None:
                recs = model.recommend([user_id], k=k)
                history = self.user_history(int(user_id)).select("item_id", "rating")
            else:
                history = self.check_history(history)
                recs = model.recommend_for_history(history, k=k)
            why = self._reasons(model, user_id, history, recs["item_id"].to_list())
        return (
            recs.select("rank", "item_id", "score")
            .join(self.movies.select("item_id", "title", "year", "genres"), on="item_id",
                  how="left", maintain_order="left")
            .with_columns(pl.Series("why", why, dtype=pl.String))
            .select("rank", "item_id", "title", "year", "genres", "score", "why")
        )

    def compare(
        self, model_a: str, model_b: str, user_id: int | None = None,
        history: pl.DataFrame | None = None, k: int = 10,
    ) -> tuple[pl.DataFrame, pl.DataFrame, float]:
        """Two models' lists for the same user or persona and their Jaccard overlap."""
        recs_a = self.recommend(model_a, user_id, history, k)
        recs_b = self.recommend(model_b, user_id, history, k)
        return recs_a, recs_b, jaccard(recs_a["item_id"].to_list(), recs_b["item_id"].to_list())

    def _reasons(self, model: Recommender, user_id: int | None, history: pl.DataFrame,
                 item_ids: list[int]) -> list[str]:
        """The model's own explanation for a real user; liked movies sharing genres otherwise."""
        if user_id is not None and model.supports(Capability.EXPLAIN):
            return [self._explain_text(model, int(user_id), item) for item in item_ids]
        return self._genre_reasons(history, item_ids)

    def _explain_text(self, model: Recommender, user_id: int, item_id: int) -> str:
        explanation = model.explain(user_id, item_id)
        return self._titled(explanation.contributions, explanation.text)

    def _titled(self, contributions: list[dict[str, Any]], text: str) -> str:
        """Replace "item 123" references of a model explanation by movie titles."""
        rated = [c for c in contributions if "item_id" in c]
        if not rated:
            return text
        names = self.label([c["item_id"] for c in rated])
        return "Because you rated " + ", ".join(
            f"{name} ({c['rating']:g})" if "rating" in c else name
            for name, c in zip(names, rated, strict=True))

    def _genre_matrix(self) -> tuple[sp.csr_matrix, np.ndarray]:
        """Movies × genres multi-hot matrix (rows in ``self.movies`` order) and genre names."""
        if self._genres is None:
            exploded = self.movies.select(pl.int_range(pl.len()).alias("row"), "genres").explode(
                "genres").drop_nulls("genres")
            names, codes = np.unique(exploded["genres"].to_numpy().astype(str),
                                     return_inverse=True)
            matrix = sp.csr_matrix(
                (np.ones(len(codes), dtype=np.float32), (exploded["row"].to_numpy(), codes)),
                shape=(self.movies.height, len(names)))
            self._genres = (matrix, names)
        return self._genres

    def _rows(self, item_ids: Sequence[int]) -> np.ndarray:
        lookup = pl.DataFrame({"item_id": list(item_ids)}, schema={"item_id": pl.Int64()})
        indexed = self.movies.select("item_id").with_row_index("row")
        return lookup.join(indexed, on="item_id", how="left", maintain_order="left")[
            "row"].fill_null(0).to_numpy()

    def _genre_reasons(self, history: pl.DataFrame, item_ids: list[int]) -> list[str]:
        """"Because you liked A, B · shares Sci-Fi": liked movies with the most genres in common."""
        liked = history.filter(pl.col("rating") >= min(LIKED_THRESHOLD, history["rating"].max()))
        matrix, names = self._genre_matrix()
        liked_rows = matrix[self._rows(liked["item_id"].to_list())]
        rec_rows = matrix[self._rows(item_ids)]
        overlap = (rec_rows @ liked_rows.T).toarray()
        liked_names = self.label(liked["item_id"].to_list())
        reasons = []
        for i in range(len(item_ids)):  # k <= 50 short strings: assembling text, not scoring
            order = np.argsort(-overlap[i], kind="stable")[:2]
            order = order[overlap[i][order] > 0]
            shared = names[(rec_rows[i].toarray()[0] > 0) & (liked_rows.sum(axis=0).A1 > 0)]
            if len(order) == 0:
                reasons.append("Outside the genres of the movies you liked")
                continue
            reasons.append("Because you liked " + ", ".join(liked_names[j] for j in order)
                           + (" · shares " + ", ".join(shared[:3]) if len(shared) else ""))
        return reasons

    # -- similarity --------------------------------------------------------------------------
    def similarity_methods(self) -> list[str]:
        """Explorer methods that make sense on this dataset (genome only where it exists)."""
        from recsys.features.explorer import METHODS

        return [m for m in METHODS if m != "genome" or self.dataset.genome_scores is not None]

    def features(self, kind: str) -> Any:
        """The item representation ``kind`` (tags, genome, embedding), built once."""
        from recsys.features.embeddings import movie_embeddings
        from recsys.features.genome import genome_features
        from recsys.features.tfidf import tfidf_features

        builders = {"tags": tfidf_features, "genome": genome_features,
                    "embedding": lambda d: movie_embeddings(d, progress=False)}
        if kind not in builders:
            raise ConfigError(f"Unknown representation {kind!r}; expected one of {list(builders)}")
        with self._lock:
            if kind not in self._features:
                self._features[kind] = builders[kind](self.dataset)
        return self._features[kind]

    def similar(self, item_id: int, methods: Sequence[str], k: int = 10) -> pl.DataFrame:
        """Neighbours of one movie per method: ``[method, rank, item_id, title, score]``."""
        from recsys.features.explorer import similar_movies

        if not methods:
            raise ConfigError("Pick at least one similarity method")
        if not 1 <= check_cutoff(k) <= MAX_K:
            raise ConfigError(f"k must be between 1 and {MAX_K}, got {k}")
        self.movie(item_id)
        features = {m: self.features(m) for m in methods if m in ("tags", "genome", "embedding")}
        with timed("explorer", endpoint="similar"):
            return similar_movies(self.dataset, item_id, k, list(methods), features)

    def catalog_map(self, kind: str = "tags") -> pl.DataFrame:
        """2-D projection of the catalogue: ``[item_id, x, y, title, genre, n_ratings]``."""
        from recsys.features.explorer import catalog_map

        with self._lock:
            key = f"map:{kind}"
            if key not in self._features:
                self._features[key] = catalog_map(self.features(kind)) if kind in (
                    "tags", "genome", "embedding") else None
        points = self._features[key]
        if points is None:
            raise ConfigError(f"No catalogue map for representation {kind!r}")
        return points.join(
            self.movies.select("item_id", "title", "n_ratings",
                               pl.col("genres").list.first().fill_null("(none)").alias("genre")),
            on="item_id", how="left")


# -- background benchmarks -----------------------------------------------------------------------
LAB_METRICS = ["ndcg@10", "recall@10", "precision@10", "coverage@10", "novelty@10"]


@dataclass
class LabJob:
    """One benchmark launched from the lab: its state, progress and results folder."""

    id: str
    dataset: str
    models: list[str]
    state: str = "queued"  # queued, running, done, failed
    progress: float = 0.0
    message: str = "Waiting to start"
    folder: Path | None = None
    error: str = ""
    started: float = field(default_factory=time.time)


def lab_spec(dataset: str, models: Sequence[str], name: str) -> Any:
    """A small benchmark: 80/20 random per-user holdout, top-10 metrics, one seed."""
    from recsys.bench.spec import BenchmarkSpec

    return BenchmarkSpec.from_dict({
        "name": name, "dataset": dataset,
        "description": f"Launched from the app's benchmark lab on {dataset}.",
        "protocol": {"kind": "random_holdout", "params": {"test_fraction": 0.2}},
        "seeds": [42], "k": [10], "metrics": LAB_METRICS,
        "models": [{"name": m, "label": m} for m in models],
    })


class LabRunner:
    """Runs one small benchmark at a time in a daemon thread; the page polls :meth:`job`."""

    def __init__(self, settings: Settings | None = None, max_models: int = 4) -> None:
        self.settings = settings or get_settings()
        self.max_models = max_models
        self._jobs: dict[str, LabJob] = {}
        self._lock = threading.Lock()

    def busy(self) -> bool:
        """True while a job is queued or running."""
        with self._lock:
            return any(j.state in ("queued", "running") for j in self._jobs.values())

    def submit(self, dataset: str, models: Sequence[str]) -> LabJob:
        """Start a benchmark of ``models`` on ``dataset``; one at a time, at most max_models."""
        from recsys.models import available_models

        if not models:
            raise ConfigError("Pick at least one model to benchmark")
        if len(models) > self.max_models:
            raise ConfigError(f"At most {self.max_models} models per lab run, got {len(models)}")
        unknown = sorted(set(models) - set(available_models()))
        if unknown:
            raise ConfigError(f"Unknown model(s) {unknown}")
        if self.busy():
            raise ConfigError("A benchmark is already running: wait for it to finish")
        job = LabJob(uuid.uuid4().hex[:8], dataset, list(models))
        with self._lock:
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job,), name=f"lab-{job.id}", daemon=True).start()
        return job

    def job(self, job_id: str) -> LabJob | None:
        """A snapshot of the job ``job_id`` (None if unknown)."""
        with self._lock:
            job = self._jobs.get(job_id)
            return dataclasses.replace(job) if job else None

    def _update(self, job: LabJob, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(job, key, value)

    def _run(self, job: LabJob) -> None:
        try:
            self._update(job, state="running", message="Loading the dataset")
            job_folder = run_lab(job.dataset, job.models, self.settings, f"lab-{job.id}",
                                 lambda f, m: self._update(job, progress=f, message=m))
            self._update(job, state="done", progress=1.0, folder=job_folder, message="Done")
        except RecsysError as error:
            self._update(job, state="failed", error=str(error), message="Failed")
        except Exception as error:  # a thread must report, not die silently
            log.exception("lab job %s failed", job.id)
            self._update(job, state="failed", error=f"{type(error).__name__}: {error}",
                          message="Failed")


def run_lab(dataset_name: str, models: Sequence[str], settings: Settings, name: str,
            progress: Callable[[float, str], None]) -> Path:
    """Benchmark ``models`` one by one on the same split; write the results folder."""
    from recsys.bench.report import write_results
    from recsys.bench.runner import BenchmarkResult, run_benchmark
    from recsys.data.load import load_dataset
    from recsys.evaluation.stats import compare_models

    dataset = load_dataset(dataset_name, settings)
    spec = lab_spec(dataset_name, models, name)
    results = []
    for index, model in enumerate(models):
        progress(index / len(models), f"Fitting and evaluating {model} ({index + 1}/{len(models)})")
        results.append(run_benchmark(spec.select([model]), settings, progress=False,
                                     tracking=False, dataset=dataset, threads=1))
    progress(0.95, "Testing the differences")
    per_user = pl.concat([r.per_user for r in results], how="diagonal_relaxed")
    significance = {}
    if len(results) > 1:
        for metric in ("ndcg@10", "recall@10"):
            means = per_user.group_by("model", "user_id").agg(pl.col(metric).mean())
            significance[metric] = compare_models(means, metric, n_boot=200)
    combined = BenchmarkResult(
        spec=spec,
        summary=pl.concat([r.summary for r in results], how="diagonal_relaxed"),
        splits=pl.concat([r.splits for r in results], how="diagonal_relaxed"),
        per_user=per_user, significance=significance,
        segments=pl.concat([r.segments for r in results], how="diagonal_relaxed"),
        tuning=pl.DataFrame(), context={**results[0].context, "launched_from": "app lab"},
        errors={k: v for r in results for k, v in r.errors.items()},
    )
    return write_results(combined, settings.data_dir / "lab" / name)
