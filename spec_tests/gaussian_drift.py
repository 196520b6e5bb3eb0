"""Exact distributional facts behind the statistical claims, and their failure probabilities.

For an n × n matrix W with i.i.d. N(0, s²/n) entries and any fixed v ≠ 0,
||Wᵀv||² / ||v||² ~ (s²/n) χ²_n, independently of v (rotation invariance).  In a
linear network the per-layer log growth of the backward gradient,

    X_l = log(||∂L/∂h_{l-1}|| / ||∂L/∂h_l||) = log s + ½ log(χ²_n / n),

is therefore i.i.d. across layers, with an explicit log moment generating function

    Λ(λ) = log E[e^{λ (X − log s)}] = (λ/2) log(2/n) + lgamma(n/2 + λ/2) − lgamma(n/2),  λ > −n.

The Chernoff bound P(|mean of L terms − μ| ≥ t) ≤ e^{−L I(μ+t)} + e^{−L I(μ−t)},
with I the Legendre transform of Λ, is what the spec quotes as S9a's failure probability.
"""

from __future__ import annotations

import math

S9A_MARGIN = 0.3  # S9a accepts a mean per-layer log growth within μ ± this
S9A_FAILURE_PROBABILITY = 1e-9  # what S9a's designs allow a correct implementation, per network
S9A_DOWNWARD_WIDTHS = (4, 16)  # widths at which S9a's s = 1 part checks the downward drift

EULER_GAMMA = 0.5772156649015329


def digamma_half_integer(k2: int) -> float:
    """ψ(k2 / 2) for a positive integer k2, from the exact recurrences
    ψ(m) = −γ + Σ_{j<m} 1/j  and  ψ(m + ½) = −γ − 2 log 2 + Σ_{j=1..m} 2/(2j − 1)."""
    if k2 < 1:
        raise ValueError("k2 must be a positive integer")
    if k2 % 2 == 0:
        return -EULER_GAMMA + sum(1.0 / j for j in range(1, k2 // 2))
    m = (k2 - 1) // 2
    return -EULER_GAMMA - 2 * math.log(2) + sum(2.0 / (2 * j - 1) for j in range(1, m + 1))


def linear_gaussian_drift(s: float, n: int) -> float:
    """μ = E[X_l] = log s + ½(ψ(n/2) − log(n/2))."""
    return math.log(s) + 0.5 * (digamma_half_integer(n) - math.log(n / 2))


def _log_mgf(lam: float, n: int) -> float:
    return 0.5 * lam * math.log(2 / n) + math.lgamma(n / 2 + lam / 2) - math.lgamma(n / 2)


def _rate(x: float, n: int, sign: int) -> float:
    """sup over λ ≥ 0 of sign·λ·x − Λ(sign·λ), by golden-section search (the objective is concave)."""
    objective = lambda lam: lam * sign * x - _log_mgf(sign * lam, n)
    a, b = 0.0, (n - 1e-9) if sign < 0 else 50.0 * n
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(200):
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        if objective(c) > objective(d):
            b = d
        else:
            a = c
    return max(0.0, objective((a + b) / 2))


def linear_gaussian_failure_probability(n: int, depth: int, margin: float) -> float:
    """Chernoff bound on P(|(1/L) Σ X_l − μ| ≥ margin) for the linear Gaussian network."""
    mu = linear_gaussian_drift(1.0, n)
    upper = math.exp(-depth * _rate(mu + margin, n, +1))
    lower = math.exp(-depth * _rate(mu - margin, n, -1))
    return upper + lower


def linear_gaussian_interval_failure_probability(n: int, depth: int, below: float, above: float) -> float:
    """Chernoff bound on P((1/L) Σ X_l ∉ [μ − below, μ + above]) for the linear Gaussian network."""
    mu = linear_gaussian_drift(1.0, n)
    return math.exp(-depth * _rate(mu + above, n, +1)) + math.exp(-depth * _rate(mu - below, n, -1))


def downward_drift_depth(n: int, probability: float = S9A_FAILURE_PROBABILITY) -> int:
    """The least depth L at which, for s = 1, (1/L) Σ X_l lies within |μ|/2 of μ < 0 (so it is negative and
    its size within a factor 1.5 of |μ| ≈ 1/(2n)) but with probability at most `probability`."""
    half = abs(linear_gaussian_drift(1.0, n)) / 2
    low, high = 1, 1
    while linear_gaussian_interval_failure_probability(n, high, half, half) > probability:
        low, high = high, 2 * high
    while low < high:  # the bound falls with depth: bisect for the first depth that meets it
        middle = (low + high) // 2
        if linear_gaussian_interval_failure_probability(n, middle, half, half) > probability:
            low = middle + 1
        else:
            high = middle
    return high
