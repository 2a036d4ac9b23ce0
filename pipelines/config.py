"""The retraining pipeline's configuration (``config.yaml``) and the context of one run.

A run lives in one folder; each completed step writes ``<run_dir>/<step>/`` with a done-marker
``_done.json`` (see :mod:`pipelines.runner`). :class:`RunContext` reads those outputs for the
steps: the run's dataset, its prepared validation and test splits, the MLflow registry.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from recsys.arguments import check_number
from recsys.config import build, check_keys, read_yaml
from recsys.data.load import load_dataset
from recsys.data.releases import get_release
from recsys.data.types import Dataset, Split
from recsys.data.validate import Thresholds
from recsys.errors import ConfigError, DataError, RecsysError
from recsys.evaluation.protocol import PreparedSplit, prepare_split
from recsys.models import create_model
from recsys.monitoring.drift import DriftThresholds
from recsys.registry_gate import GatePolicy, ModelRegistry
from recsys.runs import MARKER
from recsys.settings import Settings
from recsys.spark import ENGINES
from recsys.tracking import REGISTERED_MODEL

__all__ = ["DEFAULT_CONFIG", "MARKER", "PipelineConfig", "RunContext"]

DEFAULT_CONFIG = Path(__file__).with_name("config.yaml")
# period -> (training file, scored file) of the split step, and the summary key of its cut
PERIODS = {
    "validation": (("fit.parquet", "valid.parquet"), "valid_cut_timestamp"),
    "test": (("train.parquet", "test.parquet"), "cut_timestamp"),
}


@dataclass(frozen=True)
class IngestOptions:
    """``ingest``: where the release comes from."""

    source: str | None = None  # a zip or folder; default: RECSYS_DATA_MIRROR, then GroupLens
    allow_unverified: bool = False  # accept files whose checksum differs from the official one


@dataclass(frozen=True)
class ValidateOptions:
    """``validate``: overrides of the quality report's thresholds."""

    thresholds: Thresholds = dataclasses.field(default_factory=Thresholds)


@dataclass(frozen=True)
class SplitOptions:
    """``split``: the temporal cuts (shares of the newest ratings)."""

    test_fraction: float = 0.2
    valid_fraction: float = 0.2

    def __post_init__(self) -> None:
        for name in ("test_fraction", "valid_fraction"):
            check_number(getattr(self, name), f"split.{name}", low=0.0, high=1.0)


@dataclass(frozen=True)
class EvaluateOptions:
    """``evaluate``: what is relevant and where models are scored."""

    relevance_threshold: float = 4.0  # held-out ratings >= this are relevant
    engine: str = "local"  # local (in process) or spark

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"evaluate.engine must be one of {ENGINES}, got {self.engine!r}")


@dataclass(frozen=True)
class DriftOptions:
    """``drift``: overrides of the drift checks' alert thresholds."""

    thresholds: DriftThresholds = dataclasses.field(default_factory=DriftThresholds)


@dataclass(frozen=True)
class RegistryOptions:
    """``registry``: the MLflow registered model (``{dataset}`` is filled in) and experiment."""

    model_name: str = REGISTERED_MODEL
    experiment: str = "retrain"

    def __post_init__(self) -> None:
        try:
            self.model_name.format(dataset="ml-100k")
        except (KeyError, IndexError, ValueError) as error:
            raise ConfigError(f"registry.model_name={self.model_name!r}: the only field it may "
                              f"name is {{dataset}} ({error!r})") from None


@dataclass(frozen=True)
class PublishOptions:
    """``publish``: the Pushgateway job name."""

    job: str = "recsys-retrain"


# Section -> how it is read: its options, each value checked against its type when loaded.
SECTIONS: dict[str, Callable[[Any], Any]] = {
    "ingest": lambda raw: build(IngestOptions, raw, "ingest", noun="option"),
    "validate": lambda raw: build(ValidateOptions, raw, "validate", noun="option"),
    "split": lambda raw: build(SplitOptions, raw, "split", noun="option"),
    "evaluate": lambda raw: build(EvaluateOptions, raw, "evaluate", noun="option"),
    "gate": GatePolicy.from_mapping,
    "drift": lambda raw: build(DriftOptions, raw, "drift", noun="option"),
    "registry": lambda raw: build(RegistryOptions, raw, "registry", noun="option"),
    "publish": lambda raw: build(PublishOptions, raw, "publish", noun="option"),
}


@dataclass(frozen=True)
class PipelineConfig:
    """The validated content of ``config.yaml``: ``sections`` as written (hashed into each
    step's inputs) and ``options``, each section read into its checked options."""

    dataset: str
    models: dict[str, dict[str, Any]]
    sections: dict[str, dict[str, Any]]
    options: dict[str, Any]

    @classmethod
    def load(cls, path: Path | str = DEFAULT_CONFIG, dataset: str | None = None) -> PipelineConfig:
        """Read and check a YAML config; ``dataset`` overrides the file's."""
        raw = read_yaml(path) or {}
        if dataset:
            raw = {**_mapping(raw, str(path), "the config"), "dataset": dataset}
        return cls.from_mapping(raw, where=str(path))

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], where: str = "config") -> PipelineConfig:
        """Check every key (unknown ones are errors) and value (a wrong type, range, model name
        or hyper-parameter fails here, before any step runs); missing sections are ``{}``."""
        check_keys(raw, {*SECTIONS, "dataset", "models"}, where, noun="section", name="the config")
        sections = {name: _mapping(raw.get(name) or {}, where, f"section {name!r}")
                    for name in SECTIONS}
        models = _mapping(raw.get("models") or {}, where, "'models'")
        if not raw.get("dataset") or not models:
            raise ConfigError(f"{where}: needs a dataset and at least one model under 'models'")
        models = {name: _mapping(params or {}, where, f"model {name!r}")
                  for name, params in models.items()}
        try:
            for name, params in models.items():
                create_model(name, **params)  # an unknown model or a wrong hyper-parameter
            options = {name: read(sections[name]) for name, read in SECTIONS.items()}
        except ConfigError as error:
            raise ConfigError(f"{where}: {error}") from None
        get_release(raw["dataset"])  # a name of a known release, else a clear error
        return cls(raw["dataset"], models, sections, options)

    def to_dict(self) -> dict[str, Any]:
        """Plain form, hashed into every step's inputs and written to the run folder."""
        return {"dataset": self.dataset, "models": self.models, **self.sections}

    @property
    def engine(self) -> str:
        """Where models are scored: ``local`` (in process) or ``spark`` (``evaluate.engine``)."""
        return str(self.options["evaluate"].engine)


def _mapping(raw: Any, where: str, what: str) -> dict[str, Any]:
    """``raw`` as a dict, else a ConfigError: ``what`` in ``where`` must be a mapping."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: {what} must be a mapping (key: value lines), got "
                          f"{type(raw).__name__} {raw!r}")
    return dict(raw)


@dataclass(frozen=True)
class RunContext:
    """One run: its folder, config and settings."""

    run_dir: Path
    config: PipelineConfig
    settings: Settings

    def marker(self, step: str) -> dict[str, Any] | None:
        """The done-marker of ``step`` in this run, or None."""
        path = self.run_dir / step / MARKER
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def output(self, step: str) -> Path:
        """The folder of a completed step; an error names the step to run first."""
        if self.marker(step) is None:
            raise RecsysError(f"step {step!r} has not completed in {self.run_dir}: run it first "
                              f"(python -m pipelines.retrain step {step} --run-dir {self.run_dir})")
        return self.run_dir / step

    def summary(self, step: str) -> dict[str, Any]:
        """What a completed step returned."""
        self.output(step)
        return self.marker(step)["summary"]  # type: ignore[index]

    def dataset(self) -> Dataset:
        """The dataset this run ingested; an error if its raw files changed since."""
        dataset = load_dataset(self.config.dataset, self.settings)
        expected = self.summary("ingest")["manifest_hash"]
        if dataset.manifest_hash != expected:
            raise DataError(f"raw data of {self.config.dataset} changed since this run's ingest "
                            f"({expected[:12]} -> {dataset.manifest_hash[:12]}): start a new run")
        return dataset

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The (train, test) ratings of this run's split."""
        folder = self.output("split")
        return pl.read_parquet(folder / "train.parquet"), pl.read_parquet(folder / "test.parquet")

    def prepared(self, period: str) -> PreparedSplit:
        """The ``"validation"`` split (fit on the training period's older part, scored on its
        newest ratings) or the ``"test"`` split (fit on the training period, scored on test)."""
        folder, summary = self.output("split"), self.summary("split")
        files, cut = PERIODS[period]
        train, test = (pl.read_parquet(folder / name) for name in files)
        split = Split(train, test, protocol="temporal_global",
                      params={"cut_timestamp": summary[cut]})
        threshold = self.config.options["evaluate"].relevance_threshold
        prepared = prepare_split(split, self.dataset(), period, relevance_threshold=threshold)
        if not len(prepared.users):
            raise DataError(f"no relevant {period} rating of a known user (>= {threshold}) "
                            "to evaluate on")
        return prepared

    def registry(self) -> ModelRegistry:
        """The MLflow registered model of this dataset."""
        registry = self.config.options["registry"]
        return ModelRegistry(self.settings.tracking_uri,
                             registry.model_name.format(dataset=self.config.dataset),
                             registry.experiment)
