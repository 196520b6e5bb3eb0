"""Wrong: the weight gradient multiplies δ_l by the layer's output h_l instead of its input h_{l−1} (an off-by-one in the hidden-state list)."""

import numpy as np

from reference import mlp_backward as _correct_backward
from reference import mlp_forward, mlp_layer_jacobians  # noqa: F401  (correct ones)

REJECTED_BY = ("P2", "S5c")  # the exact set of claims whose tests fail on this implementation


def mlp_backward(x, weights, biases, activation, grad_output):
    pre, hidden = mlp_forward(x, weights, biases, activation)
    grads_hidden, _, grad_b = _correct_backward(x, weights, biases, activation, grad_output)
    grad_W = []
    for l in range(len(weights)):
        delta = _delta(pre[l], grads_hidden[l + 1], activation)
        grad_W.append(delta.T @ hidden[l + 1])  # should be hidden[l], the input of layer l + 1 (1-based)
    return grads_hidden, grad_W, grad_b


def _delta(a, g, activation):
    """δ = σ'(a) ⊙ g, one row per example."""
    derivative = {"linear": np.ones_like, "tanh": lambda a: 1 - np.tanh(a) ** 2,
                  "relu": lambda a: (a > 0).astype(float),
                  "sigmoid": lambda a: 1 / (1 + np.exp(-a)) * (1 - 1 / (1 + np.exp(-a)))}[activation]
    return derivative(a) * g
