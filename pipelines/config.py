"""The retraining pipeline's configuration (``config.yaml``) and the context of one run.

A run lives in one folder; each completed step writes ``<run_dir>/<step>/`` with a done-marker
``_done.json`` (see :mod:`pipelines.runner`). :class:`RunContext` reads those outputs for the
steps: the run's dataset, its prepared validation and test splits, the MLflow registry.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from recsys.config import check_keys
from recsys.data.load import load_dataset
from recsys.data.types import Dataset, Split
from recsys.errors import ConfigError, DataError, RecsysError
from recsys.evaluation.protocol import PreparedSplit, prepare_split
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
# Section -> its allowed keys (``models`` maps registry names to their hyper-parameters).
SECTIONS: dict[str, set[str]] = {
    "ingest": {"source", "allow_unverified"},
    "validate": {"thresholds"},
    "split": {"test_fraction", "valid_fraction"},
    "evaluate": {"relevance_threshold", "engine"},
    "gate": {f.name for f in dataclasses.fields(GatePolicy)},
    "drift": {"thresholds"},
    "registry": {"model_name", "experiment"},
    "publish": {"job"},
}


@dataclass(frozen=True)
class PipelineConfig:
    """The validated content of ``config.yaml``."""

    dataset: str
    models: dict[str, dict[str, Any]]
    sections: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, path: Path | str = DEFAULT_CONFIG, dataset: str | None = None) -> PipelineConfig:
        """Read and check a YAML config; ``dataset`` overrides the file's."""
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return cls.from_mapping(raw | ({"dataset": dataset} if dataset else {}), where=str(path))

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], where: str = "config") -> PipelineConfig:
        """Check every key (unknown ones are errors) and fill missing sections with ``{}``."""
        check_keys(raw, {*SECTIONS, "dataset", "models"}, where, noun="section", name="the config")
        sections = {
            name: check_keys(raw.get(name) or {}, keys, where, name=repr(name))
            for name, keys in SECTIONS.items()
        }
        models = dict(raw.get("models") or {})
        if not raw.get("dataset") or not models:
            raise ConfigError(f"{where}: needs a dataset and at least one model under 'models'")
        engine = sections["evaluate"].get("engine", "local")
        if engine not in ENGINES:
            raise ConfigError(f"{where}: evaluate.engine must be one of {ENGINES}, got {engine!r}")
        return cls(str(raw["dataset"]), {k: dict(v or {}) for k, v in models.items()}, sections)

    def to_dict(self) -> dict[str, Any]:
        """Plain form, hashed into every step's inputs and written to the run folder."""
        return {"dataset": self.dataset, "models": self.models, **self.sections}

    def get(self, section: str, key: str, default: Any = None) -> Any:
        """One option of one section."""
        return self.sections[section].get(key, default)

    @property
    def engine(self) -> str:
        """Where models are scored: ``local`` (in process) or ``spark`` (``evaluate.engine``)."""
        return str(self.get("evaluate", "engine", "local"))


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
        threshold = float(self.config.get("evaluate", "relevance_threshold", 4.0))
        prepared = prepare_split(split, self.dataset(), period, relevance_threshold=threshold)
        if not len(prepared.users):
            raise DataError(f"no relevant {period} rating of a known user (>= {threshold}) "
                            "to evaluate on")
        return prepared

    def registry(self) -> ModelRegistry:
        """The MLflow registered model of this dataset."""
        name = str(self.config.get("registry", "model_name", REGISTERED_MODEL))
        return ModelRegistry(self.settings.tracking_uri, name.format(dataset=self.config.dataset),
                             str(self.config.get("registry", "experiment", "retrain")))
