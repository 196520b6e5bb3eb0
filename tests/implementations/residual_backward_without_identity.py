"""Wrong: the residual backward pass drops the skip path's identity, g_{l-1} = δ_l W1 instead of g_l + δ_l W1."""

import numpy as np

from reference import residual_block_jacobians, residual_forward  # noqa: F401  (correct ones)
from reference.activations import get_activation

REJECTED_BY = ("P14", "S14a", "S14b", "S14c", "S14d")


def residual_backward(x, branches, alphas, activation, grad_output):
    sigma = get_activation(activation)
    hidden = residual_forward(x, branches, alphas, activation)
    grads, grad_branches = [np.asarray(grad_output, dtype=float)], []
    for l in reversed(range(len(branches))):
        W1, b1, W2, b2 = branches[l]
        z = hidden[l] @ W1.T + b1
        e = alphas[l] * grads[0]
        delta = sigma.derivative(z) * (e @ W2)
        grad_branches.insert(0, (delta.T @ hidden[l], delta.sum(axis=0), e.T @ sigma.function(z), e.sum(axis=0)))
        grads.insert(0, delta @ W1)  # should be grads[0] + delta @ W1: the skip path's gradient is dropped
    return grads, grad_branches
