"""Who is watching: personas resolved by title and year, taste profiles, real users."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from recsys.data.types import Dataset
from recsys.errors import ArgumentError, ConfigError, DataError, UnknownIdError
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


def _persona_file(tmp_path: Path, ratings: str) -> Path:
    path = tmp_path / "personas.yaml"
    path.write_text(f"personas:\n- id: x\n  name: X\n  ratings: {ratings}\n")
    return path


@pytest.mark.parametrize(("ratings", "error", "message"), [
    ("hello", ConfigError, "persona 'x' ratings: expected a list of {title, year, rating}"),
    ("[1, 2]", ConfigError, "persona 'x' ratings: expected a mapping"),
    ("[{titel: Alien, year: 1979, rating: 5}]", ConfigError, r"unknown rating key\(s\) \['titel'"),
    ("[{title: Alien, year: 1979, rating: high}]", ConfigError, "ratings.rating: expected float"),
    ("[{title: Alien, year: nineteen, rating: 5}]", ConfigError, "ratings.year: expected int"),
    ("[{title: Alien, year: 1979, rating: 9}]", ArgumentError,
     "persona rating of 'Alien' must be at most 5 stars"),
    ("[{title: Alien, year: 1979, rating: -3}]", ArgumentError,
     r"persona rating of 'Alien' must be in \(0, inf\)"),
    ("[{title: Alien, year: 1979, rating: .nan}]", ArgumentError,
     "persona rating of 'Alien' must be a finite number"),
    ("[]", ConfigError, "persona 'x' needs id, name, ratings"),  # an empty history
])
def test_a_careless_persona_file_is_refused(ml_small: Dataset, tmp_path: Path, ratings: str,
                                            error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        load_personas(_persona_file(tmp_path, ratings), ml_small.movies)


def test_a_persona_id_used_twice_is_refused(ml_small: Dataset, tmp_path: Path) -> None:
    movies = ("[{title: Alien, year: 1979, rating: 5}, {title: Aliens, year: 1986, rating: 5},"
              " {title: Toy Story, year: 1995, rating: 3}]")
    path = tmp_path / "personas.yaml"
    path.write_text(f"personas:\n- id: x\n  ratings: {movies}\n- id: x\n  ratings: {movies}\n")
    with pytest.raises(ConfigError, match=r"persona id\(s\) \['x'\] are used more than once"):
        load_personas(path, ml_small.movies)


@pytest.mark.parametrize(("ratings", "message"), [
    ([260, 1196], "ratings must be a mapping"), (None, "ratings must be a mapping"),
    ({"260": 5.0}, "ratings item_id must be integer ids"),
    ({260: "5"}, "ratings must be numbers"), ({260: True}, "ratings must be numbers"),
    ({260: float("nan")}, "ratings must be finite"),
])
def test_history_frame_refuses_careless_ratings(ratings: object, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        history_frame(ratings)


@pytest.mark.parametrize("user_id", ["1", True, 1.5, [1], None])
def test_real_users_need_one_integer_id(service: RecommenderService, user_id: object) -> None:
    with pytest.raises(ArgumentError, match="user_id must be"):
        service.users.history(user_id)  # True used to read as user 1
    with pytest.raises(ArgumentError, match="user_id must be"):
        service.users.demographics(user_id)


@pytest.mark.parametrize(("history", "error", "message"), [
    (None, ArgumentError, "history must be a polars DataFrame"),
    ({1: 4.0}, ArgumentError, "history must be a polars DataFrame"),
    (pl.DataFrame({"item": [1], "rating": [4.0]}), DataError, r"lacks column\(s\) \['item_id'\]"),
    (pl.DataFrame({"item_id": ["1"], "rating": [4.0]}), DataError, "item_id"),
])
def test_taste_profile_needs_a_history_frame(ml_small: Dataset, history: object,
                                             error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        taste_profile(history, ml_small.movies)
