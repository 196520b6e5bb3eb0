"""Wrong: the backward pass forms δ_l = σ'(a_l) ⊙ g_l and then multiplies it by its own layer Jacobian J_l = diag(σ'(a_l)) W_l instead of by W_l, so σ' is applied twice per layer."""

import numpy as np

from reference import mlp_forward, mlp_layer_jacobians  # noqa: F401  (correct ones)

REJECTED_BY = ("P2", "S1b")  # the exact set of claims whose tests fail on this implementation

_DERIVATIVES = {
    "linear": lambda a: np.ones_like(a),
    "tanh": lambda a: 1 - np.tanh(a) ** 2,
    "relu": lambda a: (a > 0).astype(float),
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)) * (1 - 1 / (1 + np.exp(-a))),
}


def mlp_backward(x, weights, biases, activation, grad_output):
    pre, hidden = mlp_forward(x, weights, biases, activation)
    derivative = _DERIVATIVES[activation]
    g = [np.asarray(grad_output, dtype=float)]
    grad_W, grad_b = [], []
    for l in reversed(range(len(weights))):
        delta = derivative(pre[l]) * g[0]
        grad_W.insert(0, delta.T @ hidden[l])
        grad_b.insert(0, delta.sum(axis=0))
        J = derivative(pre[l])[:, :, None] * np.asarray(weights[l], dtype=float)  # J_l per example
        g.insert(0, np.einsum("bi,bij->bj", delta, J))  # should be delta @ W_l: J_lᵀ g = W_lᵀ δ
    return g, grad_W, grad_b
