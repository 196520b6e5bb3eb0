"""Hypothesis strategies for your own tests: the ones the spec draws its cases with, as a public API.

    from hypothesis import given
    from spec_tests.strategies import matrices_with_singular_values

    @given(matrices_with_singular_values((3.0, 2.0, 0.5)))
    def test_my_spectral_norm(W):
        assert abs(my_spectral_norm(W) - 3.0) <= 1e-12 * 3.0

Every strategy here is a thin wrapper over what the spec's own tests use (spec_tests/networks.py,
spec_tests/sequences.py, spec_tests/gradients.py, spec_tests/spread.py), so it reaches the same
hard cases: spectra at the edge of a bound, gradients whose squares overflow or underflow their
dtype.  The names and parameters below are stable; what each strategy promises is stated in its
docstring and checked by tests/test_public_strategies.py.  docs/strategies.md has worked examples
(run by that test too).

Draws whose construction matters are frozen dataclasses (``SpectralNetwork``, ``AlignedNetwork``,
``GradientCase``, ``ScaledGradientCase``) whose repr rebuilds them and whose ``build()`` gives the
arrays, so a falsifying example hypothesis prints is a copy-pasteable reproduction.  Matrices are
drawn as arrays.

Matrices
    ``matrices_with_singular_values(singular_values, shape=None)``
    ``matrices_with_spectral_radius(radius, size, normal=False)``
Networks (``.build()`` → ``Network(x, weights, biases, activation, grad_output)``)
    ``linear_networks_with_singular_values(low, high, max_depth=8, max_width=8)``
    ``networks_with_jacobian_spectra(low, high, path='top', ...)``
Gradient lists (``.build()`` → a list of arrays of one dtype)
    ``gradient_lists(dtypes=DTYPE_NAMES)``: anywhere in the dtype's ordinary range
    ``gradient_lists_with_norm(norm, dtypes=DTYPE_NAMES)``: a prescribed global 2-norm
    ``overflowing_gradient_lists(dtypes=DTYPE_NAMES)``: the largest entry's square overflows
    ``subnormal_gradient_lists(dtypes=DTYPE_NAMES)``: every entry subnormal or zero
Spreading draws evenly (hypothesis piles draws on simple values; these do not)
    ``uniform``, ``log_uniform``, ``spread_integers``, ``uniform_choice``
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ml_dtypes
import numpy as np
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from spec_tests.gradients import DTYPES, GradientCase, exact_norm, gradient_cases, shapes, smallest_subnormal
from spec_tests.networks import (
    ACTIVATION_NAMES,
    AlignedNetwork,
    Network,
    SpectralNetwork,
    aligned_networks,
    random_orthogonal,
    seeds,
    spectral_networks,
)
from spec_tests.sequences import recurrent_matrix, scaled_orthogonal
from spec_tests.spread import log_uniform, spread_integers, uniform, uniform_choice

__all__ = [
    "ACTIVATION_NAMES",
    "DTYPE_NAMES",
    "AlignedNetwork",
    "GradientCase",
    "Network",
    "ScaledGradientCase",
    "SpectralNetwork",
    "exact_norm",
    "gradient_lists",
    "gradient_lists_with_norm",
    "linear_networks_with_singular_values",
    "log_uniform",
    "matrices_with_singular_values",
    "matrices_with_spectral_radius",
    "networks_with_jacobian_spectra",
    "overflowing_gradient_lists",
    "spread_integers",
    "subnormal_gradient_lists",
    "uniform",
    "uniform_choice",
]

DTYPE_NAMES = tuple(DTYPES)  # ("float64", "float32", "float16", "bfloat16")


def _strategy(value) -> SearchStrategy:
    """A strategy as it is, anything else as st.just(value)."""
    return value if isinstance(value, SearchStrategy) else st.just(value)


def _check_dtypes(dtypes) -> tuple[str, ...]:
    dtypes = tuple(dtypes)
    unknown = [d for d in dtypes if d not in DTYPES]
    if not dtypes or unknown:
        raise ValueError(f"dtypes must be a non-empty selection of {DTYPE_NAMES}, not {dtypes!r}")
    return dtypes


# -- matrices ------------------------------------------------------------------------------------


@st.composite
def matrices_with_singular_values(draw, singular_values, shape=None):
    """Matrices A = U diag(s) Vᵀ with U, V Haar-distributed orthogonal (``networks.random_orthogonal``).

    singular_values: a sequence of k non-negative floats s, or a strategy drawing one.
    shape: (rows, columns) with min(rows, columns) = k; default (k, k).
    Promise: the singular values of A are s (sorted decreasingly) to 1e-12·max(s), and A is float64.
    """
    s = np.asarray(draw(_strategy(singular_values), label="singular_values"), dtype=np.float64)
    if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError(f"singular_values must be a non-empty sequence of finite non-negative floats, not {s!r}")
    rows, columns = (s.size, s.size) if shape is None else shape
    if min(rows, columns) != s.size:
        raise ValueError(f"shape {shape!r} holds min(rows, columns) = {min(rows, columns)} singular values, "
                         f"not {s.size}")
    rng = np.random.default_rng(draw(seeds, label="seed"))
    U, V = random_orthogonal(rng, rows), random_orthogonal(rng, columns)
    return (U[:, :s.size] * s) @ V[:, :s.size].T


@st.composite
def matrices_with_spectral_radius(draw, radius, size, normal=False):
    """Square matrices with spectral radius max|λ_i| = radius.

    radius: a positive float or a strategy drawing one; size: an int or a strategy drawing one.
    normal=False: a Gaussian matrix rescaled to that radius (``sequences.recurrent_matrix``): non-normal,
    so its largest singular value usually exceeds the radius, the gap between ||Aᵗ|| and radiusᵗ that
    a bound on the spectral radius alone cannot see.  normal=True: radius times a Haar orthogonal
    matrix (``sequences.scaled_orthogonal``): every |λ_i| and every singular value equals the radius.
    Promise: max|λ_i| = radius to 1e-9 relative (1e-12 when normal), and A is float64.
    """
    r = float(draw(_strategy(radius), label="radius"))
    n = int(draw(_strategy(size), label="size"))
    if not (r > 0 and math.isfinite(r)) or n < 1:
        raise ValueError(f"radius must be a positive finite float and size a positive int, not {r!r}, {n!r}")
    seed = draw(seeds, label="seed")
    return np.array(scaled_orthogonal(seed, n, r) if normal else recurrent_matrix(seed, n, r), dtype=np.float64)


# -- networks ------------------------------------------------------------------------------------


def linear_networks_with_singular_values(low, high, max_depth=8, max_width=8):
    """``SpectralNetwork`` cases (``networks.spectral_networks``): linear networks of 1..max_depth square
    layers of width 1..max_width, W_l = U_l diag(s_l) V_lᵀ with every singular value drawn uniformly
    in [low, high] (0 ≤ low ≤ high).  The layer Jacobians are the W_l themselves.
    Promise: every singular value of every W_l lies in [low, high] to 1e-12·high."""
    if not 0 <= low <= high:
        raise ValueError(f"need 0 <= low <= high, not low={low!r}, high={high!r}")
    return spectral_networks(low, high, max_depth=max_depth, max_width=max_width)


def networks_with_jacobian_spectra(low, high, path="top", activations=ACTIVATION_NAMES, max_depth=8,
                                   max_width=8, max_spread=3.0):
    """``AlignedNetwork`` cases (``networks.aligned_networks``): networks of any activation whose layer
    Jacobians J_l = diag(σ'(a_l)) W_l at the drawn input are designed, so that a bound through depth is
    attained.

    path='top': each J_l's largest singular value is drawn log-uniformly in [low, high] (0 < low ≤ high),
    its others lie up to a factor 1 + max_spread below it; any widths.  path='bottom': the smallest
    singular value is drawn so and the others lie above it; widths never increase (so each J_lᵀ is
    injective).  The path singular values share one chain of singular vectors from the output to the
    input, and the output gradient makes a drawn angle with it (half the draws within 1e-3 rad): at
    angle 0, ||∂L/∂h_0|| = ||∂L/∂h_L|| · ∏_l s_l exactly — the product bound's hard case.
    activations: a subset of ACTIVATION_NAMES; the biases hold every pre-activation where σ' is bounded
    away from 0 (every relu unit active).
    Promise: computed from the network's own forward pass, σ_max(J_l) (path='top') or σ_min(J_l)
    (path='bottom') lies in [low, high] to 1e-9 relative, for every layer."""
    if path not in ("top", "bottom"):
        raise ValueError(f"path must be 'top' or 'bottom', not {path!r}")
    if not 0 < low <= high:
        raise ValueError(f"need 0 < low <= high, not low={low!r}, high={high!r}")
    unknown = set(activations) - set(ACTIVATION_NAMES)
    if not activations or unknown:
        raise ValueError(f"activations must be a non-empty selection of {ACTIVATION_NAMES}, not {activations!r}")
    return aligned_networks(path, max_depth=max_depth, max_width=max_width, activations=tuple(activations),
                            narrowing=path == "bottom", low=low, high=high, max_spread=max_spread)


# -- gradient lists ------------------------------------------------------------------------------


def gradient_lists(dtypes=DTYPE_NAMES):
    """``GradientCase`` cases (``gradients.gradient_cases``): 1 to 5 Gaussian tensors of 0 to 3
    dimensions (sizes 1..5) in one of ``dtypes``, at a scale spread evenly over the dtype's ordinary
    range (10^-100..10^100 for float64, 10^-12..10^12 for float32 and bfloat16, 10^-2..10^3 for float16:
    where Σg² is representable when accumulated in float32, or float64 for float64).
    Promise: every array has the drawn dtype, and every entry is finite."""
    return gradient_cases(_check_dtypes(dtypes))


@dataclass(frozen=True)
class ScaledGradientCase:
    """``GradientCase``'s Gaussian tensors (drawn in float64), rescaled in float64 so that their global
    2-norm (measure='norm') or their largest |entry| (measure='max_abs') is ``target``, then rounded into
    ``dtype``."""

    seed: int
    shapes: tuple
    dtype: str
    target: float
    measure: str = "norm"

    def build(self) -> list[np.ndarray]:
        if self.measure not in ("norm", "max_abs"):
            raise ValueError(f"measure must be 'norm' or 'max_abs', not {self.measure!r}")
        grads = GradientCase(self.seed, self.shapes, "float64").build()
        flat = np.concatenate([g.ravel() for g in grads])
        size = exact_norm(grads) if self.measure == "norm" else float(np.max(np.abs(flat)))
        # (g / size) · target: never overflows, whatever the target
        return [np.array((g / size) * self.target, dtype=DTYPES[self.dtype]) for g in grads]


@st.composite
def _scaled_cases(draw, dtypes, targets, measure):
    dtype = draw(st.sampled_from(dtypes), label="dtype")  # scalars before the shapes: see gradients.py
    target = float(draw(targets(dtype), label="target"))
    seed = draw(seeds, label="seed")
    return ScaledGradientCase(seed, draw(shapes, label="shapes"), dtype, target, measure)  # every tensor has ≥ 1 entry


def gradient_lists_with_norm(norm, dtypes=DTYPE_NAMES):
    """``ScaledGradientCase`` cases whose global 2-norm ||concat(g_1, …, g_k)||₂ is ``norm``.

    norm: a positive float, or a strategy drawing one (e.g. ``log_uniform(1e-3, 1e3)``); at most the
    dtype's largest finite value, so that every entry is finite.
    Promise: every array has the drawn dtype, every entry is finite, and the exact norm of the
    arrays (``exact_norm``) is ``norm`` within the rounding into the dtype:
    |exact_norm − norm| ≤ (u + 2⁻⁵⁰)·norm + (√n + 1)·(smallest subnormal), u the dtype's unit
    roundoff, n the number of entries (the subnormal term: each entry rounded to a subnormal number
    is off by up to half a spacing, and so is a norm that is itself subnormal)."""
    dtypes = _check_dtypes(dtypes)
    if not isinstance(norm, SearchStrategy):  # a plain value: checked now, against every dtype
        for dtype in dtypes:
            _checked_norm(norm, float(ml_dtypes.finfo(DTYPES[dtype]).max), dtype)
    norms = _strategy(norm)

    def targets(dtype):
        largest = float(ml_dtypes.finfo(DTYPES[dtype]).max)
        return norms.map(lambda v: _checked_norm(v, largest, dtype))

    return _scaled_cases(dtypes, targets, "norm")


def _checked_norm(value, largest, dtype):
    value = float(value)
    if not 0 < value <= largest:
        raise ValueError(f"norm must be positive and at most {dtype}'s largest value {largest:g}, not {value!r}")
    return value


def overflowing_gradient_lists(dtypes=DTYPE_NAMES):
    """``ScaledGradientCase`` cases in the overflow range: the largest |entry| is drawn log-uniformly
    between 2·√(largest finite value) and half the largest finite value of the dtype, so that squaring
    it in the dtype overflows (for float64, in float64 itself), while every entry is finite.  Summing
    squares in the gradients' own dtype gives inf; an overflow-safe norm scales by max|g| first.
    Promise: every array has the drawn dtype, every entry is finite, and the largest entry squared in
    the dtype is inf."""
    def targets(dtype):
        largest = float(ml_dtypes.finfo(DTYPES[dtype]).max)
        return log_uniform(2 * math.sqrt(largest), largest / 2)

    return _scaled_cases(_check_dtypes(dtypes), targets, "max_abs")


def subnormal_gradient_lists(dtypes=DTYPE_NAMES):
    """``ScaledGradientCase`` cases in the subnormal range: the largest |entry| is drawn log-uniformly
    between 4 times the dtype's smallest subnormal number and half its smallest normal number, so that
    every entry is subnormal or zero (some round to zero) and every square underflows.
    Promise: every array has the drawn dtype, every entry is zero or subnormal (|g| < smallest normal),
    and the largest is not zero."""
    def targets(dtype):
        finfo = ml_dtypes.finfo(DTYPES[dtype])
        return log_uniform(4 * smallest_subnormal(dtype), float(finfo.smallest_normal) / 2)

    return _scaled_cases(_check_dtypes(dtypes), targets, "max_abs")
