"""Analysis: known answers for the tests, CIs, SRM, guardrails and the conclusion sentence."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from recsys.ab.analysis import (
    MetricResult,
    analyze,
    compare_means,
    compare_proportions,
    guardrail_verdict,
    srm_test,
    welch_test,
    ztest_proportions,
)
from recsys.ab.experiment import Experiment, Guardrail
from recsys.errors import ArgumentError, ConfigError, DataError


def test_two_proportion_z_test_known_answer() -> None:
    # pooled p = 230/2000 = .115; se = sqrt(.115 * .885 * (2/1000)) = 0.0142671
    # z = .03 / 0.0142671 = 2.10274; p = 2 * (1 - Φ(2.10274)) = 0.035488
    z, p = ztest_proportions(100, 1000, 130, 1000)
    assert float(z) == pytest.approx(2.10274, abs=1e-4)
    assert float(p) == pytest.approx(0.035488, abs=1e-5)


def test_proportion_effects_and_delta_method_lift() -> None:
    r = compare_proportions(100, 1000, 130, 1000, metric="ctr", n_boot=4000)
    # Wald CI: .03 ± 1.959964 * sqrt(.09/1000 + .1131/1000) = .03 ± 0.027932
    assert r.diff_ci == pytest.approx((0.002068, 0.057932), abs=1e-5)
    # log(1.3) = .262364 ± 1.959964 * sqrt(.0001131/.0169 + .00009/.01) = ± 0.245523
    assert r.lift == pytest.approx(0.30)
    assert r.lift_ci == pytest.approx((0.016984, 0.661775), abs=1e-5)
    assert r.significant and r.test == "two-proportion z-test"
    low, high = r.bootstrap_ci
    assert low == pytest.approx(r.diff_ci[0], abs=0.004) and high == pytest.approx(
        r.diff_ci[1], abs=0.004)


def test_welch_matches_scipy_and_bootstrap_agrees() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.exponential(1.0, 400), rng.exponential(1.2, 250)
    r = compare_means(a, b, metric="watch_time")
    reference = stats.ttest_ind(b, a, equal_var=False)
    assert r.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    ci = reference.confidence_interval(0.95)
    assert r.diff_ci == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert r.bootstrap_ci[0] == pytest.approx(ci.low, abs=0.03)
    assert r.bootstrap_ci[1] == pytest.approx(ci.high, abs=0.03)
    t, df, p = welch_test([a.mean()] * 2, [a.var(ddof=1)] * 2, [400] * 2,
                          [b.mean()] * 2, [b.var(ddof=1)] * 2, [250] * 2)
    assert p.shape == (2,) and p[0] == pytest.approx(reference.pvalue)


def test_srm_known_answer_and_flag() -> None:
    # 5000 vs 5300 at 50/50: chi2 = 2 * 150² / 5150 = 8.7379, p = 0.0031 -> not flagged
    ok = srm_test({"A": 5000, "B": 5300}, {"A": 0.5, "B": 0.5})
    assert ok.chi2 == pytest.approx(8.7379, abs=1e-4) and not ok.flagged
    # 5000 vs 5400: chi2 = 2 * 200² / 5200 = 15.385, p = 8.8e-5 -> flagged
    bad = srm_test({"A": 5000, "B": 5400}, {"A": 0.5, "B": 0.5})
    assert bad.chi2 == pytest.approx(15.3846, abs=1e-4) and bad.flagged
    assert not srm_test({"A": 900, "B": 100}, {"A": 0.9, "B": 0.1}).flagged
    with pytest.raises(DataError, match="does not define"):
        srm_test({"A": 10, "B": 10, "C": 1}, {"A": 0.5, "B": 0.5})


def _result(lift: float, low: float, high: float) -> MetricResult:
    return MetricResult("ndcg@10", "mean", "A", "B", 100, 100, 1.0, 1 + lift, lift, (low, high),
                        lift, (low, high), 0.01, 0.05)


@pytest.mark.parametrize(
    ("lift", "low", "high", "direction", "verdict"),
    [
        (0.01, -0.01, 0.03, "higher_is_better", "pass"),
        (-0.10, -0.15, -0.05, "higher_is_better", "regressed"),
        (-0.03, -0.08, 0.02, "higher_is_better", "inconclusive"),
        (0.10, 0.05, 0.15, "lower_is_better", "regressed"),
        (-0.10, -0.15, -0.05, "lower_is_better", "pass"),
    ],
)
def test_guardrail_verdicts(lift: float, low: float, high: float, direction: str,
                            verdict: str) -> None:
    guardrail = Guardrail("ndcg@10", direction, tolerance=0.02)
    assert guardrail_verdict(guardrail, _result(lift, low, high)).verdict == verdict


EXPERIMENT = Experiment.from_dict({
    "id": "exp", "arms": [{"name": "A", "model": "ease"}, {"name": "B", "model": "als"}],
    "traffic": [0.5, 0.5], "primary_metric": "ctr", "mde": 0.1,
    "guardrails": [{"metric": "thumbs_down_rate", "direction": "lower_is_better",
                    "tolerance": 0.05}],
})


def _frame(clicks_a: int, n_a: int, clicks_b: int, n_b: int, down_b: float = 0.1) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame({
        "arm": ["A"] * n_a + ["B"] * n_b,
        "ctr": [1] * clicks_a + [0] * (n_a - clicks_a) + [1] * clicks_b + [0] * (n_b - clicks_b),
        "thumbs_down_rate": np.r_[rng.normal(0.1, 0.02, n_a), rng.normal(down_b, 0.02, n_b)],
    })


def test_analyze_and_conclusion_when_b_wins() -> None:
    result = analyze(_frame(100, 1000, 130, 1000), EXPERIMENT, n_boot=500)
    assert result.primary.kind == "proportion" and result.primary.n_treatment == 1000
    assert result.conclusion == (
        "B beats A on ctr by +30.0% [+1.7%, +66.2%], p = 0.035; no guardrail regressed")
    assert result.to_dict()["primary"]["significant"] is True


def test_conclusion_reports_regression_srm_and_underpower() -> None:
    regressed = analyze(_frame(100, 1000, 130, 1000, down_b=0.2), EXPERIMENT, n_boot=0)
    assert regressed.regressed == ["thumbs_down_rate"]
    assert "; guardrail regressed: thumbs_down_rate +10" in regressed.conclusion  # ~ +100 %
    flat = analyze(_frame(10, 100, 11, 100), EXPERIMENT, n_boot=0)
    assert flat.conclusion.startswith("No significant difference between B and A on ctr")
    assert "underpowered" in flat.conclusion and flat.required_n_per_arm > 100
    broken = analyze(_frame(100, 1000, 80, 800), EXPERIMENT, n_boot=0)
    assert broken.srm.flagged and broken.conclusion.startswith("Sample ratio mismatch")


def test_zero_control_gives_absolute_effect() -> None:
    result = analyze(_frame(0, 500, 40, 500), EXPERIMENT, n_boot=0)
    assert math.isnan(result.primary.lift)
    assert "by +0.08 [" in result.conclusion


def test_analyze_fails_loudly() -> None:
    with pytest.raises(ConfigError, match="lacks column"):
        analyze(pl.DataFrame({"arm": ["A"]}), EXPERIMENT)
    with pytest.raises(DataError, match="at least 1"):
        compare_proportions(0, 0, 1, 10)


@pytest.mark.parametrize(("call", "message"), [
    # raw ValueErrors, TypeErrors and a math domain error before; alpha=2 was used as given
    (lambda: compare_proportions(200, 100, 50, 100), "x_a = 200 successes exceed the 100"),
    (lambda: compare_proportions(-5, 100, 50, 100), "x_a must be an integer >= 0"),
    (lambda: compare_proportions(5, 100.5, 50, 100), "n_a must be an integer >= 0"),
    (lambda: compare_proportions(5, 100, 50, 100, alpha=2), r"alpha must be in \(0, 1\)"),
    (lambda: compare_proportions(5, 100, 50, 100, n_boot=-1), "n_boot must be an integer"),
    (lambda: compare_means([1.0, 2.0, float("nan")], [1, 2, 3]), r"a must be finite, got \[nan\]"),
    (lambda: compare_means([1, 2, 3], [1.0, float("inf")]), "b must be finite"),
    (lambda: compare_means(["x", "y"], [1, 2, 3]), "a must be numbers, got text"),
    (lambda: compare_means([[1, 2], [3, 4]], [1, 2, 3]), "a must be 1-D"),
    (lambda: srm_test({"A": -5, "B": 10}, {"A": 0.5, "B": 0.5}), "observed\\['A'\\] must be"),
    (lambda: srm_test({"A": 5, "B": 10}, {"A": 0.0, "B": 1.0}), r"must be in \(0, inf\)"),
])
def test_careless_inputs_are_named_instead_of_tested(call, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        call()
