"""Every model family behind one interface; importing this package registers them all."""

from recsys.models import (
    baselines,  # noqa: F401
    bias,  # noqa: F401
    collective_ease,  # noqa: F401
    content,  # noqa: F401
    ease,  # noqa: F401
    ensemble,  # noqa: F401
    hybrid,  # noqa: F401
    implicit_mf,  # noqa: F401
    knn,  # noqa: F401
    peers,  # noqa: F401
    recvae,  # noqa: F401
    rp3beta,  # noqa: F401
    sampled,  # noqa: F401
    stacking,  # noqa: F401
    surprise_models,  # noqa: F401
    vae,  # noqa: F401
)
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
