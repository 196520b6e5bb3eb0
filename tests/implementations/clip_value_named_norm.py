"""Wrong: 'clip_grad_norm' that clips every entry to [−max_norm, max_norm] (value clipping)."""

import numpy as np

import reference


def clip_grad_norm(grads, max_norm, norm_type):
    return [np.clip(g, -max_norm, max_norm).astype(g.dtype) for g in grads], reference.global_norm(grads, norm_type)
