"""Wrong: ∂L/∂W_1, the first layer's weight gradient, is 1 + 1e-3 times its value (everything else is right)."""

from reference import mlp_backward as _correct_backward

REJECTED_BY = ("P2", "S5c")  # the exact set of claims whose tests fail on this implementation


def mlp_backward(x, weights, biases, activation, grad_output):
    hidden, grad_W, grad_b = _correct_backward(x, weights, biases, activation, grad_output)
    grad_W[0] = grad_W[0] * (1 + 1e-3)
    return hidden, grad_W, grad_b
