"""One registry maps model names to classes, for the CLI, app, pipelines, benchmarks and tests."""

from __future__ import annotations

from typing import Any, TypeVar

from recsys.errors import ConfigError

__all__ = ["register", "get_model_class", "create_model", "available_models"]

_REGISTRY: dict[str, type] = {}
T = TypeVar("T", bound=type)


def register(cls: T) -> T:
    """Class decorator: make a ``Recommender`` subclass available under ``cls.name``."""
    name = getattr(cls, "name", "")
    if not name:
        raise ConfigError(f"{cls.__name__} has no `name` to register under")
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        owner = _REGISTRY[name].__name__
        raise ConfigError(f"Model name {name!r} is already registered by {owner}")
    _REGISTRY[name] = cls
    return cls


def _ensure_loaded() -> None:
    import recsys.models  # noqa: F401  (importing the package registers every model)


def get_model_class(name: str) -> type:
    """The class registered under ``name``; a clear error lists the valid names."""
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"Unknown model {name!r}; available models: {', '.join(sorted(_REGISTRY))}"
        ) from None


def create_model(name: str, **params: Any) -> Any:
    """Instantiate the model registered under ``name`` with keyword hyper-parameters."""
    return get_model_class(name)(**params)


def available_models() -> list[str]:
    """Sorted names of every registered model."""
    _ensure_loaded()
    return sorted(_REGISTRY)
