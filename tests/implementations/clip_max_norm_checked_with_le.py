"""Wrong: refuses max_norm with `if max_norm <= 0`, which lets NaN and inf through (NaN <= 0 is False):
clip_grad_norm(g, nan) and clip_grad_norm(g, inf) quietly return g unclipped."""

import numpy as np

import reference
from reference import (  # noqa: F401  (correct ones)
    clip_grad_value,
    mlp_backward,
    mlp_forward,
    rnn_backward,
    rnn_forward,
)

REJECTED_BY = ("S12i",)  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    if max_norm <= 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
    total = reference.global_norm(grads, norm_type)
    if not np.isfinite(total):
        raise ValueError("the gradient holds NaN or inf")
    coefficient = max_norm / total if total > max_norm else 1.0
    return [(g.astype(np.float64) * coefficient).astype(g.dtype) for g in grads], total
