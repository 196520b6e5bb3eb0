"""Wrong: the bias gradient averages δ_l over the batch instead of summing it."""

from reference import mlp_backward as _correct_backward
from reference import mlp_forward, mlp_layer_jacobians  # noqa: F401

REJECTED_BY = ("P2",)  # the exact set of claims whose tests fail on this implementation


def mlp_backward(x, weights, biases, activation, grad_output):
    hidden, grad_W, grad_b = _correct_backward(x, weights, biases, activation, grad_output)
    return hidden, grad_W, [g / len(x) for g in grad_b]
