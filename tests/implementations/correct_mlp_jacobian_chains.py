"""Correct, computed another way: ∂L/∂h_l = (J_L ⋯ J_{l+1})ᵀ g_L per example, the whole Jacobian chain
multiplied out first (C_{l−1} = C_l J_l from the output down) and only then applied to g_L, so no step
reuses the gradient of the step after it; δ_l = (C_l diag(σ'(a_l)))ᵀ g_L the same way."""

import numpy as np

from reference import mlp_forward
from reference.activations import get_activation

REJECTED_BY = ()  # the exact set of claims whose tests fail on this implementation


def mlp_backward(x, weights, biases, activation, grad_output):
    x, grad_output = np.asarray(x, dtype=float), np.asarray(grad_output, dtype=float)
    weights = [np.asarray(W, dtype=float) for W in weights]
    derivative = get_activation(activation).derivative
    pre, hidden = mlp_forward(x, weights, biases, activation)
    L = len(weights)
    grad_hidden = [np.empty_like(h) for h in hidden]
    deltas = [np.empty_like(a) for a in pre]
    for n in range(len(x)):
        chain = np.eye(weights[-1].shape[0])  # C_L = I
        grad_hidden[L][n] = grad_output[n]
        for l in range(L, 0, -1):
            slope = derivative(pre[l - 1][n])
            deltas[l - 1][n] = (chain * slope[None, :]).T @ grad_output[n]
            chain = chain @ (slope[:, None] * weights[l - 1])  # C_{l−1} = C_l J_l
            grad_hidden[l - 1][n] = chain.T @ grad_output[n]
    grad_W = [np.einsum("bi,bj->ij", d, h) for d, h in zip(deltas, hidden[:-1])]
    grad_b = [d.sum(axis=0) for d in deltas]
    return grad_hidden, grad_W, grad_b
