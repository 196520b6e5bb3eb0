"""Gradients the clipping claims feed to implementations: lists of tensors of one float dtype.

Each case rebuilds from its repr.  ``exact_norm`` computes the global p-norm the spec compares
against: in float64 after scaling by max|g|, so it neither overflows nor underflows.
``adaptive_clip_definition`` is the spec's own statement of adaptive gradient clipping, unit by
unit.  tests/test_strategies_clipping.py checks that the strategies here reach the hard cases.
"""

from __future__ import annotations

import math
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


def clip_tolerance(grads, dtype) -> float:
    """Relative tolerance on a clipped norm: the norm's own error, plus up to three roundings into
    the gradients' dtype (the total norm, the coefficient and each product may all be held in it)."""
    return norm_tolerance(grads, dtype) + 4 * unit_roundoff(dtype)


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


# -- strategies ------------------------------------------------------------------------------
#
# Hypothesis fills the draws that come after a variable-length list (the shapes) with their simplest
# value about half the time (measured over 1000 examples: a float in [0, 1] drawn after the shapes
# is 0.0 in 55% of them, drawn before them in 4%).  So every scalar a test depends on is drawn BEFORE the
# shapes: in the composites below, and in the tests' @given argument order (tests/test_strategies_clipping.py
# checks the resulting spread).

# Where in its dtype's ordinary range a gradient's scale sits: 0 at the bottom, 1 at the top.  Drawn
# as a float, so that every dtype's range is covered evenly (no clamp piling draws on an endpoint).
scale_positions = st.floats(0.0, 1.0)


def ordinary_scale(dtype: str, position: float) -> float:
    """log10 of the entry scale at ``position`` ∈ [0, 1] of ORDINARY_SCALES[dtype], rounded to 1e-9
    (a factor 1 + 2e-9: nothing, but a case's repr reads -4.8, not -4.800000000000001)."""
    low, high = ORDINARY_SCALES[dtype]
    return round(low + (high - low) * position, 9)


shapes = st.lists(st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple), min_size=1, max_size=5).map(tuple)

# max_norm relative to the gradient's own norm: from far below (small max_norm) to above it
max_norm_ratios = st.sampled_from([1e-6, 1e-3, 0.1, 0.5, 0.999, 1.0, 1.001, 2.0, 100.0])

# The arguments of the S12a/S12b tests, whose dtype is a pytest parameter: @given(**ordinary_clip_draws)
ordinary_clip_draws = {"position": scale_positions, "ratio": max_norm_ratios, "seed": seeds, "shapes": shapes}


@st.composite
def gradient_cases(draw, dtypes=tuple(DTYPES)):
    """GradientCase: a dtype, a scale anywhere in its ordinary range, a seed, then the shapes."""
    dtype = draw(st.sampled_from(dtypes), label="dtype")
    log10_scale = ordinary_scale(dtype, draw(scale_positions, label="scale position"))
    seed = draw(seeds, label="seed")
    return GradientCase(seed=seed, shapes=draw(shapes, label="shapes"), dtype=dtype, log10_scale=log10_scale)


# -- adaptive gradient clipping ------------------------------------------------------------


def units(tensor: np.ndarray) -> list[np.ndarray]:
    """The units of a parameter tensor, in PyTorch's (out, in, …) layout: for 2 or more dimensions,
    unit i is every entry whose first index is i (an output neuron's incoming weights, a filter);
    a vector or a scalar (a bias, a gain) is one unit."""
    array = np.asarray(tensor, dtype=np.float64)
    return [array[i].ravel() for i in range(array.shape[0])] if array.ndim >= 2 else [array.ravel()]


def adaptive_clip_definition(params, grads, clipping: float, eps: float) -> list[np.ndarray]:
    """Adaptive gradient clipping as Brock, De, Smith & Simonyan (2021, section 4.1) define it, unit
    by unit:  G_i ← G_i · min(1, λ · max(||W_i||_F, ε) / ||G_i||_F),  λ = clipping.

    Written from the definition, not from any implementation: each unit's Frobenius norm is
    math.hypot of its entries (accurate to about an ulp, never overflowing), and each unit
    is rescaled on its own, in float64.  Returns float64 arrays of the gradients' shapes."""
    clipped = []
    for w, g in zip(params, grads):
        out_units = []
        for w_i, g_i in zip(units(w), units(g)):
            threshold = clipping * max(math.hypot(*w_i), eps)
            g_norm = math.hypot(*g_i)
            out_units.append(g_i * (threshold / g_norm) if g_norm > threshold else g_i)
        clipped.append(np.concatenate(out_units).reshape(np.shape(g)))  # units in row-major order
    return clipped


@dataclass(frozen=True)
class AdaptiveCase:
    """Weights and gradients for adaptive clipping, with its λ (clipping) and ε.

    The weights are Gaussian at scale 10**param_scale; the gradients at 10**grad_offset times the
    threshold's scale λ · max(10**param_scale, ε), so that units land on both sides of their
    threshold and near it (grad_offset near 0), where an error in a unit's norm decides the result."""

    dtype: str
    shapes: tuple
    seed: int
    param_scale: float
    grad_offset: float
    clipping: float
    eps: float

    def build(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        threshold_scale = self.clipping * max(10.0**self.param_scale, self.eps)
        params = GradientCase(self.seed, self.shapes, self.dtype, self.param_scale).build()
        grads = GradientCase(self.seed + 1, self.shapes, self.dtype,
                             math.log10(threshold_scale) + self.grad_offset).build()
        return params, grads


@st.composite
def adaptive_cases(draw, dtypes=("float64", "float32")):
    """AdaptiveCase: weights at 10^-4 … 10^2, so that both max(||W_i||, ε) regimes occur; gradients
    within a factor 3 of the threshold's scale; then 1 to 3 tensors of 1 to 3 dimensions."""
    scalars = {
        "dtype": draw(st.sampled_from(dtypes), label="dtype"),
        "param_scale": draw(st.floats(-4.0, 2.0), label="param_scale"),
        "grad_offset": draw(st.floats(-0.5, 0.5), label="grad_offset"),
        "clipping": draw(st.sampled_from([1e-3, 1e-2, 0.1]), label="clipping"),
        "eps": draw(st.sampled_from([1e-3, 1e-1]), label="eps"),
        "seed": draw(st.integers(0, 2**32 - 2), label="seed"),
    }
    tensor_shapes = tuple(draw(st.lists(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
                                        min_size=1, max_size=3), label="shapes"))
    return AdaptiveCase(shapes=tensor_shapes, **scalars)
