"""The spec's own definitions and rounding-error bounds (independent of reference/).

Tolerances come from the float64 unit roundoff u = eps/2 and the standard
forward-error bound for a length-n dot product (Higham, Accuracy and Stability
of Numerical Algorithms, 2nd ed., eq. 3.5):

    |fl(xᵀy) − xᵀy| ≤ γ_n |x|ᵀ|y|,    γ_n = n·u / (1 − n·u).

Two implementations that each meet it differ by at most 2γ_n |x|ᵀ|y|; that is the
tolerance of one step of the definitional claims (P1, P3, P4, P6, P7, P9, P10, P12).

Whole chains, in any evaluation order
-------------------------------------
A backward pass need not compute ∂L/∂h_{l−1} from its own ∂L/∂h_l in one step: it may
multiply whole Jacobian chains (J_L ⋯ J_{l+1})ᵀ g_L, sum the unrolled products
Σ_t J_{s+1}ᵀ ⋯ J_tᵀ g_t of a recurrence, or add in another order.  Every such algorithm
computes each entry as a sum of the same monomials — one entry of g times one entry of
each σ'(a_k) and W_k along a path — and each monomial meets at most m roundings: per
level k = l+1..L one multiplication by σ', one by W_k and at most d_k − 1 additions (and,
in a recurrence, one more addition for the output gradient added at each step), so

    m_l = Σ_{k>l} (d_k + 1)  (MLP),    m_t = (T − t)(H + 2)  (RNN, ∂L/∂h_t).

A monomial carried with m factors (1 + δ_i), |δ_i| ≤ u, is off by at most γ_m of itself
(Higham, Lemma 3.1), whatever the order; summing over the monomials in absolute value,

    |ĝ_l − ∂L/∂h_l| ≤ E_l = D_l + γ_{m_l} (A_l + D_l),

where A_l is the chain evaluated by the spec in absolute values,
A_{l−1} = (|σ'(a_l)| ⊙ A_l)|W_l| (+ |g_{l−1}| in a recurrence), and D_l covers the
derivatives themselves: each σ'(a_k) is evaluated at a rounded pre-activation and is
known to within s_k = sigma_prime_uncertainty(a_k, 2Δ_k), Δ_k the forward error of a_k
(mlp_forward_bounds, rnn_forward_bounds propagate it layer by layer and step by step), so
D_{l−1} = ((|σ'| + s_l) ⊙ D_l + s_l ⊙ A_l)|W_l| — the expansion of ∏(|σ'_k| + s_k) − ∏|σ'_k|
along the chain.  These are first-order bounds (products of two roundings are dropped).

A step check of P2 or P5 then compares two evaluations of ∂L/∂h_{l−1}, each within a
bound of the exact value: the implementation's (within E_{l−1}) and the spec's
(σ'(a_l) ⊙ ĝ_l) W_l from the implementation's own ĝ_l (within ε_δ|W_l| + γ_{d_l}(|δ| + ε_δ)|W_l|,
with ε_δ = s ⊙ (|ĝ_l| + E_l) + |σ'| ⊙ E_l + u|σ' ĝ_l| bounding the error of δ_l: delta_error,
matmul_error).  No exact value is needed: the tolerance is the sum of the two bounds, so
it covers every evaluation order, and it stays at γ_m·A — about 1e-14 of the gradient
for the spec's networks — so a relative error of 1e-8 stands out by about 10⁶.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .definitions import ANALYTIC, sigmoid

EPS = float(np.finfo(np.float64).eps)  # 2.22e-16
UNIT_ROUNDOFF = EPS / 2
TINY = float(np.finfo(np.float64).tiny)  # below this, subnormal rounding is absolute
SMALLEST_SUBNORMAL = float(np.finfo(np.float64).smallest_subnormal)  # 4.9e-324


def gamma(n: int) -> float:
    """γ_n = n·u / (1 − n·u), the relative error bound of an n-term dot product."""
    return n * UNIT_ROUNDOFF / (1 - n * UNIT_ROUNDOFF)


class Derivative(NamedTuple):
    function: Callable  # σ'
    lipschitz: float  # sup|σ''|, a Lipschitz constant of σ'
    jumps: bool  # σ' jumps at 0 (relu)
    bound: float  # sup|σ'|, a Lipschitz constant of σ


# σ itself is definitions.ANALYTIC
DERIVATIVES = {
    "linear": Derivative(np.ones_like, 0.0, False, 1.0),
    "tanh": Derivative(lambda a: 1 - np.tanh(a) ** 2, 4 / (3 * np.sqrt(3)), False, 1.0),
    "sigmoid": Derivative(lambda a: sigmoid(a) * (1 - sigmoid(a)), 1 / (6 * np.sqrt(3)), False, 0.25),
    "relu": Derivative(lambda a: (a > 0).astype(float), 0.0, True, 1.0),
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
    _, lipschitz, jumps, _ = DERIVATIVES[activation]
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


# -- first-order bounds for every evaluation order (the module docstring derives them) ----------


class ForwardBounds(NamedTuple):
    """The spec's own forward pass, and how far ANY correct float64 evaluation of it may be from the
    exact values, elementwise, to first order: |â_k − a_k| ≤ pre_error[k], |ĥ_k − h_k| ≤ hidden_error[k].
    pre[k − 1] is a_k (k = 1..L, or t = 1..T); hidden[k] is h_k, hidden[0] the given input, exact."""

    pre: list
    hidden: list
    pre_error: list
    hidden_error: list


def _propagate_activation(activation: str, a, a_error):
    """h = σ(a) and its error bound: sup|σ'| within a_error of a, times a_error, plus σ's own rounding."""
    h = sigma(activation, a)
    derivative = DERIVATIVES[activation]
    slope = np.minimum(np.abs(derivative.function(a)) + sigma_prime_uncertainty(activation, a, a_error), derivative.bound)
    return h, slope * a_error + sigma_error(activation, h)


def mlp_forward_bounds(x, weights, biases, activation: str) -> ForwardBounds:
    """a_l = h_{l−1} W_lᵀ + b_l, h_l = σ(a_l), with
        Δ_l = γ_{d_{l−1}+1} (|h_{l−1}| |W_l|ᵀ + |b_l|) + Λ_{l−1} |W_l|ᵀ,
        Λ_l = sup|σ'| near a_l · Δ_l + σ's rounding            (Λ_0 = 0: x is given exactly).
    """
    h = np.asarray(x, dtype=float)
    bounds = ForwardBounds([], [h], [], [np.zeros_like(h)])
    for W, b in zip(weights, biases):
        W, b = np.asarray(W, dtype=float), np.asarray(b, dtype=float)
        n = W.shape[1] + 1
        a = h @ W.T + b
        a_error = gamma(n) * (np.abs(h) @ np.abs(W).T + np.abs(b)) + bounds.hidden_error[-1] @ np.abs(W).T + n * TINY
        h, h_error = _propagate_activation(activation, a, a_error)
        bounds.pre.append(a)
        bounds.pre_error.append(a_error)
        bounds.hidden.append(h)
        bounds.hidden_error.append(h_error)
    return bounds


def rnn_forward_bounds(x, h0, W_ih, W_hh, b_ih, b_hh, activation: str) -> ForwardBounds:
    """The same for a_t = x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh (one affine map of [x_t, h_{t−1}] with two
    biases: n = input + hidden + 2 roundings), the error of h_{t−1} carried through W_hh."""
    n = W_ih.shape[1] + W_hh.shape[1] + 2
    h = np.asarray(h0, dtype=float)
    bounds = ForwardBounds([], [h], [], [np.zeros_like(h)])
    for x_t in x:
        a = x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh
        magnitude = np.abs(x_t) @ np.abs(W_ih).T + np.abs(b_ih) + np.abs(h) @ np.abs(W_hh).T + np.abs(b_hh)
        a_error = gamma(n) * magnitude + bounds.hidden_error[-1] @ np.abs(W_hh).T + n * TINY
        h, h_error = _propagate_activation(activation, a, a_error)
        bounds.pre.append(a)
        bounds.pre_error.append(a_error)
        bounds.hidden.append(h)
        bounds.hidden_error.append(h_error)
    return bounds


class BackwardBounds(NamedTuple):
    """For layer (or step) k, index k − 1: slope |σ'(â_k)| and slope_error u_k, which bounds |σ'(â) − σ'(â_k)|
    for any â a correct forward pass computes.  For state l, index l: magnitude A_l, the chain in absolute
    values, and error E_l ≥ |ĝ_l − ∂L/∂h_l| for every correct evaluation order."""

    slope: list
    slope_error: list
    magnitude: list
    error: list


def _backward_bounds(forward: ForwardBounds, activation, steps, W, grad_terms, extra_roundings) -> BackwardBounds:
    slope = [np.abs(sigma_prime(activation, a)) for a in forward.pre]
    u = [sigma_prime_uncertainty(activation, a, 2 * e) for a, e in zip(forward.pre, forward.pre_error)]
    W = [np.abs(np.asarray(w, dtype=float)) for w in W]
    A, D, m = [None] * (steps + 1), [None] * (steps + 1), [0] * (steps + 1)
    A[steps] = np.abs(grad_terms[steps])
    D[steps] = np.zeros_like(A[steps])
    for l in range(steps, 0, -1):
        A[l - 1] = (slope[l - 1] * A[l]) @ W[l - 1] + np.abs(grad_terms[l - 1])
        D[l - 1] = ((slope[l - 1] + u[l - 1]) * D[l] + u[l - 1] * A[l]) @ W[l - 1]
        m[l - 1] = m[l] + W[l - 1].shape[0] + extra_roundings
    error = [d + gamma(k) * (a + d) + k * TINY for a, d, k in zip(A, D, m)]
    return BackwardBounds(slope, u, A, error)


def mlp_backward_bounds(weights, forward: ForwardBounds, activation: str, grad_output) -> BackwardBounds:
    """A_L = |g_L|, A_{l−1} = (|σ'(a_l)| ⊙ A_l)|W_l|; m = Σ_{k>l} (d_k + 1) roundings (module docstring)."""
    L = len(weights)
    zero = [np.zeros(np.shape(h)) for h in forward.hidden[:L]]
    return _backward_bounds(forward, activation, L, weights, zero + [grad_output], extra_roundings=1)


def rnn_backward_bounds(W_hh, forward: ForwardBounds, activation: str, grad_output) -> BackwardBounds:
    """For the total gradients of L = Σ_t ⟨g_t, h_t⟩: A_T = |g_T|, A_{t−1} = |g_{t−1}| + (|σ'(a_t)| ⊙ A_t)|W_hh|
    (no g_0); m = (T − t)(H + 2) roundings, whether by Horner's rule or as a sum of unrolled products."""
    T = len(grad_output)
    terms = [np.zeros_like(grad_output[0])] + list(grad_output)
    return _backward_bounds(forward, activation, T, [W_hh] * T, terms, extra_roundings=2)


def delta_error(slope, slope_error, g, g_error):
    """ε_δ ≥ |δ̂ − δ| for δ = σ'(a) ⊙ g evaluated by anyone from a ĝ within g_error of the exact g."""
    return slope_error * (np.abs(g) + g_error) + slope * g_error + UNIT_ROUNDOFF * slope * np.abs(g)


def matmul_error(left, left_error, right, right_error, n: int):
    """Bound on |fl(L̃ R̃) − L R| for any L̃, R̃ within left_error, right_error of L, R (entrywise), the
    product summing n terms in any order: the first-order error of an inexact product."""
    left_error = np.broadcast_to(left_error, np.shape(left))
    right_error = np.broadcast_to(right_error, np.shape(right))
    L, R = np.abs(left) + left_error, np.abs(right) + right_error
    return left_error @ R + np.abs(left) @ right_error + gamma(n) * (L @ R)


def recurrent_normwise_scale(x, h0, c0, W_ih, W_hh, cotangent_norm: float) -> float:
    """||c||·(1 + ||W_hh||)^T·(1 + ||W_ih||)·(1 + |state|): the normwise scale that bounds a recurrent backward
    pass's rounding where saturated gates make σ' known only to a few eps absolutely — every derivative
    factor is at most 1, every step multiplies by at most 1 + ||W_hh|| (an LSTM's cell may grow by one per step)."""
    steps = np.shape(x)[0]
    state = 1 + np.max(np.abs(x)) + np.max(np.abs(h0)) + (0 if c0 is None else np.max(np.abs(c0)) + steps)
    return float(cotangent_norm * (1 + np.linalg.norm(W_hh, 2)) ** steps * (1 + np.linalg.norm(W_ih, 2)) * state)


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
    """Accuracy of singular values computed by LAPACK's SVD of a matrix with at most n rows or
    columns, relative to the largest: |σ̂_i − σ_i| ≤ p(n)·eps·σ_max with p(n) a modest multiple of
    n (the reduction to bidiagonal form is backward stable); 4(n² + 4)·eps is generous for n ≤ 16.
    Also a log-scale slack for one step compared with its exact singular values."""
    return 4 * (n * n + 4) * EPS


class ChainBound(NamedTuple):
    """Bounds for ||J_(L−i)ᵀ ⋯ J_Lᵀ g_L|| / ||g_L|| as the backward pass of any correct implementation
    computes it (see backward_bounds)."""

    log_upper: float  # Σ log of an upper bound on σ_max(J_k)
    log_lower: float  # Σ log of a lower bound on σ_min(J_k); −inf where a factor may be singular
    slack_upper: float  # log-scale rounding slack for the first
    slack_lower: float  # and for the second (inf where rounding may swallow the lower bound)


def backward_bounds(jacobians, uncertainties=None) -> list[ChainBound]:
    """Products of singular values a backward pass is bounded by, from the output back.

    Entry i covers J_L … J_(L−i):

        ||g_L|| e^(log_lower − slack_lower) ≤ ||ĝ_(L−i−1)|| ≤ ||g_L|| e^(log_upper + slack_upper)

    for the gradient ĝ any correct implementation computes (the lower bound needs no layer with
    more outputs than inputs, d_k ≤ d_(k−1); a layer with more gives σ_min = 0, log −inf).

    jacobians are the spec's own J_k; uncertainties, when given, bound elementwise how far the
    Jacobian an implementation effectively uses may be from them (σ' at its own rounded
    pre-activations: spec_tests/test_depth.py's spec_jacobians computes both).  Each factor is
    widened by that bound's norm (||B_k||_F ≥ ||B_k||_2) and by the accuracy of the spec's SVD
    (step_slack).

    Rounding, for every evaluation order: each entry of the computed gradient is a sum of
    monomials, one entry of g_L times one entry of σ'(a_k) and of W_k per layer; a monomial meets
    at most m = Σ_k (d_k + 2) roundings (d_k − 1 additions, a product with W_k and with σ'(a_k),
    and one more addition for a term summed in a recurrence), so |ĝ − g| ≤ γ_m (|J_(L−i)|ᵀ ⋯ |J_L|ᵀ)|g_L|
    (Higham, Lemma 3.1, monomial by monomial), whose norm is at most γ_m ∏ || |J_k| + B_k ||_F ||g_L||
    (log_error; Frobenius norms bound the spectral ones and cost no SVD).
    The slacks are that error relative to the upper and lower products; log sums add k·eps.
    """
    return [bound for bound, _ in backward_bounds_and_errors(jacobians, uncertainties)]


class ChainStep(NamedTuple):
    bound: ChainBound  # as backward_bounds gives it
    log_error: float  # log of γ_m ∏ || |J_k| + B_k ||_F: a bound on ||ĝ − g|| / ||g_L||, every evaluation order
    layer_log_upper: float  # log of the widened σ_max of this entry's own layer J_(L−i)
    layer_log_lower: float  # and of its widened σ_min (−inf where it may be 0)


def backward_bounds_and_errors(jacobians, uncertainties=None, layers: bool = False) -> list:
    """backward_bounds, each entry as (bound, log_error) with its normwise rounding bound (g exact for the
    Jacobians the implementation uses); with layers=True each entry is a ChainStep, which adds the entry's
    own layer's factors."""
    jacobians = list(jacobians)
    uncertainties = [None] * len(jacobians) if uncertainties is None else list(uncertainties)
    bounds, upper, lower, log_abs, m = [], 0.0, 0.0, 0.0, 0
    for k, (J, B) in enumerate(zip(reversed(jacobians), reversed(uncertainties)), start=1):
        J = np.asarray(J, dtype=float)
        B = np.zeros_like(J) if B is None else np.asarray(B, dtype=float)
        s = np.linalg.svd(J, compute_uv=False)
        svd_error = step_slack(max(J.shape)) * s[0]
        widen = svd_error + float(np.linalg.norm(B))  # ||B||_2 ≤ ||B||_F
        smallest = s[J.shape[0] - 1] if J.shape[0] <= J.shape[1] else 0.0
        layer_upper, layer_lower = float(safe_log(s[0] + widen)), float(safe_log(max(smallest - widen, 0.0)))
        upper += layer_upper
        lower += layer_lower
        log_abs += float(safe_log(np.linalg.norm(np.abs(J) + B) * (1 + 4 * EPS)))  # || |J| + B ||_2 ≤ ||·||_F
        m += J.shape[0] + 2
        log_error = np.log(gamma(m)) + log_abs
        slack_upper = float(np.log1p(np.exp(log_error - upper))) + k * EPS if np.isfinite(upper) else 0.0
        relative = np.exp(log_error - lower) if np.isfinite(lower) else np.inf
        slack_lower = float(-np.log1p(-relative)) + k * EPS if relative < 1 else np.inf
        step = ChainStep(ChainBound(upper, lower, slack_upper, slack_lower), float(log_error), layer_upper, layer_lower)
        bounds.append(step if layers else step[:2])
    return bounds


def log_spectral_norm(M: np.ndarray) -> float:
    """log ||M||_2, −inf for a zero matrix; never overflows for finite float64 M."""
    scale = np.max(np.abs(M)) if np.size(M) else 0.0
    return -np.inf if scale == 0 else float(np.log(scale) + np.log(np.linalg.norm(M / scale, 2)))


# -- the depth claims' bounds from the spec's own Jacobians (S1, S5; spec_tests/test_depth.py) -------------


class StateBound(NamedTuple):
    """Bounds on log ||ĝ_l|| for every correct implementation, at one hidden state l."""

    log_upper: float  # log(||g_L|| ∏_(k>l) σ_max(J_k)), the theorem's right-hand side
    log_lower: float  # log(||g_L|| ∏_(k>l) σ_min(J_k)), −inf where vacuous
    slack_upper: float  # rounding, log scale
    slack_lower: float
    log_error: float  # log of a bound on ||ĝ_l − g_l||, g_l the exact gradient
    layer_log_upper: float  # log of the widened σ_max(J_(l+1)), the layer just above state l
    layer_log_lower: float  # log of its widened σ_min (−inf where it may be 0)


def mlp_spec_jacobians(net, example: int = 0):
    """(J, B, backward) for one example of a spec-built network: the spec's own J_l = diag(σ'(a_l)) W_l, a_l from
    its own forward pass; B_l = u_l|W_l| + eps|J_l| ≥ |J̃_l − J_l| for the J̃_l any correct implementation effectively
    uses (u_l bounds σ' at any pre-activation a correct forward pass may compute, mlp_backward_bounds' slope_error);
    and mlp_backward_bounds' elementwise error bounds for the example's output gradient."""
    x, g = net.x[example:example + 1], net.grad_output[example:example + 1]
    forward = mlp_forward_bounds(x, net.weights, net.biases, net.activation)
    backward = mlp_backward_bounds(net.weights, forward, net.activation, g)
    jacobians, uncertainties = [], []
    for a, u, W in zip(forward.pre, backward.slope_error, net.weights):
        J = sigma_prime(net.activation, a[0])[:, None] * W
        jacobians.append(J)
        uncertainties.append(u[0][:, None] * np.abs(W) + EPS * np.abs(J))  # + forming J: one rounding
    return jacobians, uncertainties, backward


def log_ulps(*logs) -> float:
    """Rounding of the log-scale arithmetic itself: a log of size |v| is known to a few ulps of |v|."""
    return 4 * EPS * sum(abs(v) for v in logs if np.isfinite(v))


def mlp_state_bounds(net, example: int = 0) -> list[StateBound]:
    """StateBound for each hidden state l = 0..L−1 (index l) of a spec-built network (spec_tests.networks):

        log_lower − slack_lower ≤ log ||ĝ_l|| ≤ log_upper + slack_upper

    for the ĝ_l every correct implementation computes.  The products come from the spec's own
    Jacobians (mlp_spec_jacobians), widened by B_l (backward_bounds); the rounding is the smaller of
    two bounds on ||ĝ_l − g_l||, each valid for every evaluation order: the norm of the elementwise
    mlp_backward_bounds error and backward_bounds_and_errors' normwise one."""
    jacobians, uncertainties, backward = mlp_spec_jacobians(net, example)
    log_g = log_norm(net.grad_output[example])
    chain = backward_bounds_and_errors(jacobians, uncertainties, layers=True)
    L = net.depth
    out = [None] * L
    for i, step in enumerate(chain):
        l, bound = L - 1 - i, step.bound
        log_error = min(log_norm(backward.error[l]), log_g + step.log_error)
        upper, lower = log_g + bound.log_upper, log_g + bound.log_lower
        slack_upper = float(np.log1p(np.exp(log_error - upper))) if np.isfinite(upper) else 0.0
        relative = np.exp(log_error - lower) if np.isfinite(lower) else np.inf
        slack_lower = float(-np.log1p(-relative)) if relative < 1 else np.inf
        out[l] = StateBound(upper, lower, slack_upper, slack_lower, log_error, step.layer_log_upper, step.layer_log_lower)
    return out
