"""Quality report of a Dataset: what is in it, and what is wrong with it.

Every check is a vectorised polars expression, so that a 20M-rating release validates in a
few seconds. Error-level findings fail the report (``recsys data validate`` exits 1);
warnings are listed but do not fail. Limits live in :class:`Thresholds`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from recsys.config import build
from recsys.data.fetch import reports_dir
from recsys.data.releases import RELEASES, closest_edition
from recsys.data.types import Dataset, count_duplicate_pairs
from recsys.errors import ValidationError
from recsys.io import write_text
from recsys.settings import Settings

__all__ = [
    "Thresholds",
    "Finding",
    "QualityReport",
    "require_valid",
    "validate_dataset",
    "write_quality_report",
]

log = logging.getLogger(__name__)

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Thresholds:
    """Largest tolerated counts and shares; a count above its limit becomes a finding."""

    max_missing: int = 0  # error: nulls in ratings or in movie ids/titles
    max_duplicate_pairs: int = 0  # error: (user, movie) pairs rated more than once
    max_off_scale: int = 0  # error: ratings outside the release's scale, or NaN
    max_orphan_ratings: int = 0  # error: ratings on movies missing from the catalogue
    max_duplicate_movies: int = 0  # error: movie ids listed more than once
    max_orphan_tags: int = 0  # warning: tags on movies missing from the catalogue
    max_unrated_movies: int = 0  # warning: catalogue movies nobody rated
    min_ratings_per_user: int = 1  # warning: users with fewer ratings
    min_timestamp: int = 788_918_400  # warning below (1995-01-01, before MovieLens existed)
    max_timestamp: int | None = None  # warning above (default: now)
    max_sparsity: float = 0.9999  # warning above
    max_top20_share: float = 0.95  # warning: share of ratings on the 20% most-rated movies

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Thresholds:
        """Build from a mapping; unknown keys or wrong types raise ConfigError."""
        return build(cls, values, "validate.thresholds", noun="quality threshold")


@dataclass(frozen=True)
class Finding:
    """One failed check."""

    level: Level
    check: str
    message: str
    count: int


@dataclass
class QualityReport:
    """Findings (errors fail, warnings do not) and descriptive statistics of one dataset."""

    dataset: str
    synthetic: bool
    manifest_hash: str
    findings: list[Finding] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no finding is an error."""
        return not any(f.level == "error" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "dataset": self.dataset,
            "synthetic": self.synthetic,
            "manifest_hash": self.manifest_hash,
            "ok": self.ok,
            "findings": [asdict(f) for f in self.findings],
            "stats": self.stats,
        }

    def to_json(self) -> str:
        """The report for machines."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def to_markdown(self) -> str:
        """The report for people."""
        return _markdown(self)


def validate_dataset(dataset: Dataset, thresholds: Thresholds | None = None) -> QualityReport:
    """Check ``dataset`` against ``thresholds`` and describe it."""
    limits = thresholds or Thresholds()
    stats = _stats(dataset, limits)
    report = QualityReport(
        dataset=dataset.name,
        synthetic=dataset.synthetic,
        manifest_hash=dataset.manifest_hash,
        stats=stats,
    )
    report.findings = [f for f in _findings(stats, limits) if f is not None]
    return report


def write_quality_report(report: QualityReport, settings: Settings) -> Path:
    """Write ``quality.json`` and ``quality.md`` under the dataset's reports folder."""
    out = reports_dir(report.dataset, settings)
    write_text(out / "quality.json", report.to_json())
    return write_text(out / "quality.md", report.to_markdown())


def require_valid(
    dataset: Dataset, settings: Settings, allow_failed_validation: bool = False
) -> QualityReport:
    """Validate ``dataset`` before training on it; ValidationError when the report FAILs.

    The report is written first, so that the error can name it. ``allow_failed_validation``
    (``--allow-failed-validation``) trains anyway, with a logged warning.
    """
    report = validate_dataset(dataset)
    path = write_quality_report(report, settings)
    if report.ok:
        return report
    errors = "; ".join(f"{f.check}: {f.message}" for f in report.findings if f.level == "error")
    if allow_failed_validation:
        log.warning("%s fails validation (%s); training anyway (--allow-failed-validation)",
                    dataset.name, errors)
        return report
    raise ValidationError(
        f"{dataset.name} fails validation, so no model is trained on it: {errors}. "
        f"Report: {path}. Fix the data, or pass --allow-failed-validation to train anyway"
    )


def _missing(frame: pl.DataFrame | None) -> dict[str, int]:
    if frame is None:
        return {}
    return {k: int(v) for k, v in frame.null_count().row(0, named=True).items()}


def _distribution(counts: np.ndarray) -> dict[str, float]:
    if counts.size == 0:
        return {"min": 0, "median": 0.0, "mean": 0.0, "max": 0}
    return {
        "min": int(counts.min()),
        "median": float(np.median(counts)),
        "mean": round(float(counts.mean()), 3),
        "max": int(counts.max()),
    }


def _top_share(per_item: np.ndarray, fraction: float = 0.2) -> float:
    if per_item.size == 0:
        return 0.0
    top = max(1, round(per_item.size * fraction))
    return round(float(np.sort(per_item)[::-1][:top].sum() / per_item.sum()), 4)


def _iso(timestamp: int | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _id_counts(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ids and their counts: a counting sort when ids are dense, else a sort."""
    if ids.size and ids.min() >= 0 and ids.max() <= 4 * ids.size + 1_000_000:
        counts = np.bincount(ids)
        present = np.flatnonzero(counts)
        return present, counts[present]
    return np.unique(ids, return_counts=True)


def _rating_scalars(dataset: Dataset, limits: Thresholds) -> dict[str, Any]:
    low, high = dataset.rating_scale
    rating, ts = pl.col("rating"), pl.col("timestamp")
    ts_limit = limits.max_timestamp or int(datetime.now(UTC).timestamp())
    return dataset.ratings.select(
        nan=rating.is_nan().sum(),
        off_scale=(((rating < low) | (rating > high)) & ~rating.is_nan()).sum(),
        mean=rating.filter(~rating.is_nan()).mean(),
        ts_min=ts.min(),
        ts_max=ts.max(),
        ts_out=((ts < limits.min_timestamp) | (ts > ts_limit)).sum(),
    ).row(0, named=True)


def _activity(dataset: Dataset, limits: Thresholds) -> dict[str, Any]:
    """Per-user and per-movie counts, duplicates, orphans and the long tail (NumPy)."""
    keys = dataset.ratings.select("user_id", "item_id").drop_nulls()
    users, items = keys["user_id"].to_numpy(), keys["item_id"].to_numpy()
    user_ids, per_user = _id_counts(users)
    item_ids, per_movie = _id_counts(items)
    catalogue = dataset.movies["item_id"].drop_nulls().to_numpy()
    n_cells = user_ids.size * item_ids.size
    return {
        "users": int(user_ids.size),
        "rated_movies": int(item_ids.size),
        "duplicate_pairs": count_duplicate_pairs(users, items)
        + dataset.provenance.duplicate_ratings_dropped,
        "orphan_ratings": int(per_movie[~np.isin(item_ids, catalogue)].sum()),
        "unrated_movies": int((~np.isin(catalogue, item_ids)).sum()),
        "sparsity": round(1.0 - dataset.ratings.height / n_cells, 6) if n_cells else None,
        "ratings_per_user": _distribution(per_user),
        "ratings_per_movie": _distribution(per_movie),
        "users_below_min_ratings": int((per_user < limits.min_ratings_per_user).sum()),
        "top20_share": _top_share(per_movie),
    }


def _stats(dataset: Dataset, limits: Thresholds) -> dict[str, Any]:
    ratings, movies = dataset.ratings, dataset.movies
    scalars = _rating_scalars(dataset, limits)
    activity = _activity(dataset, limits)
    values = ratings["rating"].drop_nulls().drop_nans().value_counts().sort("rating")
    counts = {
        "ratings": ratings.height,
        "users": activity.pop("users"),
        "movies": movies.height,
        "rated_movies": activity.pop("rated_movies"),
        "tags": _height(dataset.tags),
        "links": _height(dataset.links),
        "users_with_demographics": _height(dataset.users),
        "genome_scores": _height(dataset.genome_scores),
        "genome_tags": _height(dataset.genome_tags),
    }
    return {
        "counts": counts,
        "missing": {
            name: _missing(getattr(dataset, name))
            for name in ("ratings", "movies", "tags", "links", "users")
            if getattr(dataset, name) is not None
        },
        "duplicate_movies": movies.height - movies["item_id"].n_unique(),
        "orphan_tags": _orphan_tags(dataset),
        "rating": {
            "scale": list(dataset.rating_scale),
            "mean": None if scalars["mean"] is None else round(float(scalars["mean"]), 4),
            "nan": int(scalars["nan"]),
            "off_scale": int(scalars["off_scale"]),
            "distribution": {str(v): int(c) for v, c in values.iter_rows()},
        },
        "timestamp": {
            "min": scalars["ts_min"],
            "max": scalars["ts_max"],
            "min_utc": _iso(scalars["ts_min"]),
            "max_utc": _iso(scalars["ts_max"]),
            "outside_range": int(scalars["ts_out"]),
        },
        **activity,
        "provenance": _provenance(dataset, counts),
    }


def _provenance(dataset: Dataset, counts: dict[str, int]) -> dict[str, Any]:
    """Where the data came from, what the loader repaired, and the edition it resembles."""
    release = RELEASES.get(dataset.name)
    edition = None if release is None else closest_edition(release, counts)
    found = {key: counts[key] for key in ("ratings", "users", "movies")}
    resembles = None
    if edition is not None:
        resembles = {
            "edition": edition.label,
            "published": edition.counts(),
            "found": found,
            "exact": edition.counts() == found,
        }
    return {**dataset.provenance.to_dict(), "resembles": resembles}


def _height(frame: pl.DataFrame | None) -> int:
    return 0 if frame is None else frame.height


def _orphan_tags(dataset: Dataset) -> int:
    if dataset.tags is None:
        return 0
    known = dataset.movies["item_id"].implode()
    return int(dataset.tags.select((~pl.col("item_id").is_in(known)).sum()).item())


def _finding(level: Level, check: str, count: int, limit: float, message: str) -> Finding | None:
    return Finding(level, check, message, int(count)) if count > limit else None


def _unverified(provenance: dict[str, Any]) -> Finding | None:
    """A copy whose checksum matches no known edition, loaded with ``--allow-unverified``."""
    if provenance["verified"] is not False:
        return None
    near = provenance["resembles"]
    likeness = "no published edition to compare with"
    if near is not None:
        published, found = near["published"], near["found"]
        likeness = (
            f"it resembles the {near['edition']} edition "
            f"({'exactly' if near['exact'] else 'closest'}: published "
            f"{published['ratings']:,} ratings / {published['users']:,} users / "
            f"{published['movies']:,} movies, found {found['ratings']:,} / "
            f"{found['users']:,} / {found['movies']:,})"
        )
    return Finding(
        "warning",
        "unverified",
        f"UNVERIFIED copy from {provenance['source']}: its checksum matches no known "
        f"edition (loaded with --allow-unverified); {likeness}",
        1,
    )


def _trailing_columns(provenance: dict[str, Any]) -> Finding | None:
    trailing = provenance["trailing_empty_columns"]
    if not trailing:
        return None
    listed = ", ".join(f"{name}: {n}" for name, n in sorted(trailing.items()))
    return Finding(
        "warning",
        "trailing_columns",
        f"empty trailing columns dropped while parsing ({listed})",
        sum(trailing.values()),
    )


def _findings(stats: dict[str, Any], limits: Thresholds) -> list[Finding | None]:
    """Every check as a finding or None; ``count`` is the number of rows affected."""
    key_missing = sum(stats["missing"]["ratings"].values()) + sum(
        stats["missing"]["movies"].get(c, 0) for c in ("item_id", "title")
    )
    rating, counts, ts = stats["rating"], stats["counts"], stats["timestamp"]
    bad_ratings = rating["nan"] + rating["off_scale"]
    dataset_wide = int(stats["sparsity"] is not None and stats["sparsity"] > limits.max_sparsity)
    empty = [name for name in ("ratings", "movies") if counts[name] == 0]
    return [
        _finding(
            "error",
            "empty_tables",
            len(empty),
            0,
            f"no rows in {' and '.join(empty)}: the file holds no records after its header",
        ),
        _finding(
            "error",
            "missing_values",
            key_missing,
            limits.max_missing,
            f"{key_missing:,} missing values in ratings or movie ids/titles "
            f"(per column: {stats['missing']})",
        ),
        _finding(
            "error",
            "rating_scale",
            bad_ratings,
            limits.max_off_scale,
            f"{bad_ratings:,} ratings off the scale {rating['scale']} ({rating['nan']:,} NaN)",
        ),
        _finding(
            "error",
            "duplicate_pairs",
            stats["duplicate_pairs"],
            limits.max_duplicate_pairs,
            f"{stats['duplicate_pairs']:,} (user, movie) pairs rated more than once "
            "(only the latest rating of each pair is used)",
        ),
        _finding(
            "error",
            "duplicate_movies",
            stats["duplicate_movies"],
            limits.max_duplicate_movies,
            f"{stats['duplicate_movies']:,} movie ids listed more than once",
        ),
        _finding(
            "error",
            "orphan_ratings",
            stats["orphan_ratings"],
            limits.max_orphan_ratings,
            f"{stats['orphan_ratings']:,} ratings on movies missing from the catalogue",
        ),
        _finding(
            "warning",
            "orphan_tags",
            stats["orphan_tags"],
            limits.max_orphan_tags,
            f"{stats['orphan_tags']:,} tags on movies missing from the catalogue",
        ),
        _finding(
            "warning",
            "unrated_movies",
            stats["unrated_movies"],
            limits.max_unrated_movies,
            f"{stats['unrated_movies']:,} of {counts['movies']:,} movies have no rating",
        ),
        _finding(
            "warning",
            "sparse_users",
            stats["users_below_min_ratings"],
            0,
            f"{stats['users_below_min_ratings']:,} users have fewer than "
            f"{limits.min_ratings_per_user} ratings",
        ),
        _finding(
            "warning",
            "timestamp_range",
            ts["outside_range"],
            0,
            f"{ts['outside_range']:,} ratings dated outside the expected range "
            f"(found {ts['min_utc']} .. {ts['max_utc']})",
        ),
        _finding(
            "warning",
            "sparsity",
            dataset_wide,
            0,
            f"sparsity {stats['sparsity']} above {limits.max_sparsity}",
        ),
        _finding(
            "warning",
            "long_tail",
            int(stats["top20_share"] > limits.max_top20_share),
            0,
            f"{stats['top20_share']:.1%} of ratings fall on the 20% most-rated movies "
            f"(limit {limits.max_top20_share:.0%})",
        ),
        _unverified(stats["provenance"]),
        _trailing_columns(stats["provenance"]),
    ]


def _markdown(report: QualityReport) -> str:
    stats, counts = report.stats, report.stats["counts"]
    status = "PASS" if report.ok else "FAIL"
    label = " (SYNTHETIC data)" if report.synthetic else ""
    lines = [
        f"# Data quality: {report.dataset}{label} — {status}",
        "",
        f"Manifest hash: `{report.manifest_hash}`",
        "",
        "| Table | Rows |",
        "|---|---:|",
        *(f"| {name.replace('_', ' ')} | {value:,} |" for name, value in counts.items()),
        "",
        "## Findings",
        "",
        *(f"- **{f.level}** `{f.check}`: {f.message}" for f in report.findings),
        *([] if report.findings else ["- none"]),
        "",
        "## Statistics",
        "",
        f"- Ratings: mean {stats['rating']['mean']}, scale {stats['rating']['scale']}, "
        f"distribution {stats['rating']['distribution']}",
        f"- Timestamps: {stats['timestamp']['min_utc']} .. {stats['timestamp']['max_utc']}",
        f"- Sparsity: {stats['sparsity']}",
        f"- Ratings per user: {stats['ratings_per_user']}",
        f"- Ratings per movie: {stats['ratings_per_movie']}",
        f"- Share of ratings on the top 20% movies: {stats['top20_share']:.1%}",
        f"- Duplicate (user, movie) pairs: {stats['duplicate_pairs']:,}; "
        f"orphan ratings: {stats['orphan_ratings']:,}; orphan tags: {stats['orphan_tags']:,}",
        f"- Missing values per column: {stats['missing']}",
    ]
    return "\n".join(lines) + "\n"
