"""Wrong: one hidden-state gradient of the residual backward pass is off by a relative 1e-8 (P14's tolerance is far tighter)."""

from reference import residual_backward as _correct
from reference import residual_block_jacobians, residual_forward  # noqa: F401  (correct ones)

REJECTED_BY = ("P14", "S14a", "S14b", "S14c", "S14d")


def residual_backward(x, branches, alphas, activation, grad_output):
    hidden, grad_branches = _correct(x, branches, alphas, activation, grad_output)
    hidden = list(hidden)
    hidden[0] = hidden[0] * (1 + 1e-8)
    return hidden, grad_branches
