"""Wrong: the clipping coefficient is max(1, max_norm/‖g‖) instead of min: small gradients are scaled up, large ones never clipped."""

import numpy as np

import reference
from reference import (  # noqa: F401  (correct ones)
    clip_grad_value,
    mlp_backward,
    mlp_forward,
    rnn_backward,
    rnn_forward,
)

REJECTED_BY = ("S2b", "S6a", "S6b", "S7a", "S12a", "S12b", "S12c", "S12d", "S12f", "S12j", "S19a", "S19b")  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    _, total = reference.clip_grad_norm(grads, max_norm, norm_type)  # its checks and its total norm: both right
    coefficient = max(1.0, max_norm / total) if total > 0 else 1.0
    with np.errstate(over="ignore"):  # a coefficient above 1 may overflow float16
        return [(np.asarray(g, dtype=np.float64) * coefficient).astype(g.dtype) for g in grads], total
