"""TF-IDF over tags, genres and decade: a hand-computed two-movie example and the real data."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from recsys.data.types import Dataset
from recsys.errors import ConfigError
from recsys.features import tfidf_features
from recsys.features.tfidf import movie_tokens

MOVIES = pl.DataFrame(
    {"item_id": [1, 2], "title": ["A", "B"], "year": [1994, 2001],
     "genres": [["Comedy"], ["Comedy", "Crime"]]},
    schema_overrides={"item_id": pl.Int32, "year": pl.Int32},
)
TAGS = pl.DataFrame(
    {"user_id": [1, 2, 2, 3, 3], "item_id": [1, 1, 1, 2, 2],
     "tag": ["heist", " Heist", "heist", "heist", "one-off"], "timestamp": [0] * 5},
    schema_overrides={"user_id": pl.Int32, "item_id": pl.Int32},
)
TINY = Dataset("tiny", pl.DataFrame(), MOVIES, tags=TAGS)


def test_tokens_count_each_user_once_and_drop_rare_tags() -> None:
    tokens = movie_tokens(TINY, min_df=2).sort("item_id", "token")
    assert tokens.filter(pl.col("item_id") == 1).rows() == [
        (1, "1990s", 1.0), (1, "comedy", 1.0), (1, "heist", 2.0)]
    assert "one-off" not in tokens["token"].to_list()  # on one movie only
    assert "one-off" in movie_tokens(TINY, min_df=1)["token"].to_list()
    for bad in (0, "2", 1.5, True):  # text used to raise a raw TypeError
        with pytest.raises(ConfigError, match="min_df must be an int >= 1"):
            movie_tokens(TINY, min_df=bad)


def test_tfidf_weights_by_hand() -> None:
    features = tfidf_features(TINY)
    names = features.feature_names.tolist()
    assert names == ["1990s", "2000s", "comedy", "crime", "heist"]
    rare = math.log(3 / 2) + 1  # smooth idf of a token on 1 of 2 movies; shared ones get 1
    movie_1 = np.array([rare, 0.0, 1.0, 0.0, 1 + math.log(2)])  # sublinear tf for heist x2
    np.testing.assert_allclose(features.vector(1), movie_1 / np.linalg.norm(movie_1), rtol=1e-6)
    assert [name for name, _ in features.top_features(1, 2)] == ["heist", "1990s"]


def test_real_catalogue(ml_small: Dataset) -> None:
    features = tfidf_features(ml_small)
    assert features.matrix.shape[0] == ml_small.movies.height == 9742
    norms = np.sqrt(np.asarray(features.matrix.multiply(features.matrix).sum(axis=1)).ravel())
    assert np.allclose(norms[norms > 0], 1.0, rtol=1e-5)
    assert (norms == 0).sum() == 7  # movies without genres, year or frequent tags
    top = [name for name, _ in features.top_features(1, 5)]  # Toy Story
    assert "pixar" in top
