"""Wrong: backpropagation through time clips ∂L/∂h_t to norm 1 at every step, a remedy hidden inside the backward pass."""

import numpy as np

from reference import rnn_forward, rnn_step_jacobians  # noqa: F401  (correct ones)
from reference.activations import get_activation

REJECTED_BY = ("P5", "S2a", "S2b", "S3b", "S4a", "S4c", "S6b", "S7b", "S8a", "S18a", "S18b")  # the exact set of claims whose tests fail on this implementation


def rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, activation, grad_output):
    x, h0 = np.asarray(x, dtype=float), np.asarray(h0, dtype=float)
    W_ih, W_hh = np.asarray(W_ih, dtype=float), np.asarray(W_hh, dtype=float)
    sigma = get_activation(activation)
    T = len(x)
    pre, hidden = [], [h0]
    for t in range(T):
        pre.append(x[t] @ W_ih.T + b_ih + hidden[-1] @ W_hh.T + b_hh)
        hidden.append(sigma.function(pre[-1]))
    g = np.zeros((T + 1,) + h0.shape)
    grad_x = np.zeros_like(x)
    grad_W_ih, grad_W_hh, grad_b = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
    g[T] = grad_output[T - 1]
    for t in range(T, 0, -1):
        norm = np.linalg.norm(g[t])
        if norm > 1:  # "keep the recurrent gradient from exploding"
            g[t] = g[t] / norm
        delta = sigma.derivative(pre[t - 1]) * g[t]
        grad_W_hh += delta.T @ hidden[t - 1]
        grad_W_ih += delta.T @ x[t - 1]
        grad_b += delta.sum(axis=0)
        grad_x[t - 1] = delta @ W_ih
        g[t - 1] = delta @ W_hh + (grad_output[t - 2] if t >= 2 else 0.0)
    return g, grad_x, grad_W_ih, grad_W_hh, grad_b, grad_b.copy()
