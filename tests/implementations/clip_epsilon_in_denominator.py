"""Wrong: scales every gradient by min(1, max_norm / (||g|| + 1e-6)), PyTorch's formula: clipping is no
longer a projection — a gradient at the threshold is shrunk, a small max_norm is missed, and every call
shrinks again."""

import numpy as np

import reference
from reference import (  # noqa: F401  (correct ones)
    clip_grad_value,
    mlp_backward,
    mlp_forward,
    rnn_backward,
    rnn_forward,
)

REJECTED_BY = ("S12b", "S12c", "S12e", "S12f", "S12j")  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    _, total = reference.clip_grad_norm(grads, max_norm, norm_type)  # the refusals, and the total
    coefficient = min(1.0, max_norm / (total + 1e-6))
    return [(g.astype(np.float64) * coefficient).astype(g.dtype) for g in grads], total
