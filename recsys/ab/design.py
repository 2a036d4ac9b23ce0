"""Design tools: sample size, power and minimum detectable effect for two equal arms.

Two-sided tests at level ``alpha``. Proportions use the classic formula with the pooled
variance under H0 and the unpooled one under H1 (Fleiss; what most online calculators use):

    n = (z_{1-a/2} sqrt(2 p̄ q̄) + z_{1-b} sqrt(p1 q1 + p2 q2))² / (p2 - p1)²,  p̄ = (p1 + p2) / 2

Means use the normal approximation n = 2 (z_{1-a/2} + z_{1-b})² σ² / δ².
The MDE is absolute (0.02 = two percentage points) unless ``relative=True``. Every input is
a finite real number (a ConfigError names the one that is not: a string, a bool, NaN or an
infinity would otherwise give a raw error or a plan of 0 users).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import optimize, stats

from recsys.arguments import check_number
from recsys.errors import ConfigError

__all__ = [
    "SamplePlan",
    "sample_size_proportions",
    "sample_size_means",
    "power_proportions",
    "power_means",
    "mde_proportions",
    "mde_means",
    "plan_proportions",
    "sample_size_sign_test",
]


@dataclass(frozen=True)
class SamplePlan:
    """The answer of the planner: users per arm for an effect, with its inputs."""

    baseline: float
    treatment: float
    mde_abs: float
    alpha: float
    power: float
    n_per_arm: int

    @property
    def n_total(self) -> int:
        """Users over both arms."""
        return 2 * self.n_per_arm

    def summary(self) -> str:
        """One sentence for the CLI and the app."""
        return (
            f"To detect {_percent(self.baseline)} -> {_percent(self.treatment)} "
            f"({_percent(self.mde_abs, '+')} absolute, "
            f"{_percent(self.mde_abs / self.baseline, '+')} relative) "
            f"with {self.power:.0%} power at alpha {self.alpha:g} (two-sided): "
            f"{self.n_per_arm:,} users per arm, {self.n_total:,} in total."
        )


def _percent(share: float, sign: str = "") -> str:
    """``share`` in percent to 4 significant digits: 0.00101 is 0.101%, never 0.10% (a fixed
    two decimals showed a 1% lift on a 0.1% rate as 0.10% -> 0.10%, +0.00% absolute)."""
    return f"{share * 100:{sign}.4g}%"


def _z(alpha: float, power: float) -> tuple[float, float]:
    for name, value in (("alpha", alpha), ("power", power)):
        if not 0 < check_number(value, name) < 1:
            raise ConfigError(f"{name} must be in (0, 1), got {value}")
    return float(stats.norm.ppf(1 - alpha / 2)), float(stats.norm.ppf(power))


def _treatment_rate(baseline: float, mde: float, relative: bool) -> float:
    if not 0 < check_number(baseline, "baseline") < 1:
        raise ConfigError(f"baseline rate must be in (0, 1), got {baseline}")
    if check_number(mde, "mde") == 0:
        raise ConfigError("mde must be non-zero")
    p2 = baseline * (1 + mde) if relative else baseline + mde
    if not 0 < p2 < 1:
        raise ConfigError(f"baseline {baseline} with mde {mde} gives rate {p2:.4g} outside (0, 1)")
    return p2


def sample_size_proportions(
    baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8, relative: bool = False
) -> int:
    """Users per arm to detect ``baseline`` -> ``baseline + mde`` (two-proportion z-test)."""
    z_a, z_b = _z(alpha, power)
    p1, p2 = baseline, _treatment_rate(baseline, mde, relative)
    p_bar = (p1 + p2) / 2
    root = z_a * math.sqrt(2 * p_bar * (1 - p_bar)) + z_b * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return _users(root**2, p2 - p1, f"mde {mde:g}")


def power_proportions(
    baseline: float, mde: float, n_per_arm: float, alpha: float = 0.05, relative: bool = False
) -> float:
    """Power of the two-proportion z-test with ``n_per_arm`` users (inverse of the above)."""
    z_a, _ = _z(alpha, 0.5)
    _check_positive(n_per_arm=n_per_arm)
    p1, p2 = baseline, _treatment_rate(baseline, mde, relative)
    p_bar = (p1 + p2) / 2
    spread = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    z = (abs(p2 - p1) * math.sqrt(n_per_arm) - z_a * math.sqrt(2 * p_bar * (1 - p_bar))) / spread
    return float(stats.norm.cdf(z))


def mde_proportions(
    baseline: float, n_per_arm: float, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest absolute increase over ``baseline`` detectable with ``n_per_arm`` users."""
    _z(alpha, power)
    upper = 1 - baseline - 1e-9
    if power_proportions(baseline, upper, n_per_arm, alpha) < power:
        raise ConfigError(f"{n_per_arm} users per arm cannot reach power {power} at any effect")
    return float(
        optimize.brentq(
            lambda d: power_proportions(baseline, d, n_per_arm, alpha) - power, 1e-9, upper
        )
    )


def sample_size_means(
    sd: float, mde: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Users per arm to detect a difference ``mde`` in means with per-user std ``sd``."""
    z_a, z_b = _z(alpha, power)
    _check_positive(sd=sd, mde=abs(check_number(mde, "mde")))
    return _users(2 * (z_a + z_b) ** 2, mde / sd, f"mde {mde:g} with sd {sd:g}")


def power_means(sd: float, mde: float, n_per_arm: float, alpha: float = 0.05) -> float:
    """Power of the (normal-approximation) two-sample test for a difference ``mde``."""
    z_a, _ = _z(alpha, 0.5)
    _check_positive(sd=sd, n_per_arm=n_per_arm)
    effect = abs(check_number(mde, "mde"))
    return float(stats.norm.cdf(effect / (sd * math.sqrt(2 / n_per_arm)) - z_a))


def mde_means(sd: float, n_per_arm: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest difference in means detectable with ``n_per_arm`` users per arm."""
    z_a, z_b = _z(alpha, power)
    _check_positive(sd=sd, n_per_arm=n_per_arm)
    return (z_a + z_b) * sd * math.sqrt(2 / n_per_arm)


def sample_size_sign_test(
    win_share: float, decided_share: float = 1.0, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Users needed by a two-sided sign test when a ``win_share`` of deciders prefer B.

    Normal approximation for the number of deciding users m, then divided by the share of
    users who decide at all (non-ties):
    m = (z_{1-a/2} * 0.5 + z_{1-b} sqrt(q (1 - q)))² / (q - 0.5)².
    """
    z_a, z_b = _z(alpha, power)
    if not 0 < check_number(win_share, "win_share") < 1 or win_share == 0.5:
        raise ConfigError(f"win_share must be in (0, 1) and not 0.5, got {win_share}")
    if not 0 < check_number(decided_share, "decided_share") <= 1:
        raise ConfigError(f"decided_share must be in (0, 1], got {decided_share}")
    root = z_a * 0.5 + z_b * math.sqrt(win_share * (1 - win_share))
    return _users(root**2 / decided_share, win_share - 0.5, f"win_share {win_share:g}")


def plan_proportions(
    baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8, relative: bool = False
) -> SamplePlan:
    """:func:`sample_size_proportions` with its inputs, ready to display."""
    p2 = _treatment_rate(baseline, mde, relative)
    n = sample_size_proportions(baseline, mde, alpha, power, relative)
    return SamplePlan(baseline, p2, p2 - baseline, alpha, power, n)


def _users(scale: float, effect: float, inputs: str) -> int:
    """``ceil(scale / effect²)``; a ConfigError naming ``inputs`` when the effect is too small
    for a float (``mde=1e-300`` was a ZeroDivisionError, an ``sd`` of 1e300 an OverflowError)."""
    try:
        n = scale / effect**2
    except (ZeroDivisionError, OverflowError):
        n = math.inf
    if not math.isfinite(n):
        raise ConfigError(f"{inputs}: the effect is too small to plan for (the number of users "
                          "per arm overflows)")
    return math.ceil(n)


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not check_number(value, name) > 0:
            raise ConfigError(f"{name} must be > 0, got {value}")
