"""Wrong: 'value clipping' that rescales each tensor so that its largest entry is c (clipping by the
∞-norm): the direction is kept, but entries inside [−c, c] shrink and clip_value([10, 1], 1) is [1, 0.1]."""

import numpy as np

from reference import clip_grad_norm  # noqa: F401  (the correct one)

REJECTED_BY = ("S12k", "S12l")  # the exact set of claims whose tests fail on this implementation


def clip_grad_value(grads, clip_value):
    clipped = []
    for g in grads:
        largest = float(np.max(np.abs(g))) if g.size else 0.0
        coefficient = clip_value / largest if largest > clip_value else 1.0
        clipped.append((g.astype(np.float64) * coefficient).astype(g.dtype))
    return clipped
