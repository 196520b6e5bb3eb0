"""Correct, computed another way: the global 2-norm as a running hypot over the entries (float64, one
rounding per entry, never overflowing), other p-norms as an exact math.fsum of (|g|/max|g|)^p, the
gradient normalised and then scaled ((g / ||g||) · c), value clipping by np.where, and adaptive clipping
with np.hypot.reduce over each row and a coefficient c / max(||G_i||, c).
The spec must accept it: its tolerances must not encode the reference's evaluation order."""

import functools
import math

import numpy as np

REJECTED_BY = ()  # the exact set of claims whose tests fail on this implementation


def _finite_positive(value, name):
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


def _flat64(grads):
    flat = [float(x) for g in grads for x in np.asarray(g, dtype=np.float64).ravel()]
    if not all(math.isfinite(x) for x in flat):
        raise ValueError("the gradient holds NaN or inf")
    return flat


def clip_grad_norm(grads, max_norm, norm_type):
    max_norm = _finite_positive(max_norm, "max_norm")
    flat = _flat64(grads)
    p = float(norm_type)
    largest = max((abs(x) for x in flat), default=0.0)
    if p == math.inf or largest == 0.0:
        total = largest
    elif p == 2.0:
        total = functools.reduce(math.hypot, flat, 0.0)
    else:
        total = largest * math.fsum((abs(x) / largest) ** p for x in reversed(flat)) ** (1.0 / p)
    if total <= max_norm:
        return [np.array(g, copy=True) for g in grads], total
    return [((np.asarray(g, dtype=np.float64) / total) * max_norm).astype(g.dtype) for g in grads], total


def clip_grad_value(grads, clip_value):
    c = _finite_positive(clip_value, "clip_value")
    _flat64(grads)
    return [np.where(g > c, c, np.where(g < -c, -c, g)).astype(g.dtype) for g in grads]


def adaptive_clip_grad(params, grads, clipping, eps):
    clipping, eps = _finite_positive(clipping, "clipping"), _finite_positive(eps, "eps")
    _flat64(params), _flat64(grads)
    clipped = []
    for w, g in zip(params, grads):
        rows = (np.shape(g)[0], -1) if np.ndim(g) >= 2 else (1, -1)
        w_rows = np.asarray(w, dtype=np.float64).reshape(rows)
        g_rows = np.asarray(g, dtype=np.float64).reshape(rows)
        threshold = clipping * np.maximum(np.hypot.reduce(w_rows, axis=1), eps)
        coefficient = threshold / np.maximum(np.hypot.reduce(g_rows, axis=1), threshold)
        clipped.append((g_rows * coefficient[:, None]).reshape(np.shape(g)).astype(g.dtype))
    return clipped
