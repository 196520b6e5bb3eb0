"""LayerNorm cases the spec feeds to implementations, the spec's own LayerNorm maths, and its tolerances.

The spec's definitions (independent of reference/) accept complex arrays, so the complex step
(spec_tests/definitions.py) differentiates them:

    μ = mean(x),  var = mean((x − μ)²),  s = √(var + ε),  x̂ = (x − μ)/s,  y = g ⊙ x̂ + b,
    J = diag(g) · (1/s) · (P − x̂ x̂ᵀ/d),  P = I − 11ᵀ/d.

Tolerances (``Rounding``) bound how far two correct float64 evaluations of x̂ and s may differ:
centring costs γ_d·max|x| absolutely, the variance γ_(d+3) relatively plus what the centring error
does to it, so x̂ is known to e_x̂ = e_c/s + |x̂|·(rel_s + 2u) entrywise.  Every claim's tolerance is
built from these, from the spec's own x (never from the implementation's other outputs).

As in spec_tests/networks.py, a case is a frozen dataclass whose repr rebuilds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st

from spec_tests.maths import EPS, UNIT_ROUNDOFF, gamma
from spec_tests.networks import seeds
from spec_tests.spread import log_uniform, spread_integers, uniform, uniform_choice

GAINS = ("random", "ones", "constant")


class LayerNormInput(NamedTuple):
    x: np.ndarray  # (…, d)
    gain: np.ndarray  # (d,)
    bias: np.ndarray  # (d,)
    eps: float
    grad_output: np.ndarray  # the shape of x

    @property
    def features(self) -> int:
        return self.x.shape[-1]

    def single(self, example: int = 0) -> "LayerNormInput":
        """One example (d,), as layer_norm_jacobian takes it."""
        flat = self.x.reshape(-1, self.features)
        return self._replace(x=flat[example], grad_output=self.grad_output.reshape(-1, self.features)[example])


@dataclass(frozen=True)
class LayerNormCase:
    """x = offset + spread·z (z standard normal, shape batch + (features,)); gain 'random' N(0, 1) entries,
    'ones', or 'constant' γ·1 with γ ~ U(−2, 2); bias and grad_output N(0, 1)."""

    seed: int
    features: int
    batch: tuple = ()
    spread: float = 1.0
    offset: float = 0.0
    eps: float = 1e-5
    gain: str = "random"

    def build(self) -> LayerNormInput:
        rng = np.random.default_rng(self.seed)
        shape = tuple(self.batch) + (self.features,)
        x = self.offset + self.spread * rng.standard_normal(shape)
        if self.gain == "ones":
            gain = np.ones(self.features)
        elif self.gain == "constant":
            gain = np.full(self.features, rng.uniform(-2, 2))
        else:
            gain = rng.standard_normal(self.features)
        bias = rng.standard_normal(self.features)
        return LayerNormInput(x, gain, bias, float(self.eps), rng.standard_normal(shape))


WIDE_SHARE = 0.3  # of the draws, d from max_features + 1 to wide_features (the others d ≤ max_features)


@st.composite
def layer_norm_cases(draw, min_features: int = 1, max_features: int = 8, batched: bool = True,
                     gains=GAINS, zero_eps: bool = True, wide_features: int = 64) -> LayerNormCase:
    """d is mostly small (min_features to max_features, each about equally often), but 30% of the draws
    have a wide layer, d from max_features + 1 to wide_features (each about equally often; none if
    wide_features ≤ max_features): an implementation that changes its formula past some width (say
    the unbiased variance only for d ≥ 9) is drawn on both sides of it.  Shrinks towards small d.

    The spread ranges from 10⁻⁴·√ε to 10⁴·√ε (log-uniform), so every regime of s = √(var + ε) is
    drawn: near-constant inputs (s ≈ √ε, where ‖J‖ ≈ max|g|/√ε is near its bound), the crossover, and
    spreads that dwarf ε.  A quarter of the draws (if zero_eps) have ε = 0 with a spread in [1e-6, 1e3]
    (and d ≥ 2: a constant example has no x̂ without ε).  The offset is up to 100 times the scale."""
    eps_zero = zero_eps and draw(uniform(0, 1)) < 0.25
    wide = wide_features > max_features and draw(uniform(0, 1)) >= 1 - WIDE_SHARE  # u = 0 (the shrink target): narrow
    if wide:
        features = draw(spread_integers(max_features + 1, wide_features))
    else:
        features = draw(spread_integers(max(min_features, 2 if eps_zero else 1), max_features))
    if eps_zero:
        eps, spread = 0.0, draw(log_uniform(1e-6, 1e3))
    else:
        eps = draw(log_uniform(1e-12, 1e-1))
        spread = np.sqrt(eps) * draw(log_uniform(1e-4, 1e4))
    scale = spread + np.sqrt(eps)
    offset = draw(uniform(-1, 1)) * scale * draw(log_uniform(1e-2, 1e2))
    batch = draw(uniform_choice([(), (2,), (2, 3)])) if batched else ()
    return LayerNormCase(seed=draw(seeds), features=features, batch=batch, spread=_short(spread),
                         offset=_short(offset), eps=_short(eps), gain=draw(uniform_choice(gains)))


def _short(value) -> float:
    """value to 6 significant digits: the case's repr (which rebuilds it) stays short enough for a report line."""
    return float(f"{float(value):.6g}")


# -- the spec's own definitions ---------------------------------------------------------------


def normalise(x, eps: float):
    """(x̂, s) over the last axis; complex-safe (for the complex step)."""
    centred = x - x.mean(axis=-1, keepdims=True)
    s = np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)
    return centred / s, s


def forward(x, gain, bias, eps: float):
    """y = g ⊙ (x − μ)/√(var + ε) + b (biased variance, ε inside the root)."""
    x_hat, _ = normalise(x, eps)
    return gain * x_hat + bias


def jacobian(x, gain, eps: float) -> np.ndarray:
    """diag(g) · (1/s) · (P − x̂ x̂ᵀ/d) at one example x (d,)."""
    d = x.shape[-1]
    x_hat, s = normalise(x, eps)
    return gain[:, None] * (np.eye(d) - 1.0 / d - np.outer(x_hat, x_hat) / d) / s


def singular_values(x, eps: float) -> np.ndarray:
    """The singular values of J at gain 1, descending: 1/s (d − 2 times), ε/s³ (along x̂), 0 (along 1).
    For d = 2 only ε/s³ and 0, for d = 1 only 0 (J = 0)."""
    d = x.shape[-1]
    _, s = normalise(x, eps)
    s = float(s[0]) if np.ndim(s) else float(s)
    values = [1 / s] * max(d - 2, 0) + ([eps / s**3] if d >= 2 else []) + [0.0]
    return np.array(sorted(values, reverse=True))


# -- how far correct evaluations may differ ----------------------------------------------------


class Rounding(NamedTuple):
    x_hat: np.ndarray  # the spec's x̂ (…, d)
    s: np.ndarray  # the spec's s (…, 1)
    x_hat_error: np.ndarray  # entrywise bound on |x̂ − x̂_exact| for any correct evaluation
    s_relative: np.ndarray  # bound on |s − s_exact|/s (…, 1)


def rounding(x: np.ndarray, eps: float) -> Rounding:
    """Centring: |μ̂ − μ| ≤ γ_d·max|x|, so e_c = 2γ_d·max|x| + u|x − μ| per entry.  Variance: γ_(d+3) relative
    plus 2·mean|x − μ|·e_c (what the centring error does to Σ(x − μ)²/d), over var + ε; s: half that plus
    2u.  x̂: e_c/s + |x̂|·(rel_s + 2u).  Doubled, for the implementation's evaluation and the spec's."""
    d = x.shape[-1]
    x_hat, s = normalise(x, eps)
    centred = x - x.mean(axis=-1, keepdims=True)
    size = np.max(np.abs(x), axis=-1, keepdims=True)
    e_c = 2 * gamma(d) * size + UNIT_ROUNDOFF * np.abs(centred)
    e_c_max = np.max(e_c, axis=-1, keepdims=True)
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    var_error = gamma(d + 3) * variance + 2 * np.mean(np.abs(centred), axis=-1, keepdims=True) * e_c_max + e_c_max**2
    s_relative = 0.5 * var_error / (variance + eps) + 2 * UNIT_ROUNDOFF
    x_hat_error = e_c / s + np.abs(x_hat) * (s_relative + 2 * UNIT_ROUNDOFF)
    return Rounding(x_hat, s, 2 * x_hat_error, 2 * s_relative)


def forward_tolerance(x, gain, bias, eps: float) -> np.ndarray:
    """|y − y_exact| ≤ |g|·e_x̂ + 2u(|g ⊙ x̂| + |b|), for each of two evaluations."""
    r = rounding(x, eps)
    return 2 * (np.abs(gain) * r.x_hat_error + 2 * UNIT_ROUNDOFF * (np.abs(gain * r.x_hat) + np.abs(bias)))


def jacobian_tolerance(x, gain, eps: float) -> np.ndarray:
    """Entrywise: |g_i|/s · [(rel_s + γ_(2d+4))·(|δ_ij| + 1/d + |x̂_i x̂_j|/d) + (e_x̂_i |x̂_j| + |x̂_i| e_x̂_j + e_x̂_i e_x̂_j)/d],
    for two evaluations (formula or autograd's columns, each a few roundings per term)."""
    d = x.shape[-1]
    r = rounding(x, eps)
    x_hat, e = r.x_hat, r.x_hat_error
    terms = np.eye(d) + 1.0 / d + np.abs(np.outer(x_hat, x_hat)) / d
    spread = (np.outer(e, np.abs(x_hat)) + np.outer(np.abs(x_hat), e) + np.outer(e, e)) / d
    return 2 * np.abs(gain)[:, None] / r.s * ((r.s_relative + gamma(2 * d + 4)) * terms + spread)


def backward_tolerances(x, gain, eps: float, grad_output) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grad_x, grad_gain, grad_bias) tolerances: with ĝ = g ⊙ grad_output, grad_x = (1/s)(ĝ − mean ĝ − x̂·mean(ĝ x̂))
    is within (1/s)[(rel_s + γ_(2d+4))(|ĝ| + mean|ĝ| + |x̂| mean|ĝ x̂|) + e_x̂·mean|ĝ x̂| + |x̂|·mean(|ĝ| e_x̂)];
    the sums over the batch (n examples) within Σ|grad_output|·(e_x̂ + γ_n|x̂|) and γ_n Σ|grad_output|."""
    d = x.shape[-1]
    r = rounding(x, eps)
    x_hat, e = r.x_hat, r.x_hat_error
    g_hat = np.abs(gain * grad_output)
    mean = lambda a: a.mean(axis=-1, keepdims=True)
    grad_x = ((r.s_relative + gamma(2 * d + 4)) * (g_hat + mean(g_hat) + np.abs(x_hat) * mean(g_hat * np.abs(x_hat)))
              + e * mean(g_hat * np.abs(x_hat)) + np.abs(x_hat) * mean(g_hat * e)) / r.s
    n = int(np.prod(x.shape[:-1], dtype=int))
    leading = tuple(range(x.ndim - 1))
    grad_gain = (np.abs(grad_output) * (e + gamma(n + 1) * np.abs(x_hat))).sum(axis=leading)
    grad_bias = gamma(n + 1) * np.abs(grad_output).sum(axis=leading)
    return 2 * grad_x + 4 * EPS * np.finfo(float).tiny, 2 * grad_gain, 2 * grad_bias
