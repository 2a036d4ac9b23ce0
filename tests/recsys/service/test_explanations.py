"""The one renderer: known sentences per kind of evidence, titles for ids, nested components."""

from __future__ import annotations

import re

import pytest

from recsys.data.types import Dataset, Interactions, TrainingData
from recsys.models import create_model
from recsys.models.explanation import (
    Component,
    Explanation,
    ExplanationKind,
    Feature,
    Neighbourhood,
    Popularity,
    RatedItem,
    SimilarUser,
    Switch,
    SwitchRule,
)
from recsys.service import RecommenderService, history_frame
from recsys.service.explanations import cannot_explain, describe

TITLES = {1: "Alien (1979)", 2: "Aliens (1986)", 3: "Heat (1995)"}


def label(item_ids: list[int]) -> list[str]:
    return [TITLES[i] for i in item_ids]


def rated(*pairs: tuple[int, float]) -> tuple[RatedItem, ...]:
    return tuple(RatedItem(item, rating, 1.0 / (n + 1)) for n, (item, rating) in enumerate(pairs))


def test_popularity_says_its_real_count() -> None:
    explanation = Explanation(ExplanationKind.POPULARITY, 3, 1234.0,
                              popularity=Popularity(1234, 0.0))
    assert describe(explanation, label) == "Popular with everyone: rated by 1,234 users"
    above = Explanation(ExplanationKind.POPULARITY, 3, 7.0, popularity=Popularity(7, 3.5))
    assert describe(above, label) == "Popular with everyone: rated above 3.5 by 7 users"


def test_rated_items_are_named_by_title_liked_only_when_rated_highly() -> None:
    liked = Explanation(ExplanationKind.RATED_ITEMS, 3, 1.0, rated_items=rated((1, 5.0), (2, 4.5)))
    assert describe(liked, label) == "Because you liked Alien (1979) 5★, Aliens (1986) 4.5★"
    mixed = Explanation(ExplanationKind.RATED_ITEMS, 3, 1.0, rated_items=rated((1, 5.0), (2, 2.0)))
    assert describe(mixed, label) == "Because you rated Alien (1979) 5★, Aliens (1986) 2★"
    none = Explanation(ExplanationKind.RATED_ITEMS, 3, 0.0)
    assert describe(none, label) == "None of the movies you rated points to this one"


def test_similar_users_give_their_number_and_mean_rating() -> None:
    closest = (SimilarUser(7, 0.9, 5.0), SimilarUser(8, 0.5, 3.0))
    explanation = Explanation(ExplanationKind.SIMILAR_USERS, 3, 1.4,
                              neighbourhood=Neighbourhood(12, 4.25, closest))
    assert describe(explanation, label) == (
        "12 users with tastes like yours rated it (4.2★ on average)")
    nobody = Explanation(ExplanationKind.SIMILAR_USERS, 3, 0.0,
                         neighbourhood=Neighbourhood(0, float("nan"), ()))
    assert describe(nobody, label) == "No user with tastes like yours rated it"


def test_features_follow_the_rated_movies() -> None:
    features = (Feature("space", 0.3), Feature("sci-fi", 0.2))
    both = Explanation(ExplanationKind.FEATURES, 3, 0.5, rated_items=rated((1, 5.0)),
                       features=features)
    assert describe(both, label) == (
        "Because you liked Alien (1979) 5★ · matches your taste for: space, sci-fi")
    alone = Explanation(ExplanationKind.FEATURES, 3, 0.5, features=features)
    assert describe(alone, label) == "Matches your taste for: space, sci-fi"
    neither = Explanation(ExplanationKind.FEATURES, 3, 0.0)
    assert describe(neither, label) == "Shares little with the movies you rated highly"


def test_hybrids_name_their_shares_and_the_leading_components_own_reason() -> None:
    ease = Explanation(ExplanationKind.RATED_ITEMS, 3, 2.0, rated_items=rated((1, 5.0)))
    blend = Explanation(ExplanationKind.BLEND, 3, 1.1, components=(
        Component("ease", 0.7, 0.9, ease), Component("bpr", 0.3, 0.2, None)))
    assert describe(blend, label) == (
        "Blend of ease 70%, bpr 30%; mostly ease: Because you liked Alien (1979) 5★")
    led_by_bpr = Explanation(ExplanationKind.BLEND, 3, 1.1, components=(
        Component("ease", 0.7, 0.1, ease), Component("bpr", 0.3, 0.2, None)))
    assert describe(led_by_bpr, label).endswith(f"mostly bpr: {cannot_explain('bpr')}")
    switch = Explanation(ExplanationKind.SWITCH, 3, 1.0,
                         components=(Component("ease", 1.0, 1.0, ease),),
                         switch=Switch(SwitchRule.FEW_RATINGS, 5))
    assert describe(switch, label) == (
        "ease (because you have rated fewer than 5 movies): Because you liked Alien (1979) 5★")


@pytest.fixture(scope="module")
def explaining_service(ml_100k: Dataset) -> RecommenderService:
    """ml-100k (item-kNN fits in seconds there) with models of every kind of explanation."""
    train = Interactions.from_frame(ml_100k.ratings, items=ml_100k.movies["item_id"])
    specs = {"item_knn": {"k": 50, "similarity": "cosine", "centering": "none"},
             "ease": {"reg": 300.0}, "user_knn": {"k": 30}, "random": {},
             "hybrid_switch": {"collaborative": {"name": "ease", "params": {"reg": 300.0}},
                               "cold_item_offset": 0.0}}
    models = {name: create_model(name, **params).fit(TrainingData.for_serving(train, ml_100k))
              for name, params in specs.items()}
    return RecommenderService(ml_100k, models)


def test_each_model_gives_its_own_reason_for_a_persona(
        explaining_service: RecommenderService) -> None:
    history = history_frame({50: 5.0, 172: 5.0, 1: 2.0})  # Star Wars IV, V; Toy Story
    patterns = {"item_knn": r"Because you (liked|rated) .*Star Wars.*",
                "ease": r"Because you (liked|rated) .*(Star Wars|Toy Story).*",
                "hybrid_switch": r"most_popular \(because you have rated fewer than 5 movies\): "
                                 r"Popular with everyone: rated by [\d,]+ users"}
    for model, pattern in patterns.items():
        why = explaining_service.recommend(model, history=history, k=5)["why"].to_list()
        assert all(re.fullmatch(pattern, w) for w in why), (model, why)
        assert not any(re.search(r"\bitem \d+", w) for w in why)


def test_models_that_cannot_explain_say_so(explaining_service: RecommenderService) -> None:
    why = explaining_service.recommend("random", user_id=1, k=3)["why"].to_list()
    assert why == [cannot_explain("random")] * 3
    why = explaining_service.recommend("user_knn", user_id=1, k=3)["why"].to_list()
    assert all(re.fullmatch(r"\d+ users? with tastes like yours rated it \(.+★ on average\)", w)
               for w in why), why
