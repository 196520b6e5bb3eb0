"""Wrong: the block Jacobian is the branch's alone, α_l W2 diag(σ'(z_l)) W1, without the skip path's I."""

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
        jacobians.append(alpha * (W2 * sigma.derivative(z)) @ W1)  # should add np.eye(d)
        h = h + alpha * (sigma.function(z) @ W2.T + b2)
    return jacobians
