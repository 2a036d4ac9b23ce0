"""`recsys train` (and the app's first start, which calls the same function) refuses data whose
quality report FAILs, names the report and the finding, and trains with the override."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures import write_release

from recsys.cli import main
from recsys.data.load import ingest
from recsys.errors import ValidationError
from recsys.service import prepare_dataset
from recsys.settings import Settings
from recsys.training import train_default_models, trained_models

LIGHT = {"most_popular": {}}


@pytest.fixture
def failing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """ml-latest-small-shaped data with a repeated (user, movie) pair, ingested unverified."""
    source = write_release("ml-latest-small", tmp_path / "src")
    with open(source / "ratings.csv", "a") as handle:
        handle.write("1,1,2.0,964982800\n")
    settings = Settings(data_dir=tmp_path / "data")
    ingest("ml-latest-small", source=source, allow_unverified=True, settings=settings)
    monkeypatch.setenv("RECSYS_DATA_DIR", str(settings.data_dir))
    return settings


def test_train_refuses_a_failed_report(failing: Settings) -> None:
    with pytest.raises(ValidationError) as raised:
        train_default_models("ml-latest-small", LIGHT, failing)
    message = str(raised.value)
    report = failing.data_dir / "reports" / "ml-latest-small" / "quality.md"
    assert str(report) in message and report.exists()
    assert "duplicate_pairs" in message and "--allow-failed-validation" in message
    assert trained_models("ml-latest-small", failing) == []


def test_the_override_trains_anyway(failing: Settings) -> None:
    cards = train_default_models("ml-latest-small", LIGHT, failing, allow_failed_validation=True)
    assert [c.name for c in cards] == ["most_popular"]


def test_cli_refuses_then_trains_with_the_flag(failing: Settings, capsys) -> None:
    assert main(["train", "ml-latest-small"]) == 2
    err = capsys.readouterr().err
    assert "fails validation" in err and "quality.md" in err and "Traceback" not in err
    assert main(["train", "ml-latest-small", "--allow-failed-validation"]) == 0


def test_first_start_refuses_too(failing: Settings) -> None:
    with pytest.raises(ValidationError, match="duplicate_pairs"):
        prepare_dataset("ml-latest-small", failing, models=LIGHT)
