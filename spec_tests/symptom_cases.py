"""The seeded problems behind S2, S6 and S7: where the symptoms of exploding gradients show.

Two one-unit recurrences, run through the protocol's RNN functions with hidden size 1
(input x_t = 0, so W_ih plays no part), and the deep network and the long RNN of S19:

* the cliff problem: Pascanu, Mikolov & Bengio (2013, sec. 3.3, fig. 6),
  x_t = w·σ(x_{t−1}) + b with σ the logistic sigmoid, x_0 = 0.5, T = 50 and the loss
  E = (σ(x_T) − 0.7)².  With h_t = σ(x_t) it is the protocol's RNN h_t = σ(w·h_{t−1} + b),
  h_0 = σ(0.5) (W_hh = w, b_hh = b, b_ih = 0).  At w = 5 and b* = 0.5 − 5σ(0.5), x_0 is the
  recurrence's unstable fixed point: trajectories on either side of it fall to different
  attractors, and the loss surface has a cliff along b = b*.
* the edge problem: the same recurrence with σ the identity, h_t = w·h_{t−1} + b, h_0 = 0,
  T = 50, loss ½(h_T − 10)².  For |w| < 1, h_T ≈ b/(1 − w); reaching 10 pulls w towards 1, the
  edge of stability, beyond which h_T grows like w^T and so does the gradient.

Every gradient comes from the implementation (rnn_backward, mlp_backward), every clipping
from its clip_grad_norm; the spec keeps the loop, the loss and the plain SGD step θ − lr·g.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .definitions import directional_derivative, rnn_unroll, sigmoid
from .networks import random_orthogonal

# -- the cliff problem (Pascanu et al. 2013, fig. 6) -----------------------------------------------

CLIFF_T = 50
CLIFF_X0 = 0.5
CLIFF_TARGET = 0.7
CLIFF_W = 5.0
S0 = float(sigmoid(CLIFF_X0))  # h_0 = σ(x_0)
S0_PRIME = S0 * (1 - S0)  # σ'(x_0)
CLIFF_B = CLIFF_X0 - CLIFF_W * S0  # b*: x_0 = w·σ(x_0) + b*, x_0 is a fixed point
MULTIPLIER = CLIFF_W * S0_PRIME  # λ = w·σ'(x_0) ≈ 1.175 > 1: the fixed point is unstable


def _one_unit(w, b, T):
    """The protocol's arguments for h_t = σ(w·h_{t−1} + b) with no input."""
    return (np.zeros((T, 1, 1)), np.zeros((1, 1)), np.array([[float(w)]]), np.zeros(1), np.array([float(b)]))


def cliff_loss_and_gradient(impl, w, b, T=CLIFF_T):
    """(E, (∂E/∂w, ∂E/∂b)) of the cliff problem at (w, b), from the implementation's rnn_forward and rnn_backward."""
    x, W_ih, W_hh, b_ih, b_hh = _one_unit(w, b, T)
    h0 = np.array([[S0]])
    hidden = impl.rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, "sigmoid")
    residual = float(hidden[-1, 0, 0]) - CLIFF_TARGET
    grad_output = np.zeros((T, 1, 1))
    grad_output[-1, 0, 0] = 2 * residual
    grads = impl.rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, "sigmoid", grad_output)
    return residual * residual, np.array([grads.W_hh[0, 0], grads.b_hh[0]])


def cliff_loss(impl, w, b, T=CLIFF_T) -> float:
    x, W_ih, W_hh, b_ih, b_hh = _one_unit(w, b, T)
    hidden = impl.rnn_forward(x, np.array([[S0]]), W_ih, W_hh, b_ih, b_hh, "sigmoid")
    return (float(hidden[-1, 0, 0]) - CLIFF_TARGET) ** 2


def cliff_gradient_at_the_fixed_point(T=CLIFF_T) -> np.ndarray:
    """The spec's closed form at (5, b*): every pre-activation is x_0, so ∂h_T/∂b = Σ_k σ'(x_0) λ^{T−k}
    = σ'(x_0)(λ^T − 1)/(λ − 1), ∂h_T/∂w = h_0·∂h_T/∂b (each h_{k−1} = h_0), times ∂E/∂h_T = 2(h_0 − 0.7)."""
    dh_db = S0_PRIME * (MULTIPLIER**T - 1) / (MULTIPLIER - 1)
    dE = 2 * (S0 - CLIFF_TARGET)
    return np.array([dE * S0 * dh_db, dE * dh_db])


def cliff_gradient_by_the_spec(w, b, T=CLIFF_T) -> np.ndarray:
    """(∂E/∂w, ∂E/∂b) by the complex step through the spec's own recurrence (definitions.rnn_unroll)."""
    x, W_ih, W_hh, b_ih, b_hh = _one_unit(w, b, T)
    h0 = np.array([[S0]])

    def h_T(W, bias):
        return rnn_unroll(x, h0, W_ih, W, b_ih, bias, "sigmoid")[-1, 0, 0]

    dE = 2 * (float(np.real(h_T(W_hh, b_hh))) - CLIFF_TARGET)
    d_w = directional_derivative(h_T, [W_hh, b_hh], [np.ones((1, 1)), np.zeros(1)])
    d_b = directional_derivative(h_T, [W_hh, b_hh], [np.zeros((1, 1)), np.ones(1)])
    return dE * np.array([float(d_w), float(d_b)])


class Run(NamedTuple):
    losses: list  # E before each step
    params: list  # (w, b) before each step
    gradient_norms: list  # ‖∇E‖ before clipping, at each step taken


def train_cliff(impl, lr, steps, w=CLIFF_W, b=-2.5, max_norm=None) -> Run:
    """Plain SGD on (w, b) of the cliff problem from (5, −2.5), on the high plateau."""
    run = Run([], [], [])
    for _ in range(steps):
        loss, grad = cliff_loss_and_gradient(impl, w, b)
        run.losses.append(loss)
        run.params.append((w, b))
        run.gradient_norms.append(math.hypot(*grad))
        if max_norm is not None:
            grad = impl.clip_grad_norm([grad], max_norm, 2.0)[0][0]
        w, b = w - lr * float(grad[0]), b - lr * float(grad[1])
    return run


# -- the edge problem: the linear one-unit recurrence -------------------------------------------------

EDGE_T = 50
EDGE_TARGET = 10.0


def edge_start(seed: int) -> tuple[float, float]:
    """(w_0, b_0): w_0 ~ U(−0.05, 0.05), b_0 ~ U(0.2, 0.4), from numpy's default_rng(seed)."""
    rng = np.random.default_rng(seed)
    return float(rng.uniform(-0.05, 0.05)), float(rng.uniform(0.2, 0.4))


def train_edge(impl, seed, lr, steps, max_norm=None) -> Run:
    """Plain SGD on (w, b) of the edge problem; stops at the first loss that is not finite."""
    w, b = edge_start(seed)
    run = Run([], [], [])
    x, W_ih, _, b_ih, _ = _one_unit(w, b, EDGE_T)
    h0 = np.zeros((1, 1))
    for _ in range(steps):
        W_hh, b_hh = np.array([[w]]), np.array([b])
        hidden = impl.rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, "linear", allow_nonfinite=True)
        with np.errstate(all="ignore"):
            residual = float(hidden[-1, 0, 0]) - EDGE_TARGET
            loss = 0.5 * residual * residual
        run.losses.append(loss)
        run.params.append((w, b))
        if not math.isfinite(loss):
            break
        grad_output = np.zeros((EDGE_T, 1, 1))
        grad_output[-1, 0, 0] = residual
        grads = impl.rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, "linear", grad_output)
        grad = np.array([grads.W_hh[0, 0], grads.b_hh[0]])
        run.gradient_norms.append(math.hypot(*grad))
        if max_norm is not None:
            grad = impl.clip_grad_norm([grad], max_norm, 2.0)[0][0]
        w, b = w - lr * float(grad[0]), b - lr * float(grad[1])
    return run


# -- S6: weight norms per layer, on S19's problems ---------------------------------------------------

DIVERGED = 1e30


def deep_network(seed, c, depth=8, width=8, batch=32):
    """S19a's problem: W_l = c·Q_l (Q_l orthogonal), x Gaussian, target an orthogonal teacher."""
    rng = np.random.default_rng(seed)
    weights = [c * random_orthogonal(rng, width) for _ in range(depth)]
    x = rng.standard_normal((batch, width))
    y = x @ random_orthogonal(rng, width).T
    return weights, [np.zeros(width)] * depth, x, y


def _gradient_norm_lower_bound(loss, params) -> float:
    """|D_θE(θ)|/‖θ‖ ≤ ‖∇E(θ)‖ (Cauchy–Schwarz), with D_θE the derivative along θ itself, by the complex step
    through the spec's own loss: a lower bound on the gradient's norm that uses no implementation."""
    derivative = float(directional_derivative(loss, params, params))
    return abs(derivative) / math.sqrt(sum(float(np.sum(p * p)) for p in params))


def deep_network_gradient_lower_bound(seed, c) -> float:
    """A lower bound on ‖∇E‖ over all W_l at S19a's starting point, from the spec's own linear forward pass."""
    weights, _, x, y = deep_network(seed, c)

    def loss(*ws):
        out = x
        for W in ws:
            out = out @ W.T
        return 0.5 * np.mean(np.sum((out - y) ** 2, axis=1))

    return _gradient_norm_lower_bound(loss, weights)


def _update_norm(lr, updates) -> float:
    """‖lr·g‖₂ over the concatenation of all the tensors of g: the length of the whole SGD step."""
    return lr * math.sqrt(sum(float(np.sum(np.square(np.asarray(u, dtype=np.float64)))) for u in updates))


def weight_norms_of_deep_network(impl, seed, c, lr, steps, max_norm=None, update_norms=None):
    """(losses, norms): ‖W_l‖_F of every layer (columns) before each step (rows), until the loss exceeds
    DIVERGED or is not finite (that step's norms included).  A list passed as update_norms receives the
    length of each step taken, ‖lr·g‖₂ over all layers together (g clipped when max_norm is given)."""
    weights, biases, x, y = deep_network(seed, c)
    losses, norms = [], []
    for _ in range(steps):
        out = impl.mlp_forward(x, weights, biases, "linear", allow_nonfinite=True).hidden_states[-1]
        with np.errstate(all="ignore"):
            residual = out - y
            losses.append(0.5 * float(np.mean(np.sum(residual * residual, axis=1))))
        norms.append([float(np.linalg.norm(W)) for W in weights])
        if not losses[-1] < DIVERGED:
            break
        grads = impl.mlp_backward(x, weights, biases, "linear", residual / len(x), allow_nonfinite=True).weights
        if not all(np.all(np.isfinite(g)) for g in grads):
            break
        if max_norm is not None:
            grads, _ = impl.clip_grad_norm(grads, max_norm, 2.0)
        if update_norms is not None:
            update_norms.append(_update_norm(lr, grads))
        weights = [W - lr * g for W, g in zip(weights, grads)]
    return np.array(losses), np.array(norms)


def long_rnn(seed, scale, T=40, H=8, batch=16):
    """S19b's problem: (W_ih, W_hh, b, x, h0, y), a linear RNN with W_hh = scale·Q, target y for h_T."""
    rng = np.random.default_rng(seed)
    W_hh, W_ih, b = scale * random_orthogonal(rng, H), rng.standard_normal((H, 2)), np.zeros(H)
    x, h0 = rng.standard_normal((T, batch, 2)), np.zeros((batch, H))
    y = np.tanh(rng.standard_normal((batch, H)))
    return W_ih, W_hh, b, x, h0, y


def long_rnn_gradient_lower_bound(seed, scale) -> float:
    """A lower bound on ‖∇E‖ over (W_ih, W_hh) at S19b's starting point, from the spec's own recurrence
    (definitions.rnn_unroll)."""
    W_ih, W_hh, b, x, h0, y = long_rnn(seed, scale)

    def loss(A, B):
        residual = rnn_unroll(x, h0, A, B, b, b, "linear")[-1] - y
        return 0.5 * np.mean(np.sum(residual * residual, axis=1))

    return _gradient_norm_lower_bound(loss, [W_ih, W_hh])


def weight_norms_of_long_rnn(impl, seed, scale, lr, steps, max_norm=None, T=40, H=8, batch=16, update_norms=None):
    """S19b's problem (a linear RNN, W_hh = scale·Q, loss on h_T): (losses, norms) with the norms
    (‖W_ih‖_F, ‖W_hh‖_F) before each step, until the loss exceeds DIVERGED or is not finite.  A list passed
    as update_norms receives the length of each step taken, ‖lr·(g_ih, g_hh)‖₂ (clipped when max_norm is given)."""
    W_ih, W_hh, b, x, h0, y = long_rnn(seed, scale, T, H, batch)
    losses, norms = [], []
    for _ in range(steps):
        hidden = impl.rnn_forward(x, h0, W_ih, W_hh, b, b, "linear", allow_nonfinite=True)
        with np.errstate(all="ignore"):
            residual = hidden[-1] - y
            losses.append(0.5 * float(np.mean(np.sum(residual * residual, axis=1))))
        norms.append([float(np.linalg.norm(W_ih)), float(np.linalg.norm(W_hh))])
        if not losses[-1] < DIVERGED:
            break
        grad_output = np.zeros((T, batch, H))
        grad_output[-1] = residual / batch
        grads = impl.rnn_backward(x, h0, W_ih, W_hh, b, b, "linear", grad_output)
        updates = [grads.W_ih, grads.W_hh]
        if max_norm is not None:
            updates, _ = impl.clip_grad_norm(updates, max_norm, 2.0)
        if update_norms is not None:
            update_norms.append(_update_norm(lr, updates))
        W_ih, W_hh = W_ih - lr * updates[0], W_hh - lr * updates[1]
    return np.array(losses), np.array(norms)
