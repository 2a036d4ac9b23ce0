"""The validation splits that choose the deep models' settings never hold a test rating."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import polars as pl
import pytest

from recsys.bench.spec import load_spec
from recsys.evaluation.protocol import make_splits
from recsys.settings import Settings

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def validation_score():  # noqa: ANN201  (the benchmark script as a module)
    spec = importlib.util.spec_from_file_location("validation_score",
                                                  BENCHMARKS / "validation_score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pairs(frame: pl.DataFrame) -> set[tuple[int, int]]:
    return set(zip(frame["user_id"].to_list(), frame["item_id"].to_list(), strict=True))


def test_each_inner_seed_carves_its_own_split_from_the_training_part(
    validation_score, data_settings: Settings, ml_100k, monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
) -> None:
    monkeypatch.setenv("RECSYS_DATA_DIR", str(data_settings.data_dir))
    monkeypatch.setenv("RECSYS_DATA_MIRROR", str(data_settings.data_mirror))
    spec = load_spec(BENCHMARKS / "specs" / "deep-ml100k.yaml")
    outer = make_splits(spec.protocol.kind, spec.protocol.params, ml_100k.ratings,
                        spec.seeds[0])[0]
    outer_test = _pairs(outer.test)
    splits = validation_score.validation_splits(spec, [42, 7])
    held_out = []
    for valid in splits:
        seen = _pairs(valid.ratings) | _pairs(valid.test)
        assert not seen & outer_test  # nothing of the test side
        assert len(seen) == len(_pairs(outer.train))  # all of the training side, split in two
        held_out.append(_pairs(valid.test))
    assert held_out[0] != held_out[1]


@pytest.mark.parametrize(("pairs", "expected"), [
    (["mult_vae"], "expected (model name, JSON params) pairs, got 1 values"),
    (["mult_vae", "{epochs: 3}"], "error: Expecting property name"),
    (["mult_vae", '{"epochs": "3"}'], "parameter epochs: expected int, got str '3'"),
])
def test_careless_pairs_are_refused_before_any_split(
    pairs: list[str], expected: str, validation_score, monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
    capsys: pytest.CaptureFixture,
) -> None:
    monkeypatch.setattr("sys.argv", ["validation_score.py", "no-spec-read.yaml", *pairs])
    with pytest.raises(SystemExit) as stop:
        validation_score.main()
    assert stop.value.code == 2 and expected in capsys.readouterr().err


def test_strong_generalisation_specs_carve_as_their_tuned_models_do(
    validation_score, data_settings: Settings, ml_100k, monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
) -> None:
    """The Liang specs' training part is binarised: their validation splits hold out training
    users as the spec's tuning does (threshold 0.5), not by the outer protocol (3.5)."""
    monkeypatch.setenv("RECSYS_DATA_DIR", str(data_settings.data_dir))
    monkeypatch.setenv("RECSYS_DATA_MIRROR", str(data_settings.data_mirror))
    spec = load_spec(BENCHMARKS / "specs" / "liang-ml100k.yaml")
    carve = validation_score.inner_protocol(spec)
    assert carve.params["threshold"] == 0.5 and carve.params["n_valid"] == 0
    outer = make_splits(spec.protocol.kind, spec.protocol.params, ml_100k.ratings,
                        spec.seeds[0])[0]
    (valid,) = validation_score.validation_splits(spec, [3])
    held = set(valid.truth["user_id"].to_list())
    assert len(held) == carve.params["n_test"]
    assert held <= set(outer.train["user_id"].to_list())  # training users only
    assert valid.histories is not None  # folded in at scoring time
