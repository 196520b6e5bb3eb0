"""Wrong (numerically): the squared norm is summed in the gradients' own dtype, without scaling,
so it overflows (float16 beyond ~256, float32 beyond ~1e19) or underflows."""

import numpy as np

import reference
from reference import (  # noqa: F401  (correct ones)
    clip_grad_value,
    mlp_backward,
    mlp_forward,
    rnn_backward,
    rnn_forward,
)

REJECTED_BY = ("S12a", "S12b", "S12c", "S12d", "S12e", "S12f", "S12j")  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    reference.clip_grad_norm(grads, max_norm, norm_type)  # its checks: non-finite gradients, a bad max_norm
    if not grads:
        return [], 0.0
    dtype = grads[0].dtype
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        total = np.sqrt(sum((np.sum(g * g, dtype=g.dtype) for g in grads), start=np.zeros((), dtype)))
        coefficient = min(1.0, max_norm / float(total)) if float(total) > 0 else 1.0
        return [(g * coefficient).astype(g.dtype) for g in grads], float(total)
