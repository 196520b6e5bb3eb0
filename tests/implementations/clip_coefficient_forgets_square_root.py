"""Wrong: the clipping coefficient is min(1, max_norm/Σg²) instead of min(1, max_norm/‖g‖), the square root
forgotten: a gradient with ‖g‖ > 1 comes out with norm max_norm/‖g‖, far below max_norm (over-clipped), though
the total norm it reports is right."""

import numpy as np

import reference
from reference import (  # noqa: F401  (correct ones)
    clip_grad_value,
    mlp_backward,
    mlp_forward,
    rnn_backward,
    rnn_forward,
)

REJECTED_BY = ("S2b", "S6a", "S6b", "S7a", "S12a", "S12b", "S12c", "S12f", "S12j", "S19a", "S19b")  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    total_out = reference.clip_grad_norm(grads, max_norm, norm_type)[1]  # its checks and its total norm: both right
    squares = sum(float(np.sum(np.square(np.asarray(g, dtype=np.float64)))) for g in grads)
    coefficient = min(1.0, max_norm / squares) if squares > 0 else 1.0
    return [(np.asarray(g, dtype=np.float64) * coefficient).astype(g.dtype) for g in grads], total_out
