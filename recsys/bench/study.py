"""The content/hybrid study on ml-latest-small: five benchmark specs, one combined report.

(a) warm users, leave-last-5; (b) cold-start items; (c) cold-start users with 1, 3, 5 known
ratings. Each part is an ordinary spec (``recsys bench run``); this module runs the parts whose
results are missing, reads their ``results.csv`` and ``significance.csv`` and writes the
answers with figures, paired tests and the embedding / faiss timings into ``study.md``.
``benchmarks/content_hybrid.py`` is its command-line shell.
"""

from __future__ import annotations

import io
import math
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import polars as pl

from recsys.arguments import check_path
from recsys.bench import report, runner
from recsys.bench.plots import write_figure
from recsys.bench.results import SIGNIFICANCE_COLUMNS, load_benchmark, read_table
from recsys.bench.spec import load_spec
from recsys.data.load import ingest
from recsys.data.types import Interactions, TrainingData
from recsys.features import ItemIndex, movie_embeddings
from recsys.features.embeddings import load_encoder, movie_documents
from recsys.io import write_text
from recsys.models import create_model
from recsys.settings import Settings, get_settings

__all__ = ["Study", "Timings", "pair_test", "run_study", "study_report", "timings"]

WARM = "content-hybrid-ml-latest-small"
COLD_ITEMS = "content-hybrid-cold-items-ml-latest-small"
KNOWN = (1, 3, 5)
COLD_USERS = {n: f"content-hybrid-cold-users-{n}-ml-latest-small" for n in KNOWN}
COLLABORATIVE = ("ease", "item-knn", "als")  # item-knn only in (a)
CONTENT = ("content-tfidf", "content-embedding")
HYBRIDS = ("hybrid-blend", "hybrid-switch", "hybrid-collective-ease")
POPULAR = "most-popular"
# The last commit whose cold-item results were computed with every tag in the catalogue
# (389 of the 407 tags on the held-out movies were written by the users being evaluated).
LEAKY_REVISION = "b70115d"
LEAK_METRICS = ("recall@10", "recall@100", "ndcg@10")


@dataclass(frozen=True)
class Study:
    """The five parts' summaries and the folder they live in."""

    results: Path
    warm: pl.DataFrame
    cold: pl.DataFrame
    curves: dict[int, pl.DataFrame]


@dataclass(frozen=True)
class Timings:
    """Embedding throughput, faiss build time and ``similar_items`` latency."""

    movies: int
    sample: int
    docs_per_s: float
    index_build_ms: float
    similar_p50_ms: float
    similar_p95_ms: float


def run_part(specs: Path, results: Path, name: str, force: bool = False,
             tracking: bool = False, threads: int | None = None) -> pl.DataFrame:
    """Run one spec unless its results exist (or ``force``); return its per-model summary."""
    folder = results / name
    if force or not (folder / "results.csv").exists():
        path = specs / f"{name}.yaml"
        result = runner.run_benchmark(load_spec(path), tracking=tracking, threads=threads,
                                      spec_text=path.read_text(encoding="utf-8"))
        report.write_results(result, folder)
    return load_benchmark(folder).summary


def run_study(specs: Path, results: Path, force: bool = False, tracking: bool = False,
              threads: int | None = None) -> Study:
    """Run (or reuse) the five parts."""
    part = {"force": force, "tracking": tracking, "threads": threads}
    return Study(results, run_part(specs, results, WARM, **part),
                 run_part(specs, results, COLD_ITEMS, **part),
                 {n: run_part(specs, results, name, **part) for n, name in COLD_USERS.items()})


def timings(sample: int = 1000, settings: Settings | None = None) -> Timings:
    """Embedding throughput (on ``sample`` movie documents, no cache), faiss build time over
    the whole catalogue's cached embeddings and single-movie ``similar_items`` latency."""
    settings = settings or get_settings()
    dataset = ingest("ml-latest-small", settings=settings)
    documents = movie_documents(dataset)["document"].to_list()
    started = time.perf_counter()
    load_encoder(settings).encode(documents[:sample], batch_size=64, show_progress_bar=True)
    docs_per_s = sample / (time.perf_counter() - started)
    features = movie_embeddings(dataset, settings=settings)
    started = time.perf_counter()
    ItemIndex.build(features.matrix)
    build_ms = 1000 * (time.perf_counter() - started)
    train = Interactions.from_frame(dataset.ratings, items=features.item_ids)
    serving = TrainingData.for_serving(train, dataset)  # a serving fit: all known
    model = create_model("content", representation="embedding").fit(serving)
    items = np.random.default_rng(0).choice(train.item_ids, 500, replace=False)
    model.similar_items(items[:1], k=10)  # warm-up
    spent = []
    for item in items:
        started = time.perf_counter()
        model.similar_items([item], k=10)
        spent.append(1000 * (time.perf_counter() - started))
    return Timings(len(features.item_ids), sample, docs_per_s, build_ms,
                   float(np.percentile(spent, 50)), float(np.percentile(spent, 95)))


# -- reading the parts ------------------------------------------------------------------------
def pair_test(folder: Path | str, metric: str, a: str, b: str) -> dict[str, float | bool]:
    """The paired test of ``a`` against ``b`` on ``metric`` from ``significance.csv``, with
    ``diff`` = mean(a) - mean(b); empty when the pair was not tested; DataError when
    ``folder`` holds no readable ``significance.csv``."""
    path = check_path(folder, "folder") / "significance.csv"
    tests = read_table(path, path, SIGNIFICANCE_COLUMNS).filter(pl.col("metric") == metric)
    for first, second, sign in ((a, b, 1.0), (b, a, -1.0)):
        found = tests.filter(pl.col("model_a") == first, pl.col("model_b") == second)
        if found.height:
            row = found.row(0, named=True)
            return {"diff": sign * row["mean_diff"], "p_t": row["p_ttest_holm"],
                    "p_w": row["p_wilcoxon_holm"], "significant": bool(row["significant"])}
    return {}


def _value(frame: pl.DataFrame, model: str, metric: str) -> float:
    found = frame.filter(pl.col("model") == model)
    return float(found[metric].item()) if found.height else math.nan


def _best(frame: pl.DataFrame, labels: tuple[str, ...], metric: str) -> str:
    """The label of the best model among ``labels`` on ``metric``."""
    return str(frame.filter(pl.col("model").is_in(labels)).sort(
        metric, descending=True)["model"][0])


def _versus(frame: pl.DataFrame, folder: Path, metric: str, a: str, b: str) -> str:
    """'a 0.1234 vs b 0.1200 (+0.0034; Holm p t 0.4 / Wilcoxon 0.5, not significant)'."""
    test = pair_test(folder, metric, a, b)
    stats = (f"Holm-corrected paired t-test p = {test['p_t']:.3g}, Wilcoxon p = "
             f"{test['p_w']:.3g}, {'significant' if test['significant'] else 'not significant'}"
             if test else "no paired test")
    return (f"**{a}** {_value(frame, a, metric):.4f} vs **{b}** {_value(frame, b, metric):.4f} "
            f"({_value(frame, a, metric) - _value(frame, b, metric):+.4f}; {stats})")


def _table(frame: pl.DataFrame, metrics: list[str]) -> str:
    """A Markdown table of ``model`` and ``metrics`` (4 decimals)."""
    lines = ["| model | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for row in frame.iter_rows(named=True):
        cells = " | ".join("n/a" if row[m] is None else f"{row[m]:.4f}" for m in metrics)
        lines.append(f"| {row['model']} | {cells} |")
    return "\n".join(lines)


# -- the answers -----------------------------------------------------------------------------
def warm_answer(study: Study) -> str:
    """(a): best hybrid vs best collaborative (and the other hybrids vs EASE), NDCG@10."""
    folder, frame = study.results / WARM, study.warm
    hybrid, collab = _best(frame, HYBRIDS, "ndcg@10"), _best(frame, COLLABORATIVE, "ndcg@10")
    verdict = "at least as good as" if (
        _value(frame, hybrid, "ndcg@10") >= _value(frame, collab, "ndcg@10")) else "worse than"
    lines = [f"Best hybrid vs best collaborative, NDCG@10: "
             f"{_versus(frame, folder, 'ndcg@10', hybrid, collab)} — {verdict}."]
    lines += [f"- {_versus(frame, folder, 'ndcg@10', h, collab)}" for h in HYBRIDS if h != hybrid]
    return "\n".join(lines)


def cold_items_answer(study: Study) -> str:
    """(b): which models recommend never-rated movies, Recall@10 against the best content."""
    folder, frame = study.results / COLD_ITEMS, study.cold
    content = _best(frame, CONTENT, "recall@10")
    finds = [m for m in frame["model"].to_list() if _value(frame, m, "recall@100") > 0]
    lines = [f"Models that put held-out (never-rated) movies in their lists: {', '.join(finds)}; "
             f"collaborative models score them 0. Recall@10 of each hybrid against the best "
             f"content model:"]
    lines += [f"- {_versus(frame, folder, 'recall@10', h, content)}" for h in HYBRIDS]
    return "\n".join(lines)


def cold_users_answer(study: Study) -> str:
    """(c): per number of known ratings, the best model and the switch against most-popular."""
    lines = []
    for n, name in COLD_USERS.items():
        frame = study.curves[n]
        best = _best(frame, tuple(frame["model"].to_list()), "ndcg@10")
        lines.append(f"- {n} known: best **{best}** {_value(frame, best, 'ndcg@10'):.4f}; "
                     f"{_versus(frame, study.results / name, 'ndcg@10', 'hybrid-switch', POPULAR)}")
    return "\n".join(lines)


def leaky_results(folder: Path, revision: str = LEAKY_REVISION) -> pl.DataFrame | None:
    """``results.csv`` of a part as committed at ``revision`` (None outside a git checkout)."""
    relative = f"{folder.parent.name}/{folder.name}/results.csv"
    shown = subprocess.run(
        ["git", "show", f"{revision}:benchmarks/{relative}"], cwd=Path(__file__).parent,
        capture_output=True, check=False,
    )
    return pl.read_csv(io.BytesIO(shown.stdout)) if shown.returncode == 0 else None


def leak_answer(study: Study) -> str:
    """(b) before and after the catalogue kept only the tags known at training time."""
    before = leaky_results(study.results / COLD_ITEMS)
    if before is None:
        return f"(the leaky results of commit {LEAKY_REVISION} are not in this checkout)"
    rows = ["| model | " + " | ".join(f"{m} before → after" for m in LEAK_METRICS) + " |",
            "|---|" + "---|" * len(LEAK_METRICS)]
    for model in (*CONTENT, *HYBRIDS):
        cells = [f"{_value(before, model, m):.4f} → {_value(study.cold, model, m):.4f}"
                 for m in LEAK_METRICS]
        rows.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join([
        f"Before the fix (commit `{LEAKY_REVISION}`) the content features were built from every "
        "tag, including the tags the evaluated users wrote on the held-out movies; now the "
        "catalogue a model is trained with holds only the tags of training ratings "
        "(`recsys.evaluation.protocol`). Before → after:", "", *rows,
    ])


def learning_curve(curves: dict[int, pl.DataFrame], metric: str) -> go.Figure:
    """(c): ``metric`` against the number of known ratings, one line per model."""
    figure = go.Figure()
    for model in curves[KNOWN[0]]["model"].to_list():
        values = [_value(curves[n], model, metric) for n in KNOWN]
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


def study_report(study: Study, times: Timings) -> str:
    """The combined Markdown answers to (a), (b), (c) and the timings."""
    curve = study.curves[KNOWN[0]].select("model")
    for n in KNOWN:
        curve = curve.join(study.curves[n].select(
            "model", pl.col("ndcg@10").alias(f"ndcg@10 ({n})")), on="model", how="left")
    return "\n\n".join([
        "# Content-based and hybrid recommenders on ml-latest-small",
        "Five specs, one split each, the same models; per-part details (all metrics, costs, "
        "segments, significance) in the sibling results folders named below. Generated by "
        "`python benchmarks/content_hybrid.py`. Significance: paired tests over users, Holm "
        "correction over all model pairs of the part, alpha 0.05.",
        f"## (a) Warm users, leave-last-5 (`{WARM}`)",
        _table(study.warm, ["ndcg@10", "recall@10", "hit_rate@10", "coverage@10", "fit_s"]),
        warm_answer(study),
        f"## (b) Cold-start items (`{COLD_ITEMS}`)",
        "Every rating of 10% of the movies is held out; the test set is only those movies.",
        _table(study.cold, ["recall@10", "recall@100", "ndcg@10"]),
        cold_items_answer(study),
        "### The tag leak, closed",
        leak_answer(study),
        "Figure: [cold_items.html](cold_items.html)",
        "## (c) Cold-start users with 1, 3, 5 known ratings (`content-hybrid-cold-users-N-…`)",
        _table(curve, [f"ndcg@10 ({n})" for n in KNOWN]),
        cold_users_answer(study),
        "Figure: [learning_curve.html](learning_curve.html)",
        "## Timings (this machine, shared 2-core CPU)",
        f"- Embedding (all-MiniLM-L6-v2, CPU, batch 64): {times.docs_per_s:.0f} documents/s "
        f"on {times.sample:,} of them, so ~{times.movies / times.docs_per_s:.0f} s for "
        f"all {times.movies:,} movies; a cached call reads one .npy file.",
        f"- faiss IndexFlatIP build over {times.movies:,} × 384: {times.index_build_ms:.1f} ms",
        f"- `similar_items` (content, embedding), one movie per call, k=10: p50 "
        f"{times.similar_p50_ms:.2f} ms, p95 {times.similar_p95_ms:.2f} ms",
    ]) + "\n"


def write_study(study: Study, times: Timings) -> Path:
    """Write ``study.md`` and the two figures into the warm part's folder."""
    folder = study.results / WARM
    write_figure(learning_curve(study.curves, "ndcg@10"), folder / "learning_curve.html")
    write_figure(cold_item_figure(study.cold), folder / "cold_items.html")
    path = folder / "study.md"
    write_text(path, study_report(study, times))
    return path
