"""Wrong: BPTT forms δ_t = σ'(a_t) ⊙ ∂L/∂h_t and then carries it back through the whole step Jacobian diag(σ'(a_t)) W_hh instead of through W_hh, so σ' is applied twice per step (the weight gradients are right)."""

import numpy as np

from reference import rnn_forward, rnn_step_jacobians  # noqa: F401  (correct ones)

REJECTED_BY = ("P5", "S2a", "S7a", "S7b", "S8a")  # the exact set of claims whose tests fail on this implementation

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
        slope = derivative(x[t - 1] @ W_ih.T + b_ih + hidden[t - 1] @ W_hh.T + b_hh)
        delta = slope * g[t]
        grad_W_ih += delta.T @ x[t - 1]
        grad_W_hh += delta.T @ hidden[t - 1]
        grad_b += delta.sum(axis=0)
        grad_x[t - 1] = delta @ W_ih
        g[t - 1] = (slope * delta) @ W_hh  # should be delta @ W_hh: slope is already in delta
        g[t - 1] += grad_output[t - 2] if t >= 2 else 0.0
    return g, grad_x, grad_W_ih, grad_W_hh, grad_b, grad_b.copy()
