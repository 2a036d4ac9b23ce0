"""Fixed-horizon analysis of an A/B test: effects with CIs, tests, SRM, guardrails, a verdict.

Everything here is a pure function. The vectorised cores (:func:`ztest_proportions`,
:func:`welch_test`) take arrays so that simulations can run thousands of experiments at once;
:func:`analyze` turns a per-user frame ``[arm, metric...]`` into one typed :class:`AbResult`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from recsys.ab.design import sample_size_means, sample_size_proportions
from recsys.ab.experiment import Experiment, Guardrail
from recsys.arguments import check_count, check_number, check_numbers
from recsys.errors import ArgumentError, ConfigError, DataError

__all__ = [
    "MetricResult",
    "SrmResult",
    "GuardrailVerdict",
    "AbResult",
    "SRM_THRESHOLD",
    "ztest_proportions",
    "welch_test",
    "compare_proportions",
    "compare_means",
    "srm_test",
    "guardrail_verdict",
    "analyze",
    "conclusion",
]

SRM_THRESHOLD = 0.001
_BOOT_CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class MetricResult:
    """Treatment vs control on one metric: difference, relative lift, CIs and the test."""

    metric: str
    kind: str  # "proportion" (two-proportion z-test) or "mean" (Welch t-test)
    control: str
    treatment: str
    n_control: int
    n_treatment: int
    control_value: float
    treatment_value: float
    diff: float
    diff_ci: tuple[float, float]
    lift: float
    lift_ci: tuple[float, float]
    p_value: float
    alpha: float
    bootstrap_ci: tuple[float, float] | None = None

    @property
    def significant(self) -> bool:
        """True when the two-sided p-value is below alpha."""
        return self.p_value < self.alpha

    @property
    def test(self) -> str:
        """Name of the test behind ``p_value``."""
        return "two-proportion z-test" if self.kind == "proportion" else "Welch t-test"


@dataclass(frozen=True)
class SrmResult:
    """Sample-ratio-mismatch check: observed arm sizes against the designed split."""

    observed: dict[str, int]
    expected_shares: dict[str, float]
    chi2: float
    p_value: float
    threshold: float = SRM_THRESHOLD

    @property
    def flagged(self) -> bool:
        """True when assignment looks broken (p below the threshold, 0.001 by default)."""
        return self.p_value < self.threshold


@dataclass(frozen=True)
class GuardrailVerdict:
    """Whether a guardrail metric regressed: ``pass``, ``regressed`` or ``inconclusive``."""

    guardrail: Guardrail
    result: MetricResult
    verdict: str
    reason: str


@dataclass(frozen=True)
class AbResult:
    """Everything the report and the app show about one experiment."""

    experiment_id: str
    control: str
    treatment: str
    primary: MetricResult
    metrics: tuple[MetricResult, ...]
    guardrails: tuple[GuardrailVerdict, ...]
    srm: SrmResult
    required_n_per_arm: int | None
    conclusion: str

    @property
    def regressed(self) -> list[str]:
        """Names of the guardrail metrics that regressed."""
        return [g.guardrail.metric for g in self.guardrails if g.verdict == "regressed"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (with each metric's ``significant`` and ``test`` spelled out)."""
        raw = asdict(self)
        pairs = [(raw["primary"], self.primary), *zip(raw["metrics"], self.metrics, strict=True)]
        for target, result in pairs:
            target.update(significant=result.significant, test=result.test)
        raw["srm"]["flagged"] = self.srm.flagged
        return raw


# -- vectorised tests ---------------------------------------------------------------------
def ztest_proportions(
    x_a: Any, n_a: Any, x_b: Any, n_b: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided two-proportion z-test with pooled variance: (z, p), element-wise."""
    x_a, n_a, x_b, n_b = (np.asarray(v, dtype=np.float64) for v in (x_a, n_a, x_b, n_b))
    pooled = (x_a + x_b) / (n_a + n_b)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (x_b / n_b - x_a / n_a) / se, 0.0)
    return z, 2 * stats.norm.sf(np.abs(z))


def welch_test(
    mean_a: Any, var_a: Any, n_a: Any, mean_b: Any, var_b: Any, n_b: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-sided Welch t-test from summary statistics (sample variances): (t, df, p)."""
    mean_a, var_a, n_a, mean_b, var_b, n_b = (
        np.asarray(v, dtype=np.float64) for v in (mean_a, var_a, n_a, mean_b, var_b, n_b)
    )
    va, vb = var_a / n_a, var_b / n_b
    se = np.sqrt(va + vb)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, (mean_b - mean_a) / se, 0.0)
        df = np.where(se > 0, (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1)), 1.0)
    return t, df, 2 * stats.t.sf(np.abs(t), df)


# -- one comparison -----------------------------------------------------------------------
def compare_proportions(
    x_a: int,
    n_a: int,
    x_b: int,
    n_b: int,
    metric: str = "rate",
    arms: tuple[str, str] = ("A", "B"),
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
) -> MetricResult:
    """Rates ``x/n`` of two arms: Wald CI of the difference, delta-method CI of the lift.

    ``x`` and ``n`` are counts with ``0 <= x <= n``; ``alpha`` is in (0, 1) and ``n_boot`` a
    count (0: no bootstrap). Anything else is an ArgumentError naming it.
    """
    for name, (x, n) in {"x_a": (x_a, n_a), "x_b": (x_b, n_b)}.items():
        if check_count(x, name) > check_count(n, f"n_{name[-1]}"):
            raise ArgumentError(f"{name} = {x} successes exceed the {n} users of the arm")
    _check_test_settings(alpha, n_boot, seed)
    _check_sizes(n_a, n_b, metric)
    p_a, p_b = x_a / n_a, x_b / n_b
    var_a, var_b = p_a * (1 - p_a) / n_a, p_b * (1 - p_b) / n_b
    _, p_value = ztest_proportions(x_a, n_a, x_b, n_b)
    rng = np.random.default_rng(seed)
    boot = None
    if n_boot:
        diffs = rng.binomial(n_b, p_b, n_boot) / n_b - rng.binomial(n_a, p_a, n_boot) / n_a
        boot = _percentiles(diffs, alpha)
    return _result(metric, "proportion", arms, (n_a, n_b), (p_a, p_b), (var_a, var_b),
                   float(p_value), alpha, boot)


def compare_means(
    a: Any,
    b: Any,
    metric: str = "mean",
    arms: tuple[str, str] = ("A", "B"),
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
) -> MetricResult:
    """Per-user values of two arms: Welch t-test and CI, delta-method lift, bootstrap check.

    ``a`` and ``b`` are 1-D sequences of finite numbers; ``alpha`` and ``n_boot`` as in
    :func:`compare_proportions`.
    """
    a, b = check_numbers(a, "a"), check_numbers(b, "b")
    _check_test_settings(alpha, n_boot, seed)
    _check_sizes(len(a), len(b), metric, minimum=2)
    var_a, var_b = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    _, df, p_value = welch_test(a.mean(), a.var(ddof=1), len(a), b.mean(), b.var(ddof=1), len(b))
    boot = _bootstrap_mean_diff(a, b, n_boot, alpha, seed) if n_boot else None
    return _result(metric, "mean", arms, (len(a), len(b)), (a.mean(), b.mean()),
                   (var_a, var_b), float(p_value), alpha, boot, df=float(df))


def _result(
    metric: str,
    kind: str,
    arms: tuple[str, str],
    sizes: tuple[int, int],
    means: tuple[float, float],
    mean_vars: tuple[float, float],
    p_value: float,
    alpha: float,
    boot: tuple[float, float] | None,
    df: float | None = None,
) -> MetricResult:
    (m_a, m_b), (v_a, v_b) = means, mean_vars
    crit = stats.norm.ppf(1 - alpha / 2) if df is None else stats.t.ppf(1 - alpha / 2, df)
    diff, half = m_b - m_a, crit * math.sqrt(v_a + v_b)
    lift, lift_ci = _lift(m_a, m_b, v_a, v_b, crit)
    return MetricResult(
        metric=metric, kind=kind, control=arms[0], treatment=arms[1],
        n_control=int(sizes[0]), n_treatment=int(sizes[1]),
        control_value=float(m_a), treatment_value=float(m_b),
        diff=float(diff), diff_ci=(float(diff - half), float(diff + half)),
        lift=lift, lift_ci=lift_ci,
        p_value=p_value, alpha=alpha, bootstrap_ci=boot,
    )


def _lift(
    m_a: float, m_b: float, v_a: float, v_b: float, crit: float
) -> tuple[float, tuple[float, float]]:
    """Relative lift B/A - 1 with a delta-method CI.

    For positive means the delta method runs on log(B/A) (Var ≈ vB/B² + vA/A²), which gives
    the asymmetric interval that agrees with the test on the difference; otherwise on B/A
    itself (Var ≈ vB/A² + B² vA/A⁴). Undefined (NaN) when the control mean is 0.
    """
    if m_a == 0:
        return math.nan, (math.nan, math.nan)
    if m_a > 0 and m_b > 0:
        half = crit * math.sqrt(v_b / m_b**2 + v_a / m_a**2)
        log_ratio = math.log(m_b / m_a)
        return m_b / m_a - 1, (math.exp(log_ratio - half) - 1, math.exp(log_ratio + half) - 1)
    half = crit * math.sqrt(v_b / m_a**2 + m_b**2 * v_a / m_a**4)
    return m_b / m_a - 1, (m_b / m_a - 1 - half, m_b / m_a - 1 + half)


def _bootstrap_mean_diff(
    a: np.ndarray, b: np.ndarray, n_boot: int, alpha: float, seed: int
) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOT_CHUNK_CELLS // max(len(a), len(b)))
    diffs = np.concatenate([
        b[rng.integers(0, len(b), (m, len(b)))].mean(axis=1)
        - a[rng.integers(0, len(a), (m, len(a)))].mean(axis=1)
        for m in np.diff(np.r_[np.arange(0, n_boot, chunk), n_boot])
    ])
    return _percentiles(diffs, alpha)


def _percentiles(values: np.ndarray, alpha: float) -> tuple[float, float]:
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _check_test_settings(alpha: float, n_boot: int, seed: int) -> None:
    check_number(alpha, "alpha", 0.0, 1.0)
    check_count(n_boot, "n_boot")
    check_count(seed, "seed")


def _check_sizes(n_a: int, n_b: int, metric: str, minimum: int = 1) -> None:
    if min(n_a, n_b) < minimum:
        raise DataError(
            f"metric {metric!r}: each arm needs at least {minimum} user(s), got {n_a} and {n_b}"
        )


# -- checks and verdicts ------------------------------------------------------------------
def srm_test(
    observed: Mapping[str, int], expected_shares: Mapping[str, float],
    threshold: float = SRM_THRESHOLD,
) -> SrmResult:
    """Chi-square goodness of fit of the arm sizes to the traffic split (flag p < 0.001)."""
    arms = list(expected_shares)
    strangers = sorted(set(observed) - set(arms))
    if strangers:
        raise DataError(f"sample-ratio test: users in arm(s) {strangers} that the experiment "
                        f"does not define (arms: {arms}); assignment is broken")
    counts = np.array([check_count(observed.get(arm, 0), f"observed[{arm!r}]") for arm in arms],
                      dtype=np.float64)
    shares = np.array([check_number(expected_shares[arm], f"expected_shares[{arm!r}]", 0.0)
                       for arm in arms], dtype=np.float64)
    if counts.sum() == 0:
        raise DataError("sample-ratio test: no users in any arm")
    chi2, p_value = stats.chisquare(counts, shares / shares.sum() * counts.sum())
    return SrmResult(
        {arm: int(c) for arm, c in zip(arms, counts, strict=True)},
        {arm: float(s) for arm, s in zip(arms, shares, strict=True)},
        float(chi2), float(p_value), threshold,
    )


def guardrail_verdict(guardrail: Guardrail, result: MetricResult) -> GuardrailVerdict:
    """Non-inferiority reading of a guardrail's relative lift CI (tolerance is relative).

    ``pass``: the whole CI is better than ``-tolerance``; ``regressed``: the whole CI is worse
    than no change and the estimate is beyond the tolerance; ``inconclusive`` otherwise.
    """
    sign = 1.0 if guardrail.direction == "higher_is_better" else -1.0
    low, high = sorted((sign * result.lift_ci[0], sign * result.lift_ci[1]))
    change = sign * result.lift
    if math.isnan(change):
        verdict, reason = "inconclusive", "the control value is 0, so no relative change"
    elif low > -guardrail.tolerance:
        verdict, reason = "pass", f"worst case {low:+.1%} is within the tolerance"
    elif high < 0 and change < -guardrail.tolerance:
        verdict, reason = "regressed", f"{change:+.1%} [{low:+.1%}, {high:+.1%}] is beyond it"
    else:
        verdict, reason = "inconclusive", f"CI [{low:+.1%}, {high:+.1%}] straddles the tolerance"
    tolerance = f" (tolerance -{guardrail.tolerance:.1%}, {guardrail.direction})"
    return GuardrailVerdict(guardrail, result, verdict, reason + tolerance)


# -- the whole experiment -----------------------------------------------------------------
def analyze(
    per_user: pl.DataFrame,
    experiment: Experiment,
    metrics: Sequence[str] = (),
    arm_col: str = "arm",
    control: str | None = None,
    treatment: str | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> AbResult:
    """Analyse one user per row ``[arm, <metric columns>]``: primary, guardrails, extras, SRM.

    A metric column of booleans or only 0/1 values is a proportion (z-test); any other is a
    mean (Welch). ``control``/``treatment`` default to the experiment's first two arms.
    """
    control = control or experiment.arm_names[0]
    treatment = treatment or experiment.arm_names[1]
    names = list(dict.fromkeys(
        [experiment.primary_metric, *(g.metric for g in experiment.guardrails), *metrics]
    ))
    missing = [c for c in [arm_col, *names] if c not in per_user.columns]
    if missing:
        raise ConfigError(f"per-user frame lacks column(s) {missing}; has {per_user.columns}")
    groups = {arm: per_user.filter(pl.col(arm_col) == arm) for arm in (control, treatment)}
    results = {
        name: _compare_column(groups[control][name], groups[treatment][name], name,
                              (control, treatment), experiment.alpha, n_boot, seed)
        for name in names
    }
    counts = per_user[arm_col].value_counts()
    srm = srm_test(dict(zip(counts[arm_col], counts["count"], strict=True)),
                   dict(zip(experiment.arm_names, experiment.traffic, strict=True)))
    verdicts = tuple(guardrail_verdict(g, results[g.metric]) for g in experiment.guardrails)
    primary = results[experiment.primary_metric]
    required = _required_n(groups[control][experiment.primary_metric], primary, experiment)
    partial = AbResult(experiment.id, control, treatment, primary, tuple(results.values()),
                       verdicts, srm, required, "")
    return replace(partial, conclusion=conclusion(partial))


def _compare_column(
    a: pl.Series, b: pl.Series, name: str, arms: tuple[str, str], alpha: float,
    n_boot: int, seed: int,
) -> MetricResult:
    values_a, values_b = a.cast(pl.Float64).to_numpy(), b.cast(pl.Float64).to_numpy()
    if _is_binary(values_a) and _is_binary(values_b):
        return compare_proportions(int(values_a.sum()), len(values_a), int(values_b.sum()),
                                   len(values_b), name, arms, alpha, n_boot, seed)
    return compare_means(values_a, values_b, name, arms, alpha, n_boot, seed)


def _is_binary(values: np.ndarray) -> bool:
    return bool(np.isin(values, (0.0, 1.0)).all())


def _required_n(control_values: pl.Series, primary: MetricResult, exp: Experiment) -> int | None:
    """Users per arm needed to detect the experiment's (relative) MDE on the primary metric."""
    base = primary.control_value
    if base <= 0:
        return None
    if primary.kind == "proportion":
        if base * (1 + exp.mde) >= 1:
            return None
        return sample_size_proportions(base, exp.mde, exp.alpha, exp.power, relative=True)
    sd = float(control_values.cast(pl.Float64).std() or 0.0)
    return sample_size_means(sd, exp.mde * base, exp.alpha, exp.power) if sd > 0 else None


def _pct(value: float) -> str:
    return f"{value:+.1%}"


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def conclusion(result: AbResult) -> str:
    """The plain-language verdict, e.g. "B beats A on CTR by +4.1% [1.2%, 7.0%], p = 0.006; ..."."""
    m = result.primary
    if math.isnan(m.lift):
        effect = f"{m.diff:+.4g} [{m.diff_ci[0]:+.4g}, {m.diff_ci[1]:+.4g}]"
    else:
        effect = f"{_pct(m.lift)} [{_pct(m.lift_ci[0])}, {_pct(m.lift_ci[1])}]"
    if m.significant and m.diff > 0:
        text = f"{m.treatment} beats {m.control} on {m.metric} by {effect}, {_p(m.p_value)}"
    elif m.significant:
        text = f"{m.treatment} is worse than {m.control} on {m.metric} by {effect}, {_p(m.p_value)}"
    else:
        text = (f"No significant difference between {m.treatment} and {m.control} on "
                f"{m.metric}: {effect}, {_p(m.p_value)}")
        if result.required_n_per_arm and result.required_n_per_arm > min(m.n_control,
                                                                          m.n_treatment):
            text += (f" (underpowered: {min(m.n_control, m.n_treatment):,} users per arm, "
                     f"{result.required_n_per_arm:,} needed for the planned MDE)")
    regressed = [g for g in result.guardrails if g.verdict == "regressed"]
    if regressed:
        text += "; guardrail regressed: " + ", ".join(
            f"{g.guardrail.metric} {_pct(g.result.lift)}" for g in regressed
        )
    elif result.guardrails:
        text += "; no guardrail regressed"
    if result.srm.flagged:
        text = (f"Sample ratio mismatch ({_p(result.srm.p_value)}): assignment is broken, "
                f"do not trust this result. {text}")
    return text
