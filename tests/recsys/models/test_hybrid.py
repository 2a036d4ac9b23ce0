"""Hybrids: score normalisation, the weight grid, blending, switching and collective EASE."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recsys.data.types import Dataset, Interactions, TrainingData
from recsys.errors import ConfigError
from recsys.models import Recommender, create_model, ensemble
from recsys.models.ensemble import normalise_scores, simplex_grid
from recsys.models.explanation import ExplanationKind, SwitchRule

EASE = {"name": "ease", "params": {"reg": 10.0}}
CONTENT = {"name": "content", "params": {}}


@pytest.fixture(scope="module")
def train(small_ratings: pl.DataFrame, ml_small: Dataset) -> Interactions:
    """The small real slice widened to the first 100 catalogue movies (unrated ones are cold)."""
    extra = ml_small.movies["item_id"].to_numpy()[:100]
    return Interactions.from_frame(small_ratings, items=extra)


def test_normalise_scores_known_values() -> None:
    scores = np.array([[1.0, 2.0, 3.0, -np.inf], [4.0, 4.0, 4.0, 4.0]])
    z = normalise_scores(scores, "zscore")
    sd = np.sqrt(2.0 / 3.0)
    np.testing.assert_allclose(z[0], [-1 / sd, 0.0, 1 / sd, 0.0])  # -inf -> row average
    np.testing.assert_allclose(z[1], 0.0)
    np.testing.assert_allclose(normalise_scores(scores, "minmax")[0], [0.0, 0.5, 1.0, 0.5])
    with pytest.raises(ConfigError):
        normalise_scores(scores, "rank")


def test_simplex_grid() -> None:
    grid = simplex_grid(3, 0.5)
    assert grid.shape == (6, 3)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    assert len(simplex_grid(3, 0.1)) == 66
    with pytest.raises(ConfigError):
        simplex_grid(2, 0.3)


def test_blend_with_fixed_weights_is_the_weighted_sum(
    train: Interactions, ml_small: Dataset
) -> None:
    blend = create_model(
        "hybrid_blend",
        components=[EASE, CONTENT],
        weights=[3, 1],
        cold_item_offset=-0.5,
        cold_item_rank=0,
    )
    blend.fit(TrainingData.for_serving(train, ml_small))
    ease = create_model("ease", reg=10.0).fit(TrainingData.for_serving(train, ml_small))
    content = create_model("content").fit(TrainingData.for_serving(train, ml_small))
    rows = train.matrix[:3]
    users = np.arange(3)
    ease_scores = ease._score(users, rows).astype(np.float64)
    cold = np.diff(train.matrix.tocsc().indptr) == 0
    ease_scores[:, cold] = np.nan  # EASE has no opinion on unrated movies
    content_z = normalise_scores(content._score(users, rows))
    expected = 0.75 * normalise_scores(ease_scores) + 0.25 * content_z
    blended = blend._score(users, rows)
    np.testing.assert_allclose(blended[:, ~cold], expected[:, ~cold], rtol=1e-6)
    np.testing.assert_allclose(blended[:, cold], content_z[:, cold] - 0.5, rtol=1e-6)


def test_cold_item_rank_lifts_the_best_cold_item(train: Interactions, ml_small: Dataset) -> None:
    cold = np.diff(train.matrix.tocsc().indptr) == 0
    params = {"components": [EASE, CONTENT], "weights": [1, 0], "cold_item_offset": -100.0}
    buried = create_model("hybrid_blend", cold_item_rank=0, **params).fit(
        TrainingData.for_serving(train, ml_small)
    )
    lifted = create_model("hybrid_blend", cold_item_rank=3, **params).fit(
        TrainingData.for_serving(train, ml_small)
    )
    user = int(train.user_ids[0])
    top = buried.recommend([user], k=3)["item_id"].to_list()
    assert not set(top) & set(train.item_ids[cold])
    ranking = buried.recommend([user], k=train.shape[1])["item_id"].to_list()
    best_cold = next(item for item in ranking if item in set(train.item_ids[cold]))
    assert lifted.recommend([user], k=3)["item_id"].to_list() == top[:2] + [best_cold]


def test_blend_learns_grid_weights_and_saves_components(
    train: Interactions, ml_small: Dataset, tmp_path: Path
) -> None:
    blend = create_model("hybrid_blend", components=[EASE, CONTENT], grid_step=0.25)
    blend.fit(TrainingData.for_serving(train, ml_small))
    assert np.isclose(blend.weights_.sum(), 1.0)
    assert any(np.allclose(blend.weights_, w) for w in simplex_grid(2, 0.25))
    path = blend.save(tmp_path / "blend")
    assert sorted(p.name for p in (path / "components").iterdir()) == ["0-ease", "1-content"]
    assert (path / "components" / "1-content" / "index.faiss").is_file()
    user = int(train.user_ids[0])
    item = int(blend.recommend([user], 1)["item_id"][0])
    explanation = Recommender.load(path).explain(user, item)
    assert explanation.kind is ExplanationKind.BLEND
    assert [c.model for c in explanation.components] == ["ease", "content"]


def test_blend_rejects_bad_components() -> None:
    with pytest.raises(ConfigError, match="unknown|Unknown"):
        create_model("hybrid_blend", components=[{"name": "nope"}])
    with pytest.raises(ConfigError):
        create_model("hybrid_blend", components=[EASE, CONTENT], weights=[1.0])
    with pytest.raises(ConfigError):
        create_model("hybrid_blend", components=[{"name": "ease", "typo": 1}])


def test_switch_routes_new_users_and_merges_cold_items_with_an_offset(
    train: Interactions, ml_small: Dataset, tmp_path: Path
) -> None:
    switch = create_model("hybrid_switch", collaborative=EASE, min_ratings=5, cold_item_rank=0)
    switch.fit(TrainingData.for_serving(train, ml_small))
    popular = create_model("most_popular").fit(TrainingData.for_serving(train, ml_small))
    content = create_model("content").fit(TrainingData.for_serving(train, ml_small))
    cold = np.diff(train.matrix.tocsc().indptr) == 0
    assert cold.any() and switch.offset_ in ensemble.OFFSET_GRID
    persona = pl.DataFrame({"item_id": train.item_ids[:2], "rating": [5.0, 4.0]})
    warm = set(train.item_ids[~cold].tolist())
    ranked = switch.recommend_for_history(persona, k=30)["item_id"].to_list()
    ranked_warm = [item for item in ranked if item in warm]  # new user: popularity order
    assert (
        ranked_warm
        == popular.recommend_for_history(persona, k=30)["item_id"].to_list()[: len(ranked_warm)]
    )
    rows = train.matrix[:2]
    scores = switch._score(np.arange(2), rows)
    np.testing.assert_allclose(
        scores[:, cold],
        normalise_scores(content._score(np.arange(2), rows))[:, cold] + switch.offset_,
    )
    fixed = create_model("hybrid_switch", collaborative=EASE, cold_item_offset=100.0)
    top = fixed.fit(TrainingData.for_serving(train, ml_small)).recommend(
        [int(train.user_ids[0])], k=int(cold.sum())
    )
    assert set(top["item_id"]) <= set(train.item_ids[cold])  # a huge offset: cold items first
    loaded = Recommender.load(switch.save(tmp_path / "switch"))
    np.testing.assert_allclose(loaded._score(np.arange(2), rows), scores)
    explanation = switch.explain(int(train.user_ids[0]), int(train.item_ids[cold][0]))
    assert explanation.switch.rule is SwitchRule.COLD_ITEM  # nobody has rated it
    assert explanation.components[0].model == "content"


def test_validation_split_makes_as_many_items_cold_as_train_has(train: Interactions) -> None:
    valid = ensemble.validation_split(train, 0.2, np.random.default_rng(0))
    n_cold = int(ensemble.cold_items(train).sum())
    newly_cold = ensemble.cold_items(valid.inner) & ~ensemble.cold_items(train)
    assert newly_cold.sum() == min(n_cold, int(0.2 * (~ensemble.cold_items(train)).sum()))
    assert valid.relevant[:, newly_cold].any() and not (valid.relevant & valid.seen).any()
    assert valid.relevant.any(axis=1).all()


def test_collective_ease_without_side_weight_is_ease(
    train: Interactions, ml_small: Dataset
) -> None:
    plain = create_model("ease", reg=10.0).fit(train)
    collective = create_model("hybrid_collective_ease", reg=10.0, side_weight=0.0)
    collective.fit(TrainingData.for_serving(train, ml_small))
    np.testing.assert_allclose(collective.weights_, plain.weights_, rtol=1e-3, atol=1e-6)


def test_collective_ease_reaches_cold_items(train: Interactions, ml_small: Dataset) -> None:
    cold = np.diff(train.matrix.tocsc().indptr) == 0
    plain = create_model("hybrid_collective_ease", reg=10.0, side_weight=0.0)
    side = create_model("hybrid_collective_ease", reg=10.0, side_weight=20.0)
    assert (
        np.abs(plain.fit(TrainingData.for_serving(train, ml_small)).weights_[:, cold]).max() == 0.0
    )
    assert (
        np.abs(side.fit(TrainingData.for_serving(train, ml_small)).weights_[~cold][:, cold]).max()
        > 1e-3
    )


def test_collective_ease_tunes_its_side_weight(train: Interactions, ml_small: Dataset) -> None:
    tuned = create_model("hybrid_collective_ease", reg=10.0, side_weight=[0.0, 20.0])
    tuned.fit(TrainingData.for_serving(train, ml_small))
    assert tuned.side_weight_ in (0.0, 20.0)
    fixed = create_model("hybrid_collective_ease", reg=10.0, side_weight=tuned.side_weight_)
    np.testing.assert_allclose(
        tuned.weights_, fixed.fit(TrainingData.for_serving(train, ml_small)).weights_, rtol=1e-5
    )
