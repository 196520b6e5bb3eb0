"""Wrong: the backward pass multiplies by W_lᵀ only, forgetting diag(σ'(a_l))."""

import numpy as np

from reference import mlp_forward, mlp_layer_jacobians  # noqa: F401  (correct ones)

REJECTED_BY = ("P2", "S1a", "S9b")  # the exact set of claims whose tests fail on this implementation


def mlp_backward(x, weights, biases, activation, grad_output):
    _, hidden = mlp_forward(x, weights, biases, activation)
    g = [np.asarray(grad_output, dtype=float)]
    grad_W, grad_b = [], []
    for l in reversed(range(len(weights))):
        delta = g[0]  # should be σ'(a_l) ⊙ g_l
        grad_W.insert(0, delta.T @ hidden[l])
        grad_b.insert(0, delta.sum(axis=0))
        g.insert(0, delta @ weights[l])
    return g, grad_W, grad_b
