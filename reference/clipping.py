"""Gradient clipping: by global norm, by value, and adaptive (unit-wise) clipping.

Clipping by global norm (Pascanu, Mikolov & Bengio 2013, Algorithm 1) is the
projection of the whole gradient g = (g_1, …, g_k) onto the ball of radius c:

    ||g|| = || concat(g_1, …, g_k) ||_p,        clip(g) = g · min(1, c / ||g||),

one coefficient for every tensor, so the direction is kept, ||clip(g)|| =
min(||g||, c) exactly, and clipping twice changes nothing.  The total norm is
computed without overflow or underflow in any float dtype (float16, bfloat16,
float32, float64); non-finite gradients are refused with a ValueError before
anything is changed.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .validation import check_array_list, check_norm_type, check_positive, read_array

_CHUNK = 1 << 14


def _float_arrays(grads: Sequence, name: str = "grads") -> list[np.ndarray]:
    arrays = []
    for index, g in enumerate(check_array_list(grads, name)):
        array = read_array(g, f"{name}[{index}]")
        if not np.issubdtype(array.dtype, np.floating) and array.dtype.name != "bfloat16":
            raise ValueError(f"{name}[{index}] must be a floating-point array, got dtype {array.dtype}")
        arrays.append(array)
    return arrays


def _refuse_non_finite(grads: list[np.ndarray], name: str = "grads") -> None:
    for index, g in enumerate(grads):
        finite = np.isfinite(g)
        if not finite.all():
            raise ValueError(
                f"{name}[{index}] holds {int(finite.size - finite.sum())} non-finite value(s) (NaN or inf); "
                "nothing was clipped"
            )


def _sum_of_squares(g: np.ndarray) -> float:
    """Σ g², summed in float64 over BLAS dot products of chunks of 16384 entries.

    float64 tensors are dotted in float64.  Narrower floats are dotted in float32 one chunk at
    a time (relative error about eps32 per chunk, no float64 copy of the tensor); a chunk whose
    float32 sum overflows (entries beyond ~1e17) is redone in float64.  May return inf for float64
    entries beyond ~1e154: global_norm then rescales.
    """
    flat = g.reshape(-1)
    with np.errstate(over="ignore", under="ignore"):
        if flat.dtype == np.float64:
            return float(np.dot(flat, flat))
        if flat.dtype != np.float32:
            flat = flat.astype(np.float32)  # float16 and bfloat16 fit (bfloat16 may overflow below)
        total = 0.0
        for start in range(0, flat.size, _CHUNK):
            chunk = flat[start:start + _CHUNK]
            part = float(np.dot(chunk, chunk))
            if not part < 3e38:  # the float32 accumulator overflowed (or saw NaN/inf)
                wide = chunk.astype(np.float64)
                part = float(np.dot(wide, wide))
            total += part
    return total


def _max_abs(grads: list[np.ndarray]) -> float:
    return max((float(np.max(np.abs(g))) for g in grads if g.size), default=0.0)


def global_norm(grads: Sequence, norm_type: float = 2.0) -> float:
    """||concat(g_1, …, g_k)||_p for p ≥ 1 or p = inf, in float64, never overflowing.

    p = 2 sums squares by chunked BLAS dot products (see _sum_of_squares); where the sum
    overflows or is so small that squares may have underflowed (below 1e-30), it is redone on
    g / max|g| in float64.  Other p use that scaling always: m · (Σ (|g|/m)^p)^(1/p).
    """
    arrays = _float_arrays(grads)
    p = check_norm_type(norm_type)
    if not arrays or all(g.size == 0 for g in arrays):
        return 0.0
    if p == math.inf:
        return _max_abs(arrays)
    if p == 2:
        total = sum(_sum_of_squares(g) for g in arrays)
        if 1e-30 < total < math.inf:  # below 1e-30, float32 squares may have been subnormal
            return math.sqrt(total)
        if math.isnan(total):
            return math.nan
    m = _max_abs(arrays)
    if m == 0.0 or not math.isfinite(m):
        return m
    if p == 2:
        with np.errstate(under="ignore"):
            return m * math.sqrt(sum(_sum_of_squares(g.astype(np.float64) / m) for g in arrays))
    with np.errstate(under="ignore"):
        return m * sum(float(np.sum((np.abs(g.astype(np.float64)) / m) ** p)) for g in arrays) ** (1 / p)


def _scale_in_place(g: np.ndarray, coefficient: float) -> None:
    """g ← g · coefficient, rounded once into g's dtype."""
    if g.dtype == np.float64:
        g *= coefficient
    elif g.dtype == np.float32 and coefficient > 1e-30:
        g *= np.float32(coefficient)
    else:  # float16, bfloat16, or a coefficient float32 cannot hold exactly: go through float64
        g[...] = (g.astype(np.float64) * coefficient).astype(g.dtype)


def clip_grad_norm_(grads: Sequence[np.ndarray], max_norm: float, norm_type: float = 2.0) -> float:
    """In place: g_i ← g_i · min(1, max_norm / ||g||) for every tensor; returns ||g|| before clipping.

    Raises ValueError, touching nothing, for non-finite gradients, max_norm ≤ 0 or non-finite,
    or norm_type < 1.
    """
    arrays = _float_arrays(grads)
    max_norm = check_positive(max_norm, "max_norm")
    total = global_norm(arrays, norm_type)
    if not math.isfinite(total):
        _refuse_non_finite(arrays)
    if total > max_norm:
        coefficient = max_norm / total
        for g in arrays:
            _scale_in_place(g, coefficient)
    return total


def clip_grad_norm(grads: Sequence, max_norm: float, norm_type: float = 2.0) -> tuple[list[np.ndarray], float]:
    """clip(g) = g · min(1, max_norm / ||g||_p), one coefficient for all tensors.

    Returns (clipped copies, ||g||_p before clipping).  See clip_grad_norm_ for errors.
    """
    copies = [np.array(g, copy=True) for g in _float_arrays(grads)]
    total = clip_grad_norm_(copies, max_norm, norm_type)
    return copies, total


def clip_grad_value(grads: Sequence, clip_value: float) -> list[np.ndarray]:
    """Entrywise clip to [−c, c].  Keeps every sign, bounds every entry, but changes the direction."""
    arrays = _float_arrays(grads)
    c = check_positive(clip_value, "clip_value")
    _refuse_non_finite(arrays)
    return [np.clip(g, -c, c).astype(g.dtype) for g in arrays]


def unitwise_norm(x: np.ndarray) -> np.ndarray:
    """Norm per output unit, in PyTorch's (out, in, …) layout: over every axis but the first for
    arrays of 2 or more dimensions, over the whole array for vectors and scalars.  Keeps dims."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim <= 1:
        return np.asarray(np.linalg.norm(x))
    return np.sqrt(np.sum(x * x, axis=tuple(range(1, x.ndim)), keepdims=True))


def adaptive_clip_grad(params: Sequence, grads: Sequence, clipping: float = 0.01, eps: float = 1e-3) -> list[np.ndarray]:
    """Adaptive gradient clipping (Brock, De, Smith & Simonyan 2021), unit by unit:

        G_i ← G_i · min(1, λ · max(||W_i||, ε) / ||G_i||)

    with units as in unitwise_norm.  A unit whose gradient is already small enough is unchanged.
    """
    weights, gradients = _float_arrays(params, "params"), _float_arrays(grads)
    if len(weights) != len(gradients):
        raise ValueError(f"got {len(weights)} parameter tensors but {len(gradients)} gradients")
    for index, (w, g) in enumerate(zip(weights, gradients)):
        if w.shape != g.shape:
            raise ValueError(f"grads[{index}] has shape {g.shape} but params[{index}] has shape {w.shape}")
    lam = check_positive(clipping, "clipping")
    eps = check_positive(eps, "eps")
    _refuse_non_finite(weights, "params")
    _refuse_non_finite(gradients)
    clipped = []
    for w, g in zip(weights, gradients):
        max_norm = lam * np.maximum(unitwise_norm(w), eps)
        g_norm = unitwise_norm(g)
        coefficient = np.where(g_norm > max_norm, max_norm / np.where(g_norm > 0, g_norm, 1.0), 1.0)
        clipped.append((g.astype(np.float64) * coefficient).astype(g.dtype))
    return clipped
