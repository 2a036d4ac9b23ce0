"""EASE: the closed form by hand, fold-in, and a ranking sanity check on ml-100k."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recsys.data.types import Interactions
from recsys.errors import ConfigError
from recsys.models import create_model

FRAME = pl.DataFrame(
    {
        "user_id": [1, 1, 2, 2, 2, 3, 3, 4],
        "item_id": [1, 2, 1, 2, 3, 2, 3, 1],
        "rating": [5.0, 4.0, 3.0, 5.0, 4.0, 2.0, 5.0, 4.0],
    }
)


def closed_form(x: np.ndarray, reg: float) -> np.ndarray:
    """Steck (2019), eq. 8, in float64: B = I - P diagMat(1 / diag(P))."""
    p = np.linalg.inv(x.T @ x + reg * np.eye(x.shape[1]))
    return np.eye(x.shape[1]) - p / np.diag(p)


@pytest.mark.parametrize("binary", [True, False])
def test_weights_equal_the_closed_form(binary: bool) -> None:
    train = Interactions.from_frame(FRAME)
    model = create_model("ease", reg=2.0, binary=binary).fit(train)
    x = train.matrix.toarray()
    expected = closed_form((x > 0).astype(float) if binary else x, 2.0)
    np.testing.assert_allclose(model.weights_, expected, rtol=1e-5, atol=1e-6)
    assert model.weights_.dtype == np.float32 and not np.diag(model.weights_).any()


def test_scores_explain_and_similar_items() -> None:
    model = create_model("ease", reg=2.0).fit(Interactions.from_frame(FRAME))
    b = model.weights_
    order = [2, 3] if b[0, 1] > b[0, 2] else [3, 2]
    recs = model.recommend([4], k=2)  # user 4 has only item 1: the scores are row 0 of B
    assert recs["item_id"].to_list() == order
    np.testing.assert_allclose(recs["score"], np.sort(b[0, 1:])[::-1], rtol=1e-6)
    explanation = model.explain(4, 2)
    assert explanation.rated_items[0].item_id == 1
    assert explanation.rated_items[0].rating == 4.0
    similar = model.similar_items([1], k=2)
    assert similar["similar_item_id"].to_list() == order


def test_invalid_reg_raises() -> None:
    with pytest.raises(ConfigError):
        create_model("ease", reg=0.0)


def test_ease_ranks_held_out_movies_far_above_popularity(mirror_dir: Path) -> None:
    """Sanity on ml-100k: 20% of each user's ratings held out at random, recall@20."""
    ratings = pl.read_csv(
        mirror_dir / "ml-100k" / "u.data", separator="\t", has_header=False,
        new_columns=["user_id", "item_id", "rating", "timestamp"],
    )
    rng = np.random.default_rng(0)
    held = pl.Series(rng.random(ratings.height) < 0.2)
    train, test = ratings.filter(~held), ratings.filter(held)
    interactions = Interactions.from_frame(train)
    test = test.filter(pl.col("item_id").is_in(interactions.item_ids.tolist()))
    users = test["user_id"].unique().sort().to_numpy()

    def recall(name: str, **params: float) -> float:
        recs = create_model(name, **params).fit(interactions).recommend(users, k=20)
        hits = recs.join(test, on=["user_id", "item_id"]).group_by("user_id").len()
        sizes = test.group_by("user_id").len().rename({"len": "n"})
        per_user = sizes.join(hits, on="user_id", how="left").fill_null(0)
        return float((per_user["len"] / per_user["n"].clip(upper_bound=20)).mean())

    ease, popular = recall("ease", reg=300.0), recall("most_popular")
    assert ease > 0.30 and ease > 1.3 * popular, (ease, popular)  # measured 0.456 vs 0.226
