"""The serving layer: title resolution, personas, bounds, recommendations with reasons, lab."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest

from recsys.data.load import ingest
from recsys.data.types import Dataset, Interactions, TrainingData
from recsys.errors import ConfigError, UnknownIdError
from recsys.models import create_model
from recsys.monitoring.metrics import REGISTRY
from recsys.service import (
    MAX_QUERY_CHARS,
    MAX_RATINGS,
    LabRunner,
    RecommenderService,
    history_frame,
    jaccard,
    load_personas,
    normalise_titles,
    registry_champion,
    resolve_titles,
    taste_profile,
)
from recsys.settings import Settings

PERSONAS = Path(__file__).resolve().parents[2] / "app" / "personas.yaml"


@pytest.fixture(scope="module")
def service(ml_small: Dataset) -> RecommenderService:
    train = Interactions.from_frame(ml_small.ratings, items=ml_small.movies["item_id"])
    models = {name: create_model(name).fit(TrainingData.for_serving(train, ml_small))
              for name in ("most_popular", "content")}
    return RecommenderService(ml_small, models)


def test_normalise_titles_moves_articles_and_drops_punctuation() -> None:
    titles = pl.Series(["Godfather, The", "Godfather: Part II, The", "E.T. the Extra-Terrestrial"])
    assert normalise_titles(titles).to_list() == [
        "the godfather", "the godfather part ii", "e t the extra terrestrial"]


def test_resolve_titles_by_year_and_whole_words() -> None:
    movies = pl.DataFrame({
        "item_id": [1, 2, 3, 4],
        "title": ["Star Wars: Episode V - The Empire Strikes Back", "Alien", "Aliens", "Alien"],
        "year": [1980, 1979, 1986, 1999],
    })
    wanted = pl.DataFrame({"title": ["The Empire Strikes Back", "Alien", "Nope"],
                           "year": [1980, 1979, 1980], "rating": [5.0, 4.0, 3.0]})
    resolved = resolve_titles(movies, wanted)
    # "Alien" 1979 matches id 2 only: "Aliens" is not the whole word, 1999 is the wrong year.
    assert resolved["item_id"].to_list() == [1, 2]
    assert resolved["rating"].to_list() == [5.0, 4.0]


def test_personas_resolve_on_both_releases(ml_small: Dataset, ml_100k: Dataset) -> None:
    for dataset in (ml_small, ml_100k):
        personas = {p.id: p for p in load_personas(PERSONAS, dataset.movies)}
        assert set(personas) == {"sci-fi-fan", "family-movie-night", "90s-crime-buff"}
        assert all(p.ratings.height >= 10 for p in personas.values())
    scifi = {p.id: p for p in load_personas(PERSONAS, ml_small.movies)}["sci-fi-fan"]
    assert 260 in scifi.ratings["item_id"].to_list()  # Star Wars: Episode IV (1977)


def test_taste_profile_known_answer() -> None:
    movies = pl.DataFrame({"item_id": [1, 2], "genres": [["Sci-Fi", "Action"], ["Sci-Fi"]]})
    history = history_frame({1: 5.0, 2: 1.5})
    profile = taste_profile(history, movies)
    assert dict(zip(profile["genre"], profile["weight"], strict=True)) == {
        "Action": 2.5, "Sci-Fi": 1.5}  # (5 - 2.5) + (1.5 - 2.5)


def test_jaccard() -> None:
    assert jaccard([1, 2, 3], [2, 3, 4]) == 0.5
    assert jaccard([], []) == 0.0


def test_search_is_bounded_and_ranked(service: RecommenderService) -> None:
    found = service.search("star wars")
    assert found["n_ratings"].is_sorted(descending=True)
    assert all("Star Wars" in t for t in found["title"])
    with pytest.raises(ConfigError, match="at most 100"):
        service.search("x" * (MAX_QUERY_CHARS + 1))
    assert service.search("  ").is_empty()


def test_recommend_for_persona_has_titles_reasons_and_is_fast(
        service: RecommenderService) -> None:
    history = history_frame({260: 5.0, 1196: 5.0, 1: 2.0})  # Star Wars IV, V; Toy Story
    before = _requests("content")
    start = time.perf_counter()
    recs = service.recommend("content", history=history, k=10)
    elapsed = time.perf_counter() - start
    assert recs.columns == ["rank", "item_id", "title", "year", "genres", "score", "why"]
    assert recs["rank"].to_list() == list(range(1, 11))
    assert not set(recs["item_id"]) & {260, 1196, 1}  # rated movies are not recommended
    assert recs["why"].str.starts_with("Because you liked Star Wars").any()
    assert _requests("content") == before + 1  # timed into Prometheus
    assert elapsed < 2.0


def test_recommend_for_real_user_uses_model_explanation(service: RecommenderService) -> None:
    recs = service.recommend("most_popular", user_id=1, k=5)
    assert recs.height == 5
    assert recs["why"].str.starts_with("Popular with everyone").all()


def test_recommend_rejects_bad_input(service: RecommenderService) -> None:
    with pytest.raises(ConfigError, match="between 1 and 50"):
        service.recommend("content", user_id=1, k=500)
    with pytest.raises(ConfigError, match="at most 50"):
        service.recommend("content", history=history_frame(
            {i: 4.0 for i in service.movies["item_id"].head(MAX_RATINGS + 1)}))
    with pytest.raises(ConfigError, match=r"\[0.5, 5.0\]"):
        service.recommend("content", history=history_frame({1: 9.0}))
    with pytest.raises(UnknownIdError, match="not in the ml-latest-small catalogue"):
        service.recommend("content", history=history_frame({-7: 4.0}))
    with pytest.raises(ConfigError, match="not trained"):
        service.recommend("ease", user_id=1)


def test_compare_overlap(service: RecommenderService) -> None:
    history = history_frame({260: 5.0, 1196: 5.0})
    recs_a, recs_b, overlap = service.compare("content", "content", history=history, k=5)
    assert recs_a.equals(recs_b) and overlap == 1.0


def test_demographics_only_where_the_release_has_them(service: RecommenderService) -> None:
    assert service.demographics(1) is None
    with pytest.raises(UnknownIdError):
        service.user_history(10**9)


def test_similar_and_catalog_map(service: RecommenderService) -> None:
    frame = service.similar(1, ["tags"], k=5)
    assert frame.height == 5 and 1 not in frame["item_id"].to_list()
    points = service.catalog_map("tags")
    assert {"x", "y", "genre", "title"} <= set(points.columns) and points.height > 1000
    with pytest.raises(UnknownIdError):
        service.similar(-1, ["tags"])


def test_lab_runner_runs_in_the_background(ml_100k: Dataset, data_settings: Settings) -> None:
    runner = LabRunner(data_settings)
    job = runner.submit("ml-100k", ["most_popular"])
    with pytest.raises(ConfigError, match="already running"):
        runner.submit("ml-100k", ["most_popular"])
    deadline = time.time() + 120
    while runner.job(job.id).state in ("queued", "running") and time.time() < deadline:
        time.sleep(0.2)
    done = runner.job(job.id)
    assert done.state == "done", done.error
    summary = pl.read_csv(done.folder / "results.csv")
    assert summary["name"].to_list() == ["most_popular"] and summary["ndcg@10"][0] > 0


def _requests(model: str) -> float:
    value = REGISTRY.get_sample_value("recsys_requests_total",
                                      {"model": model, "endpoint": "recommend"})
    return value or 0.0


def test_service_serves_the_registry_champion(
    ml_100k: Dataset, mirror_dir: Path, tmp_path: Path
) -> None:
    from recsys.registry_gate import ModelRegistry
    from recsys.training import train_default_models

    settings = Settings(data_dir=tmp_path, data_mirror=None,
                        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    ingest("ml-100k", settings=Settings(data_dir=tmp_path, data_mirror=mirror_dir))
    train_default_models("ml-100k", {"most_popular": {}}, settings=settings)
    assert registry_champion("ml-100k", settings) is None  # registry file absent: nothing made
    assert not (tmp_path / "mlflow.db").exists()

    train = Interactions.from_frame(ml_100k.ratings)
    ease = create_model("ease", reg=300.0).fit(train)
    ease.save(tmp_path / "ease")
    registry = ModelRegistry(settings.tracking_uri, "recsys-ml-100k")
    version = registry.register(tmp_path / "ease", "test", metrics={"fit_seconds": 1.5},
                                params={"model": "ease"}, tags={"manifest_hash": "abc"})
    registry.promote(version)

    service = RecommenderService.open("ml-100k", settings)
    assert service.model_names == ["champion", "most_popular"]
    card = service.cards["champion"]
    assert card.name == f"champion (v{version.version}: ease)"
    assert card.fit_seconds == 1.5 and card.manifest_hash == "abc"
    served = service.model("champion").recommend([1], k=5)["item_id"].to_list()
    assert served == ease.recommend([1], k=5)["item_id"].to_list()
