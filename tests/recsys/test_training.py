"""Trained-model cards read back: a damaged card.json or a careless name is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recsys.errors import ArgumentError, DataError
from recsys.settings import Settings
from recsys.training import load_trained_model, models_dir, trained_models


@pytest.mark.parametrize(
    "card", ["not json", "[1]", "{}", json.dumps({"name": "ease", "bogus": 1})]
)
def test_a_damaged_card_is_a_data_error_naming_the_file(tmp_path: Path, card: str) -> None:
    settings = Settings(data_dir=tmp_path)
    folder = models_dir("ds", settings) / "ease"
    folder.mkdir(parents=True)
    (folder / "model.json").write_text("{}")
    (folder / "card.json").write_text(card)
    for read in (lambda: trained_models("ds", settings),
                 lambda: load_trained_model("ds", "ease", settings)):
        with pytest.raises(DataError, match="card.json.*--force"):
            read()


@pytest.mark.parametrize(
    ("read", "named"),
    [
        (lambda s: trained_models(None, s), "dataset"),
        (lambda s: load_trained_model(None, "ease", s), "dataset"),
        (lambda s: load_trained_model("ds", None, s), "name"),
        (lambda s: load_trained_model("ds", 3, s), "name"),
    ],
)
def test_careless_names_raise_argument_error(tmp_path: Path, read, named: str) -> None:  # noqa: ANN001
    with pytest.raises(ArgumentError, match=named):
        read(Settings(data_dir=tmp_path))
