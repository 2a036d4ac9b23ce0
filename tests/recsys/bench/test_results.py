"""Benchmark results read back from the repository's results folder."""

from __future__ import annotations

from recsys.bench.results import RESULTS_DIR, benchmark_folders, headline_metrics, load_benchmark


def test_benchmark_readers_on_the_repo_results() -> None:
    folders = benchmark_folders(RESULTS_DIR)
    assert any(f.name == "recommenders-ml100k" for f in folders)
    run = load_benchmark(RESULTS_DIR / "recommenders-ml100k")
    assert run.dataset == "ml-100k" and "ndcg@10" in run.summary.columns
    headline = headline_metrics("ml-100k", [run.folder], ["ease"])
    assert headline["model"].to_list() == ["ease"] and headline["ndcg@10"][0] > 0.4
