"""Wrong: the block Jacobian forgets the branch scale, J_l = I + W2 diag(σ'(z_l)) W1 instead of I + α_l W2 diag(σ'(z_l)) W1."""

import numpy as np

from reference import residual_backward, residual_forward  # noqa: F401  (correct ones)
from reference.activations import get_activation

REJECTED_BY = ("P15", "S14c")


def residual_block_jacobians(x, branches, alphas, activation):
    sigma = get_activation(activation)
    h = np.asarray(x, dtype=float)
    jacobians = []
    for (W1, b1, W2, b2), alpha in zip(branches, alphas):
        z = h @ W1.T + b1
        jacobians.append(np.eye(h.shape[0]) + (W2 * sigma.derivative(z)) @ W1)  # α_l missing
        h = h + alpha * (sigma.function(z) @ W2.T + b2)
    return jacobians
