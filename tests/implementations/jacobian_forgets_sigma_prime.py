"""Wrong: the layer Jacobian is W_l alone, without diag(σ'(a_l))."""

import numpy as np

from reference import mlp_backward, mlp_forward  # noqa: F401

REJECTED_BY = ("P3",)  # the exact set of claims whose tests fail on this implementation


def mlp_layer_jacobians(x, weights, biases, activation):
    return [np.array(W, dtype=float) for W in weights]
