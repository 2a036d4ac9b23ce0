"""mSPRT: known answers, running minimum, and duality of p-values and confidence sequences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recsys.ab.sequential import (
    always_valid_pvalues,
    confidence_sequence,
    msprt,
    msprt_means,
    msprt_proportions,
)
from recsys.errors import ArgumentError, ConfigError


def test_mixture_likelihood_ratio_known_answer() -> None:
    # v = .01, tau² = .01: Lambda = sqrt(.5) * exp(tau² d² / (2 v (v + tau²))) = .707107 e^(d²/.04)
    # d = .1: .707107 * e^.25 = 0.907939 -> p = 1;  d = .3: .707107 * e^2.25 = 6.708842 -> .149057
    p = always_valid_pvalues([0.1, 0.3, 0.1], [0.01, 0.01, 0.01], tau=0.1)
    np.testing.assert_allclose(p, [1.0, 0.149057, 0.149057], atol=1e-6)  # running minimum


def test_confidence_sequence_known_answer_and_duality() -> None:
    # half-width = sqrt(2 v (v + tau²) / tau² * (ln(1/alpha) + ½ ln((v + tau²) / v)))
    #            = sqrt(.04 * (2.995732 + 0.346574)) = 0.365640
    low, high = confidence_sequence([0.3], [0.01], tau=0.1, alpha=0.05)
    assert (low[0], high[0]) == pytest.approx((0.3 - 0.365640, 0.3 + 0.365640), abs=1e-6)
    rng = np.random.default_rng(0)
    delta, var = rng.normal(0, 0.5, 200), rng.uniform(0.01, 0.2, 200)
    p = always_valid_pvalues(delta[:, None], var[:, None], 0.3)
    low, high = confidence_sequence(delta[:, None], var[:, None], 0.3, 0.05)
    excludes_zero = (low[:, 0] > 0) | (high[:, 0] < 0)
    np.testing.assert_array_equal(p[:, 0] < 0.05, excludes_zero)


def test_proportions_and_means_wrappers() -> None:
    n = np.array([1000, 2000, 4000])
    strong = msprt_proportions(n * 0.10, n, n * 0.13, n, tau=0.02)
    assert strong.rejected and strong.first_rejection is not None
    assert strong.verdict().startswith("Stop: B is better than A")
    weak = msprt_proportions(n * 0.10, n, n * 0.101, n, tau=0.02)
    assert not weak.rejected and weak.verdict().startswith("Keep collecting")
    assert math.isclose(weak.estimate[-1], 0.001, abs_tol=1e-12)
    means = msprt_means(n, [1.0] * 3, [1.0] * 3, n, [0.8] * 3, [1.0] * 3, tau=0.1)
    assert means.rejected and "worse" in means.verdict()


def test_empty_looks_are_neutral_and_tau_must_be_positive() -> None:
    result = msprt_proportions([0, 5], [0, 50], [0, 9], [0, 50], tau=0.05)
    assert result.p_value[0] == 1.0
    with pytest.raises(ConfigError):
        always_valid_pvalues([0.1], [0.01], tau=0.0)


@pytest.mark.parametrize(("call", "message"), [
    # a NaN difference gave NaN p-values; successes above the trials gave a p-value of 1
    (lambda: msprt([float("nan")], [0.01], 0.1), "delta must be finite"),
    (lambda: msprt([0.1], [-0.01], 0.1), "var >= 0"),
    (lambda: msprt([0.1, 0.2], [0.01], 0.1), "one shape"),
    (lambda: msprt([0.1], [0.01], 0.1, alpha=1.5), r"alpha must be in \(0, 1\)"),
    (lambda: msprt_proportions([200], [100], [5], [100], 0.1), "between 0 and the trials"),
    (lambda: msprt_means([10], ["x"], [1.0], [10], [0.5], [1.0], 0.1), "mean_a must be numbers"),
    # no look was an IndexError in verdict(); shapes that do not broadcast a NumPy ValueError
    (lambda: msprt([], [], 0.1), "hold no look"),
    (lambda: msprt_proportions([], [], [], [], 0.1), "hold no look"),
    (lambda: msprt_proportions([1, 2, 3], [10, 20], [1, 2, 3], [10, 20, 30], 0.1),
     "must have one shape"),
    # a negative variance or count was read as a look with no information (p = 1)
    (lambda: msprt_means([10], [1.0], [-1.0], [10], [1.5], [1.0], 0.1), "variances must be >= 0"),
    (lambda: msprt_means([-10], [1.0], [1.0], [10], [1.5], [1.0], 0.1), "counts and variances"),
    (lambda: always_valid_pvalues([float("nan")], [0.01], 0.1), "delta must be finite"),
    (lambda: confidence_sequence([0.1], [-0.01], 0.1, 0.05), "var >= 0"),  # (-inf, inf)
    (lambda: confidence_sequence([0.1], [0.01], 0.1, 0), r"alpha must be in \(0, 1\)"),
])
def test_careless_inputs_are_named(call, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        call()


def test_a_scalar_is_one_look() -> None:
    # scalars used to fail with "cannot accumulate on a scalar"
    one = msprt_proportions(100, 1000, 130, 1000, tau=0.02)
    listed = msprt_proportions([100], [1000], [130], [1000], tau=0.02)
    np.testing.assert_array_equal(one.p_value, listed.p_value)
    assert one.verdict() == listed.verdict()
