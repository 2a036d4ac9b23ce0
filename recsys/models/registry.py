"""One registry maps model names to classes, for the CLI, app, pipelines, benchmarks and tests.

:data:`MODULES` says which module defines each model; that module is imported only when the
model is first created or loaded, so that a process serving EASE and item-kNN never imports
torch, surprise or implicit. A module's ``@register`` refuses a name the table does not give
it, and a test imports every model module to check that the two agree.
"""

from __future__ import annotations

import importlib
from typing import Any, TypeVar

from recsys.errors import ConfigError

__all__ = ["MODULES", "available_models", "create_model", "get_model_class", "installed_models",
           "missing_library", "register"]

_SURPRISE = "recsys.models.surprise_models"
_PEERS = "recsys.models.peers."
# Model name -> the module whose import registers it (the one home of this fact).
MODULES: dict[str, str] = {
    "random": "recsys.models.baselines",
    "most_popular": "recsys.models.baselines",
    "bias": "recsys.models.bias",
    "item_knn": "recsys.models.knn",
    "user_knn": "recsys.models.knn",
    "ease": "recsys.models.ease",
    "rp3beta": "recsys.models.rp3beta",
    "als": "recsys.models.implicit_mf",
    "bpr": "recsys.models.implicit_mf",
    "content": "recsys.models.content",
    "hybrid_blend": "recsys.models.hybrid",
    "hybrid_switch": "recsys.models.hybrid",
    "hybrid_collective_ease": "recsys.models.collective_ease",
    "rating_blend": "recsys.models.stacking",
    "mult_vae": "recsys.models.vae",
    "mult_dae": "recsys.models.vae",
    "recvae": "recsys.models.recvae",
    "neumf": "recsys.models.sampled",
    "two_tower": "recsys.models.sampled",
    "bpr_uniform": "recsys.models.sampled",
    **{f"surprise_{algorithm}": _SURPRISE for algorithm in (
        "baseline_only", "co_clustering", "knn_baseline", "knn_basic", "knn_with_means", "nmf",
        "normal_predictor", "slope_one", "svd", "svdpp")},
    "peer:cornac.bpr": _PEERS + "cornac_adapters",
    "peer:cornac.bivae": _PEERS + "cornac_adapters",
    "peer:implicit.als": _PEERS + "implicit_adapters",
    "peer:implicit.bpr": _PEERS + "implicit_adapters",
    "peer:lenskit.item_knn": _PEERS + "lenskit_adapters",
    "peer:lenskit.implicit_mf": _PEERS + "lenskit_adapters",
    "peer:spark.als": _PEERS + "spark_adapters",
    "peer:surprise.svd": _PEERS + "surprise_adapters",
}

_REGISTRY: dict[str, type] = {}
T = TypeVar("T", bound=type)


def register(cls: T) -> T:
    """Class decorator: make a ``Recommender`` subclass available under ``cls.name``."""
    name = getattr(cls, "name", "")
    if not name:
        raise ConfigError(f"{cls.__name__} has no `name` to register under")
    if MODULES.get(name) != cls.__module__:
        raise ConfigError(f"Model name {name!r} ({cls.__module__}.{cls.__name__}) is not in "
                          f"recsys.models.registry.MODULES; add it there")
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        owner = _REGISTRY[name].__name__
        raise ConfigError(f"Model name {name!r} is already registered by {owner}")
    _REGISTRY[name] = cls
    return cls


def get_model_class(name: str) -> type:
    """The class registered under ``name`` (importing its module); a clear error lists the
    valid names."""
    if name not in MODULES:
        raise ConfigError(
            f"Unknown model {name!r}; available models: {', '.join(available_models())}")
    importlib.import_module(MODULES[name])
    return _REGISTRY[name]


def create_model(name: str, **params: Any) -> Any:
    """Instantiate the model registered under ``name`` with keyword hyper-parameters."""
    return get_model_class(name)(**params)


def available_models() -> list[str]:
    """Sorted names of every registered model (imports none of their modules)."""
    return sorted(MODULES)


def installed_models() -> list[str]:
    """The registered models that can run here: a peer of the optional install is left out
    while its library is missing (imports every model's module)."""
    return [name for name in available_models() if missing_library(name) is None]


def missing_library(name: str) -> str | None:
    """What to install before model ``name`` can run here; None when nothing is missing."""
    cls = get_model_class(name)
    available = getattr(cls, "available", None)  # peers say whether their library is there
    return None if available is None or available() else cls.missing_message()
