"""The synthetic MovieLens generator: shape, MovieLens-likeness, learnable structure, files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import svds

from recsys.data.split import random_holdout
from recsys.data.synth import GENRE_TAGS, GENRES, generate_synthetic, write_synthetic_release
from recsys.errors import ArgumentError, ConfigError, WriteError

FIRST_2015_SECOND, FIRST_1995_SECOND = 1_420_070_400, 788_918_400


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    return generate_synthetic(n_users=400, n_items=2_000, n_ratings=40_000, seed=7)


def _canonical(ratings: pl.DataFrame) -> pl.DataFrame:
    return ratings.rename({"userId": "user_id", "movieId": "item_id"})


def test_shape_and_ranges(frames: dict[str, pl.DataFrame]) -> None:
    ratings = frames["ratings"]
    assert ratings.columns == ["userId", "movieId", "rating", "timestamp"]
    assert ratings.height == 40_000
    assert ratings["userId"].n_unique() == 400
    assert ratings.select("userId", "movieId").is_unique().all()
    assert set(ratings["rating"].unique().to_list()) == {x / 2 for x in range(1, 11)}
    assert ratings["timestamp"].min() >= FIRST_1995_SECOND
    assert FIRST_2015_SECOND <= ratings["timestamp"].max() < FIRST_2015_SECOND + 365 * 86_400
    assert ratings.group_by("userId").len()["len"].min() >= 20
    assert ratings.equals(ratings.sort("userId", "movieId"))  # ml-20m file order


def test_catalogue_tags_and_links(frames: dict[str, pl.DataFrame]) -> None:
    movies, tags, links = frames["movies"], frames["tags"], frames["links"]
    assert movies.columns == ["movieId", "title", "genres"] and movies.height == 2_000
    assert movies["movieId"].is_unique().all()
    assert set(frames["ratings"]["movieId"]) <= set(movies["movieId"])
    assert movies["title"].str.contains(r"^Synthetic Movie \d+ \(\d{4}\)$").all()
    used = set(movies["genres"].str.split("|").explode().to_list())
    assert used <= {*GENRES, "(no genres listed)"} and len(used) >= 15
    assert tags.columns == ["userId", "movieId", "tag", "timestamp"] and tags.height > 0
    tagged = tags.select("userId", "movieId").join(
        frames["ratings"], on=["userId", "movieId"], how="anti"
    )
    assert tagged.height == 0  # tags are on rated movies
    assert links.columns == ["movieId", "imdbId", "tmdbId"]
    assert links["imdbId"].str.len_chars().min() == 7 and links["imdbId"].is_unique().all()


def test_same_seed_same_frames_other_seed_other_frames() -> None:
    first, again, other = (generate_synthetic(60, 200, 2_000, seed=s) for s in (1, 1, 2))
    assert all(first[name].equals(again[name]) for name in first)
    assert not first["ratings"].equals(other["ratings"])


def test_long_tailed_popularity_and_activity(frames: dict[str, pl.DataFrame]) -> None:
    ratings = frames["ratings"]
    per_item = ratings.group_by("movieId").len()["len"].sort(descending=True)
    per_user = ratings.group_by("userId").len()["len"]
    assert per_item.head(len(per_item) // 5).sum() > 0.5 * ratings.height  # top 20% > half
    assert per_item.max() > 5 * per_item.median()
    assert per_user.max() > 3 * per_user.median()


def test_item_quality_carries_over_from_train_to_test(frames: dict[str, pl.DataFrame]) -> None:
    split = random_holdout(_canonical(frames["ratings"]), test_fraction=0.3, seed=0)
    means = [
        part.group_by("item_id").agg(pl.col("rating").mean(), pl.len().alias("n"))
        for part in (split.train, split.test)
    ]
    both = means[0].join(means[1], on="item_id").filter(pl.col("n_right") >= 10)
    assert np.corrcoef(both["rating"], both["rating_right"])[0, 1] > 0.5


def test_latent_taste_is_recoverable_beyond_biases(frames: dict[str, pl.DataFrame]) -> None:
    """A rank-8 SVD of the train residuals (after user/item biases) predicts test residuals;
    pure noise around the biases would give a correlation near zero."""
    split = random_holdout(_canonical(frames["ratings"]), test_fraction=0.2, seed=0)
    train, test = split.train, split.test
    mean = train["rating"].mean()
    item_bias = train.group_by("item_id").agg((pl.col("rating") - mean).mean().alias("bi"))
    train = train.join(item_bias, on="item_id")
    user_bias = train.group_by("user_id").agg((pl.col("rating") - mean - pl.col("bi")).mean()
                                              .alias("bu"))  # fmt: skip
    train, test = (
        frame.join(item_bias, on="item_id", how="left").join(user_bias, on="user_id", how="left")
        .with_columns(pl.col("bi", "bu").fill_null(0.0))
        for frame in (train.drop("bi"), test)
    )  # fmt: skip
    residual = (train["rating"] - mean - train["bi"] - train["bu"]).to_numpy()
    shape = (401, int(frames["movies"]["movieId"].max()) + 1)
    matrix = sp.csr_matrix((residual, (train["user_id"], train["item_id"])), shape=shape)
    u, s, vt = svds(matrix, k=8, random_state=0)
    users, items = test["user_id"].to_numpy(), test["item_id"].to_numpy()
    latent = np.einsum("ij,ij->i", u[users] * s, vt.T[items])
    held_out = (test["rating"] - mean - test["bi"] - test["bu"]).to_numpy()
    assert np.corrcoef(latent, held_out)[0, 1] > 0.25


def test_small_shapes_lower_the_per_user_floor() -> None:
    ratings = generate_synthetic(n_users=50, n_items=100, n_ratings=500, seed=0)["ratings"]
    assert ratings.group_by("userId").len()["len"].to_list() == [10] * 50


@pytest.mark.parametrize(
    ("n_users", "n_items", "n_ratings"),
    [(10, 10, 5), (0, 10, 10), (10, 0, 10), (10, 20, 10 * 20)],
)
def test_impossible_shapes_raise_config_error(n_users: int, n_items: int, n_ratings: int) -> None:
    with pytest.raises(ConfigError, match="synthetic shape"):
        generate_synthetic(n_users, n_items, n_ratings, seed=0)


def test_release_files_have_the_ml_latest_layout(tmp_path: Path) -> None:
    folder = write_synthetic_release(tmp_path / "synthetic-x", 30, 100, 900, seed=4)
    assert sorted(p.name for p in folder.iterdir()) == [
        "SYNTHETIC.json", "links.csv", "movies.csv", "ratings.csv", "tags.csv",
    ]  # fmt: skip
    headers = {p.name: p.read_text().splitlines()[0] for p in folder.glob("*.csv")}
    assert headers == {
        "ratings.csv": "userId,movieId,rating,timestamp",
        "movies.csv": "movieId,title,genres",
        "tags.csv": "userId,movieId,tag,timestamp",
        "links.csv": "movieId,imdbId,tmdbId",
    }
    card = json.loads((folder / "SYNTHETIC.json").read_text())
    assert card["synthetic"] is True and card["seed"] == 4
    assert card["params"] == {"n_users": 30, "n_items": 100, "n_ratings": 900}
    ratings = pl.read_csv(folder / "ratings.csv")
    assert ratings.height == 900 and ratings["rating"].is_in([x / 2 for x in range(1, 11)]).all()
    assert not list(tmp_path.glob(".*"))  # no temp folder left behind


def test_a_genome_in_the_tag_genome_layout(tmp_path: Path) -> None:
    plain = generate_synthetic(60, 200, 2_000, seed=3)
    frames = generate_synthetic(60, 200, 2_000, seed=3, genome=True)
    assert all(frames[name].equals(plain[name]) for name in plain)  # the rest is unchanged
    scores, tags = frames["genome_scores"], frames["genome_tags"]
    movies = scores["movieId"].n_unique()
    assert movies == 80 and scores.height == movies * tags.height  # dense, 40% of the movies
    assert scores["relevance"].is_between(0, 1).all()
    genres = frames["movies"].select("movieId", pl.col("genres").str.split("|"))
    first = scores.join(tags, on="tagId").join(genres, on="movieId").sort(
        "relevance", descending=True).group_by("movieId").first()
    matches = first.filter(pl.struct("tag", "genres").map_elements(
        lambda row: any(row["tag"] in GENRE_TAGS[g] for g in row["genres"] if g in GENRE_TAGS),
        return_dtype=pl.Boolean))
    assert matches.height >= 0.9 * movies  # a movie's most relevant tag follows its genres
    folder = write_synthetic_release(tmp_path / "synthetic-g", 60, 200, 2_000, seed=3, genome=True)
    headers = {p.name: p.read_text().splitlines()[0] for p in folder.glob("genome-*.csv")}
    assert headers == {"genome-scores.csv": "movieId,tagId,relevance",
                       "genome-tags.csv": "tagId,tag"}


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"n_users": 5.5}, "n_users"),
        ({"n_users": "5"}, "n_users"),
        ({"n_users": True}, "n_users"),
        ({"n_users": -1}, "n_users"),
        ({"n_items": True}, "n_items"),
        ({"n_ratings": float("nan")}, "n_ratings"),
        ({"n_ratings": None}, "n_ratings"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"genome": "no"}, "genome"),
    ],
)
def test_careless_generator_arguments_raise_argument_error(arguments: dict, named: str) -> None:
    shape = {"n_users": 5, "n_items": 40, "n_ratings": 10} | arguments
    with pytest.raises(ArgumentError, match=named):
        generate_synthetic(**shape)


def test_a_file_target_is_refused_and_kept(tmp_path: Path) -> None:
    target = tmp_path / "release"
    target.write_text("keep me")
    with pytest.raises(WriteError, match="it is a file, not a folder"):
        write_synthetic_release(target, 5, 40, 10)
    assert target.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release"]
    with pytest.raises(ArgumentError, match="target_dir"):
        write_synthetic_release(None, 5, 40, 10)
