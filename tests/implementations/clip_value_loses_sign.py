"""Wrong: value clipping as np.where(|g| > c, c, g): an entry below −c becomes +c, its sign lost."""

import numpy as np

from reference import clip_grad_norm  # noqa: F401  (the correct one)

REJECTED_BY = ("S12k",)  # the exact set of claims whose tests fail on this implementation


def clip_grad_value(grads, clip_value):
    return [np.where(np.abs(g) > clip_value, clip_value, g).astype(g.dtype) for g in grads]
