"""``recsys bench list`` and ``recsys bench run`` through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from recsys.cli import main

SPEC = {
    "name": "cli-smoke",
    "dataset": "ml-latest-small",
    "protocol": {"kind": "leave_last_n", "params": {"n": 2}},
    "metrics": ["hit_rate@10", "coverage@10"],
    "models": [{"name": "most_popular", "label": "Popular"}, {"name": "random"}],
}


@pytest.fixture()
def spec_dir(tmp_path: Path, mirror_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECSYS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RECSYS_DATA_MIRROR", str(mirror_dir))
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "cli-smoke.yaml").write_text(yaml.safe_dump(SPEC))
    (folder / "other.yaml").write_text("dataset: ml-100k\nsplit: {n: 5}\n")
    return folder


def test_list_shows_specs_and_flags_foreign_files(
    spec_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "list", "--specs", str(spec_dir)]) == 0
    out = capsys.readouterr().out
    assert "cli-smoke.yaml  ml-latest-small" in out and "2 models" in out
    assert "other.yaml  not a benchmark spec" in out


def test_run_selected_model_without_mlflow(spec_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "results" / "cli-smoke"
    code = main(["bench", "run", str(spec_dir / "cli-smoke.yaml"), "--output", str(output),
                 "--no-mlflow", "--models", "Popular", "--no-progress", "--threads", "1"])
    assert code == 0
    results = pl.read_csv(output / "results.csv")
    assert results["model"].to_list() == ["Popular"]
    assert 0 < results["hit_rate@10"][0] < 1
    assert not (tmp_path / "data" / "mlflow.db").exists()


def test_run_unknown_model_label_is_a_clean_error(spec_dir: Path) -> None:
    code = main(["bench", "run", str(spec_dir / "cli-smoke.yaml"), "--models", "EASE",
                 "--no-mlflow"])
    assert code == 2


def test_run_also_runs_the_companion_specs_beside_it(spec_dir: Path, tmp_path: Path) -> None:
    companion = {**SPEC, "name": "cli-companion",
                 "protocol": {"kind": "random_holdout", "params": {"test_fraction": 0.2}}}
    (spec_dir / "companion.yaml").write_text(yaml.safe_dump(companion))
    (spec_dir / "main.yaml").write_text(yaml.safe_dump({**SPEC, "also": ["companion.yaml"]}))
    output = tmp_path / "results" / "cli-smoke"
    code = main(["bench", "run", str(spec_dir / "main.yaml"), "--output", str(output),
                 "--no-mlflow", "--models", "Popular", "--no-progress"])
    assert code == 0
    assert "leave_last_n" in (output / "report.md").read_text()
    assert "random_holdout" in (tmp_path / "results" / "cli-companion" / "report.md").read_text()


@pytest.mark.parametrize("command", [
    ["bench", "run", "SPEC", "--no-mlflow", "--output"],
    ["report", "logbook", "--out"],
    ["report", "notebooks", "--out"],
    ["ab", "replay", "SPEC", "--out"],
])
def test_an_output_folder_that_cannot_be_made_is_refused_before_any_work(
    command: list[str], spec_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    output = tmp_path / "a-file" / "results"
    argv = [str(spec_dir / "cli-smoke.yaml") if part == "SPEC" else part for part in command]
    with pytest.raises(SystemExit) as stop:  # when the command line is read
        main([*argv, str(output)])
    assert stop.value.code == 2
    assert (f"cannot write {output}: {tmp_path / 'a-file'} is a file, not a folder"
            in capsys.readouterr().err)


def test_model_labels_keep_commas_inside_parentheses() -> None:
    from recsys.bench.cli import model_labels

    assert model_labels("ALS (Spark, rank 10), most popular,") == ["ALS (Spark, rank 10)",
                                                                  "most popular"]
    assert model_labels("SVD (surprise, 150 factors, 15 epochs)") == [
        "SVD (surprise, 150 factors, 15 epochs)"]


@pytest.mark.parametrize("threads", ["0", "-1", "two"])
def test_run_refuses_a_thread_count_below_one(
    threads: str, spec_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["bench", "run", str(spec_dir / "cli-smoke.yaml"), "--threads", threads])
    assert stop.value.code == 2
    assert f"--threads: expected a whole number >= 1, got '{threads}'" in capsys.readouterr().err


def test_synth_refuses_an_explicit_zero_instead_of_using_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("RECSYS_DATA_DIR", str(tmp_path / "data"))
    code = main(["data", "synth", "--like", "ml-20m", "--name", "synthetic-zero", "--users", "0"])
    assert code == 2 and "users=0" in capsys.readouterr().err
    assert not (tmp_path / "data" / "raw" / "synthetic-zero").exists()
