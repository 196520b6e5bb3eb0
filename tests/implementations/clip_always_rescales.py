"""Wrong: rescales to max_norm even when the gradient is already below it (normalises instead of clips)."""

import numpy as np

import reference
from reference import (  # noqa: F401  (correct ones)
    clip_grad_value,
    mlp_backward,
    mlp_forward,
    rnn_backward,
    rnn_forward,
)

REJECTED_BY = ("S12b", "S12c", "S12d", "S12j")  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    _, total = reference.clip_grad_norm(grads, max_norm, norm_type)  # its checks and its total norm: both right
    coefficient = max_norm / total if total > 0 else 1.0
    with np.errstate(over="ignore"):  # a coefficient above 1 may overflow float16
        return [(np.asarray(g, dtype=np.float64) * coefficient).astype(g.dtype) for g in grads], total
