"""Run the content/hybrid study on ml-latest-small and write its combined report.

    python benchmarks/content_hybrid.py [--force] [--mlflow] [--threads 2]

The study is five ordinary benchmark specs (each also runs alone with ``recsys bench run``):
(a) warm users, leave-last-5; (b) cold-start items; (c) cold-start users with 1, 3, 5 known
ratings. Parts whose results folder exists are not rerun unless ``--force``. The combined
answers, the learning curve (c) and the cold-item figure (b), plus the embedding throughput,
index build and similar-items timings, go into
``benchmarks/results/content-hybrid-ml-latest-small/study.md``.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import polars as pl

from recsys.bench import report, runner
from recsys.bench.plots import write_figure
from recsys.bench.spec import load_spec
from recsys.data.load import ingest
from recsys.data.types import Interactions
from recsys.features import ItemIndex, movie_embeddings
from recsys.features.embeddings import load_encoder, movie_documents
from recsys.io import write_text
from recsys.models import create_model
from recsys.settings import get_settings

SPECS = Path(__file__).parent / "specs"
RESULTS = Path(__file__).parent / "results"
WARM = "content-hybrid-ml-latest-small"
COLD_ITEMS = "content-hybrid-cold-items-ml-latest-small"
KNOWN = (1, 3, 5)
COLD_USERS = {n: f"content-hybrid-cold-users-{n}-ml-latest-small" for n in KNOWN}
COLLABORATIVE = ("ease", "item-knn", "als")  # item-knn only in (a)
HYBRIDS = ("hybrid-blend", "hybrid-switch", "hybrid-collective-ease")


def run_part(name: str, force: bool, mlflow: bool, threads: int) -> pl.DataFrame:
    """Run one spec unless its results exist; return its per-model summary."""
    folder = RESULTS / name
    if force or not (folder / "results.csv").exists():
        spec_path = SPECS / f"{name}.yaml"
        result = runner.run_benchmark(load_spec(spec_path), tracking=mlflow, threads=threads,
                                      spec_text=spec_path.read_text(encoding="utf-8"))
        report.write_results(result, folder)
    return pl.read_csv(folder / "results.csv")


def timings(threads: int, sample: int) -> dict[str, float]:
    """Embedding throughput (on ``sample`` movie documents, no cache), faiss build time over
    the whole catalogue's cached embeddings and single-movie ``similar_items`` latency."""
    dataset, settings = ingest("ml-latest-small"), get_settings()
    documents = movie_documents(dataset)["document"].to_list()
    encoder = load_encoder(settings)
    started = time.perf_counter()
    encoder.encode(documents[:sample], batch_size=64, show_progress_bar=True)
    docs_per_s = sample / (time.perf_counter() - started)
    features = movie_embeddings(dataset, settings=settings)
    started = time.perf_counter()
    ItemIndex.build(features.matrix)
    build_ms = 1000 * (time.perf_counter() - started)
    train = Interactions.from_frame(dataset.ratings, items=features.item_ids)
    model = create_model("content", representation="embedding").fit(train, dataset)
    items = np.random.default_rng(0).choice(train.item_ids, 500, replace=False)
    model.similar_items(items[:1], k=10)  # warm-up
    spent = []
    for item in items:
        started = time.perf_counter()
        model.similar_items([item], k=10)
        spent.append(1000 * (time.perf_counter() - started))
    return {"movies": len(features.item_ids), "docs_per_s": docs_per_s, "sample": sample,
            "index_build_ms": build_ms, "similar_p50_ms": float(np.percentile(spent, 50)),
            "similar_p95_ms": float(np.percentile(spent, 95)), "threads": threads}


def table(frame: pl.DataFrame, metrics: list[str]) -> str:
    """A Markdown table of ``model`` and ``metrics`` (4 decimals)."""
    lines = ["| model | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for row in frame.iter_rows(named=True):
        lines.append(f"| {row['model']} | " + " | ".join(f"{row[m]:.4f}" for m in metrics) + " |")
    return "\n".join(lines)


def best(frame: pl.DataFrame, labels: tuple[str, ...], metric: str) -> dict:
    """The row of the best model among ``labels`` on ``metric``."""
    return frame.filter(pl.col("model").is_in(labels)).sort(metric, descending=True).row(
        0, named=True)


def warm_answer(warm: pl.DataFrame) -> str:
    """(a): best hybrid vs best collaborative, with the paired test from significance.csv."""
    hybrid, collab = best(warm, HYBRIDS, "ndcg@10"), best(warm, COLLABORATIVE, "ndcg@10")
    tests = pl.read_csv(RESULTS / WARM / "significance.csv").filter(
        pl.col("metric") == "ndcg@10",
        pl.col("model_a").is_in([hybrid["model"], collab["model"]]),
        pl.col("model_b").is_in([hybrid["model"], collab["model"]]))
    test = tests.row(0, named=True) if tests.height else {}
    verdict = "at least as good as" if hybrid["ndcg@10"] >= collab["ndcg@10"] else "worse than"
    return (f"Best hybrid **{hybrid['model']}** NDCG@10 {hybrid['ndcg@10']:.4f} vs best "
            f"collaborative **{collab['model']}** {collab['ndcg@10']:.4f}: {verdict} "
            f"(difference {hybrid['ndcg@10'] - collab['ndcg@10']:+.4f}; paired t-test "
            f"p (Holm) = {test.get('p_ttest_holm', float('nan')):.3g}, Wilcoxon p (Holm) = "
            f"{test.get('p_wilcoxon_holm', float('nan')):.3g}, significant: "
            f"{test.get('significant', 'n/a')}).")


def learning_curve(curves: dict[int, pl.DataFrame], metric: str) -> go.Figure:
    """(c): ``metric`` against the number of known ratings, one line per model."""
    figure = go.Figure()
    for model in curves[KNOWN[0]]["model"].to_list():
        values = [curves[n].filter(pl.col("model") == model)[metric].item() for n in KNOWN]
        figure.add_trace(go.Scatter(x=list(KNOWN), y=values, mode="lines+markers", name=model))
    figure.update_layout(title=f"Cold-start users: {metric} by number of known ratings",
                         xaxis_title="known ratings", yaxis_title=metric)
    return figure


def cold_item_figure(cold: pl.DataFrame) -> go.Figure:
    """(b): Recall@10 and @100 on held-out (never rated) movies per model."""
    figure = go.Figure([go.Bar(x=cold["model"], y=cold[m], name=m)
                        for m in ("recall@10", "recall@100")])
    figure.update_layout(title="Cold-start items: recall of movies with no training rating",
                         barmode="group", yaxis_title="recall")
    return figure


def study_report(warm: pl.DataFrame, cold: pl.DataFrame, curves: dict[int, pl.DataFrame],
                 times: dict[str, float]) -> str:
    """The combined Markdown answers to (a), (b), (c) and the timings."""
    curve = curves[KNOWN[0]].select("model")
    for n in KNOWN:
        curve = curve.join(curves[n].select("model", pl.col("ndcg@10").alias(f"ndcg@10 ({n})")),
                           on="model")
    known_cols = [f"ndcg@10 ({n})" for n in KNOWN]
    return "\n\n".join([
        "# Content-based and hybrid recommenders on ml-latest-small",
        "Five specs, one split each, the same models; per-part details (all metrics, costs, "
        "segments, significance) in the sibling results folders named below. Generated by "
        "`python benchmarks/content_hybrid.py`.",
        f"## (a) Warm users, leave-last-5 (`{WARM}`)",
        table(warm, ["ndcg@10", "recall@10", "hit_rate@10", "coverage@10", "fit_s"]),
        warm_answer(warm),
        f"## (b) Cold-start items (`{COLD_ITEMS}`)",
        "Every rating of 10% of the movies is held out; the test set is only those movies. "
        "Collaborative models have no signal for them (their columns are empty).",
        table(cold, ["recall@10", "recall@100", "ndcg@10"]),
        "Figure: [cold_items.html](cold_items.html)",
        "## (c) Cold-start users with 1, 3, 5 known ratings (`content-hybrid-cold-users-N-…`)",
        table(curve, known_cols),
        "Figure: [learning_curve.html](learning_curve.html)",
        "## Timings (this machine, shared 2-core CPU)",
        f"- Embedding (all-MiniLM-L6-v2, CPU, batch 64): {times['docs_per_s']:.0f} documents/s "
        f"on {times['sample']:,} of them, so ~{times['movies'] / times['docs_per_s']:.0f} s for "
        f"all {times['movies']:,} movies; a cached call reads one .npy file.",
        f"- faiss IndexFlatIP build over {times['movies']:,} × 384: "
        f"{times['index_build_ms']:.1f} ms",
        f"- `similar_items` (content, embedding), one movie per call, k=10: p50 "
        f"{times['similar_p50_ms']:.2f} ms, p95 {times['similar_p95_ms']:.2f} ms",
    ]) + "\n"


def main() -> None:
    """Run (or reuse) every part, then write the combined report and figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rerun parts that have results")
    parser.add_argument("--mlflow", action="store_true", help="log runs to MLflow")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads")
    parser.add_argument("--sample", type=int, default=1000, help="documents timed for embedding")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run = {"force": args.force, "mlflow": args.mlflow, "threads": args.threads}
    warm, cold = run_part(WARM, **run), run_part(COLD_ITEMS, **run)
    curves = {n: run_part(name, **run) for n, name in COLD_USERS.items()}
    folder = RESULTS / WARM
    write_figure(learning_curve(curves, "ndcg@10"), folder / "learning_curve.html")
    write_figure(cold_item_figure(cold), folder / "cold_items.html")
    times = timings(args.threads, args.sample)
    write_text(folder / "study.md", study_report(warm, cold, curves, times))


if __name__ == "__main__":
    main()
