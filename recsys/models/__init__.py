"""Every model family behind one interface; importing this package registers them all."""

from recsys.models import baselines  # noqa: F401
from recsys.models.base import Capability, Explanation, Recommender
from recsys.models.registry import available_models, create_model, get_model_class

__all__ = [
    "Capability",
    "Explanation",
    "Recommender",
    "available_models",
    "create_model",
    "get_model_class",
]
