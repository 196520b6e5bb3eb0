"""Wrong: 'clip_grad_norm' that clips every entry to [−max_norm, max_norm] (value clipping)."""

import numpy as np

import reference

REJECTED_BY = ("S12a", "S12b", "S12d")  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    return [np.clip(g, -max_norm, max_norm).astype(g.dtype) for g in grads], reference.global_norm(grads, norm_type)
