"""A residual MLP: forward pass, backward pass by vector–Jacobian products, block Jacobians,
and the initialisations that make residual networks trainable at depth.

Each block adds a small branch F_l (Linear–σ–Linear) to the identity, scaled by α_l:

    h_0 = x,
    z_l = h_{l-1} W_{l,1}ᵀ + b_{l,1},    u_l = σ(z_l),    F_l(h_{l-1}) = u_l W_{l,2}ᵀ + b_{l,2},
    h_l = h_{l-1} + α_l F_l(h_{l-1}),    l = 1..L.

Rows are examples; W_{l,1} is (m_l, d) and W_{l,2} is (d, m_l) in PyTorch's (out, in) layout, so every
h_l has the same width d.  The block Jacobian (one example, column-vector map) is

    J_l = ∂h_l/∂h_{l-1} = I + α_l J_{F_l},    J_{F_l} = W_{l,2} diag(σ'(z_l)) W_{l,1},

and backward propagation multiplies a row gradient by it from the right:
g_{l-1} = g_l J_l = g_l + α_l (σ'(z_l) ⊙ (g_l W_{l,2})) W_{l,1}.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from .activations import get_activation
from .validation import (
    ArgumentTypeError,
    as_float_array,
    check_array_list,
    check_choice,
    check_finite,
    check_positive_integer,
    check_seed,
)


class ResidualGradients(NamedTuple):
    hidden: list[np.ndarray]  # [∂L/∂h_0, ..., ∂L/∂h_L], each (batch, d)
    branches: list[tuple]  # [(∂L/∂W_{l,1}, ∂L/∂b_{l,1}, ∂L/∂W_{l,2}, ∂L/∂b_{l,2}) for l = 1..L]


def _check_branches(branches, alphas, x, batched: bool):
    """Branches [(W1, b1, W2, b2), …] of one width d, alphas one finite number per block, x (batch, d) or (d,)."""
    branches = check_array_list(branches, "branches", "(W1, b1, W2, b2) tuples, one per block")
    if not branches:
        raise ValueError("the network is empty: branches must hold at least one block")
    if isinstance(alphas, np.ndarray):
        alphas = list(alphas.ravel()) if alphas.ndim == 1 else alphas
    alphas = check_array_list(alphas, "alphas", "numbers, one per block")
    if len(alphas) != len(branches):
        raise ValueError(f"got {len(branches)} branches but {len(alphas)} alphas: one α_l per block")
    alphas = [check_finite(a, f"alphas[{l}]") for l, a in enumerate(alphas)]
    x = as_float_array(x, "x", ndim=2 if batched else 1, dtype=np.float64)
    if batched and x.shape[0] == 0:
        raise ValueError("x holds an empty batch")
    d = x.shape[-1]
    if d == 0:
        raise ValueError("x has 0 features")
    checked = []
    for l, branch in enumerate(branches):
        if not isinstance(branch, (tuple, list)) or len(branch) != 4:
            raise ArgumentTypeError(f"branches[{l}] must be a tuple (W1, b1, W2, b2), got {type(branch).__name__}")
        W1 = as_float_array(branch[0], f"branches[{l}][0] (W1)", ndim=2, dtype=np.float64)
        b1 = as_float_array(branch[1], f"branches[{l}][1] (b1)", ndim=1, dtype=np.float64)
        W2 = as_float_array(branch[2], f"branches[{l}][2] (W2)", ndim=2, dtype=np.float64)
        b2 = as_float_array(branch[3], f"branches[{l}][3] (b2)", ndim=1, dtype=np.float64)
        m = W1.shape[0]
        if m == 0 or W1.shape != (m, d):
            raise ValueError(f"branches[{l}][0] (W1) has shape {W1.shape}, expected (m, {d}) with m ≥ 1: "
                             f"(hidden, width) in PyTorch's (out_features, in_features) layout")
        if b1.shape != (m,):
            raise ValueError(f"branches[{l}][1] (b1) has shape {b1.shape}, expected ({m},)")
        if W2.shape != (d, m):
            raise ValueError(f"branches[{l}][2] (W2) has shape {W2.shape}, expected ({d}, {m}): the branch "
                             f"must map back to the width {d} of the skip path")
        if b2.shape != (d,):
            raise ValueError(f"branches[{l}][3] (b2) has shape {b2.shape}, expected ({d},)")
        checked.append((W1, b1, W2, b2))
    return checked, alphas, x


def _forward(x, branches, alphas, sigma):
    """Every block's (z_l, u_l, F_l) and the hidden states [h_0 … h_L]."""
    hidden, inner = [x], []
    for (W1, b1, W2, b2), alpha in zip(branches, alphas):
        z = hidden[-1] @ W1.T + b1
        u = sigma.function(z)
        F = u @ W2.T + b2
        inner.append((z, u))
        hidden.append(hidden[-1] + alpha * F)
    return hidden, inner


def residual_forward(x: np.ndarray, branches: Sequence, alphas: Sequence[float], activation: str) -> list[np.ndarray]:
    """The hidden states [h_0 = x, h_1, …, h_L], each (batch, d):

        h_l = h_{l-1} + α_l (σ(h_{l-1} W_{l,1}ᵀ + b_{l,1}) W_{l,2}ᵀ + b_{l,2})

    branches[l-1] = (W_{l,1}: (m_l, d), b_{l,1}: (m_l,), W_{l,2}: (d, m_l), b_{l,2}: (d,)); alphas[l-1] = α_l.
    """
    sigma = get_activation(activation)
    branches, alphas, x = _check_branches(branches, alphas, x, batched=True)
    return _forward(x, branches, alphas, sigma)[0]


def residual_backward(
    x: np.ndarray, branches: Sequence, alphas: Sequence[float], activation: str, grad_output: np.ndarray
) -> ResidualGradients:
    """Reverse-mode gradients of L = Σ_batch ⟨grad_output, h_L⟩, by vector–Jacobian products:

        g_L = grad_output
        e_l = α_l g_l                                   (∂L/∂F_l)
        δ_l = σ'(z_l) ⊙ (e_l W_{l,2})                    (∂L/∂z_l)
        g_{l-1} = g_l + δ_l W_{l,1}                      (the skip path's g_l, plus the branch's)
        ∂L/∂W_{l,2} = Σ_batch e_lᵀ u_l,   ∂L/∂b_{l,2} = Σ_batch e_l
        ∂L/∂W_{l,1} = Σ_batch δ_lᵀ h_{l-1},   ∂L/∂b_{l,1} = Σ_batch δ_l

    grad_output: (batch, d).  Returns ([g_0 … g_L], [(∂W1, ∂b1, ∂W2, ∂b2) per block]).
    """
    sigma = get_activation(activation)
    branches, alphas, x = _check_branches(branches, alphas, x, batched=True)
    g = as_float_array(grad_output, "grad_output", ndim=2, dtype=np.float64)
    if g.shape != x.shape:
        raise ValueError(f"grad_output has shape {g.shape}, expected {x.shape} (the shape of h_L)")
    hidden, inner = _forward(x, branches, alphas, sigma)
    grads_hidden, grads_branches = [g], []
    for l in reversed(range(len(branches))):
        (W1, _, W2, _), alpha, (z, u) = branches[l], alphas[l], inner[l]
        g_l = grads_hidden[0]
        e = alpha * g_l
        delta = sigma.derivative(z) * (e @ W2)
        grads_branches.insert(0, (delta.T @ hidden[l], delta.sum(axis=0), e.T @ u, e.sum(axis=0)))
        grads_hidden.insert(0, g_l + delta @ W1)
    return ResidualGradients(grads_hidden, grads_branches)


def residual_block_jacobians(x: np.ndarray, branches: Sequence, alphas: Sequence[float], activation: str) -> list[np.ndarray]:
    """The block Jacobians at one example x of shape (d,):

        J_l = ∂h_l/∂h_{l-1} = I + α_l W_{l,2} diag(σ'(z_l)) W_{l,1},    shape (d, d),    l = 1..L.
    """
    sigma = get_activation(activation)
    branches, alphas, x = _check_branches(branches, alphas, x, batched=False)
    _, inner = _forward(x[None, :], branches, alphas, sigma)
    identity = np.eye(x.shape[0])
    return [identity + alpha * (W2 * sigma.derivative(z[0])) @ W1
            for (W1, _, W2, _), alpha, (z, _) in zip(branches, alphas, inner)]


# -- initialisations -------------------------------------------------------------------------------

RESIDUAL_INITS = ("plain", "scaled", "rezero", "fixup")


def residual_init(width: int, hidden: int, depth: int, scheme: str, seed: int, alpha: float = 1.0):
    """(branches, alphas) for a residual MLP of `depth` blocks, width d = `width`, branch width m = `hidden`:

        plain   W1 ~ N(0, 2/d), W2 ~ N(0, 1/m) (He for the branch), zero biases, α_l = alpha
        scaled  the same branches, α_l = alpha / L                      (the branch sum stays O(alpha))
        rezero  the same branches, α_l = 0                              (ReZero; SkipInit's scalar at 0)
        fixup   W1 ~ N(0, 2/d)·L^(−1/2), W2 = 0, zero biases, α_l = alpha  (Fixup: last branch layer zero)

    ReZero and Fixup make every block the identity at initialisation: J_l = I exactly.
    """
    width, hidden, depth = (check_positive_integer(v, n) for v, n in ((width, "width"), (hidden, "hidden"), (depth, "depth")))
    scheme = check_choice(scheme, "scheme", RESIDUAL_INITS)
    seed, alpha = check_seed(seed), check_finite(alpha, "alpha")
    rng = np.random.default_rng(seed)
    branches = []
    for _ in range(depth):
        W1 = rng.standard_normal((hidden, width)) * np.sqrt(2.0 / width)
        W2 = rng.standard_normal((width, hidden)) * np.sqrt(1.0 / hidden)
        if scheme == "fixup":
            W1, W2 = W1 / np.sqrt(depth), np.zeros_like(W2)
        branches.append((W1, np.zeros(hidden), W2, np.zeros(width)))
    alpha_l = {"plain": alpha, "scaled": alpha / depth, "rezero": 0.0, "fixup": alpha}[scheme]
    return branches, [alpha_l] * depth
