"""Data and model-output drift between a reference snapshot and the newest data.

Pure functions over ``[user_id, item_id, rating, ...]`` and ``[user_id, item_id, rank]`` frames
that return typed results. :func:`drift_report` runs every check and flags those whose score
exceeds its threshold; the retraining pipeline pushes the scores (``recsys_drift_score``) and
thresholds (``recsys_drift_threshold``) so that Prometheus can alert on them.

Checks (all scores are >= 0, larger means more drift):

- ``rating_psi``: PSI of the rating distribution over the ten half-star values 0.5 … 5.0.
- ``item_popularity_psi`` / ``item_popularity_js``: how the current ratings of known items
  spread over the reference popularity deciles (PSI and Jensen-Shannon divergence, base 2).
- ``new_users_share`` / ``new_items_share``: share of current users / rated movies unseen in
  the reference.
- ``user_activity_psi``: PSI of ratings-per-user over log2 bins (1, 2-3, 4-7, …).
- ``rec_popularity_shift``: relative change of the mean popularity of recommended items
  between two model versions; ``coverage_shift``: absolute change of catalogue coverage;
  ``topn_churn``: 1 - mean Jaccard@k of the two versions' top-k lists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

from recsys.arguments import check_cutoff
from recsys.config import build
from recsys.data.types import require_columns
from recsys.errors import ConfigError, DataError
from recsys.evaluation.metrics import catalog_coverage

__all__ = [
    "DriftCheck",
    "DriftReport",
    "DriftThresholds",
    "psi",
    "jensen_shannon",
    "rating_histogram",
    "popularity_decile_histograms",
    "activity_histogram",
    "new_share",
    "recommendation_popularity",
    "topn_churn",
    "output_checks",
    "drift_report",
]

PSI_EPSILON = 1e-4  # share floor for empty bins, so that PSI stays finite
N_RATING_BINS = 10  # half stars 0.5, 1.0, ..., 5.0
N_DECILES = 10
N_ACTIVITY_BINS = 14  # floor(log2(ratings per user)), the last bin open-ended (>= 8192)


@dataclass(frozen=True)
class DriftThresholds:
    """Alert thresholds per check; a check alerts when its score is strictly above."""

    rating_psi: float = 0.2
    item_popularity_psi: float = 0.2
    item_popularity_js: float = 0.1
    new_users_share: float = 0.5
    new_items_share: float = 0.3
    user_activity_psi: float = 0.25
    rec_popularity_shift: float = 0.25
    coverage_shift: float = 0.1
    topn_churn: float = 0.5

    def __post_init__(self) -> None:
        negative = {k: v for k, v in dataclasses.asdict(self).items() if v < 0}
        if negative:
            raise ConfigError(f"drift thresholds must be >= 0, got {negative}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> DriftThresholds:
        """Override defaults from a dict; unknown names and negative values are errors."""
        return build(cls, dict(values), "drift.thresholds", noun="drift check")


@dataclass(frozen=True)
class DriftCheck:
    """One check: its score, its threshold and, where meaningful, a summary of each side."""

    name: str
    score: float
    threshold: float
    reference: float | None = None
    current: float | None = None

    @property
    def alert(self) -> bool:
        """True when the score exceeds the threshold."""
        return self.score > self.threshold


@dataclass(frozen=True)
class DriftReport:
    """The result of every drift check of one comparison."""

    checks: tuple[DriftCheck, ...]

    @property
    def alert(self) -> bool:
        """True when at least one check alerts."""
        return any(check.alert for check in self.checks)

    def alerts(self) -> list[str]:
        """Names of the checks that alert."""
        return [check.name for check in self.checks if check.alert]

    def __getitem__(self, name: str) -> DriftCheck:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"no drift check {name!r}; have {[c.name for c in self.checks]}")

    def scores(self) -> dict[str, float]:
        """``check -> score``, as pushed to ``recsys_drift_score``."""
        return {check.name: check.score for check in self.checks}

    def thresholds(self) -> dict[str, float]:
        """``check -> threshold``, as pushed to ``recsys_drift_threshold``."""
        return {check.name: check.threshold for check in self.checks}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the overall flag and one entry per check."""
        return {
            "alert": self.alert,
            "checks": [dataclasses.asdict(c) | {"alert": c.alert} for c in self.checks],
        }

    def to_frame(self) -> pl.DataFrame:
        """One row per check, for tables in reports and the app."""
        return pl.DataFrame(self.to_dict()["checks"])


def _shares(counts: ArrayLike, what: str) -> np.ndarray:
    try:
        values = np.asarray(counts, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise DataError(f"{what} histogram must hold numbers, got {counts!r}") from error
    if (values.ndim != 1 or values.size == 0 or not np.isfinite(values).all()
            or (values < 0).any() or values.sum() <= 0):
        raise DataError(f"{what} histogram must be a non-empty 1-d array of finite counts >= 0 "
                        f"with a positive total, got {values!r}")
    return values / values.sum()


def psi(reference: ArrayLike, current: ArrayLike, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index ``sum((q - p) * ln(q / p))`` of two histograms.

    Inputs are counts (or shares) over the same bins; shares below ``epsilon`` (in (0, 1))
    are floored.
    """
    if isinstance(epsilon, bool) or not isinstance(epsilon, float | int) or not 0 < epsilon < 1:
        raise ConfigError(f"epsilon must be a share in (0, 1), got {epsilon!r}")
    p = np.maximum(_shares(reference, "reference"), epsilon)
    q = np.maximum(_shares(current, "current"), epsilon)
    if p.shape != q.shape:
        raise DataError(f"histograms have different bins: {p.size} vs {q.size}")
    return float(np.sum((q - p) * np.log(q / p)))


def jensen_shannon(reference: ArrayLike, current: ArrayLike) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of two histograms over the same bins."""
    p = _shares(reference, "reference")
    q = _shares(current, "current")
    if p.shape != q.shape:
        raise DataError(f"histograms have different bins: {p.size} vs {q.size}")
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / m[mask])))

    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))


def _require_rows(frame: pl.DataFrame, what: str, columns: tuple[str, ...]) -> None:
    require_columns(frame, columns, what)
    if frame.height == 0:
        raise DataError(f"{what} frame is empty: drift needs at least one row")


def rating_histogram(ratings: pl.Series) -> np.ndarray:
    """Counts of ratings per half-star value 0.5 … 5.0 (integer scales fill every other bin)."""
    if not isinstance(ratings, pl.Series) or not ratings.dtype.is_numeric():
        kind = ratings.dtype if isinstance(ratings, pl.Series) else type(ratings).__name__
        raise DataError(f"ratings must be a numeric polars Series, got {kind}")
    values = ratings.cast(pl.Float64).fill_null(float("nan")).to_numpy()
    index = np.rint(np.nan_to_num(values, nan=-1.0, posinf=-1.0, neginf=-1.0) * 2) - 1
    bad = (index < 0) | (index >= N_RATING_BINS)
    if bad.any():
        raise DataError(f"{int(bad.sum())} rating(s) missing or outside 0.5-5.0, e.g. "
                        f"{values[bad][:3]}")
    return np.bincount(index.astype(np.int64), minlength=N_RATING_BINS)


def popularity_decile_histograms(
    reference: pl.DataFrame, current: pl.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Ratings per reference popularity decile (0 = most rated tenth), for both frames.

    Items are ranked by reference rating count (ties by id); current ratings of items unknown
    to the reference are left out (``new_items_share`` covers them).
    """
    counts = (
        reference.group_by("item_id").len()
        .sort(["len", "item_id"], descending=[True, False])
    )
    deciles = counts.with_columns(
        (pl.int_range(pl.len()) * N_DECILES // pl.len()).alias("decile")
    )
    ref_hist = _decile_counts(deciles.select("decile", pl.col("len").alias("n")))
    current_counts = current.group_by("item_id").len().join(deciles.drop("len"), on="item_id")
    cur_hist = _decile_counts(current_counts.select("decile", pl.col("len").alias("n")))
    return ref_hist, cur_hist


def _decile_counts(frame: pl.DataFrame) -> np.ndarray:
    summed = frame.group_by("decile").agg(pl.col("n").sum())
    hist = np.zeros(N_DECILES, dtype=np.int64)
    hist[summed["decile"].to_numpy()] = summed["n"].to_numpy()
    return hist


def activity_histogram(ratings: pl.DataFrame) -> np.ndarray:
    """Users per log2 bin of their rating count: 1, 2-3, 4-7, …, >= 8192."""
    per_user = ratings.group_by("user_id").len()["len"].to_numpy()
    bins = np.minimum(np.floor(np.log2(per_user)).astype(np.int64), N_ACTIVITY_BINS - 1)
    return np.bincount(bins, minlength=N_ACTIVITY_BINS)


def new_share(reference: pl.Series, current: pl.Series) -> float:
    """Share of the distinct ids in ``current`` that never occur in ``reference``."""
    seen = current.unique()
    if seen.len() == 0:
        raise DataError("no ids in the current data: cannot compute a share of new ids")
    return float((~seen.is_in(reference.unique().implode())).sum() / seen.len())


def recommendation_popularity(recommendations: pl.DataFrame, ratings: pl.DataFrame) -> float:
    """Mean popularity of recommended items: share of users in ``ratings`` who rated each."""
    _require_rows(recommendations, "recommendations", ("item_id",))
    _require_rows(ratings, "ratings", ("user_id", "item_id"))
    n_users = ratings["user_id"].n_unique()
    popularity = ratings.group_by("item_id").agg(
        (pl.col("user_id").n_unique() / n_users).alias("popularity")
    )
    joined = recommendations.select("item_id").join(popularity, on="item_id", how="left")
    return float(joined["popularity"].fill_null(0.0).mean())


def topn_churn(previous: pl.DataFrame, current: pl.DataFrame, k: int = 10) -> float:
    """``1 - mean Jaccard@k`` of two versions' top-k lists over the users both served."""
    for frame, what in ((previous, "previous recommendations"),
                        (current, "current recommendations")):
        require_columns(frame, ("user_id", "item_id", "rank"), what)
    keep = pl.col("rank") <= check_cutoff(k)
    a = previous.filter(keep).select("user_id", "item_id").unique()
    b = current.filter(keep).select("user_id", "item_id").unique()
    sizes = (
        a.group_by("user_id").len().rename({"len": "n_a"})
        .join(b.group_by("user_id").len().rename({"len": "n_b"}), on="user_id")
    )
    if sizes.height == 0:
        raise DataError("the two recommendation frames share no user: churn is undefined")
    overlap = a.join(b, on=["user_id", "item_id"]).group_by("user_id").len()
    jaccard = (
        sizes.join(overlap.rename({"len": "inter"}), on="user_id", how="left")
        .with_columns(pl.col("inter").fill_null(0))
        .select(pl.col("inter") / (pl.col("n_a") + pl.col("n_b") - pl.col("inter")))
        .to_series()
    )
    return float(1.0 - jaccard.mean())


def _data_checks(
    reference: pl.DataFrame, current: pl.DataFrame, limits: DriftThresholds
) -> list[DriftCheck]:
    ref_pop, cur_pop = popularity_decile_histograms(reference, current)
    return [
        DriftCheck(
            "rating_psi",
            psi(rating_histogram(reference["rating"]), rating_histogram(current["rating"])),
            limits.rating_psi,
            float(reference["rating"].mean()),
            float(current["rating"].mean()),
        ),
        DriftCheck("item_popularity_psi", psi(ref_pop, cur_pop), limits.item_popularity_psi,
                   ref_pop[0] / ref_pop.sum(), cur_pop[0] / max(cur_pop.sum(), 1)),
        DriftCheck("item_popularity_js", jensen_shannon(ref_pop, cur_pop),
                   limits.item_popularity_js),
        DriftCheck("new_users_share", new_share(reference["user_id"], current["user_id"]),
                   limits.new_users_share),
        DriftCheck("new_items_share", new_share(reference["item_id"], current["item_id"]),
                   limits.new_items_share),
        DriftCheck(
            "user_activity_psi",
            psi(activity_histogram(reference), activity_histogram(current)),
            limits.user_activity_psi,
            reference.height / reference["user_id"].n_unique(),
            current.height / current["user_id"].n_unique(),
        ),
    ]


def output_checks(
    previous_recs: pl.DataFrame,
    current_recs: pl.DataFrame,
    ratings: pl.DataFrame,
    catalog_size: int,
    thresholds: DriftThresholds | None = None,
    k: int = 10,
) -> list[DriftCheck]:
    """Model-output drift between two versions' ``[user_id, item_id, rank]`` frames."""
    limits = thresholds or DriftThresholds()
    for frame, what in ((previous_recs, "previous recommendations"),
                        (current_recs, "current recommendations")):
        _require_rows(frame, what, ("user_id", "item_id", "rank"))
    pop_prev = recommendation_popularity(previous_recs, ratings)
    pop_cur = recommendation_popularity(current_recs, ratings)
    cov_prev = catalog_coverage(previous_recs, catalog_size)
    cov_cur = catalog_coverage(current_recs, catalog_size)
    pop_shift = abs(pop_cur / pop_prev - 1.0) if pop_prev > 0 else float(pop_cur > 0)
    return [
        DriftCheck("rec_popularity_shift", pop_shift, limits.rec_popularity_shift,
                   pop_prev, pop_cur),
        DriftCheck("coverage_shift", abs(cov_cur - cov_prev), limits.coverage_shift,
                   cov_prev, cov_cur),
        DriftCheck("topn_churn", topn_churn(previous_recs, current_recs, k), limits.topn_churn),
    ]


def drift_report(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    thresholds: DriftThresholds | Mapping[str, float] | None = None,
    *,
    previous_recs: pl.DataFrame | None = None,
    current_recs: pl.DataFrame | None = None,
    catalog_size: int | None = None,
    k: int = 10,
) -> DriftReport:
    """Every data check of ``current`` against ``reference`` ratings, plus output checks.

    Output checks run when both ``previous_recs`` and ``current_recs`` are given; coverage is
    relative to ``catalog_size`` (default: the items rated in the reference).
    """
    if thresholds is None or isinstance(thresholds, DriftThresholds):
        limits = thresholds or DriftThresholds()
    else:
        limits = DriftThresholds.from_mapping(thresholds)
    for frame, what in ((reference, "reference"), (current, "current")):
        _require_rows(frame, what, ("user_id", "item_id", "rating"))
    checks = _data_checks(reference, current, limits)
    if (previous_recs is None) != (current_recs is None):
        raise DataError("output drift needs both previous_recs and current_recs, got one")
    if previous_recs is not None and current_recs is not None:
        size = catalog_size or reference["item_id"].n_unique()
        checks += output_checks(previous_recs, current_recs, reference, size, limits, k)
    return DriftReport(tuple(checks))
