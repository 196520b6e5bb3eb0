"""Wrong: reports the right, overflow-safe total norm, but scales by max_norm over an unscaled norm that
overflows to inf for extreme entries (the gradient comes back as zeros) or underflows to 0 (it comes
back unclipped).

A half-done overflow fix: the reported total was routed through a safe global norm; the coefficient in
the clipping loop still sums squares as before, in float32 (float64 for float64 gradients), unscaled."""

import numpy as np

import reference
from reference import (  # noqa: F401  (correct ones)
    clip_grad_value,
    mlp_backward,
    mlp_forward,
    rnn_backward,
    rnn_forward,
)

REJECTED_BY = ("S12f",)  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    checked, total = reference.clip_grad_norm(grads, max_norm, norm_type)  # the refusals, and the safe total
    if norm_type != 2:
        return checked, total
    with np.errstate(over="ignore", under="ignore"):
        squares = sum(np.sum(np.square(g.astype(np.float64 if g.dtype == np.float64 else np.float32)))
                      for g in grads)
        naive = float(np.sqrt(squares))  # inf when the squares overflow, 0 when they underflow
    if not naive > max_norm:
        return [g.copy() for g in grads], total
    coefficient = max_norm / naive  # 0 for an overflowed norm
    return [(g.astype(np.float64) * coefficient).astype(g.dtype) for g in grads], total
