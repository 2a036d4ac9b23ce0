"""Known-answer tests of the content recommender on a six-movie catalogue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from recsys.data.types import Dataset, Interactions, TrainingData
from recsys.errors import ConfigError
from recsys.features import embeddings, tfidf_features
from recsys.models import Capability, Recommender, create_model
from recsys.models.content import centred_ratings
from recsys.models.explanation import ExplanationKind
from recsys.settings import Settings

# Movies 1, 2, 5: crime comedies tagged "heist"; 3, 4, 6: horror tagged "gore". 5, 6 unrated.
MOVIES = pl.DataFrame(
    {
        "item_id": [1, 2, 3, 4, 5, 6],
        "title": ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"],
        "year": [1994, 1995, 1980, 1981, 1996, 1983],
        "genres": [
            ["Comedy", "Crime"],
            ["Comedy", "Crime"],
            ["Horror"],
            ["Horror"],
            ["Comedy", "Crime"],
            ["Horror"],
        ],
    },
    schema_overrides={"item_id": pl.Int32, "year": pl.Int32},
)
TAGS = pl.DataFrame(
    {
        "user_id": [1, 2, 1, 2, 3, 1, 2, 3],
        "item_id": [1, 1, 1, 2, 2, 3, 4, 5],
        "tag": ["heist", "heist", "dark comedy", "Dark Comedy", "heist", "gore", "gore", "heist"],
        "timestamp": [0] * 8,
    },
    schema_overrides={"user_id": pl.Int32, "item_id": pl.Int32},
)
RATINGS = pl.DataFrame(
    {
        "user_id": [1, 1, 2, 2, 2, 3],
        "item_id": [1, 3, 2, 4, 3, 4],
        "rating": [5.0, 1.0, 5.0, 2.0, 4.0, 5.0],
        "timestamp": [1, 2, 3, 4, 5, 6],
    },
    schema_overrides={"user_id": pl.Int32, "item_id": pl.Int32, "rating": pl.Float32},
)


@pytest.fixture(scope="module")
def catalog() -> Dataset:
    return Dataset("tiny", RATINGS, MOVIES, tags=TAGS)


@pytest.fixture(scope="module")
def train() -> Interactions:
    return Interactions.from_frame(RATINGS, items=MOVIES["item_id"].to_numpy())


@pytest.fixture(scope="module")
def model(train: Interactions, catalog: Dataset) -> Recommender:
    return create_model("content", representation="tfidf").fit(
        TrainingData.for_serving(train, catalog)
    )


def test_scores_are_cosines_of_the_damped_centred_profile(
    model: Recommender, train: Interactions, catalog: Dataset
) -> None:
    mean = RATINGS["rating"].mean()  # 22/6
    user_mean = (5.0 + 1.0 + mean) / 3.0  # one pseudo-rating at the global mean
    features = tfidf_features(catalog)
    f = features.align(train.item_ids).toarray()
    profile = (5.0 - user_mean) * f[0] + (1.0 - user_mean) * f[2]
    expected = f @ (profile / np.linalg.norm(profile))
    recs = model.recommend([1], k=4)
    assert recs["item_id"].to_list()[:2] in ([2, 5], [5, 2])
    np.testing.assert_allclose(recs["score"], np.sort(expected[[1, 3, 4, 5]])[::-1], rtol=1e-5)
    assert (recs.filter(pl.col("item_id").is_in([4, 6]))["score"] < 0).all()


def test_centring_shrinks_towards_the_global_mean() -> None:
    row = sp.csr_matrix(np.array([[5.0, 0.0, 0.0]]))
    centred = centred_ratings(row, global_mean=3.0, damping=1.0)
    np.testing.assert_allclose(centred.data, [1.0])  # 5 - (5 + 3) / 2
    np.testing.assert_allclose(centred_ratings(row, 3.0, 0.0).data, [0.0])


def test_cold_items_are_recommended(model: Recommender) -> None:
    assert model.supports(Capability.COLD_START_ITEMS)
    recs = model.recommend([1], k=2)
    assert 5 in recs["item_id"].to_list()  # nobody rated movie 5


def test_persona_from_one_rating(model: Recommender) -> None:
    recs = model.recommend_for_history(pl.DataFrame({"item_id": [3], "rating": [5.0]}), k=2)
    assert set(recs["item_id"].to_list()) == {4, 6}


def test_explanation_names_shared_features(model: Recommender) -> None:
    explanation = model.explain(1, 5)
    assert explanation.kind is ExplanationKind.FEATURES
    names = [f.name for f in explanation.features]
    assert "heist" in names and "gore" not in names


def test_similar_items_by_faiss(model: Recommender) -> None:
    similar = model.similar_items([1], k=3)
    assert similar["similar_item_id"].to_list()[:2] == [2, 5]
    assert similar["rank"].to_list() == list(range(1, similar.height + 1))


def test_save_writes_a_faiss_index(model: Recommender, tmp_path: Path) -> None:
    path = model.save(tmp_path / "content")
    assert (path / "index.faiss").is_file()
    loaded = Recommender.load(path)
    assert loaded.similar_items([1, 3], k=3).equals(model.similar_items([1, 3], k=3))


def test_embedding_explains_by_rated_movies(
    train: Interactions, catalog: Dataset, tmp_path: Path
) -> None:
    # Vectors stored as a cache hit (no model run): movie 5 points where movie 2 does.
    vectors = np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 1, 3]]
    settings = Settings(data_dir=tmp_path)
    docs = embeddings.movie_documents(catalog)
    path = embeddings.embedding_cache_path(
        catalog, docs, embeddings.model_source(settings)[1], settings
    )
    path.parent.mkdir(parents=True)
    np.save(path, vectors)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RECSYS_DATA_DIR", str(tmp_path))
        model = create_model("content", representation="embedding").fit(
            TrainingData.for_serving(train, catalog)
        )
    explanation = model.explain(2, 5)
    assert explanation.kind is ExplanationKind.RATED_ITEMS
    assert [(r.item_id, r.rating) for r in explanation.rated_items] == [(2, 5.0)]
    assert [r.item_id for r in explanation.rated_items] == [2]  # movie 3 is orthogonal


def test_needs_the_catalogue(train: Interactions) -> None:
    with pytest.raises(ConfigError, match="catalogue"):
        create_model("content").fit(train)
    with pytest.raises(ConfigError, match="representation"):
        create_model("content", representation="bm42")
