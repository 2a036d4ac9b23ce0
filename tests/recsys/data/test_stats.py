"""Data statistics: known answers on tiny frames, user tags of a real movie."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recsys.data import stats
from recsys.data.types import Dataset
from recsys.errors import ArgumentError, DataError, UnknownIdError

RATINGS = pl.DataFrame({
    "user_id": [1, 1, 1, 2, 2, 3],
    "item_id": [10, 20, 30, 10, 20, 10],
    "rating": [4.0, 3.0, 5.0, 4.0, 2.0, 4.0],
    "timestamp": [0, 0, 2_678_400, 2_678_400, 31_536_000, 31_536_000],  # Jan, Feb 1970; 1971
})
MOVIES = pl.DataFrame({"item_id": [10, 20, 30],
                       "genres": [["Drama"], ["Comedy", "Drama"], ["Comedy"]]})


def test_rating_distribution() -> None:
    frame = stats.rating_distribution(RATINGS)
    assert frame["rating"].to_list() == [2.0, 3.0, 4.0, 5.0]
    assert frame["count"].to_list() == [1, 1, 3, 1]
    assert frame["share"][2] == pytest.approx(0.5)


def test_long_tail_cumulative_share() -> None:
    items = stats.long_tail(RATINGS, "item_id")
    assert items["id"].to_list() == [10, 20, 30]
    assert items["cumulative_share"].to_list() == pytest.approx([3 / 6, 5 / 6, 1.0])
    users = stats.long_tail(RATINGS, "user_id")
    assert users["count"].to_list() == [3, 2, 1]


def test_long_tail_corners_draw_the_same_line() -> None:
    tail = pl.DataFrame({"rank": range(1, 9), "count": [9, 5, 5, 5, 2, 2, 1, 1]})
    corners = stats.long_tail_corners(tail)
    assert corners["rank"].to_list() == [1, 2, 4, 5, 6, 7, 8]
    # the corners' line, read at every rank, is the tail
    line = np.interp(tail["rank"].to_numpy(), corners["rank"].to_numpy(),
                     corners["count"].to_numpy())
    assert line.tolist() == tail["count"].to_list()


def test_ratings_over_time_by_month() -> None:
    frame = stats.ratings_over_time(RATINGS)
    assert frame["ratings"].to_list() == [2, 2, 2]
    assert frame["users"].to_list() == [1, 2, 2]


def test_genre_trends_shares() -> None:
    frame = stats.genre_trends(RATINGS, MOVIES)
    year_1970 = frame.filter(pl.col("year") == 1970)
    # 1970: ratings on 10, 20, 30, 10 -> Drama 3 (10, 20, 10), Comedy 2 (20, 30) of 4.
    assert dict(zip(year_1970["genre"], year_1970["share"], strict=True)) == {
        "Comedy": 0.5, "Drama": 0.75}


def test_movie_tags_counts_user_tags(ml_small: Dataset) -> None:
    tags = stats.movie_tags(ml_small, 296)  # Pulp Fiction: the most tagged movie
    assert tags.height == 15 and tags["weight"].is_sorted(descending=True)
    assert tags["source"][0] == "users who applied it"
    with pytest.raises(UnknownIdError):
        stats.movie_tags(ml_small, -1)


def test_genome_tags_beside_user_tags(genome_dataset: Dataset, ml_small: Dataset) -> None:
    movie = int(genome_dataset.genome_scores["item_id"][0])
    genome = stats.genome_tags(genome_dataset, movie, top=5)
    assert genome.height == 5 and genome["weight"].is_sorted(descending=True)
    assert stats.movie_tags(genome_dataset, movie, top=5).equals(genome)  # genome first
    users = stats.user_tags(genome_dataset, movie)
    assert set(users["source"]) <= {"users who applied it"}
    with pytest.raises(DataError, match="no Tag Genome"):
        stats.genome_tags(ml_small, 296)


@pytest.mark.parametrize("top", [0, -1, "3", 2.5, True])
def test_genre_trends_refuses_a_careless_top(top: object) -> None:
    with pytest.raises(ArgumentError, match="top"):
        stats.genre_trends(RATINGS, MOVIES, top=top)


@pytest.mark.parametrize("every", ["bogus", "month", "", 1, None])
def test_ratings_over_time_refuses_a_careless_period(every: object) -> None:
    with pytest.raises(ArgumentError, match="every"):
        stats.ratings_over_time(RATINGS, every=every)


@pytest.mark.parametrize("every", ["1y", "2w", "1q", "1y6mo"])
def test_ratings_over_time_takes_polars_durations(every: str) -> None:
    assert stats.ratings_over_time(RATINGS, every=every)["ratings"].sum() == RATINGS.height
