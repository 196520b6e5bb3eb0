"""Wrong: BPTT carries the hidden gradient back through W_hhᵀ (g_{t−1} = δ_t W_hhᵀ), the column-vector formula applied to PyTorch's row vectors — right norms for symmetric W_hh, wrong directions otherwise."""

import numpy as np

from reference import rnn_forward, rnn_step_jacobians  # noqa: F401  (correct ones)

REJECTED_BY = ("P5", "S4c")  # the exact set of claims whose tests fail on this implementation

_DERIVATIVES = {
    "linear": lambda a: np.ones_like(a),
    "tanh": lambda a: 1 - np.tanh(a) ** 2,
    "relu": lambda a: (a > 0).astype(float),
    "sigmoid": lambda a: np.exp(-np.abs(a)) / (1 + np.exp(-np.abs(a))) ** 2,
}


def rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, activation, grad_output):
    x, W_ih, W_hh = (np.asarray(a, dtype=float) for a in (x, W_ih, W_hh))
    b_ih, b_hh = np.asarray(b_ih, dtype=float), np.asarray(b_hh, dtype=float)
    hidden = rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, activation)
    derivative = _DERIVATIVES[activation]
    T = len(x)
    g = np.zeros_like(hidden)
    grad_x = np.zeros_like(x)
    grad_W_ih, grad_W_hh, grad_b = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros_like(b_hh)
    g[T] = grad_output[T - 1]
    for t in range(T, 0, -1):
        a = x[t - 1] @ W_ih.T + b_ih + hidden[t - 1] @ W_hh.T + b_hh
        delta = derivative(a) * g[t]
        grad_W_ih += delta.T @ x[t - 1]
        grad_W_hh += delta.T @ hidden[t - 1]
        grad_b += delta.sum(axis=0)
        grad_x[t - 1] = delta @ W_ih
        g[t - 1] = delta @ W_hh.T + (grad_output[t - 2] if t >= 2 else 0.0)  # should be delta @ W_hh
    return g, grad_x, grad_W_ih, grad_W_hh, grad_b, grad_b.copy()
