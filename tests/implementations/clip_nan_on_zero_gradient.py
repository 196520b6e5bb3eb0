"""Wrong: the coefficient is min(||g||, max_norm) / ||g||, computed for every gradient: a zero gradient
gives 0 / 0 = NaN instead of staying zero."""

import numpy as np

import reference
from reference import (  # noqa: F401  (correct ones)
    clip_grad_value,
    mlp_backward,
    mlp_forward,
    rnn_backward,
    rnn_forward,
)

REJECTED_BY = ("S12h",)  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    _, total = reference.clip_grad_norm(grads, max_norm, norm_type)  # the refusals, and the total
    total = np.float64(total)
    with np.errstate(invalid="ignore"):
        coefficient = np.minimum(total, max_norm) / total  # exactly 1 below the threshold; NaN at 0
    return [(g.astype(np.float64) * coefficient).astype(g.dtype) for g in grads], float(total)
