"""Wrong for this protocol: the last layer is left linear (a common convention elsewhere)."""

from reference import mlp_backward, mlp_layer_jacobians  # noqa: F401
from reference.activations import get_activation

REJECTED_BY = ("P1",)  # the exact set of claims whose tests fail on this implementation


def mlp_forward(x, weights, biases, activation):
    sigma = get_activation(activation)
    pre, hidden = [], [x]
    for l, (W, b) in enumerate(zip(weights, biases)):
        a = hidden[-1] @ W.T + b
        pre.append(a)
        hidden.append(a if l == len(weights) - 1 else sigma.function(a))
    return pre, hidden
