"""Wrong: the backward pass runs in float32 (PyTorch's default dtype) and casts its results back to float64."""

import numpy as np

from reference import mlp_backward as _correct_backward
from reference import mlp_forward, mlp_layer_jacobians  # noqa: F401  (correct ones)

REJECTED_BY = ("P2", "S1a", "S1b", "S1c", "S3a", "S5a", "S5b", "S5c", "S9a")  # the exact set of claims whose tests fail on this implementation


def _single(array):
    return np.asarray(array, dtype=np.float32)


def mlp_backward(x, weights, biases, activation, grad_output):
    hidden, grad_W, grad_b = _correct_backward(
        _single(x), [_single(W) for W in weights], [_single(b) for b in biases], activation, _single(grad_output))
    return tuple([np.asarray(a, dtype=np.float64) for a in arrays] for arrays in (hidden, grad_W, grad_b))
