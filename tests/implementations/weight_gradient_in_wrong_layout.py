"""Wrong: weight gradients in (in_features, out_features) layout, h_{l-1}ᵀ δ_l."""

from reference import mlp_backward as _correct_backward
from reference import mlp_forward, mlp_layer_jacobians  # noqa: F401

REJECTED_BY = ("P2",)  # the exact set of claims whose tests fail on this implementation


def mlp_backward(x, weights, biases, activation, grad_output):
    hidden, grad_W, grad_b = _correct_backward(x, weights, biases, activation, grad_output)
    return hidden, [g.T.copy() for g in grad_W], grad_b
