"""Wrong: ∂L/∂W1 of block l uses the block's output h_l instead of its input h_{l-1}."""

import numpy as np

from reference import residual_block_jacobians, residual_forward  # noqa: F401  (correct ones)
from reference.activations import get_activation

REJECTED_BY = ("P14",)


def residual_backward(x, branches, alphas, activation, grad_output):
    sigma = get_activation(activation)
    hidden = residual_forward(x, branches, alphas, activation)
    grads, grad_branches = [np.asarray(grad_output, dtype=float)], []
    for l in reversed(range(len(branches))):
        W1, b1, W2, b2 = branches[l]
        z = hidden[l] @ W1.T + b1
        e = alphas[l] * grads[0]
        delta = sigma.derivative(z) * (e @ W2)
        # should be delta.T @ hidden[l], the block's input
        grad_branches.insert(0, (delta.T @ hidden[l + 1], delta.sum(axis=0), e.T @ sigma.function(z), e.sum(axis=0)))
        grads.insert(0, grads[0] + delta @ W1)
    return grads, grad_branches
