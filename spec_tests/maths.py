"""The spec's own definitions and rounding-error bounds (independent of reference/).

Tolerances come from the float64 unit roundoff u = eps/2 and the standard
forward-error bound for a length-n dot product (Higham, Accuracy and Stability
of Numerical Algorithms, 2nd ed., eq. 3.5):

    |fl(xᵀy) − xᵀy| ≤ γ_n |x|ᵀ|y|,    γ_n = n·u / (1 − n·u).

Two implementations that each meet it differ by at most 2γ_n |x|ᵀ|y|; that is the
tolerance the definitional claims (P1–P3) allow, elementwise.
"""

from __future__ import annotations

import numpy as np

from .definitions import ANALYTIC, sigmoid

EPS = float(np.finfo(np.float64).eps)  # 2.22e-16
UNIT_ROUNDOFF = EPS / 2
TINY = float(np.finfo(np.float64).tiny)  # below this, subnormal rounding is absolute
SMALLEST_SUBNORMAL = float(np.finfo(np.float64).smallest_subnormal)  # 4.9e-324


def gamma(n: int) -> float:
    """γ_n = n·u / (1 − n·u), the relative error bound of an n-term dot product."""
    return n * UNIT_ROUNDOFF / (1 - n * UNIT_ROUNDOFF)


# name -> (σ', sup|σ''| (a Lipschitz constant of σ'), σ' jumps at 0); σ itself is definitions.ANALYTIC
DERIVATIVES = {
    "linear": (np.ones_like, 0.0, False),
    "tanh": (lambda a: 1 - np.tanh(a) ** 2, 4 / (3 * np.sqrt(3)), False),
    "sigmoid": (lambda a: sigmoid(a) * (1 - sigmoid(a)), 1 / (6 * np.sqrt(3)), False),
    "relu": (lambda a: (a > 0).astype(float), 0.0, True),
}


def sigma(activation: str, a: np.ndarray) -> np.ndarray:
    return ANALYTIC[activation](a)


def sigma_prime(activation: str, a: np.ndarray) -> np.ndarray:
    return DERIVATIVES[activation][0](a)


def sigma_error(activation: str, value: np.ndarray) -> np.ndarray:
    """How far two correct evaluations of σ(a) may differ: a few ulps of the activation's range.

    tanh and sigmoid are bounded by 1, and formulas as legitimate as ½(1 + tanh(a/2)) for the
    sigmoid are accurate to a few eps absolutely, not relatively, in the tails; linear and relu
    are exact.
    """
    if activation in ("tanh", "sigmoid"):
        return 4 * EPS * (np.abs(value) + 1.0)
    return np.zeros_like(value)


def sigma_prime_uncertainty(activation: str, a: np.ndarray, a_error: np.ndarray) -> np.ndarray:
    """Bound on |σ'(a') − σ'(a)| over every a' with |a' − a| ≤ a_error, plus evaluation rounding.

    Both σ' = 1 − tanh² and σ(1 − σ) lose relative accuracy where σ' is tiny; their absolute
    error stays below 2·eps each, so two implementations differ by ≤ 4·eps.  relu' jumps at 0:
    where a is within a_error of 0 either 0 or 1 is correct.
    """
    _, lipschitz, jumps = DERIVATIVES[activation]
    if jumps:
        return (np.abs(a) <= a_error).astype(float)
    if lipschitz == 0.0:
        return np.zeros_like(a)
    return lipschitz * a_error + 4 * EPS


def affine_error(h: np.ndarray, W: np.ndarray, b: np.ndarray, bias_terms: int = 1) -> np.ndarray:
    """Bound on how far two correct evaluations of h Wᵀ + b can differ, elementwise; b may be the sum of
    bias_terms biases (|b| their summed magnitudes), each one more addition."""
    n = W.shape[1] + bias_terms
    return 2 * gamma(n) * (np.abs(h) @ np.abs(W).T + np.abs(b)) + n * TINY


def safe_log(values):
    """log without warnings: −inf at 0 and NaN below, so a wrong value fails its assertion instead
    of crashing the spec."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(values)


def log_norm(v: np.ndarray) -> float:
    """log ||v||, −inf for a zero vector; never overflows for finite float64 v."""
    scale = np.max(np.abs(v)) if np.size(v) else 0.0
    if scale == 0.0:
        return -np.inf
    return float(np.log(scale) + np.log(np.linalg.norm(v / scale)))


def step_slack(n: int) -> float:
    """Log-scale rounding slack for one backward step through an n × n (or smaller) Jacobian J,
    relative to σ_max(J)·||g||.  A computed Jᵀg is off by at most γ_n √n σ_max(J) ||g|| in norm,
    and an SVD's singular values by a few n·eps·σ_max(J); 4(n² + 4)·eps covers both with room for
    σ' rounding.  Relative to σ_min(J)·||g|| the slack is κ(J) times larger."""
    return 4 * (n * n + 4) * EPS


def backward_bounds(jacobians) -> list[tuple[float, float, float, float]]:
    """Products of singular values a backward pass is bounded by, from the output back.

    Entry i covers J_L … J_(L−i): (Σ log σ_max, Σ log σ_min, slack for the first, slack for the second),
    so ||g_L|| e^(Σ log σ_min) ≤ ||J_(L−i)ᵀ ⋯ J_Lᵀ g_L|| ≤ ||g_L|| e^(Σ log σ_max) (the lower bound needs
    no more outputs than inputs).  A zero singular value gives −inf.
    """
    bounds, upper, lower, slack_upper, slack_lower = [], 0.0, 0.0, 0.0, 0.0
    for J in reversed(list(jacobians)):
        s = np.linalg.svd(J, compute_uv=False)
        upper += safe_log(s[0])
        lower += safe_log(s[-1])
        slack_upper += step_slack(max(J.shape))
        slack_lower += step_slack(max(J.shape)) * (s[0] / s[-1] if s[-1] > 0 else 1.0)
        bounds.append((float(upper), float(lower), slack_upper, slack_lower))
    return bounds


def log_spectral_norm(M: np.ndarray) -> float:
    """log ||M||_2, −inf for a zero matrix; never overflows for finite float64 M."""
    scale = np.max(np.abs(M)) if np.size(M) else 0.0
    return -np.inf if scale == 0 else float(np.log(scale) + np.log(np.linalg.norm(M / scale, 2)))
