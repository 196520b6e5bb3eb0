"""Gradients the clipping claims feed to implementations: lists of tensors of one float dtype.

Each case rebuilds from its repr.  ``exact_norm`` computes the global p-norm the spec compares
against: in float64 after scaling by max|g|, so it neither overflows nor underflows.
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np
from hypothesis import strategies as st

from spec_tests.networks import seeds

DTYPES = {
    "float64": np.dtype(np.float64),
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
}
# log10 of the entry scale such that Σ g² stays representable when accumulated in float32 (float64
# for float64): the range of the required claims.  Larger entries belong to the overflow claim.
ORDINARY_SCALES = {"float64": (-100, 100), "float32": (-12, 12), "float16": (-2, 3), "bfloat16": (-12, 12)}


def unit_roundoff(dtype) -> float:
    """u = eps/2 of a dtype (bfloat16: 2^-8)."""
    return float(ml_dtypes.finfo(dtype).eps) / 2


def accumulation_roundoff(dtype) -> float:
    """The unit roundoff a norm may be accumulated with: float64's for float64, float32's otherwise
    (16-bit squares accumulated in 16 bits would overflow for entries of a few hundred)."""
    return unit_roundoff(np.float64 if np.dtype(dtype) == np.float64 else np.float32)


def smallest_subnormal(dtype) -> float:
    return float(ml_dtypes.finfo(dtype).smallest_subnormal)


def exact_norm(grads, p: float = 2.0) -> float:
    """||concat(grads)||_p in float64, scaled by max|g|: correct to a few float64 ulps for any input."""
    flat = np.concatenate([np.asarray(g, dtype=np.float64).ravel() for g in grads]) if grads else np.zeros(0)
    if flat.size == 0:
        return 0.0
    m = float(np.max(np.abs(flat)))
    if m == 0.0 or not np.isfinite(m):
        return m
    if p == np.inf:
        return m
    return m * float(np.sum((np.abs(flat) / m) ** p)) ** (1 / p)


def norm_tolerance(grads, dtype) -> float:
    """Relative error a correct global norm may carry: γ_n of its accumulation precision, n entries."""
    n = sum(int(np.size(g)) for g in grads) + 4
    u = accumulation_roundoff(dtype)
    return 2 * n * u / (1 - n * u)


@dataclass(frozen=True)
class GradientCase:
    """Gaussian tensors of the given shapes, times 10**log10_scale, in one dtype."""

    seed: int
    shapes: tuple
    dtype: str
    log10_scale: float = 0.0

    def build(self) -> list[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        scale = 10.0**self.log10_scale
        return [np.array(scale * rng.standard_normal(shape), dtype=DTYPES[self.dtype]) for shape in self.shapes]


shapes = st.lists(st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple), min_size=1, max_size=5).map(tuple)


@st.composite
def gradient_cases(draw, dtypes=tuple(DTYPES), scales=None):
    dtype = draw(st.sampled_from(dtypes), label="dtype")
    low, high = (scales or ORDINARY_SCALES)[dtype]
    return GradientCase(
        seed=draw(seeds, label="seed"),
        shapes=draw(shapes, label="shapes"),
        dtype=dtype,
        log10_scale=draw(st.integers(low, high), label="log10_scale"),
    )
