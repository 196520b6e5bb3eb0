"""Wrong: always clips by the 2-norm, whatever norm_type asks for."""

import reference
from reference import (  # noqa: F401  (correct ones)
    clip_grad_value,
    mlp_backward,
    mlp_forward,
    rnn_backward,
    rnn_forward,
)

REJECTED_BY = ("S12j",)  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    return reference.clip_grad_norm(grads, max_norm, 2.0)
