"""Evaluation protocols: the splitter registry, the prepared split, and one ``evaluate``.

Every consumer that scores a model — the benchmark runner, the pipeline's selection and gate,
the offline A/B replay and the lab — builds a :class:`PreparedSplit` with
:func:`prepare_split` and scores with :func:`evaluate`, so that all of them see the same
training data, the same truth and the same metric definitions.

What a model may see is decided here, once:

* the training :class:`~recsys.data.types.Interactions` hold the training ratings only;
* the :class:`~recsys.data.types.Catalog` holds item facts (movies, links, genome) and only the
  tags whose (user, movie) pair is a training rating, written before the user's first test
  rating (per-user time-ordered protocols) or before the cut (temporal protocols); never a
  rating;
* each protocol states what it keeps from the future (:data:`FUTURE_POLICY`), and the
  prepared split measures it: the share of training ratings newer than a test rating.
"""

from __future__ import annotations

import inspect
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from recsys.arguments import check_cutoff, check_flag, check_text
from recsys.data import split as splitters
from recsys.data.types import Catalog, Dataset, Interactions, Split, TrainingData
from recsys.errors import ArgumentError, ConfigError, RecsysError
from recsys.evaluation import cost, segments
from recsys.evaluation.metrics import (
    RECALL_DENOMINATORS,
    ItemFeatures,
    aggregate,
    beyond_accuracy,
    ranking_metrics,
    rating_metrics,
    rating_summary,
)
from recsys.models.base import Capability, Recommender
from recsys.spark.session import ENGINES

__all__ = [
    "FUTURE_POLICY",
    "SPLITTERS",
    "EvalPlan",
    "Evaluation",
    "PreparedSplit",
    "evaluate",
    "known_tags",
    "make_splits",
    "newer_share",
    "prepare_split",
]

log = logging.getLogger(__name__)

# The one splitter registry, keyed by function name (specs, the pipeline and the replay).
SPLITTERS: dict[str, Callable[..., Split | list[Split]]] = {
    f.__name__: f
    for f in (
        splitters.kfold,
        splitters.stratified_split,
        splitters.random_holdout,
        splitters.temporal_global,
        splitters.leave_last_n,
        splitters.cold_start_items,
        splitters.cold_start_users,
        splitters.strong_generalization,
    )
}
_RANDOM = (
    "nothing is ordered in time: training keeps ratings made after test ratings, by the same "
    "user and by others"
)
FUTURE_POLICY: dict[str, str] = {
    "kfold": _RANDOM,
    "stratified_split": _RANDOM,
    "random_holdout": _RANDOM,
    "temporal_global": "nothing: every training rating and tag is older than the cut",
    "leave_last_n": (
        "each user's own later ratings are held out, but other users' ratings made after them "
        "stay in training"
    ),
    "cold_start_items": _RANDOM + " (the test movies have no training rating at all)",
    "cold_start_users": _RANDOM + " (the test users' held-out ratings are random)",
    "strong_generalization": _RANDOM + " (the test users are absent from training; the "
    "history of each is given only at scoring time)",
}
_LATENCY_USERS = 50


def make_splits(
    kind: str, params: dict[str, Any], ratings: pl.DataFrame, seed: int
) -> list[Split]:
    """Apply splitter ``kind`` (with ``seed`` unless ``params`` fix one); always a list."""
    if kind not in SPLITTERS:
        raise ConfigError(f"unknown protocol {kind!r}: expected one of {sorted(SPLITTERS)}")
    if not isinstance(params, dict):
        raise ArgumentError(f"params must be a dict of the splitter's parameters, got {params!r}")
    splitter = SPLITTERS[kind]  # each checks its parameters (``checked_arguments``)
    if "seed" in inspect.signature(splitter).parameters:
        params = {"seed": seed} | dict(params)
    result = splitter(ratings, **params)
    return result if isinstance(result, list) else [result]


# -- the prepared split -----------------------------------------------------------------------
@dataclass(frozen=True)
class PreparedSplit:
    """One split, prepared once, shared by every model: what it trains on and is scored on."""

    split_id: str
    seed: int
    protocol: str
    ratings: pl.DataFrame  # the training ratings (validation splits are carved from them)
    train: TrainingData  # training Interactions + the Catalog known at training time
    test: pl.DataFrame
    truth: pl.DataFrame  # relevant test pairs of users known in training
    users: np.ndarray  # evaluated users: test users known in training
    segments: pl.DataFrame
    future: dict[str, Any]  # what the protocol keeps from the future, stated and measured
    # Strong generalisation: the evaluated users' histories over the training items, folded in
    # at scoring time (None: the evaluated users are training users, scored from their rows).
    histories: Interactions | None = None

    @property
    def interactions(self) -> Interactions:
        """The training matrix."""
        return self.train.interactions


def prepare_split(
    split: Split,
    dataset: Dataset,
    split_id: str = "split0",
    seed: int = 0,
    relevance_threshold: float | None = None,
    full_catalog: bool = False,
) -> PreparedSplit:
    """Training data, truth and evaluated users of ``split`` (see the module docstring).

    ``full_catalog`` widens the item vocabulary to every movie (cold items as empty columns,
    which content models can still score); ``relevance_threshold`` keeps test ratings at or
    above it as the truth (all test pairs when None).
    """
    items = dataset.movies["item_id"].to_numpy() if full_catalog else None
    interactions = Interactions.from_frame(split.train, items=items,
                                           rating_scale=dataset.rating_scale)
    catalog = Catalog.from_dataset(dataset, tags=known_tags(dataset.tags, split))
    histories = None if split.history is None else Interactions.from_frame(
        split.history, items=interactions.item_ids, rating_scale=dataset.rating_scale)
    scored = interactions if histories is None else histories
    known = split.test.filter(pl.col("user_id").is_in(scored.user_ids.tolist()))
    relevant = known if relevance_threshold is None else known.filter(
        pl.col("rating") >= relevance_threshold
    )
    truth = relevant.select("user_id", "item_id")
    n_cold = split.test["user_id"].n_unique() - known["user_id"].n_unique()
    if n_cold:
        log.info("split %s: %d test user(s) unknown in train are not evaluated", split_id, n_cold)
    return PreparedSplit(
        split_id=split_id, seed=seed, protocol=split.protocol, ratings=split.train,
        train=TrainingData(interactions, catalog, ratings=split.ordered_train),
        test=split.test, truth=truth,
        users=np.unique(truth["user_id"].to_numpy()).astype(np.int64),
        segments=segments.user_activity_segments(scored),
        future=_future(split), histories=histories,
    )


def known_tags(tags: pl.DataFrame | None, split: Split) -> pl.DataFrame | None:
    """The tags a model may know when trained on ``split``: written on a training rating's
    (user, movie) pair, before the temporal cut or the user's first test rating."""
    if tags is None:
        return None
    # only the taggers' training pairs: a few percent of the ratings at ml-20m scale
    taggers = tags["user_id"].unique()
    pairs = split.train.select(pl.col("user_id").cast(tags["user_id"].dtype),
                               pl.col("item_id").cast(tags["item_id"].dtype)).filter(
        pl.col("user_id").is_in(taggers.implode()))
    kept = tags.join(pairs, on=["user_id", "item_id"], how="semi")
    cut = split.params.get("cut_timestamp")
    if cut is not None:
        kept = kept.filter(pl.col("timestamp") < cut)
    elif split.protocol == "leave_last_n" and "timestamp" in split.test.columns:
        first_test = split.test.group_by("user_id").agg(pl.col("timestamp").min().alias("_cut"))
        kept = kept.join(first_test.with_columns(pl.col("user_id").cast(tags["user_id"].dtype)),
                         on="user_id", how="left").filter(
            pl.col("_cut").is_null() | (pl.col("timestamp") < pl.col("_cut"))
        ).drop("_cut")
    dropped = tags.height - kept.height
    if dropped:
        log.info("catalogue: %d of %d tags are not known at training time", dropped, tags.height)
    return kept


def newer_share(train_timestamps: np.ndarray, test_timestamps: np.ndarray) -> float:
    """Mean over test ratings of the share of training ratings made after it (0: no future)."""
    if len(train_timestamps) == 0 or len(test_timestamps) == 0:
        return 0.0
    ordered = np.sort(train_timestamps)
    newer = len(ordered) - np.searchsorted(ordered, test_timestamps, side="right")
    return float(newer.mean() / len(ordered))


def _future(split: Split) -> dict[str, Any]:
    share = None
    if "timestamp" in split.train.columns and "timestamp" in split.test.columns:
        share = round(newer_share(split.train["timestamp"].to_numpy(),
                                  split.test["timestamp"].to_numpy()), 4)
    return {"policy": FUTURE_POLICY.get(split.protocol, "not stated"),
            "train_newer_than_test_share": share}


# -- evaluation of one fitted model -----------------------------------------------------------
@dataclass(frozen=True)
class EvalPlan:
    """What to compute for one fitted model: cut-offs, ranking and/or rating, beyond-accuracy."""

    ks: tuple[int, ...]
    ranking: bool
    rating: bool
    beyond_k: int | None
    recall_denominator: str = "all"
    serving: bool = False  # also measure single-user latency and size on disk
    engine: str = "local"  # where the metrics are computed: "local" or "spark" (recsys.spark)

    def __post_init__(self) -> None:
        """Refuse a careless plan (a cut-off 0, ``ranking="no"``) before any model is scored."""
        if not isinstance(self.ks, tuple | list):
            raise ArgumentError(f"ks must be a tuple of cut-offs, got {self.ks!r}")
        object.__setattr__(self, "ks", tuple(check_cutoff(k, "ks") for k in self.ks))
        for flag in ("ranking", "rating", "serving"):
            check_flag(getattr(self, flag), flag)
        if self.ranking and not self.ks:
            raise ArgumentError("ks must hold at least one cut-off for a ranking evaluation")
        if self.beyond_k is not None:
            check_cutoff(self.beyond_k, "beyond_k")
        if self.recall_denominator not in RECALL_DENOMINATORS:
            raise ArgumentError(f"recall_denominator must be one of {RECALL_DENOMINATORS}, "
                                f"got {self.recall_denominator!r}")
        if self.engine not in ENGINES:
            raise ConfigError(f"engine must be one of {ENGINES}, got {self.engine!r}")

    @classmethod
    def for_metric(
        cls, metric: str, recall_denominator: str = "all", engine: str = "local"
    ) -> EvalPlan:
        """Only what a hyper-parameter search (or a selection) scored on ``metric`` needs:
        its cut-off for a ranking metric (``ndcg@10``), else the rating metrics."""
        check_text(metric, "metric", max_chars=64)
        if "@" in metric:
            cutoff = metric.split("@")[1]
            if not cutoff.isdigit():
                raise ArgumentError(f"metric {metric!r} must end in a whole cut-off, "
                                    "e.g. ndcg@10")
            return cls((int(cutoff),), True, False, None, recall_denominator, engine=engine)
        return cls((), False, True, None, recall_denominator, engine=engine)


@dataclass(frozen=True)
class Evaluation:
    """One model on one prepared split: split-level metrics, per-user values, served lists."""

    metrics: dict[str, float]
    per_user: pl.DataFrame
    recs: pl.DataFrame | None  # the top-max(k) lists (None without a ranking evaluation)


def evaluate(
    model: Recommender, data: PreparedSplit, plan: EvalPlan, features: ItemFeatures | None = None
) -> Evaluation:
    """Score a fitted model on ``data`` as ``plan`` says: the one evaluation of the product."""
    metrics: dict[str, float] = {}
    frames: list[pl.DataFrame] = []
    recs = None
    if plan.ranking and model.supports(Capability.TOP_N) and len(data.users):
        ranking, per_user, recs = _ranking(model, data, plan, features)
        metrics |= ranking
        frames.append(per_user)
    if plan.rating and model.supports(Capability.RATING):
        rating, per_user = _rating(model, data, plan.engine)
        metrics |= rating
        frames.append(per_user)
    if plan.serving:
        metrics |= _serving(model, data)
    per_user = frames[0] if frames else pl.DataFrame({"user_id": data.users})
    for extra in frames[1:]:
        per_user = per_user.join(extra, on="user_id", how="full", coalesce=True)
    return Evaluation(metrics, per_user, recs)


def _ranking(
    model: Recommender, data: PreparedSplit, plan: EvalPlan, features: ItemFeatures | None
) -> tuple[dict[str, float], pl.DataFrame, pl.DataFrame]:
    if plan.engine == "spark":
        from recsys.spark.evaluation import ranking_per_user

        per_user, recs, seconds = ranking_per_user(model, data.users, data.truth, plan.ks,
                                                   plan.recall_denominator)
    else:
        per_user, recs, seconds = _local_ranking(model, data, plan)
    metrics = {k: v for k, v in aggregate(per_user).items() if "@" in k}
    metrics["recommend_ms"] = 1000.0 * seconds / len(data.users)
    if plan.beyond_k is not None:
        metrics |= beyond_accuracy(recs, data.interactions, features, k=plan.beyond_k)
    return metrics, per_user, recs


def _local_ranking(
    model: Recommender, data: PreparedSplit, plan: EvalPlan
) -> tuple[pl.DataFrame, pl.DataFrame, float]:
    if data.histories is None:
        recs, spent = cost.measure(model.recommend, data.users, max(plan.ks), True, trace=False)
    else:
        rows = data.histories.matrix[data.histories.user_index(data.users)]
        recs, spent = cost.measure(model.recommend_for_rows, data.users, rows, max(plan.ks),
                                   trace=False)
    per_user = pl.DataFrame({"user_id": data.users})
    for k in plan.ks:
        frame = ranking_metrics(recs, data.truth, k, users=data.users,
                                recall_denominator=plan.recall_denominator)
        per_user = per_user.join(frame.drop("n_relevant"), on="user_id", how="left")
    return per_user, recs, spent.seconds


def _rating(
    model: Recommender, data: PreparedSplit, engine: str
) -> tuple[dict[str, float], pl.DataFrame]:
    test = data.test
    scores, spent = cost.measure(model.predict, test["user_id"].to_numpy(),
                                 test["item_id"].to_numpy(), trace=False)
    predictions = test.select("user_id", "item_id", "rating").with_columns(
        pl.Series("prediction", scores)
    )
    if engine == "spark":
        from recsys.spark.evaluation import rating_per_user

        summary, per_user = rating_per_user(predictions)
    else:
        summary = rating_summary(predictions)
        per_user = rating_metrics(predictions).rename({"n": "n_test_ratings"})
    return {"rmse": summary["rmse"], "mae": summary["mae"], "predict_s": spent.seconds}, per_user


def _serving(model: Recommender, data: PreparedSplit) -> dict[str, float]:
    result: dict[str, float] = {}
    if model.supports(Capability.TOP_N) and len(data.users):
        # held-out users of strong generalisation are unknown to the model: time training users
        known = data.users if data.histories is None else data.interactions.user_ids
        latency = cost.recommend_latency(model, known, k=10, n=_LATENCY_USERS, seed=0)
        result |= {"latency_p50_ms": latency["p50_ms"], "latency_p95_ms": latency["p95_ms"]}
    with tempfile.TemporaryDirectory(prefix="recsys-size-") as tmp:
        try:
            model.save(Path(tmp) / "model")
        except RecsysError as error:
            log.warning("%s cannot be saved, size on disk unknown: %s", model.name, error)
            return result
        result["size_mb"] = cost.model_size_on_disk(Path(tmp) / "model") / 2**20
    return result
