"""Recommendations with the model's own reasons, bounds, side by side, the champion."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from recsys.data.load import ingest
from recsys.data.types import Dataset, Interactions
from recsys.errors import ArgumentError, ConfigError, UnknownIdError
from recsys.models import create_model
from recsys.monitoring.metrics import REGISTRY
from recsys.service import (
    MAX_RATINGS,
    RecommenderService,
    history_frame,
    jaccard,
    registry_champion,
)
from recsys.settings import Settings


def test_jaccard() -> None:
    assert jaccard([1, 2, 3], [2, 3, 4]) == 0.5
    assert jaccard([], []) == 0.0


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
            {i: 4.0 for i in service.catalog.movies["item_id"].head(MAX_RATINGS + 1)}))
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


@pytest.mark.parametrize("name", [["content"], None, 7, "nope"])
def test_an_unknown_model_name_lists_the_trained_ones(service: RecommenderService,
                                                      name: object) -> None:
    with pytest.raises(ConfigError, match=r"not trained on ml-latest-small; trained models: "
                                          r"\['content', 'most_popular'\]"):
        service.recommend(name, user_id=1)  # a list used to be a raw "unhashable" TypeError


def test_reasons_need_a_user_or_a_history(service: RecommenderService) -> None:
    with pytest.raises(ArgumentError, match="user_id must be integer ids"):
        service.reasons(service.model("most_popular"), [1])


@pytest.mark.parametrize(("a", "b"), [(None, [1]), ("ab", "bc"), ([1.5], [1])])
def test_jaccard_needs_id_lists(a: object, b: object) -> None:
    with pytest.raises(ArgumentError, match="must be integer ids"):
        jaccard(a, b)  # two strings used to be compared letter by letter
