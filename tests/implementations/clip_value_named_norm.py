"""Wrong: 'clip_grad_norm' that clips every entry to [−max_norm, max_norm] (value clipping)."""

import numpy as np

import reference
from reference import (  # noqa: F401  (correct ones)
    clip_grad_value,
    mlp_backward,
    mlp_forward,
    rnn_backward,
    rnn_forward,
)

REJECTED_BY = ("S6a", "S6b", "S7a", "S12a", "S12b", "S12d", "S12f", "S12j", "S12l")  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    _, total = reference.clip_grad_norm(grads, max_norm, norm_type)  # its checks and its total norm: both right
    with np.errstate(over="ignore"):  # a max_norm beyond float16's range rounds to ±inf: harmless here
        return [np.clip(g, -max_norm, max_norm).astype(g.dtype) for g in grads], total
