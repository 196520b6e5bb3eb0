"""Wrong: the hidden-state gradients are returned in the order the backward pass visits them, output first ([∂L/∂h_L, …, ∂L/∂h_0]: appended, never reversed)."""

import numpy as np

from reference import mlp_backward as _correct_backward
from reference import mlp_forward, mlp_layer_jacobians  # noqa: F401  (correct ones)

REJECTED_BY = ("P2", "S1a", "S1b", "S1c", "S3a", "S5a", "S5b", "S5c", "S9a", "S9b")  # the exact set of claims whose tests fail on this implementation


def mlp_backward(x, weights, biases, activation, grad_output):
    hidden, grad_W, grad_b = _correct_backward(x, weights, biases, activation, grad_output)
    visited = []
    for g in reversed(hidden):  # the loop runs from the output to the input ...
        visited.append(np.asarray(g))  # ... and appends: should insert at the front, or reverse at the end
    return visited, grad_W, grad_b
