"""Every model family behind one interface; the registry imports a family's module on first use."""

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
