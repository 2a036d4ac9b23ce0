"""The scale benchmark's measured calls (issue 12), one per process: ``benchmarks/scale.py`` runs
each under GNU time and reads the figures it prints last (a ``RESULT {json}`` line).

    python benchmarks/scale_probes.py als synthetic-ml-20m --iterations 5
    python benchmarks/scale_probes.py implicit_als synthetic-ml-20m --iterations 5
    python benchmarks/scale_probes.py evaluate synthetic-ml-20m
    python benchmarks/scale_probes.py serve synthetic-ml-20m
    python benchmarks/scale_probes.py surprise synthetic-ml-1m          # the ml-1m shape
    python benchmarks/scale_probes.py spark_als synthetic-ml-20m --iterations 5  # the spark extra

Every probe loads the release as the product does (``load_dataset``) and times library calls
only; ``peak_rss_gib`` after each phase is the process's high-water mark so far.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import psutil
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys.bench.spec import load_spec
from recsys.data.load import load_dataset
from recsys.data.types import Interactions
from recsys.errors import RecsysError
from recsys.evaluation.cost import PeriodicSampler
from recsys.evaluation.protocol import (
    EvalPlan,
    PreparedSplit,
    evaluate,
    make_splits,
    prepare_split,
)
from recsys.linalg import largest_inverse
from recsys.models import create_model
from recsys.service import RecommenderService, load_personas
from recsys.training import DEFAULT_MODELS

PERSONAS = Path(__file__).resolve().parents[1] / "app" / "personas.yaml"
SPARK_SPEC = Path(__file__).resolve().parent / "specs" / "spark-ml100k.yaml"
SPARK_ALS_LABEL = "ALS (Spark, rank 10)"  # the spec's model with Microsoft's settings
THREADS = os.cpu_count() or 1


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class _Phases:
    """Wall time, CPU time (every thread of the process: on a shared machine, the figure the
    load does not inflate) and the peak RSS so far after each named phase."""

    def __init__(self) -> None:
        self.figures: dict[str, Any] = {}

    def run(self, name: str, call: Callable[[], Any]) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        result = call()
        self.figures[f"{name}_s"] = round(time.perf_counter() - start, 3)
        self.figures[f"{name}_cpu_s"] = round(time.process_time() - cpu, 3)
        self.figures[f"{name}_peak_rss_gib"] = round(_peak_gib(), 3)
        return result


def _interactions(name: str, phases: _Phases) -> Interactions:
    dataset = phases.run("load", lambda: load_dataset(name))
    return phases.run("matrix", lambda: Interactions.from_frame(
        dataset.ratings, rating_scale=dataset.rating_scale))


def als(args: argparse.Namespace) -> dict[str, Any]:
    """Our ALS (64 factors, every core): seconds per iteration of the whole fit."""
    phases = _Phases()
    train = _interactions(args.name, phases)
    model = create_model("als", factors=64, iterations=args.iterations)
    phases.run("fit", lambda: model.fit(train))
    return phases.figures | {"iterations": args.iterations, "threads": THREADS,
                             "s_per_iteration": phases.figures["fit_s"] / args.iterations}


def implicit_als(args: argparse.Namespace) -> dict[str, Any]:
    """implicit's ALS alone on the same confidences (1 + 2r), same threads and factors."""
    from implicit import __version__
    from implicit.cpu.als import AlternatingLeastSquares

    phases = _Phases()
    train = _interactions(args.name, phases)
    confidence = sp.csr_matrix(train.matrix, dtype=np.float32, copy=True)
    confidence.data = 1.0 + 2.0 * confidence.data
    peer = AlternatingLeastSquares(factors=64, regularization=0.05, alpha=1.0,
                                   iterations=args.iterations, num_threads=THREADS,
                                   random_state=42)
    with threadpool_limits(1, "blas"):
        phases.run("fit", lambda: peer.fit(confidence, show_progress=False))
    return phases.figures | {"iterations": args.iterations, "threads": THREADS,
                             "implicit": __version__,
                             "s_per_iteration": phases.figures["fit_s"] / args.iterations}


def evaluate_temporal(args: argparse.Namespace) -> dict[str, Any]:
    """Global temporal split (latest 20% test), the demo's EASE: the evaluation (the test
    users known in training), then top-10 for every training user, chunked as it is."""
    phases = _Phases()
    data = _temporal_split(args.name, phases)
    model = create_model("ease", **DEFAULT_MODELS["ease"])
    phases.run("fit", lambda: model.fit(data.train))
    plan = EvalPlan(ks=(10,), ranking=True, rating=False, beyond_k=None)
    result = phases.run("evaluate", lambda: evaluate(model, data, plan))
    users = data.interactions.user_ids
    phases.run("top10_every_user", lambda: model.recommend(users, k=10))
    return phases.figures | {"users_evaluated": len(data.users), "training_users": len(users),
                             **{k: v for k, v in result.metrics.items() if "@" in k}}


def ease_dense(args: argparse.Namespace) -> dict[str, Any]:
    """The demo's EASE (its ``max_items`` most-rated movies, the rest by popularity) beside
    dense EASE over every movie, fitted and evaluated on the same global temporal split: the
    gap the cut costs at this size; where dense EASE is beyond what LAPACK inverts here, the
    refusal, and the widest EASE it does invert in its place."""
    phases = _Phases()
    data = _temporal_split(args.name, phases)
    plan = EvalPlan(ks=(10,), ranking=True, rating=False, beyond_k=None)
    figures: dict[str, Any] = {"users_evaluated": len(data.users)}
    variants = [("cut", {}), ("dense", {"max_items": None})]
    for variant, extra in variants:
        model = create_model("ease", **(DEFAULT_MODELS["ease"] | extra))
        try:
            phases.run(f"{variant}_fit", lambda model=model: model.fit(data.train))
        except RecsysError as error:  # then the widest EASE that LAPACK inverts here
            figures[f"{variant}_refused"] = str(error)
            figures["widest_items"] = largest_inverse(np.float32)
            variants.append(("widest", {"max_items": figures["widest_items"]}))
            continue
        result = phases.run(f"{variant}_evaluate",
                            lambda model=model: evaluate(model, data, plan))
        figures |= {f"{variant}_{k}": v for k, v in result.metrics.items() if "@" in k}
        del model
    wide = next(f"{v}_ndcg@10" for v in ("dense", "widest") if f"{v}_ndcg@10" in figures)
    cut, widest = figures["cut_ndcg@10"], figures[wide]
    figures["ndcg@10_gap_pct"] = round(100 * (cut - widest) / widest, 3)
    return phases.figures | figures


def _temporal_split(name: str, phases: _Phases) -> PreparedSplit:
    """The release split at one global time: the latest 20% of its ratings are the test."""
    dataset = phases.run("load", lambda: load_dataset(name))
    split = phases.run("split", lambda: make_splits(
        "temporal_global", {"test_fraction": 0.2}, dataset.ratings, 42)[0])
    return phases.run("prepare", lambda: prepare_split(split, dataset))


class _TreePeaks(PeriodicSampler):
    """Peak RSS of this process's JVM (Spark's driver; its executor in local mode) and of the
    Python workers under it (summed), sampled every ``interval`` seconds in a thread."""

    def __init__(self, interval: float = 0.5) -> None:
        super().__init__(interval)
        self.jvm, self.workers, self.worker_count = 0, 0, 0

    def sample(self) -> None:
        rss: dict[str, list[int]] = {"java": [], "python": []}
        for child in psutil.Process().children(recursive=True):
            try:
                kind = "java" if child.name() == "java" else "python"
                rss[kind].append(child.memory_info().rss)
            except psutil.NoSuchProcess:
                continue
        self.jvm = max(self.jvm, sum(rss["java"]))
        self.workers = max(self.workers, sum(rss["python"]))
        self.worker_count = max(self.worker_count, len(rss["python"]))

    def figures(self) -> dict[str, Any]:
        """The peaks so far in GiB, and the most Python workers seen at once."""
        return {"jvm_peak_rss_gib": round(self.jvm / 2**30, 3),
                "python_workers_peak_rss_gib": round(self.workers / 2**30, 3),
                "python_workers_most": self.worker_count}


def spark_als(args: argparse.Namespace) -> dict[str, Any]:
    """Spark MLlib ALS with the Spark spec's Microsoft settings (``--iterations`` of them) on
    the global temporal split: fit, top-10 of the test users in Spark and the Spark evaluator;
    then our in-process ALS with as many factors and iterations, evaluated in process."""
    from recsys.spark import spark_session

    spec = next(m for m in load_spec(SPARK_SPEC).models if m.label == SPARK_ALS_LABEL)
    params = spec.params | {"maxIter": args.iterations}
    phases = _Phases()
    data = _temporal_split(args.name, phases)
    with _TreePeaks() as peaks:
        spark = phases.run("spark_start", spark_session)
        model = create_model(spec.name, **params)
        phases.run("spark_fit", lambda: model.fit(data.train))
        plan = EvalPlan(ks=(10,), ranking=True, rating=True, beyond_k=None, engine="spark")
        on_spark = phases.run("spark_evaluate", lambda: evaluate(model, data, plan))
        figures = peaks.figures() | {"driver_memory": spark.conf.get("spark.driver.memory")}
    spark.stop()
    ours = create_model("als", factors=params["rank"], iterations=args.iterations)
    phases.run("als_fit", lambda: ours.fit(data.train))
    plan = EvalPlan(ks=(10,), ranking=True, rating=False, beyond_k=None)
    in_process = phases.run("als_evaluate", lambda: evaluate(ours, data, plan))
    return phases.figures | figures | {
        "spark_params": params, "users_evaluated": len(data.users),
        **{f"spark_{k}": v for k, v in on_spark.metrics.items() if "@" in k or k == "rmse"},
        **{f"als_{k}": v for k, v in in_process.metrics.items() if "@" in k}}


def _histories(service: RecommenderService) -> list[pl.DataFrame]:
    """The app's personas where they resolve; on a synthetic catalogue, 5 seeded histories of
    10 movies drawn from its 500 most-rated (what a persona looks like to a model)."""
    personas = load_personas(PERSONAS, service.dataset.movies)
    if personas:
        return [persona.history for persona in personas]
    counts = service.dataset.ratings["item_id"].value_counts().sort(["count", "item_id"],
                                                                   descending=[True, False])
    popular = counts["item_id"].head(500).to_numpy()
    rng = np.random.default_rng(0)
    return [pl.DataFrame({"item_id": rng.choice(popular, 10, replace=False),
                          "rating": rng.choice([3.0, 4.0, 5.0], 10)}) for _ in range(5)]


def serve(args: argparse.Namespace) -> dict[str, Any]:
    """The app's service: open (data + every trained model), then persona recommendations."""
    phases = _Phases()
    service = phases.run("open", lambda: RecommenderService.open(args.name))
    histories = _histories(service)
    figures = phases.figures | {"histories": len(histories)}
    for model in service.model_names:
        timings = []
        for round_ in range(args.repeats + 1):
            for history in histories:
                start = time.perf_counter()
                service.recommend(model, history=history, k=10)
                if round_:  # the first round warms caches up
                    timings.append(1000 * (time.perf_counter() - start))
        figures[f"{model}_p50_ms"] = round(float(np.percentile(timings, 50)), 2)
        figures[f"{model}_p95_ms"] = round(float(np.percentile(timings, 95)), 2)
    return figures | {"peak_rss_gib": round(_peak_gib(), 3)}


# Surprise's pearson_baseline similarity allocates five n × n arrays of 8 bytes
# (freq, prods, sq_diff_i, sq_diff_j, sim: surprise/similarities.pyx).
SURPRISE_SIMILARITY_ARRAYS = 5
SURPRISE_MEMORY_LIMIT_GIB = 16


def surprise(args: argparse.Namespace) -> dict[str, Any]:
    """scikit-surprise's SVD and KNNBaseline (item-based, pearson_baseline) on the release, or
    on a seeded sample of ``--sample`` of its ratings; KNNBaseline only where its similarity
    arrays fit in 16 GiB (otherwise the memory it would need is reported)."""
    from surprise import SVD, Dataset, KNNBaseline, Reader, __version__

    phases = _Phases()
    ratings = load_dataset(args.name).ratings
    sample = ratings if args.sample is None else ratings.sample(n=args.sample, seed=0)
    frame = sample.select("user_id", "item_id", "rating").to_pandas()
    trainset = phases.run("load", lambda: Dataset.load_from_df(
        frame, Reader(rating_scale=(0.5, 5.0))).build_full_trainset())
    phases.run("svd_fit", lambda: SVD(random_state=0).fit(trainset))
    knn_gib = SURPRISE_SIMILARITY_ARRAYS * 8 * trainset.n_items**2 / 2**30
    if knn_gib <= SURPRISE_MEMORY_LIMIT_GIB:
        options = {"name": "pearson_baseline", "user_based": False}
        phases.run("knn_baseline_fit", lambda: KNNBaseline(sim_options=options,
                                                           verbose=False).fit(trainset))
    return phases.figures | {"ratings": sample.height, "users": trainset.n_users,
                             "items": trainset.n_items, "knn_baseline_needs_gib": round(knn_gib, 1),
                             "knn_baseline_run": knn_gib <= SURPRISE_MEMORY_LIMIT_GIB,
                             "surprise": __version__}


PROBES: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "als": als, "implicit_als": implicit_als, "evaluate": evaluate_temporal, "serve": serve,
    "surprise": surprise, "spark_als": spark_als, "ease_dense": ease_dense,
}


def main(argv: list[str] | None = None) -> None:
    """Run one probe and print its figures as the last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probe", choices=sorted(PROBES))
    parser.add_argument("name", help="release name, e.g. synthetic-ml-20m")
    parser.add_argument("--iterations", type=int, default=5,
                        help="ALS iterations (spark_als: Spark's maxIter and ours)")
    parser.add_argument("--repeats", type=int, default=20, help="serve: rounds of histories")
    parser.add_argument("--sample", type=int, help="surprise: a sample of this many ratings")
    args = parser.parse_args(argv)
    print("RESULT " + json.dumps(PROBES[args.probe](args)), flush=True)


if __name__ == "__main__":
    main()
