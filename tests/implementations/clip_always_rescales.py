"""Wrong: rescales to max_norm even when the gradient is already below it (normalises instead of clips)."""

import numpy as np

import reference

REJECTED_BY = ("S12c", "S12b")  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    total = reference.global_norm(grads, norm_type)
    coefficient = max_norm / total if total > 0 else 1.0
    return [(np.asarray(g, dtype=np.float64) * coefficient).astype(g.dtype) for g in grads], total
