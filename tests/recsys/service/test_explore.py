"""Similarity explorer: neighbours per method, hand-checked cosine, Jaccard overlap, the map."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recsys.data.types import Dataset
from recsys.errors import ArgumentError, ConfigError, DataError, UnknownIdError
from recsys.features import tfidf_features
from recsys.service import MovieCatalog, RecommenderService
from recsys.service.explore import (
    EXPLORER_SCHEMA,
    Explorer,
    catalog_map,
    list_overlap,
    similar_movies,
)

METHODS = ("rating_cosine", "rating_pearson", "adjusted_cosine", "tfidf")


@pytest.fixture(scope="module")
def toy_story(ml_small: Dataset) -> pl.DataFrame:
    return similar_movies(ml_small, 1, k=10, methods=METHODS)


def test_lists_per_method(toy_story: pl.DataFrame) -> None:
    assert toy_story.columns == ["method", "rank", "item_id", "title", "score"]
    for method in METHODS:
        part = toy_story.filter(pl.col("method") == method)
        assert part["rank"].to_list() == list(range(1, 11))
        assert 1 not in part["item_id"].to_list() and part["title"].null_count() == 0
        assert (part["score"].diff().drop_nulls() <= 0).all()
    assert "Toy Story 2" in toy_story.filter(pl.col("method") == "tfidf")["title"].to_list()


def test_rating_cosine_by_hand(toy_story: pl.DataFrame, ml_small: Dataset) -> None:
    best = toy_story.filter(pl.col("method") == "rating_cosine").row(0, named=True)
    r = ml_small.ratings
    pair = r.filter(pl.col("item_id") == 1).join(
        r.filter(pl.col("item_id") == best["item_id"]), on="user_id")
    a, b = pair["rating"].to_numpy(), pair["rating_right"].to_numpy()
    cosine = (a @ b) / np.sqrt((a @ a) * (b @ b))  # over co-rating users (Surprise's cosine)
    expected = cosine * len(a) / (len(a) + 25.0)  # significance weighting, shrinkage 25
    assert best["score"] == pytest.approx(expected, rel=1e-6)


def test_rating_neighbours_need_several_co_raters(
    toy_story: pl.DataFrame, ml_small: Dataset
) -> None:
    r = ml_small.ratings
    raters = r.filter(pl.col("item_id") == 1).select("user_id")
    for method in ("rating_cosine", "rating_pearson", "adjusted_cosine"):
        for neighbour in toy_story.filter(pl.col("method") == method)["item_id"]:
            co_raters = r.filter(pl.col("item_id") == neighbour).join(raters, on="user_id")
            assert co_raters.height >= 3, (method, neighbour)


def test_a_movie_of_one_rater_has_no_rating_neighbours(ml_small: Dataset) -> None:
    # one rater means no co-raters: the rating lists are empty, once a raw SchemaError
    # (an untyped empty list could not be stacked with the others)
    once = ml_small.ratings.group_by("item_id").len().filter(pl.col("len") == 1)
    found = similar_movies(ml_small, int(once["item_id"].min()), k=5, methods=METHODS)
    assert dict(found.schema) == EXPLORER_SCHEMA
    assert set(found["method"]) == {"tfidf"} and found.height == 5


def test_list_overlap_by_hand() -> None:
    frame = pl.DataFrame({"method": ["a"] * 3 + ["b"] * 3, "item_id": [1, 2, 3, 2, 3, 4]})
    overlap = list_overlap(frame)
    assert overlap.rows() == [("a", 1.0, 0.5), ("b", 0.5, 1.0)]


def test_bad_requests(ml_small: Dataset) -> None:
    with pytest.raises(ConfigError):
        similar_movies(ml_small, 1, methods=("telepathy",))
    with pytest.raises(UnknownIdError):
        similar_movies(ml_small, -5, methods=("tfidf",))


def test_catalog_map(ml_small: Dataset) -> None:
    points = catalog_map(tfidf_features(ml_small))
    # 7 movies have neither genres nor a year (nor frequent tags): no vector, not on the map
    assert points.columns == ["item_id", "x", "y"] and points.height == 9742 - 7
    assert points["x"].std() > 0 and points["y"].std() > 0


def test_similar_and_catalog_map(service: RecommenderService) -> None:
    frame = service.explorer.similar(1, ["tfidf"], k=5)
    assert frame.height == 5 and 1 not in frame["item_id"].to_list()
    points = service.explorer.catalog_map("tfidf")
    assert {"x", "y", "genre", "title"} <= set(points.columns) and points.height > 1000
    with pytest.raises(UnknownIdError):
        service.explorer.similar(-1, ["tfidf"])


def test_genome_explorer_on_a_genome_release(genome_dataset: Dataset) -> None:
    explorer = Explorer(MovieCatalog(genome_dataset))
    assert "genome" in explorer.methods()
    covered = explorer.genome_movies()
    assert covered.height == 200 and covered["n_ratings"].is_sorted(descending=True)
    movie = int(covered["item_id"][0])
    neighbours = explorer.similar(movie, ["genome"], k=5)
    assert neighbours.height == 5 and set(neighbours["item_id"]) <= set(covered["item_id"])
    comparison = explorer.genome_vs_rating(movie)
    pairs = comparison.pairs
    assert pairs.columns == ["item_id", "title", "genome", "rating"] and pairs.height > 20
    assert movie not in pairs["item_id"].to_list() and (pairs["rating"] > 0).all()
    assert pairs["genome"].is_sorted(descending=True)
    assert comparison.spearman == pytest.approx(
        pairs.to_pandas()[["genome", "rating"]].corr("spearman").iloc[0, 1])
    outside = genome_dataset.movies.filter(~pl.col("item_id").is_in(covered["item_id"].to_list()))
    with pytest.raises(UnknownIdError, match="no genome features"):
        explorer.genome_vs_rating(int(outside["item_id"][0]))


def test_no_genome_explorer_without_a_genome(service: RecommenderService) -> None:
    assert "genome" not in service.explorer.methods()
    with pytest.raises(DataError, match="no Tag Genome"):
        service.explorer.genome_movies()


@pytest.mark.parametrize(("item_id", "k", "methods", "error", "message"), [
    ("260", 5, ("tfidf",), ArgumentError, "item_id must be integer ids"),
    (True, 5, ("tfidf",), ArgumentError, "item_id must be integer ids"),  # was movie 1
    ([260], 5, ("tfidf",), ArgumentError, "item_id must be one integer id"),
    (260, "5", ("tfidf",), ArgumentError, "k must be a positive integer"),
    (260, 2.5, ("tfidf",), ArgumentError, "k must be a positive integer"),
    (260, True, ("tfidf",), ArgumentError, "k must be a positive integer"),  # was k=1
    (260, None, ("tfidf",), ArgumentError, "k must be a positive integer"),
    (260, 5, (), ConfigError, "methods must be a non-empty list"),
    (260, 5, "tfidf", ConfigError, "methods must be a non-empty list"),
])
def test_similar_movies_refuses_careless_calls(
        service: RecommenderService, item_id: object, k: object, methods: object,
        error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        similar_movies(service.dataset, item_id, k, methods, train=service.explorer.train)


def test_a_method_asked_twice_is_listed_once(service: RecommenderService) -> None:
    frame = service.explorer.similar(260, ["rating_cosine", "rating_cosine"], k=3)
    assert frame["method"].to_list() == ["rating_cosine"] * 3
    assert frame["rank"].to_list() == [1, 2, 3]


@pytest.mark.parametrize("kind", [["tfidf"], None, "nope"])
def test_an_unknown_representation_is_a_config_error(service: RecommenderService,
                                                     kind: object) -> None:
    with pytest.raises(ConfigError, match="Unknown representation"):
        service.explorer.features(kind)
    with pytest.raises(ConfigError, match="Unknown representation"):
        service.explorer.catalog_map(kind)


@pytest.mark.parametrize("seed", ["a", -1, 1.5, True])
def test_catalog_map_checks_its_seed(service: RecommenderService, seed: object) -> None:
    with pytest.raises(ArgumentError, match="seed must be an integer >= 0"):
        catalog_map(service.explorer.features("tfidf"), seed=seed)
