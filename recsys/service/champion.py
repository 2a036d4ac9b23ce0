"""The model the retraining pipeline promoted, served beside the locally trained ones.

The champion is the version of the dataset's registered model (:func:`registered_model_name`)
that holds the alias :data:`CHAMPION_ALIAS`; the app serves it under that name, with a card
that says which version and which model it is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from recsys.models import Recommender
from recsys.settings import Settings
from recsys.tracking import CHAMPION_ALIAS, registered_model_name, store_exists
from recsys.training import TrainedModel

__all__ = ["has_champion", "registry_champion"]


def has_champion(dataset_name: str, settings: Settings) -> bool:
    """True when the pipeline promoted a champion of ``dataset_name`` (nothing is loaded)."""
    if not store_exists(settings.tracking_uri):
        return False
    from recsys.registry_gate import ModelRegistry

    return ModelRegistry(settings.tracking_uri,
                         registered_model_name(dataset_name)).champion() is not None


def registry_champion(
    dataset_name: str, settings: Settings
) -> tuple[Recommender, TrainedModel] | None:
    """The champion model of ``dataset_name`` and its card, if the pipeline promoted one.

    A local SQLite registry that does not exist yet means "no pipeline has run": nothing is
    created just by looking.
    """
    if not store_exists(settings.tracking_uri):
        return None
    from recsys.registry_gate import ModelRegistry

    registry = ModelRegistry(settings.tracking_uri, registered_model_name(dataset_name))
    version = registry.champion()
    if version is None:
        return None
    model = registry.load_champion()
    metrics = registry.client.get_run(version.run_id).data.metrics
    created = datetime.fromtimestamp(version.creation_timestamp / 1000, UTC)
    card = TrainedModel(
        name=f"{CHAMPION_ALIAS} (v{version.version}: {model.name})", dataset=dataset_name,
        path=Path(f"models:/{registry.name}@{CHAMPION_ALIAS}"),
        trained_at=created.isoformat(timespec="seconds"),
        fit_seconds=float(metrics.get("fit_seconds", float("nan"))),
        manifest_hash=version.tags.get("manifest_hash", ""), params=model.get_params(),
        version=str(version.version),
    )
    return model, card
