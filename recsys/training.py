"""Train the default models on a whole dataset and store them as servable artifacts.

``recsys train NAME`` (and ``make demo``) call :func:`train_default_models`; the app loads the
result through :func:`load_trained_model`. Artifacts live under ``<data_dir>/models/<dataset>/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from recsys.arguments import check_text
from recsys.data.types import Dataset, Interactions, TrainingData
from recsys.errors import ConfigError, DataError, RecsysError
from recsys.evaluation import cost
from recsys.io import read_json_object, write_json
from recsys.settings import Settings, get_settings

if TYPE_CHECKING:
    from recsys.models import Recommender

__all__ = [
    "DEFAULT_MODELS",
    "demo_models",
    "TrainedModel",
    "load_trained_model",
    "models_dir",
    "train_default_models",
    "trained_models",
]

log = logging.getLogger(__name__)

# Light models the demo serves: they train in seconds on ml-latest-small within ~1 GB, and
# scale to ml-20m/ml-32m shapes: EASE on at most its default max_items (10,000) most-rated
# movies, item-kNN storing each movie's 200 nearest only.
DEFAULT_MODELS: dict[str, dict[str, Any]] = {
    "most_popular": {},
    "ease": {"reg": 500.0},
    "item_knn": {"similarity": "cosine", "shrinkage": 10.0, "k": 200, "centering": "none",
                 "top_k_only": True},
}


def demo_models(settings: Settings | None = None) -> dict[str, dict[str, Any]]:
    """The default models the app trains on a first start and needs before a dataset is ready:
    ``RECSYS_DEMO_MODELS`` (comma-separated names of :data:`DEFAULT_MODELS`), else all."""
    settings = settings or get_settings()
    names = [n.strip() for n in settings.demo_models.split(",") if n.strip()] or list(
        DEFAULT_MODELS)
    unknown = sorted(set(names) - set(DEFAULT_MODELS))
    if unknown:
        raise ConfigError(f"RECSYS_DEMO_MODELS names {unknown}; expected names among "
                          f"{list(DEFAULT_MODELS)}")
    return {name: dict(DEFAULT_MODELS[name]) for name in names}


@dataclass(frozen=True)
class TrainedModel:
    """Where a trained model lives and how it was made."""

    name: str
    dataset: str
    path: Path
    trained_at: str
    fit_seconds: float
    manifest_hash: str
    params: dict[str, Any]
    version: str = ""  # the registry version of a champion; empty for a local training
    fit_peak_rss_mb: float = 0.0  # resident memory the fit added at its peak (sampled)

    @property
    def served_version(self) -> str:
        """What the app's ``recsys_model_info`` metric reports: the version or the training time."""
        return self.version or self.trained_at


def models_dir(dataset: str, settings: Settings | None = None) -> Path:
    """Folder holding the trained default models of ``dataset``."""
    settings = settings or get_settings()
    return settings.data_dir / "models" / check_text(dataset, "dataset", max_chars=200)


def train_default_models(
    dataset_name: str,
    models: dict[str, dict[str, Any]] | None = None,
    settings: Settings | None = None,
    force: bool = False,
    allow_failed_validation: bool = False,
) -> list[TrainedModel]:
    """Fit each model on all ratings of ``dataset_name`` and save it; skip up-to-date ones.

    A dataset whose quality report FAILs is refused with a ValidationError naming the report
    and its findings, unless ``allow_failed_validation``.
    """
    from recsys.data.load import load_dataset
    from recsys.data.validate import require_valid

    settings = settings or get_settings()
    dataset = load_dataset(dataset_name, settings)
    report = require_valid(dataset, settings, allow_failed_validation)
    log.info("%s: quality report %s", dataset_name, "PASS" if report.ok else "FAIL (overridden)")
    ratings = Interactions.from_frame(dataset.ratings, items=dataset.movies["item_id"],
                                      rating_scale=dataset.rating_scale)
    train = TrainingData.for_serving(ratings, dataset)  # serving: everything known
    todo = list((models or DEFAULT_MODELS).items())
    # One bar over the models with the current one named, the running fit's own bar below it
    # (gone when the fit ends), and each model's log lines above both.
    with logging_redirect_tqdm(), tqdm(todo, desc="training", unit="model") as bar:
        return [_train_one(name, params, dataset, train, settings, force, bar)
                for name, params in bar]


def _train_one(
    name: str, params: dict[str, Any], dataset: Dataset, train: TrainingData,
    settings: Settings, force: bool, bar: tqdm,
) -> TrainedModel:
    """Fit and save one model, or return its card when it is up to date."""
    from recsys.models import create_model

    bar.set_postfix_str(name)
    target = models_dir(dataset.name, settings) / name
    existing = None if force else _read_card(target)  # --force retrains over a damaged card
    if existing and not force and existing.manifest_hash == dataset.manifest_hash:
        log.info("%s is up to date (trained %s)", name, existing.trained_at)
        return existing
    model, spent = cost.measure(create_model(name, **params).fit, train, trace=False,
                                interval=0.05)
    model.save(target)
    card = TrainedModel(
        name, dataset.name, target, datetime.now(UTC).isoformat(timespec="seconds"),
        round(spent.seconds, 3), dataset.manifest_hash, model.get_params(),
        fit_peak_rss_mb=round(spent.peak_rss_delta_bytes / 2**20, 1),
    )
    write_json(target / "card.json", dataclasses.asdict(card))
    log.info("trained %s on %s in %.2f s (resident memory +%.0f MiB at its peak)", name,
             dataset.name, spent.seconds, card.fit_peak_rss_mb)
    return card


def _read_card(folder: Path) -> TrainedModel | None:
    """The card of the model saved in ``folder`` (None when there is none); DataError naming
    the file when it is damaged, e.g. not JSON or without the card's fields."""
    card = folder / "card.json"
    if not card.exists() or not (folder / "model.json").exists():
        return None
    fields = dataclasses.fields(TrainedModel)
    required = [f.name for f in fields if f.default is dataclasses.MISSING]
    try:
        payload = read_json_object(card, keys=required)
    except DataError as error:
        raise DataError(f"{error}: retrain it with `recsys train {folder.parent.name} "
                        "--force`") from error
    known = {f.name: payload[f.name] for f in fields if f.name in payload}
    return TrainedModel(**known | {"path": Path(known["path"])})


def load_trained_model(
    dataset: str, name: str, settings: Settings | None = None
) -> Recommender:
    """Load a model trained by :func:`train_default_models`; a clear error if it is missing."""
    from recsys.models import Recommender

    folder = models_dir(dataset, settings) / check_text(name, "name", max_chars=200)
    if _read_card(folder) is None:
        raise RecsysError(
            f"Model {name!r} is not trained on {dataset!r} yet: run `recsys train {dataset}`"
        )
    return Recommender.load(folder)


def trained_models(dataset: str, settings: Settings | None = None) -> list[TrainedModel]:
    """Cards of every model trained on ``dataset``."""
    root = models_dir(dataset, settings)
    cards = (_read_card(p) for p in sorted(root.iterdir())) if root.exists() else iter(())
    return [c for c in cards if c is not None]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``recsys train``."""
    parser = subparsers.add_parser("train", help="train the default models on a dataset")
    parser.add_argument("dataset", help="dataset name, e.g. ml-latest-small")
    parser.add_argument("--force", action="store_true", help="retrain even if up to date")
    parser.add_argument(
        "--allow-failed-validation",
        action="store_true",
        help="train even when the dataset's quality report fails",
    )
    parser.set_defaults(handler=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> int:
    trained = train_default_models(
        args.dataset, force=args.force, allow_failed_validation=args.allow_failed_validation
    )
    for card in trained:
        print(f"{card.name:15s} trained {card.trained_at}  "
              f"fit {card.fit_seconds:.2f} s  {card.path}")
    return 0
