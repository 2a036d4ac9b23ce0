"""Who is watching: personas resolved by title and year, taste profiles, real users."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from recsys.data.types import Dataset
from recsys.errors import UnknownIdError
from recsys.service import (
    RecommenderService,
    history_frame,
    load_personas,
    resolve_titles,
    taste_profile,
)

PERSONAS = Path(__file__).resolve().parents[3] / "app" / "personas.yaml"


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


def test_demographics_only_where_the_release_has_them(service: RecommenderService) -> None:
    assert service.users.demographics(1) is None
    with pytest.raises(UnknownIdError):
        service.users.history(10**9)
