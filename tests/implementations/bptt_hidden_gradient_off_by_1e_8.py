"""Wrong (by a hair): the step that produces the total ∂L/∂h_{T−1} multiplies it by 1 + 1e-8, and every
earlier step inherits that consistently — a relative error ten million times above rounding that only one
step shows."""

import numpy as np

from reference import rnn_forward

REJECTED_BY = ("P5", "S3b", "S4a", "S4b", "S4c", "S8a", "S18b")  # the exact set of claims whose tests fail on this implementation


def rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, activation, grad_output):
    x, W_ih, W_hh = (np.asarray(a, dtype=float) for a in (x, W_ih, W_hh))
    hidden = rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, activation)
    derivative = {"linear": lambda a: np.ones_like(a), "tanh": lambda a: 1 - np.tanh(a) ** 2,
                  "relu": lambda a: (a > 0).astype(float),
                  "sigmoid": lambda a: 1 / (1 + np.exp(-a)) * (1 - 1 / (1 + np.exp(-a)))}[activation]
    T = len(x)
    g = np.zeros_like(hidden)
    grad_x = np.zeros_like(x)
    grad_W_ih, grad_W_hh, grad_b = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
    g[T] = grad_output[T - 1]
    for t in range(T, 0, -1):
        a = x[t - 1] @ W_ih.T + b_ih + hidden[t - 1] @ W_hh.T + b_hh
        delta = derivative(a) * g[t]
        grad_W_ih += delta.T @ x[t - 1]
        grad_W_hh += delta.T @ hidden[t - 1]
        grad_b += delta.sum(axis=0)
        grad_x[t - 1] = delta @ W_ih
        g[t - 1] = (delta @ W_hh + (grad_output[t - 2] if t >= 2 else 0.0)) * (1 + 1e-8 if t == T else 1.0)
    return g, grad_x, grad_W_ih, grad_W_hh, grad_b, grad_b.copy()
