"""Simulations that keep the statistics honest (vectorised: thousands of experiments at once).

A/A: the fixed-horizon tests reject about alpha of the time. Peeking at 50 looks inflates the
naive z-test far above alpha, while the mSPRT stays below it. With a planted effect at the
designed MDE the power matches the design. The default versions take a few seconds; the
``slow`` versions use 10x more experiments and tighter bounds.
"""

from __future__ import annotations

import numpy as np
import pytest

from recsys.ab.analysis import welch_test, ztest_proportions
from recsys.ab.design import sample_size_means, sample_size_proportions
from recsys.ab.sequential import msprt_means, msprt_proportions

ALPHA = 0.05


def _mc_tolerance(rate: float, runs: int) -> float:
    """Four Monte-Carlo standard errors."""
    return 4 * np.sqrt(rate * (1 - rate) / runs)


def _aa_proportions(runs: int, n: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    x_a, x_b = rng.binomial(n, 0.10, runs), rng.binomial(n, 0.10, runs)
    return float((ztest_proportions(x_a, n, x_b, n)[1] < ALPHA).mean())


def _aa_welch(runs: int, n_a: int, n_b: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    a, b = rng.exponential(1.0, (runs, n_a)), rng.exponential(1.0, (runs, n_b))  # skewed data
    p = welch_test(a.mean(1), a.var(1, ddof=1), n_a, b.mean(1), b.var(1, ddof=1), n_b)[2]
    return float((p < ALPHA).mean())


def _peeking(runs: int, looks: int, per_look: int, seed: int, effect: float = 0.0
             ) -> tuple[float, float]:
    """(naive z-test rejects at any look, mSPRT rejects at any look)."""
    rng = np.random.default_rng(seed)
    x_a = rng.binomial(per_look, 0.10, (runs, looks)).cumsum(axis=1)
    x_b = rng.binomial(per_look, 0.10 + effect, (runs, looks)).cumsum(axis=1)
    n = np.arange(1, looks + 1) * per_look
    naive = (ztest_proportions(x_a, n, x_b, n)[1] < ALPHA).any(axis=1).mean()
    sequential = msprt_proportions(x_a, n, x_b, n, tau=0.02, alpha=ALPHA).rejected.mean()
    return float(naive), float(sequential)


def _peeking_means(runs: int, looks: int, per_look: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, 1, (runs, looks * per_look)), rng.normal(0, 1, (runs, looks * per_look))
    ends = np.arange(1, looks + 1) * per_look

    def cumulative(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s1, s2 = x.cumsum(1)[:, ends - 1], (x**2).cumsum(1)[:, ends - 1]
        return s1 / ends, (s2 - s1**2 / ends) / (ends - 1)

    (m_a, v_a), (m_b, v_b) = cumulative(a), cumulative(b)
    return float(msprt_means(ends, m_a, v_a, ends, m_b, v_b, tau=0.1).rejected.mean())


def _power_proportions(runs: int, seed: int) -> float:
    n = sample_size_proportions(0.10, 0.02)  # 3,841 per arm
    rng = np.random.default_rng(seed)
    x_a, x_b = rng.binomial(n, 0.10, runs), rng.binomial(n, 0.12, runs)
    return float((ztest_proportions(x_a, n, x_b, n)[1] < ALPHA).mean())


def _power_means(runs: int, seed: int) -> float:
    n = sample_size_means(1.0, 0.2)  # 393 per arm
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0.0, 1.0, (runs, n)), rng.normal(0.2, 1.0, (runs, n))
    p = welch_test(a.mean(1), a.var(1, ddof=1), n, b.mean(1), b.var(1, ddof=1), n)[2]
    return float((p < ALPHA).mean())


def test_aa_false_positive_rate_of_fixed_horizon_tests() -> None:
    assert 0.03 <= _aa_proportions(2000, 2000, seed=1) <= 0.07
    assert 0.03 <= _aa_welch(2000, 300, 200, seed=20) <= 0.07


def test_peeking_inflates_naive_test_but_not_msprt() -> None:
    naive, sequential = _peeking(2000, looks=50, per_look=200, seed=3)
    assert naive > 0.15  # the problem the sequential test solves
    assert sequential <= ALPHA + _mc_tolerance(ALPHA, 2000)
    assert _peeking_means(1000, looks=50, per_look=20, seed=4) <= ALPHA + _mc_tolerance(
        ALPHA, 1000)


def test_msprt_detects_a_real_effect() -> None:
    _, sequential = _peeking(1000, looks=50, per_look=200, seed=5, effect=0.02)
    assert sequential > 0.8


def test_power_at_designed_mde_matches_design() -> None:
    assert abs(_power_proportions(2000, seed=6) - 0.80) <= 0.05
    assert abs(_power_means(2000, seed=7) - 0.80) <= 0.05


@pytest.mark.slow
def test_large_simulations() -> None:
    runs = 20_000
    tol = _mc_tolerance(ALPHA, runs)
    assert abs(_aa_proportions(runs, 2000, seed=11) - ALPHA) <= tol
    assert abs(_aa_welch(runs, 300, 200, seed=12) - ALPHA) <= tol + 0.003  # t approx. on skew
    naive, sequential = _peeking(runs, looks=100, per_look=100, seed=13)
    assert naive > 0.2 and sequential <= ALPHA + tol
    assert abs(_power_proportions(runs, seed=14) - 0.80) <= 0.02
    assert abs(_power_means(runs // 4, seed=15) - 0.80) <= 0.03
