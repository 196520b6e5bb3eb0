"""Residual networks the spec feeds to implementations (S14, P13–P15), and the spec's own
forward pass, rounding bounds and branch-Jacobian norms for them (independent of reference/).

A residual MLP of width d: h_0 = x, z_l = h_{l-1} W1ᵀ + b1, u_l = σ(z_l),
F_l = u_l W2ᵀ + b2, h_l = h_{l-1} + α_l F_l, with W1 (m, d), W2 (d, m).  Each family is a frozen
dataclass whose repr rebuilds it; ``build()`` gives a ResidualNet of arrays.

Rounding, for every evaluation order (the argument of spec_tests/maths.py's docstring, block by
block): one block's gradient step g_{l-1} = g_l + α(σ'(z_l) ⊙ (g_l W2))W1 — or (I + αW2 diag(σ')W1)ᵀ g_l
with the Jacobian formed first — meets at most d + m + 4 roundings per monomial (the sums over d and
m, the products with α, σ', and the skip's addition), so with the chain in absolute values
A_{l-1} = A_l + |α|((A_l|W2|) ⊙ |σ'|)|W1| and D_l for the uncertainty s_l of σ'(z_l),

    |ĝ_l − ∂L/∂h_l| ≤ E_l = D_l + γ_{M_l}(A_l + D_l),    M_l = Σ_{k>l} (d + m_k + 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st

from . import maths
from .networks import random_orthogonal
from .spread import log_uniform, spread_integers, uniform, uniform_choice

INITS = ("plain", "scaled", "rezero", "fixup")


class ResidualNet(NamedTuple):
    x: np.ndarray  # (batch, d)
    branches: list  # [(W1 (m, d), b1 (m,), W2 (d, m), b2 (d,))]
    alphas: list  # [α_l], floats
    activation: str
    grad_output: np.ndarray  # (batch, d)

    @property
    def depth(self) -> int:
        return len(self.branches)

    def args(self) -> tuple:
        return self.x, self.branches, self.alphas, self.activation

    def single(self, example: int = 0) -> tuple:
        return self.x[example], self.branches, self.alphas, self.activation


@dataclass(frozen=True)
class RandomResidualNetwork:
    """Branches W1 ~ N(0, s²/d), W2 ~ N(0, s²/m), biases N(0, 0.5²), initialised by `init`:
    plain α_l = alpha; scaled α_l = alpha/L; rezero α_l = 0 (ReZero, SkipInit); fixup W2 = 0, b2 = 0."""

    seed: int
    width: int
    hidden: int
    depth: int
    activation: str
    init: str = "plain"
    alpha: float = 1.0
    weight_scale: float = 1.0
    batch: int = 1

    def build(self) -> ResidualNet:
        rng = np.random.default_rng(self.seed)
        d, m, s = self.width, self.hidden, self.weight_scale
        branches = []
        for _ in range(self.depth):
            W1, b1 = s / np.sqrt(d) * rng.standard_normal((m, d)), 0.5 * rng.standard_normal(m)
            W2, b2 = s / np.sqrt(m) * rng.standard_normal((d, m)), 0.5 * rng.standard_normal(d)
            if self.init == "fixup":
                W2, b2 = np.zeros((d, m)), np.zeros(d)
            branches.append((W1, b1, W2, b2))
        alpha = {"plain": self.alpha, "scaled": self.alpha / self.depth, "rezero": 0.0, "fixup": self.alpha}[self.init]
        x, g = rng.standard_normal((self.batch, d)), rng.standard_normal((self.batch, d))
        return ResidualNet(x, branches, [alpha] * self.depth, self.activation, g)


@dataclass(frozen=True)
class AlignedResidualNetwork:
    """Linear branches sharing one basis: W1 = Q[:m] (orthonormal rows q_0 … q_{m-1}), W2 = W1ᵀ diag(λ_l), so
    J_{F_l} = Σ_i λ_{l,i} q_i q_iᵀ, all blocks commuting.  λ_{l,0} = sign·c_l has the largest magnitude
    (c_l drawn in [c_low, c_high]), the others |λ| < c_l; the output gradient is along q_0.  So
    ∂L/∂h_0 = ∏_l (1 + α λ_{l,0}) ∂L/∂h_L: the product bounds of S14a are attained (sign +1: the upper one;
    sign −1 with every αc_l < 1: the lower one)."""

    seed: int
    width: int
    hidden: int
    depth: int
    sign: int
    c_low: float
    c_high: float
    alpha: float = 1.0

    def top(self) -> np.ndarray:
        """λ_{l,0}, l = 1..L."""
        rng = np.random.default_rng([self.seed, 1])
        return self.sign * rng.uniform(self.c_low, self.c_high, self.depth)

    def build(self) -> ResidualNet:
        rng = np.random.default_rng([self.seed, 2])
        d, m = self.width, self.hidden
        Q = random_orthogonal(rng, d)
        W1 = Q[:m].copy()
        branches = []
        for c in self.top():
            others = abs(c) * rng.uniform(-1, 1, m - 1) * 0.9
            lam = np.concatenate([[c], others])
            branches.append((W1.copy(), rng.standard_normal(m), W1.T * lam, rng.standard_normal(d)))
        x = rng.standard_normal((1, d))
        return ResidualNet(x, branches, [self.alpha] * self.depth, "linear", 3.0 * W1[:1].copy())


# -- strategies ------------------------------------------------------------------------------------

seeds = st.integers(0, 2**32 - 1)


@st.composite
def random_residual_networks(draw, inits=INITS, max_depth: int = 8, max_batch: int = 3, activations=None):
    init = draw(uniform_choice(inits), label="init")
    return RandomResidualNetwork(
        seed=draw(seeds, label="seed"),
        width=draw(spread_integers(1, 6), label="width"),
        hidden=draw(spread_integers(1, 6), label="hidden"),
        depth=draw(spread_integers(1, max_depth), label="depth"),
        activation=draw(uniform_choice(activations or maths.DERIVATIVES), label="activation"),
        init=init,
        alpha=draw(uniform(-1.5, 1.5), label="alpha"),
        weight_scale=draw(log_uniform(0.1, 3.0), label="weight_scale"),
        batch=draw(spread_integers(1, max_batch), label="batch"),
    )


@st.composite
def aligned_residual_networks(draw, sign: int, max_depth: int = 30, c_high: float = 0.95):
    width = draw(spread_integers(1, 6), label="width")
    c_low = draw(uniform(0.01, c_high), label="c_low")
    return AlignedResidualNetwork(
        seed=draw(seeds, label="seed"),
        width=width,
        hidden=draw(spread_integers(1, width), label="hidden"),
        depth=draw(spread_integers(1, max_depth), label="depth"),
        sign=sign,
        c_low=c_low,
        c_high=draw(uniform(c_low, c_high), label="c_high"),
    )


# -- the spec's own forward pass and rounding bounds --------------------------------------------------


class ResidualForwardBounds(NamedTuple):
    """The spec's forward pass and how far any correct float64 evaluation may be from the exact one, to first
    order, elementwise: z[k], u[k] of block k + 1 with z_error, u_error; hidden[l] = h_l with hidden_error."""

    z: list
    u: list
    z_error: list
    u_error: list
    hidden: list
    hidden_error: list


def residual_forward_bounds(x, branches, alphas, activation: str) -> ResidualForwardBounds:
    """Δz_l = γ_{d+1}(|h||W1|ᵀ + |b1|) + Λ_{l-1}|W1|ᵀ; u error by σ's slope near z plus σ's rounding;
    F error γ_{m+1}(|u||W2|ᵀ + |b2|) + Δu|W2|ᵀ; Λ_l = Λ_{l-1} + |α|ΔF + γ_2(|h_{l-1}| + |αF|)."""
    h = np.asarray(x, dtype=float)
    out = ResidualForwardBounds([], [], [], [], [h], [np.zeros_like(h)])
    for (W1, b1, W2, b2), alpha in zip(branches, alphas):
        d, m = W1.shape[1], W1.shape[0]
        z = h @ W1.T + b1
        z_error = (maths.gamma(d + 1) * (np.abs(h) @ np.abs(W1).T + np.abs(b1))
                   + out.hidden_error[-1] @ np.abs(W1).T + (d + 1) * maths.TINY)
        u, u_error = maths._propagate_activation(activation, z, z_error)
        F = u @ W2.T + b2
        F_error = maths.gamma(m + 1) * (np.abs(u) @ np.abs(W2).T + np.abs(b2)) + u_error @ np.abs(W2).T + (m + 1) * maths.TINY
        h_error = out.hidden_error[-1] + abs(alpha) * F_error + maths.gamma(2) * (np.abs(h) + np.abs(alpha * F)) + maths.TINY
        h = h + alpha * F
        for field, value in (("z", z), ("u", u), ("z_error", z_error), ("u_error", u_error), ("hidden", h),
                             ("hidden_error", h_error)):
            getattr(out, field).append(value)
    return out


class ResidualBackwardBounds(NamedTuple):
    """slope[k] = |σ'(z_{k+1})| and slope_error[k] ≥ its uncertainty; magnitude[l] = A_l, error[l] = E_l ≥ |ĝ_l − g_l|."""

    slope: list
    slope_error: list
    magnitude: list
    error: list


def residual_backward_bounds(branches, alphas, forward: ResidualForwardBounds, activation: str, grad_output):
    L = len(branches)
    slope = [np.abs(maths.sigma_prime(activation, z)) for z in forward.z]
    s = [maths.sigma_prime_uncertainty(activation, z, 2 * e) for z, e in zip(forward.z, forward.z_error)]
    A, D, M = [None] * (L + 1), [None] * (L + 1), [0] * (L + 1)
    A[L], D[L] = np.abs(grad_output), np.zeros_like(grad_output, dtype=float)
    for l in range(L, 0, -1):
        W1, _, W2, _ = (np.abs(p) for p in branches[l - 1])
        a = abs(alphas[l - 1])
        A[l - 1] = A[l] + a * ((A[l] @ W2) * slope[l - 1]) @ W1
        D[l - 1] = D[l] + a * (((D[l] @ W2) * (slope[l - 1] + s[l - 1])) + (A[l] @ W2) * s[l - 1]) @ W1
        M[l - 1] = M[l] + W1.shape[1] + W1.shape[0] + 4
    error = [dd + maths.gamma(k) * (aa + dd) + k * maths.TINY for aa, dd, k in zip(A, D, M)]
    return ResidualBackwardBounds(slope, s, A, error)


def spec_branch_norms(net: ResidualNet, example: int = 0, forward: ResidualForwardBounds | None = None) -> list[float]:
    """For each block, an upper bound on ||α_l J_{F_l}||_2 for the J_{F_l} = W2 diag(σ'(z_l)) W1 of ANY correct forward
    pass at this example: the spec's own (z_l from its own forward pass; `forward` may pass it in when it was run on
    this example alone), widened by the uncertainty of σ' (|| |α||W2| diag(s) |W1| ||_F ≥ its spectral norm), the rounding of
    forming the product, and the SVD's accuracy (maths.step_slack)."""
    if forward is None:
        forward = residual_forward_bounds(net.x[example:example + 1], net.branches, net.alphas, net.activation)
        example = 0
    jacobians, widen = [], []
    for (W1, _, W2, _), alpha, z, z_err in zip(net.branches, net.alphas, forward.z, forward.z_error):
        slope = maths.sigma_prime(net.activation, z[example])
        s = maths.sigma_prime_uncertainty(net.activation, z[example], 2 * z_err[example])
        jacobians.append(alpha * (W2 * slope) @ W1)
        # σ' known to within s, and forming α W2 diag(σ') W1 rounds each entry by γ_(m+2) of its magnitude
        magnitude = abs(alpha) * (np.abs(W2) * (np.abs(slope) + s)) @ np.abs(W1)
        widen.append(abs(alpha) * np.linalg.norm((np.abs(W2) * s) @ np.abs(W1))
                     + maths.gamma(W1.shape[0] + 2) * np.linalg.norm(magnitude))
    d = jacobians[0].shape[0]
    top = np.linalg.svd(np.array(jacobians), compute_uv=False)[:, 0]  # one batched SVD for all blocks
    return [float(t * (1 + maths.step_slack(d)) + w) for t, w in zip(top, widen)]
