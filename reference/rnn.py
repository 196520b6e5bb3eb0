"""A vanilla RNN unrolled over T steps, and backpropagation through time.

PyTorch's nn.RNN conventions: sequences are time-first, x has shape
(T, batch, input_size); W_ih is (hidden, input), W_hh is (hidden, hidden), and
there are two biases, b_ih and b_hh:

    a_t = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh,    h_t = σ(a_t),    t = 1..T.

The step Jacobian is J_t = ∂h_t/∂h_{t-1} = diag(σ'(a_t)) W_hh: the same W_hh at
every step, which is why recurrences are the classic setting of exploding
gradients.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .activations import get_activation
from .validation import check_recurrent, check_shaped_array


class RNNForward(NamedTuple):
    pre_activations: np.ndarray  # a_1..a_T: (T, batch, hidden)
    hidden: np.ndarray  # h_0..h_T: (T + 1, batch, hidden)


class RNNGradients(NamedTuple):
    hidden: np.ndarray  # total ∂L/∂h_t for t = 0..T: (T + 1, batch, hidden)
    inputs: np.ndarray  # ∂L/∂x_t: (T, batch, input)
    W_ih: np.ndarray
    W_hh: np.ndarray
    b_ih: np.ndarray
    b_hh: np.ndarray


def _forward(x, h0, W_ih, W_hh, b_ih, b_hh, sigma) -> RNNForward:
    T = x.shape[0]
    pre = np.empty((T,) + h0.shape, dtype=x.dtype)
    hidden = np.empty((T + 1,) + h0.shape, dtype=x.dtype)
    hidden[0] = h0
    for t in range(T):
        pre[t] = x[t] @ W_ih.T + b_ih + hidden[t] @ W_hh.T + b_hh
        hidden[t + 1] = sigma.function(pre[t])
    return RNNForward(pre, hidden)


def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, activation: str) -> np.ndarray:
    """Unroll h_t = σ(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh) for t = 1..T.

    x: (T, batch, input); h0: (batch, hidden).  Returns h_0..h_T: (T + 1, batch, hidden).
    """
    sigma = get_activation(activation)
    return _forward(*check_recurrent(x, h0, W_ih, W_hh, b_ih, b_hh, gates=1), sigma).hidden


def rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, activation: str, grad_output) -> RNNGradients:
    """Backpropagation through time for L = Σ_{t=1..T} ⟨grad_output_t, h_t⟩.

        ḡ_T = grad_output_T
        δ_t = σ'(a_t) ⊙ ḡ_t                            (∂L/∂a_t)
        ḡ_{t-1} = grad_output_{t-1} + δ_t W_hh           (total ∂L/∂h_{t-1}; no output term at t = 0)
        ∂L/∂W_hh = Σ_t δ_tᵀ h_{t-1},   ∂L/∂W_ih = Σ_t δ_tᵀ x_t,   ∂L/∂b_ih = ∂L/∂b_hh = Σ_t Σ_batch δ_t
        ∂L/∂x_t = δ_t W_ih

    grad_output: (T, batch, hidden).  Cost O(T·d²) per example.
    """
    sigma = get_activation(activation)
    x, h0, W_ih, W_hh, b_ih, b_hh = check_recurrent(x, h0, W_ih, W_hh, b_ih, b_hh, gates=1)
    T = x.shape[0]
    grad_output = check_shaped_array(grad_output, "grad_output", (T,) + h0.shape, x.dtype)
    pre, hidden = _forward(x, h0, W_ih, W_hh, b_ih, b_hh, sigma)
    g = np.zeros((T + 1,) + h0.shape, dtype=x.dtype)
    grad_x = np.empty_like(x)
    grad_W_ih, grad_W_hh = np.zeros_like(W_ih), np.zeros_like(W_hh)
    grad_b = np.zeros_like(b_hh)
    g[T] = grad_output[T - 1]
    for t in range(T, 0, -1):
        delta = sigma.derivative(pre[t - 1]) * g[t]
        grad_W_hh += delta.T @ hidden[t - 1]
        grad_W_ih += delta.T @ x[t - 1]
        grad_b += delta.sum(axis=0)
        grad_x[t - 1] = delta @ W_ih
        g[t - 1] = delta @ W_hh + (grad_output[t - 2] if t >= 2 else 0.0)
    return RNNGradients(g, grad_x, grad_W_ih, grad_W_hh, grad_b, grad_b.copy())


def rnn_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh, activation: str) -> np.ndarray:
    """J_t = ∂h_t/∂h_{t-1} = diag(σ'(a_t)) W_hh for one sequence x: (T, input), h0: (hidden,).

    Returns an array (T, hidden, hidden).  Their product J_T ⋯ J_{t+1} is ∂h_T/∂h_t
    (reference.end_to_end_jacobian forms it).
    """
    sigma = get_activation(activation)
    x, h0, W_ih, W_hh, b_ih, b_hh = check_recurrent(x, h0, W_ih, W_hh, b_ih, b_hh, gates=1, batched=False)
    pre, _ = _forward(x[:, None, :], h0[None, :], W_ih, W_hh, b_ih, b_hh, sigma)
    return np.stack([sigma.derivative(a[0])[:, None] * W_hh for a in pre])
