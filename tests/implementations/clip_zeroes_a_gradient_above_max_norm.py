"""Wrong: a gradient whose norm exceeds max_norm is dropped (returned as zeros) instead of rescaled to
max_norm — 'skip the step when the gradient explodes', a remedy some training loops use, but not clipping:
the update loses its direction and the run stops learning."""

import numpy as np

import reference
from reference import (  # noqa: F401  (correct ones)
    clip_grad_value,
    mlp_backward,
    mlp_forward,
    rnn_backward,
    rnn_forward,
)

REJECTED_BY = ("S2b", "S6a", "S6b", "S7a", "S12b", "S12c", "S12d", "S12f", "S12j", "S12l", "S19a", "S19b")  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    clipped, total = reference.clip_grad_norm(grads, max_norm, norm_type)
    if total > max_norm:
        clipped = [np.zeros_like(g) for g in clipped]
    return clipped, total
