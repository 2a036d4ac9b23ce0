"""Design tools against hand-computed textbook values."""

from __future__ import annotations

import pytest

from recsys.ab.design import (
    mde_means,
    mde_proportions,
    plan_proportions,
    power_means,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
    sample_size_sign_test,
)
from recsys.errors import ConfigError


def test_proportions_known_answer() -> None:
    # p1 = .10, p2 = .12, p̄ = .11, z.975 = 1.959964, z.80 = 0.841621:
    # 1.959964 * sqrt(2 * .11 * .89) = 1.959964 * 0.442493 = 0.867270
    # 0.841621 * sqrt(.09 + .1056)   = 0.841621 * 0.442267 = 0.372222
    # (0.867270 + 0.372222)² / .02² = 1.536341 / .0004 = 3840.85 -> 3841 per arm
    assert sample_size_proportions(0.10, 0.02) == 3841
    assert sample_size_proportions(0.10, 0.20, relative=True) == 3841
    assert power_proportions(0.10, 0.02, 3841) == pytest.approx(0.80, abs=1e-3)
    assert mde_proportions(0.10, 3841) == pytest.approx(0.02, abs=1e-4)


def test_proportions_more_power_needs_more_users() -> None:
    assert sample_size_proportions(0.10, 0.02, power=0.9) > 3841
    assert sample_size_proportions(0.10, 0.02, alpha=0.01) > 3841
    assert sample_size_proportions(0.10, -0.02) < 3841  # 10% -> 8%: smaller variance


def test_means_known_answer() -> None:
    # 2 * (1.959964 + 0.841621)² * 1² / 0.2² = 2 * 7.848879 / 0.04 = 392.44 -> 393
    assert sample_size_means(sd=1.0, mde=0.2) == 393
    assert power_means(1.0, 0.2, 392.44) == pytest.approx(0.80, abs=1e-4)
    assert mde_means(1.0, 392.44) == pytest.approx(0.2, abs=1e-4)


def test_sign_test_sample_size() -> None:
    # q = .6: (1.959964 * .5 + 0.841621 * sqrt(.24))² / .1² = (0.979982 + 0.412310)² / .01
    # = 193.85 -> 194 deciding users; with half the users tied: 388.
    assert sample_size_sign_test(0.6) == 194
    assert sample_size_sign_test(0.6, decided_share=0.5) == 388


def test_plan_summary() -> None:
    plan = plan_proportions(0.10, 0.02)
    assert (plan.n_per_arm, plan.n_total) == (3841, 7682)
    assert "3,841 users per arm" in plan.summary()


@pytest.mark.parametrize(("baseline", "lift", "shown"), [
    (0.001, 0.01, "0.1% -> 0.101% (+0.001% absolute, +1% relative)"),  # was 0.10% -> 0.10%
    (0.1234, 0.05, "12.34% -> 12.96% (+0.617% absolute, +5% relative)"),
    (0.99, 0.01, "99% -> 99.99% (+0.99% absolute, +1% relative)"),
])
def test_plan_summary_shows_every_rate_apart(baseline: float, lift: float, shown: str) -> None:
    assert shown in plan_proportions(baseline, lift, relative=True).summary()


def test_a_lift_past_certainty_names_the_rate_shortly() -> None:
    with pytest.raises(ConfigError, match=r"mde 2.0 gives rate 2.97 outside \(0, 1\)"):
        plan_proportions(0.99, 2.0, relative=True)


@pytest.mark.parametrize(
    "call",
    [
        lambda: sample_size_proportions(0.0, 0.02),
        lambda: sample_size_proportions(0.95, 0.1),
        lambda: sample_size_proportions(0.1, 0.0),
        lambda: sample_size_proportions(0.1, 0.02, alpha=0),
        lambda: sample_size_means(sd=0, mde=0.1),
        lambda: mde_proportions(0.1, 2, power=0.99),
        lambda: sample_size_sign_test(0.5),
    ],
)
def test_bad_inputs_fail_loudly(call) -> None:
    with pytest.raises(ConfigError):
        call()


@pytest.mark.parametrize(("call", "message"), [
    (lambda: sample_size_means(sd=1.0, mde=float("inf")), "mde must be a finite number, got inf"),
    (lambda: sample_size_means(sd=float("inf"), mde=0.1), "sd must be a finite number"),
    (lambda: sample_size_means(sd="1", mde=0.1), "sd must be a finite number, got '1'"),
    (lambda: sample_size_means(sd=1.0, mde=True), "mde must be a finite number, got True"),
    (lambda: sample_size_proportions(0.1, 0.02, alpha="0.05"), "alpha must be a finite number"),
    (lambda: plan_proportions(None, 0.02), "baseline must be a finite number, got None"),
    (lambda: power_proportions(0.1, 0.02, -5), "n_per_arm must be > 0, got -5"),
    (lambda: power_means(1.0, "x", 100), "mde must be a finite number, got 'x'"),
    (lambda: mde_means(1.0, float("inf")), "n_per_arm must be a finite number, got inf"),
    (lambda: sample_size_sign_test(float("nan")), "win_share must be a finite number, got nan"),
])
def test_inputs_that_are_not_finite_numbers_are_named(call, message: str) -> None:
    # an infinite effect used to plan 0 users per arm; an infinite sd an OverflowError
    with pytest.raises(ConfigError, match=message):
        call()


@pytest.mark.parametrize(("call", "message"), [
    # a ZeroDivisionError (the effect squared underflows) and an OverflowError (sd squared)
    (lambda: sample_size_proportions(0.1, 1e-300), "mde 1e-300: the effect is too small"),
    (lambda: sample_size_means(sd=1.0, mde=1e-300), "mde 1e-300 with sd 1: the effect is too"),
    (lambda: sample_size_means(sd=1e300, mde=1.0), "the effect is too small to plan for"),
])
def test_effects_too_small_for_a_float_are_named(call, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        call()
