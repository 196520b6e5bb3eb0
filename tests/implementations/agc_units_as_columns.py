"""Wrong: adaptive clipping with units as columns — norms over every axis but the last, the (…, in, out)
layout of JAX/Haiku kernels — applied to PyTorch's (out, in, …) layout, where a unit is a row."""

import numpy as np

REJECTED_BY = ("S12m",)  # the exact set of claims whose tests fail on this implementation


def _unitwise_norm_last_axis(x):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim <= 1:
        return np.asarray(np.linalg.norm(x))
    return np.sqrt(np.sum(x * x, axis=tuple(range(x.ndim - 1)), keepdims=True))


def adaptive_clip_grad(params, grads, clipping, eps):
    clipped = []
    for w, g in zip(params, grads):
        max_norm = clipping * np.maximum(_unitwise_norm_last_axis(w), eps)
        g_norm = _unitwise_norm_last_axis(g)
        coefficient = np.where(g_norm > max_norm, max_norm / np.where(g_norm > 0, g_norm, 1.0), 1.0)
        clipped.append((g.astype(np.float64) * coefficient).astype(g.dtype))
    return clipped
