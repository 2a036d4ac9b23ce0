"""The service under test: ml-latest-small with two light models (most-popular, content)."""

from __future__ import annotations

import pytest

from recsys.data.types import Dataset, Interactions, TrainingData
from recsys.models import create_model
from recsys.service import RecommenderService


@pytest.fixture(scope="session")
def service(ml_small: Dataset) -> RecommenderService:
    train = Interactions.from_frame(ml_small.ratings, items=ml_small.movies["item_id"])
    models = {name: create_model(name).fit(TrainingData.for_serving(train, ml_small))
              for name in ("most_popular", "content")}
    return RecommenderService(ml_small, models)
