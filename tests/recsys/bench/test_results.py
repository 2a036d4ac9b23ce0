"""Benchmark results read back from the repository's results folder."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from recsys.bench.results import (
    RESULTS_DIR,
    BenchmarkRun,
    benchmark_folders,
    headline_metrics,
    load_benchmark,
)


def test_benchmark_readers_on_the_repo_results() -> None:
    folders = benchmark_folders(RESULTS_DIR)
    assert any(f.name == "recommenders-ml100k" for f in folders)
    run = load_benchmark(RESULTS_DIR / "recommenders-ml100k")
    assert run.dataset == "ml-100k" and "ndcg@10" in run.summary.columns
    headline = headline_metrics("ml-100k", [run.folder], ["ease"])
    assert headline["model"].to_list() == ["ease"] and headline["ndcg@10"][0] > 0.4


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
