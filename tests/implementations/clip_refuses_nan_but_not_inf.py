"""Wrong: refuses a gradient whose norm is NaN, but not one holding ±inf: its norm is inf, the
coefficient max_norm / inf = 0, and the gradient silently comes back as zeros."""

import math

import numpy as np

import reference
from reference import (  # noqa: F401  (correct ones)
    clip_grad_value,
    mlp_backward,
    mlp_forward,
    rnn_backward,
    rnn_forward,
)

REJECTED_BY = ("S12g",)  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    if not (math.isfinite(max_norm) and max_norm > 0):
        raise ValueError(f"max_norm must be finite and > 0, got {max_norm}")
    total = reference.global_norm(grads, norm_type)
    if math.isnan(total):
        raise ValueError("the gradient holds NaN")
    coefficient = min(1.0, max_norm / total) if total > 0 else 1.0
    with np.errstate(invalid="ignore"):  # inf · 0 = NaN at the inf entry, zeros elsewhere
        return [(g.astype(np.float64) * coefficient).astype(g.dtype) for g in grads], total
