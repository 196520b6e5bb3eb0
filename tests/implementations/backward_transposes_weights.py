"""Wrong: the backward pass multiplies by W_l instead of W_lᵀ (fits only square layers)."""

from reference import mlp_forward, mlp_layer_jacobians  # noqa: F401
from reference.activations import get_activation

REJECTED_BY = ("P2", "S1a", "S1b", "S5b")  # the exact set of claims whose tests fail on this implementation


def mlp_backward(x, weights, biases, activation, grad_output):
    pre, hidden = mlp_forward(x, weights, biases, activation)
    sigma = get_activation(activation)
    g, grad_W, grad_b = [grad_output], [], []
    for l in reversed(range(len(weights))):
        delta = sigma.derivative(pre[l]) * g[0]
        grad_W.insert(0, delta.T @ hidden[l])
        grad_b.insert(0, delta.sum(axis=0))
        g.insert(0, delta @ weights[l].T)  # should be delta @ W_l
    return g, grad_W, grad_b
