"""Peeking-safe sequential testing: mSPRT always-valid p-values and confidence sequences.

Normal-mixture mSPRT (Johari, Koomen, Pekelis & Walsh, "Always valid inference", 2017/2022).
At each look the difference ``delta`` of the two arms has (plug-in) variance ``v``; with a
N(0, tau²) mixture over the true effect the likelihood ratio against H0: effect = 0 is

    Lambda = sqrt(v / (v + tau²)) * exp(tau² delta² / (2 v (v + tau²)))

and p = min(1, 1/Lambda), running-minimised over the looks, is valid at any stopping time:
stopping the first time p < alpha keeps the false-positive rate below alpha however often one
looks. Inverting the test gives a confidence sequence (intersected over looks).
``tau`` should be on the scale of the effect you care about (the absolute MDE is a good
default). Inputs are cumulative totals per look, along the last axis (a scalar is one look);
leading axes are independent experiments (for simulations). Inputs that are not finite
numbers, hold no look, do not broadcast together, or are negative counts or variances are an
ArgumentError naming them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from recsys.arguments import check_number, check_numbers
from recsys.errors import ArgumentError, ConfigError

__all__ = [
    "SequentialResult",
    "always_valid_pvalues",
    "confidence_sequence",
    "msprt",
    "msprt_proportions",
    "msprt_means",
]


@dataclass(frozen=True)
class SequentialResult:
    """Per look: the estimate, always-valid p-value and confidence sequence."""

    estimate: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    alpha: float
    tau: float

    @property
    def rejected(self) -> np.ndarray | bool:
        """Whether H0 was rejected at any look so far (per experiment)."""
        rejected = self.p_value[..., -1] < self.alpha
        return bool(rejected) if np.ndim(rejected) == 0 else rejected

    @property
    def first_rejection(self) -> int | None:
        """Index of the first look with p < alpha (1-D input only), else None."""
        hits = np.flatnonzero(np.atleast_1d(self.p_value) < self.alpha)
        return int(hits[0]) if len(hits) else None

    def verdict(self, control: str = "A", treatment: str = "B") -> str:
        """Plain-language stop/continue advice at the latest look."""
        p_last = float(np.atleast_1d(self.p_value)[-1])
        if not self.rejected:
            return (f"Keep collecting: no always-valid evidence of a difference yet "
                    f"(p = {p_last:.3f}, alpha {self.alpha:g}).")
        look = self.first_rejection
        better = float(np.atleast_1d(self.estimate)[look]) > 0
        direction = "better" if better else "worse"
        return (f"Stop: {treatment} is {direction} than {control} (always-valid "
                f"p = {p_last:.3g}, first below alpha {self.alpha:g} at look {look + 1}).")


def _log_lambda(delta: np.ndarray, var: np.ndarray, tau2: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        log_lr = 0.5 * np.log(var / (var + tau2)) + tau2 * delta**2 / (2 * var * (var + tau2))
    return np.where(var > 0, log_lr, 0.0)


def always_valid_pvalues(delta: Any, var: Any, tau: float) -> np.ndarray:
    """Running-minimum mSPRT p-values along the last axis (looks)."""
    delta, var = _delta_var(delta, var)
    return _pvalues(delta, var, _tau(tau))


def _pvalues(delta: np.ndarray, var: np.ndarray, tau: float) -> np.ndarray:
    p = np.minimum(1.0, np.exp(-_log_lambda(delta, var, tau**2)))
    return np.minimum.accumulate(p, axis=-1)


def confidence_sequence(
    delta: Any, var: Any, tau: float, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Always-valid (1 - alpha) bounds on the difference, intersected over looks."""
    alpha = check_number(alpha, "alpha", 0.0, 1.0)
    delta, var = _delta_var(delta, var)
    return _bounds(delta, var, _tau(tau), alpha)


def _bounds(delta: np.ndarray, var: np.ndarray, tau: float,
            alpha: float) -> tuple[np.ndarray, np.ndarray]:
    tau2 = tau**2
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.sqrt(
            2 * var * (var + tau2) / tau2 * (math.log(1 / alpha) + 0.5 * np.log((var + tau2) / var))
        )
    width = np.where(var > 0, width, np.inf)
    low = np.maximum.accumulate(delta - width, axis=-1)
    high = np.minimum.accumulate(delta + width, axis=-1)
    return low, high


def msprt(delta: Any, var: Any, tau: float, alpha: float = 0.05) -> SequentialResult:
    """mSPRT on a difference with known (plug-in) variance at each look.

    ``delta`` and ``var`` are finite, of one shape, ``var >= 0`` (0: a look with no
    information); anything else is an ArgumentError naming it.
    """
    alpha, tau = check_number(alpha, "alpha", 0.0, 1.0), _tau(tau)
    delta, var = _delta_var(delta, var)
    low, high = _bounds(delta, var, tau, alpha)
    return SequentialResult(delta, _pvalues(delta, var, tau), low, high, alpha, tau)


def msprt_proportions(
    x_a: Any, n_a: Any, x_b: Any, n_b: Any, tau: float, alpha: float = 0.05
) -> SequentialResult:
    """mSPRT for rates from cumulative successes/trials per look (pooled variance);
    ``0 <= x <= n`` at every look."""
    x_a, n_a, x_b, n_b = _looks({"x_a": x_a, "n_a": n_a, "x_b": x_b, "n_b": n_b})
    if ((x_a < 0) | (x_a > n_a) | (x_b < 0) | (x_b > n_b)).any():
        raise ArgumentError("successes must be between 0 and the trials at every look "
                            "(0 <= x_a <= n_a, 0 <= x_b <= n_b)")
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x_a + x_b) / (n_a + n_b)
        var = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
        delta = x_b / n_b - x_a / n_a
    usable = (n_a > 0) & (n_b > 0)
    return msprt(np.where(usable, delta, 0.0), np.where(usable, var, 0.0), tau, alpha)


def msprt_means(
    n_a: Any, mean_a: Any, var_a: Any, n_b: Any, mean_b: Any, var_b: Any,
    tau: float, alpha: float = 0.05,
) -> SequentialResult:
    """mSPRT for means from cumulative counts, means and sample variances per look (counts and
    variances >= 0)."""
    n_a, mean_a, var_a, n_b, mean_b, var_b = _looks({
        "n_a": n_a, "mean_a": mean_a, "var_a": var_a, "n_b": n_b, "mean_b": mean_b,
        "var_b": var_b})
    if ((n_a < 0) | (n_b < 0) | (var_a < 0) | (var_b < 0)).any():
        raise ArgumentError("counts and variances must be >= 0 at every look (n_a, n_b, var_a, "
                            "var_b)")
    usable = (n_a > 1) & (n_b > 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(usable, var_a / n_a + var_b / n_b, 0.0)
    return msprt(np.where(usable, mean_b - mean_a, 0.0), var, tau, alpha)


def _tau(tau: float) -> float:
    """The mixture scale as a float when it is a finite number > 0."""
    if not check_number(tau, "tau") > 0:
        raise ConfigError(f"mSPRT mixture scale tau must be > 0, got {tau}")
    return float(tau)


def _looks(named: dict[str, Any]) -> list[np.ndarray]:
    """Per-look statistics as float arrays broadcast to one shape, looks along the last axis
    (a scalar is one look), else ArgumentError naming them."""
    arrays = [np.atleast_1d(check_numbers(value, name, None)) for name, value in named.items()]
    try:
        arrays = np.broadcast_arrays(*arrays)
    except ValueError:
        raise ArgumentError(f"{', '.join(named)} must have one shape (or broadcast to one), got "
                            f"shapes {[a.shape for a in arrays]}") from None
    if not arrays[0].shape[-1]:
        raise ArgumentError(f"{', '.join(named)} hold no look: give at least one")
    return [np.asarray(a) for a in arrays]


def _delta_var(delta: Any, var: Any) -> tuple[np.ndarray, np.ndarray]:
    """Differences and their variances per look: finite, of one shape, ``var >= 0``."""
    checked_delta, checked_var = _looks({"delta": delta, "var": var})
    if np.shape(delta) != np.shape(var) or (checked_var < 0).any():
        raise ArgumentError(f"delta and var must have one shape and var >= 0, got shapes "
                            f"{np.shape(delta)} and {np.shape(var)}, smallest var "
                            f"{checked_var.min(initial=0)}")
    return checked_delta, checked_var
