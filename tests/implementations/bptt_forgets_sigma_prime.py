"""Wrong: backpropagation through time multiplies by W_hhᵀ only, forgetting diag(σ'(a_t))."""

import numpy as np

from reference import rnn_forward, rnn_step_jacobians  # noqa: F401  (correct ones)

REJECTED_BY = ("P5", "S2a", "S4b", "S7b")  # the exact set of claims whose tests fail on this implementation


def rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, activation, grad_output):
    hidden = rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, activation)
    T = len(x)
    g = np.zeros_like(hidden)
    grads = [np.zeros_like(np.asarray(w, dtype=float)) for w in (W_ih, W_hh, b_ih)]
    grad_x = np.zeros_like(np.asarray(x, dtype=float))
    g[T] = grad_output[T - 1]
    for t in range(T, 0, -1):
        delta = g[t]  # should be σ'(a_t) ⊙ g_t
        grads[0] += delta.T @ x[t - 1]
        grads[1] += delta.T @ hidden[t - 1]
        grads[2] += delta.sum(axis=0)
        grad_x[t - 1] = delta @ W_ih
        g[t - 1] = delta @ W_hh + (grad_output[t - 2] if t >= 2 else 0.0)
    return g, grad_x, grads[0], grads[1], grads[2], grads[2].copy()
