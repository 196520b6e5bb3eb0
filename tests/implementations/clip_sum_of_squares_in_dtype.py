"""Wrong (numerically): the squared norm is summed in the gradients' own dtype, without scaling,
so it overflows (float16 beyond ~256, float32 beyond ~1e19) or underflows."""

import numpy as np

REJECTED_BY = ("S12f", "S12b")  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    dtype = grads[0].dtype if grads else np.float64
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        total = np.sqrt(sum((np.sum(g * g, dtype=g.dtype) for g in grads), start=np.zeros((), dtype)))
        coefficient = min(1.0, max_norm / float(total)) if float(total) > 0 else 1.0
        return [(g * coefficient).astype(g.dtype) for g in grads], float(total)
