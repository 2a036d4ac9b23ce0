"""Benchmark results read back from the repository's results folder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polars as pl
import pytest

from recsys.bench.results import (
    RESULTS_DIR,
    BenchmarkRun,
    benchmark_folders,
    headline_metrics,
    load_benchmark,
)
from recsys.errors import ArgumentError, DataError


def test_benchmark_readers_on_the_repo_results() -> None:
    folders = benchmark_folders(RESULTS_DIR)
    assert any(f.name == "recommenders-ml100k" for f in folders)
    run = load_benchmark(RESULTS_DIR / "recommenders-ml100k")
    assert run.dataset == "ml-100k" and "ndcg@10" in run.summary.columns
    headline = headline_metrics("ml-100k", [run.folder], ["ease"])
    assert headline["model"].to_list() == ["ease"] and headline["ndcg@10"][0] > 0.4


def test_a_damaged_benchmark_does_not_hide_the_others_headline(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "results.csv").write_text("model,ndcg@10\n")  # a header, no model
    headline = headline_metrics("ml-100k", [damaged, RESULTS_DIR / "recommenders-ml100k"],
                                ["ease"])
    assert headline["model"].to_list() == ["ease"]
    assert "damaged" in caplog.text and "names no model" in caplog.text


def _run(columns: dict[str, list], context: dict) -> BenchmarkRun:
    summary = pl.DataFrame({"model": ["a", "b"], **columns})
    return BenchmarkRun("x", Path("x"), summary, None, None, context)


def test_a_run_opens_on_the_metric_its_spec_lists_first() -> None:
    scores = {"precision@20": [0.1, 0.2], "ndcg@10": [0.3, 0.4], "ndcg@100": [0.5, 0.6]}
    assert _run(scores, {"metrics": ["ndcg@100", "precision@20"]}).headline == "ndcg@100"
    # a run recorded before its spec's metrics were: ndcg@10, else the first metric column
    assert _run(scores, {}).headline == "ndcg@10"
    assert _run({"precision@20": [0.1, 0.2], "ndcg@100": [0.5, 0.6]}, {}).headline == (
        "precision@20")
    # a recorded metric no model has a value for is passed over
    empty = {"recall@20": [None, None], "ndcg@10": [0.3, 0.4]}
    assert _run(empty, {"metrics": ["recall@20"]}).headline == "ndcg@10"


def test_the_repo_liang_runs_open_on_ndcg_at_100() -> None:
    for name in ("liang-ml100k", "liang-ml-latest-small", "liang-synthetic-ml20m"):
        assert load_benchmark(RESULTS_DIR / name).headline == "ndcg@100", name


@pytest.mark.parametrize(("file", "text", "expected"), [
    ("results.csv", "", "results.csv is not a benchmark's results table"),
    ("results.csv", "x,ndcg@10\na,0.1\n", "no model column"),
    ("context.json", "{not json", "context.json is not readable JSON"),
    ("context.json", "[1, 2]", "holds list"),
    ("results.csv", "model,ndcg@100\n", "names no model"),
    ("results.csv", "model,ndcg@100\nALS,abc\n", "['ndcg@100'] hold text"),
    ("results.csv", "model,ndcg@100,fit_s\nALS,0.3,slow\n", "['fit_s'] hold text"),
    ("context.json", '{"dataset": "ml-100k"}', "['dataset'] must be objects"),
    ("context.json", '{"peers": ["ALS"]}', "['peers'] must be objects"),
])
def test_a_damaged_results_folder_is_a_clear_error(
    file: str, text: str, expected: str, tmp_path: Path
) -> None:
    folder = shutil.copytree(RESULTS_DIR / "liang-ml100k", tmp_path / "damaged")
    (folder / file).write_text(text)
    with pytest.raises(DataError, match=re.escape(expected)):
        load_benchmark(folder)
    assert folder in benchmark_folders(tmp_path)  # still listed, so that opening it explains


def test_a_damaged_optional_table_is_left_out(tmp_path: Path) -> None:
    folder = shutil.copytree(RESULTS_DIR / "liang-ml100k", tmp_path / "partly")
    (folder / "significance.csv").write_text("a,b\n1,2\n")
    (folder / "segments.csv").write_bytes(b"\x00garbage")
    run, intact = load_benchmark(folder), load_benchmark(RESULTS_DIR / "liang-ml100k")
    assert run.significance is None and run.segments is None
    assert run.leaderboard(run.headline).height == intact.leaderboard(intact.headline).height


def test_a_nan_metric_ranks_last_and_an_all_nan_one_is_no_metric(tmp_path: Path) -> None:
    folder = tmp_path / "nan"
    folder.mkdir()
    (folder / "results.csv").write_text(
        "model,ndcg@10,recall@10,fit_s\na,0.3,NaN,1\nb,NaN,NaN,NaN\nc,0.1,NaN,3\n")
    run = load_benchmark(str(folder))  # a str path is a path
    assert run.leaderboard("ndcg@10")["model"].to_list() == ["a", "c", "b"]
    assert run.metrics == ["ndcg@10"] and run.headline == "ndcg@10"


@pytest.mark.parametrize(("call", "error", "expected"), [
    (lambda run: run.leaderboard("ndcg@11"), ArgumentError, "metric must be one of"),
    (lambda run: run.leaderboard(None), ArgumentError, "metric must be one of"),
    (lambda run: load_benchmark(None), ArgumentError, "folder must be a path"),
    (lambda run: benchmark_folders(None), ArgumentError, "root must be a path"),
    (lambda run: headline_metrics("ml-100k", [run.folder], "ease"), ArgumentError,
     "models must be a list of names"),
    (lambda run: headline_metrics("ml-100k", str(run.folder), ["ease"]), ArgumentError,
     "folders must be a list"),
    (lambda run: run.per_user(), DataError, "per_user.parquet is not readable Parquet"),
])
def test_careless_calls_on_a_run_are_clear_errors(call, error: type, expected: str,
                                                  tmp_path: Path) -> None:
    folder = shutil.copytree(RESULTS_DIR / "liang-ml100k", tmp_path / "run",
                             ignore=shutil.ignore_patterns("*.html", "per_user.parquet"))
    (folder / "per_user.parquet").write_text("not parquet")
    with pytest.raises(error, match=re.escape(expected)):
        call(load_benchmark(folder))
    assert benchmark_folders(str(tmp_path)) == [folder]
