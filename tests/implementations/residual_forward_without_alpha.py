"""Wrong: the residual forward pass adds the branch unscaled, h_l = h_{l-1} + F_l(h_{l-1}), ignoring α_l."""

from reference import residual_backward, residual_block_jacobians  # noqa: F401  (correct ones)
from reference.activations import get_activation

REJECTED_BY = ("P13", "S14c")


def residual_forward(x, branches, alphas, activation):
    sigma = get_activation(activation)
    hidden = [x]
    for W1, b1, W2, b2 in branches:
        hidden.append(hidden[-1] + sigma.function(hidden[-1] @ W1.T + b1) @ W2.T + b2)  # α_l missing
    return hidden
