"""The report's peer parts: the Fairness table and every peer against every one of ours."""

from __future__ import annotations

import polars as pl
import pytest

from recsys.bench import report
from recsys.bench.runner import BenchmarkResult, run_benchmark
from recsys.bench.spec import BenchmarkSpec
from recsys.data.types import Dataset

SPEC = {
    "name": "peers-tiny",
    "dataset": "ml-latest-small",
    "protocol": {"kind": "random_holdout", "params": {"test_fraction": 0.2}},
    "metrics": ["ndcg@10"],
    "models": [
        {"name": "item_knn", "label": "item-kNN", "params": {"k": 20}},
        {"name": "most_popular", "label": "Popular"},
        {"name": "peer:implicit.als", "label": "implicit ALS",
         "params": {"factors": 8, "iterations": 3}},
    ],
}


@pytest.fixture(scope="module")
def result(ml_small: Dataset) -> BenchmarkResult:
    """item-kNN, most-popular and one peer on the first 100 users of ml-latest-small."""
    ratings = ml_small.ratings.filter(pl.col("user_id") <= 100)
    tiny = Dataset(name="ml-latest-small-100", ratings=ratings, movies=ml_small.movies)
    spec = BenchmarkSpec.from_dict(SPEC)
    return run_benchmark(spec, progress=False, tracking=False, dataset=tiny, threads=1)


def test_context_names_the_peer_and_its_version(result: BenchmarkResult) -> None:
    peers = result.context["peers"]
    assert list(peers) == ["implicit ALS"]
    assert peers["implicit ALS"]["library"] == "implicit" and peers["implicit ALS"]["threads"] == 1


def test_fairness_and_peers_sections(result: BenchmarkResult) -> None:
    text = report.render_markdown(result)
    assert "| item-kNN | ours | fixed: `{\"k\": 20}`, otherwise the model's defaults | 1 |" in text
    assert "| implicit ALS | peer | fixed: " in text and "| implicit 0.7.3 |" in text
    section = text.split("## Peers against ours (ndcg@10)")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| implicit ALS |")]
    assert sorted(row.split(" | ")[1] for row in rows) == ["Popular", "item-kNN"]
