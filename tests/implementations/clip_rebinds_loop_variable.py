"""Wrong: clip_grad_norm returns the right total norm but the gradients unclipped (a loop rebinds g).

The clipping loop `for g in grads: g = g * coefficient` rebinds its variable instead of storing the
result.  Plausible: a classic Python slip (in-place `g *= coefficient` would have worked on arrays);
the reported total norm is right, so a log of it looks healthy while nothing is clipped."""

import numpy as np

import reference
from reference import mlp_backward, mlp_forward, rnn_backward, rnn_forward  # noqa: F401  (correct ones)

REJECTED_BY = ("S2b", "S6a", "S6b", "S7a", "S12a", "S12b", "S12f", "S12j", "S19a", "S19b")  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    _, total = reference.clip_grad_norm(grads, max_norm, norm_type)  # its checks and its total norm: both right
    grads = [np.array(g) for g in grads]
    coefficient = min(1.0, max_norm / total) if total > 0 else 1.0
    for g in grads:
        g = g * coefficient  # the bug: rebinds g; the list keeps the unclipped gradient
    return grads, total
