"""Significance of differences between models, computed on paired per-user metric values.

Every pair of models is compared on the users both were evaluated on: paired t-test and
Wilcoxon signed-rank test (SciPy), Holm's step-down correction across all pairs, a percentile
bootstrap confidence interval of the mean difference and Cohen's d_z effect size. A difference
is flagged ``significant`` when its Holm-adjusted **t-test** p-value is below ``alpha``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats

from recsys.data.types import require_columns
from recsys.errors import ArgumentError, ConfigError, DataError

__all__ = ["bootstrap_ci", "compare_models", "holm", "significance_matrix"]

_BOOT_CELLS = 4_000_000  # resampled values held in memory at once by bootstrap_ci

_PAIR_SCHEMA = {
    "metric": pl.String(),
    "model_a": pl.String(),
    "model_b": pl.String(),
    "n_users": pl.Int64(),
    "mean_a": pl.Float64(),
    "mean_b": pl.Float64(),
    "mean_diff": pl.Float64(),
    "ci_low": pl.Float64(),
    "ci_high": pl.Float64(),
    "effect_size_dz": pl.Float64(),
    "p_ttest": pl.Float64(),
    "p_wilcoxon": pl.Float64(),
}
COMPARISON_SCHEMA = {
    **_PAIR_SCHEMA,
    "p_ttest_holm": pl.Float64(),
    "p_wilcoxon_holm": pl.Float64(),
    "significant": pl.Boolean(),
}


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values, in the input order (NaNs stay NaN, not counted).

    Sorted ascending, ``p_adj(i) = max_{j<=i} min(1, (m - j + 1) p(j))`` for ranks ``j`` from 1.
    """
    p = _floats(pvalues, "pvalues")
    outside = p[(p < 0) | (p > 1)]
    if len(outside):
        raise ArgumentError(f"pvalues must lie in [0, 1] (or be NaN), got {outside[:5].tolist()}")
    adjusted = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m = len(order)
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted[order] = np.maximum.accumulate(scaled) if m else scaled
    return adjusted


def _floats(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    """``values`` as a flat float64 array; ArgumentError naming ``name`` when they are not
    numbers."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ArgumentError(f"{name} must be numbers, got {values!r:.80}") from error
    if array.ndim != 1:
        raise ArgumentError(f"{name} must be a flat sequence of numbers, got shape "
                            f"{array.shape}")
    return array


def bootstrap_ci(
    values: Sequence[float] | np.ndarray, n_boot: int = 2000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap ``1 - alpha`` confidence interval of the mean of ``values``.

    Resamples are drawn in chunks so that memory stays bounded for 100k+ users.
    """
    x = _floats(values, "values")
    _check_alpha(alpha)
    if n_boot < 1:
        raise ConfigError(f"n_boot must be positive, got {n_boot}")
    if len(x) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOT_CELLS // len(x))
    means = np.concatenate(
        [
            x[rng.integers(0, len(x), size=(min(chunk, n_boot - start), len(x)), dtype=np.int32)]
            .mean(axis=1)
            for start in range(0, n_boot, chunk)
        ]
    )
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must lie strictly between 0 and 1, got {alpha}")


def _paired_tests(diff: np.ndarray) -> tuple[float, float, float]:
    """(t-test p, Wilcoxon p, Cohen's d_z) for paired differences.

    Constant differences have no variance: p is 1 when they are all zero, else 0 for the
    t-test (d_z is then ±inf or 0); with fewer than two users everything is NaN.
    """
    if len(diff) < 2:
        return float("nan"), float("nan"), float("nan")
    mean, sd = float(diff.mean()), float(diff.std(ddof=1))
    if not np.any(diff):
        return 1.0, 1.0, 0.0
    if sd == 0:
        p_t, d_z = 0.0, float(np.sign(mean) * np.inf)
    else:
        p_t, d_z = float(stats.ttest_rel(diff, np.zeros_like(diff)).pvalue), mean / sd
    p_w = float(stats.wilcoxon(diff).pvalue)
    return p_t, p_w, d_z


def compare_models(
    per_user: pl.DataFrame,
    metric: str,
    model_col: str = "model",
    user_col: str = "user_id",
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
) -> pl.DataFrame:
    """All pairwise comparisons of models on ``metric`` (long frame: one row per model × user).

    Each pair uses only users with a non-null value for both models; ``mean_diff`` is
    ``model_a - model_b`` (models in sorted order). Returns one row per pair, schema
    ``COMPARISON_SCHEMA``; ``significant`` = Holm-adjusted t-test p < ``alpha``. The Wilcoxon
    test drops zero differences (SciPy's default ``zero_method="wilcox"``); the bootstrap CI
    has level ``1 - alpha``.
    """
    _check_alpha(alpha)
    require_columns(per_user, (metric, model_col, user_col), "per-user", text=(model_col,))
    long = per_user.select(
        pl.col(model_col).cast(pl.String), pl.col(user_col), pl.col(metric).cast(pl.Float64)
    ).drop_nulls()
    duplicated = long.select(pl.struct(model_col, user_col).is_duplicated().any()).item()
    if duplicated:
        raise DataError(
            f"per-user frame has several {metric!r} rows for one ({model_col}, {user_col}): "
            "average folds or seeds per user first"
        )
    # Sorted by user: the bootstrap resamples positions, so the same seed gives the same CI
    # whatever order the caller's frame (often a group-by) came in.
    wide = long.pivot(on=model_col, index=user_col, values=metric).sort(user_col)
    models = sorted(long[model_col].unique().to_list())
    rows = [
        _compare_pair(wide, metric, a, b, alpha, n_boot, seed)
        for a, b in itertools.combinations(models, 2)
    ]
    frame = pl.DataFrame(rows, schema=_PAIR_SCHEMA, orient="row")
    return frame.with_columns(
        pl.Series("p_ttest_holm", holm(frame["p_ttest"].to_numpy()), nan_to_null=False),
        pl.Series("p_wilcoxon_holm", holm(frame["p_wilcoxon"].to_numpy()), nan_to_null=False),
    ).with_columns((pl.col("p_ttest_holm") < alpha).alias("significant"))


def _compare_pair(
    wide: pl.DataFrame, metric: str, a: str, b: str, alpha: float, n_boot: int, seed: int
) -> tuple:
    pair = wide.select(a, b).drop_nulls()
    x, y = pair[a].to_numpy(), pair[b].to_numpy()
    diff = x - y
    p_t, p_w, d_z = _paired_tests(diff)
    low, high = bootstrap_ci(diff, n_boot=n_boot, alpha=alpha, seed=seed)
    nan = float("nan")
    mean_a, mean_b, mean_d = (
        (float(x.mean()), float(y.mean()), float(diff.mean())) if len(diff) else (nan, nan, nan)
    )
    return (metric, a, b, len(diff), mean_a, mean_b, mean_d, low, high, d_z, p_t, p_w)


def significance_matrix(comparisons: pl.DataFrame, column: str = "p_ttest_holm") -> pl.DataFrame:
    """Symmetric model × model matrix of ``column`` (adjusted p) for heat-map plots.

    First column ``model``, then one column per model in sorted order; the diagonal is null.
    """
    if column not in comparisons.columns:
        raise DataError(f"comparisons frame lacks {column!r}; it has {comparisons.columns}")
    both_ways = pl.concat(
        [
            comparisons.select(pl.col("model_a").alias("model"), pl.col("model_b").alias("other"),
                               pl.col(column)),
            comparisons.select(pl.col("model_b").alias("model"), pl.col("model_a").alias("other"),
                               pl.col(column)),
        ]
    )
    models = sorted(set(both_ways["model"].to_list()))
    grid = pl.DataFrame({"model": models}).join(
        both_ways.pivot(on="other", index="model", values=column), on="model", how="left"
    )
    return grid.select(
        "model",
        *[pl.col(m) if m in grid.columns else pl.lit(None, pl.Float64).alias(m) for m in models],
    )
