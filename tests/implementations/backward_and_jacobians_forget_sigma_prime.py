"""Wrong: both the backward pass and the layer Jacobians leave out diag(σ'(a_l)) — consistently, so they agree with each other.

Only bounds computed from the spec's own Jacobians catch it in S1a (about half the drawn networks: the
nonlinear ones).  S1b, a lower bound, cannot: σ' ≤ 1 for every activation, so leaving it out makes the
gradient larger (0 of 60 drawn networks fall below the bound)."""

import numpy as np

from reference import mlp_forward

REJECTED_BY = ("P2", "P3", "S1a", "S9b")  # the exact set of claims whose tests fail on this implementation


def mlp_backward(x, weights, biases, activation, grad_output):
    _, hidden = mlp_forward(x, weights, biases, activation)
    g = [np.asarray(grad_output, dtype=float)]
    grad_W, grad_b = [], []
    for l in reversed(range(len(weights))):
        delta = g[0]  # should be σ'(a_l) ⊙ g_l
        grad_W.insert(0, delta.T @ hidden[l])
        grad_b.insert(0, delta.sum(axis=0))
        g.insert(0, delta @ np.asarray(weights[l], dtype=float))
    return g, grad_W, grad_b


def mlp_layer_jacobians(x, weights, biases, activation):
    return [np.array(W, dtype=float) for W in weights]  # should be diag(σ'(a_l)) W_l
