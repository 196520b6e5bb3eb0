"""Wrong: clips every tensor by its own norm instead of the norm of the whole gradient."""

import reference
from reference import (  # noqa: F401  (correct ones)
    clip_grad_value,
    mlp_backward,
    mlp_forward,
    rnn_backward,
    rnn_forward,
)

REJECTED_BY = ("S6a", "S6b", "S12a", "S12b", "S12d", "S12f", "S12j")  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    _, total = reference.clip_grad_norm(grads, max_norm, norm_type)  # its checks and its total norm: both right
    clipped = [reference.clip_grad_norm([g], max_norm, norm_type)[0][0] for g in grads]
    return clipped, total
