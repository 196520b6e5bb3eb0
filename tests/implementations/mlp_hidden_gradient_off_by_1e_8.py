"""Wrong (by a hair): the step that produces ∂L/∂h_{L−1} multiplies it by 1 + 1e-8, and every layer below
inherits that consistently — a relative error ten million times above rounding that only one step shows."""

import numpy as np

from reference import mlp_forward

REJECTED_BY = ("P2", "S1a", "S1c", "S3a", "S5b", "S5c")  # the exact set of claims whose tests fail on this implementation


def mlp_backward(x, weights, biases, activation, grad_output):
    pre, hidden = mlp_forward(x, weights, biases, activation)
    derivative = {"linear": lambda a: np.ones_like(a), "tanh": lambda a: 1 - np.tanh(a) ** 2,
                  "relu": lambda a: (a > 0).astype(float),
                  "sigmoid": lambda a: 1 / (1 + np.exp(-a)) * (1 - 1 / (1 + np.exp(-a)))}[activation]
    g = [np.asarray(grad_output, dtype=float)]
    grad_W, grad_b = [], []
    for l in reversed(range(len(weights))):
        delta = derivative(pre[l]) * g[0]
        grad_W.insert(0, delta.T @ hidden[l])
        grad_b.insert(0, delta.sum(axis=0))
        g.insert(0, delta @ np.asarray(weights[l]) * (1 + 1e-8 if l == len(weights) - 1 else 1.0))
    return g, grad_W, grad_b
