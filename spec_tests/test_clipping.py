"""S12: gradient clipping, by global norm, by value, and adaptively (unit-wise).

clip(g) = g · min(1, c / ||g||) with ||g|| the norm of all tensors concatenated
(Pascanu, Mikolov & Bengio 2013, Algorithm 1): the projection onto the ball of
radius c.  Tolerances: an entry may be rounded once into its dtype (unit
roundoff u_d), and the global norm may carry γ_n of its accumulation precision
(float64 for float64 gradients, float32 otherwise) — spec_tests/gradients.py.
"""

import math

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from spec_tests.assertions import assert_in_interval, assert_within
from spec_tests.claims import claim
from spec_tests.gradients import (
    DTYPES,
    ORDINARY_SCALES,
    GradientCase,
    exact_norm,
    gradient_cases,
    norm_tolerance,
    shapes,
    smallest_subnormal,
    unit_roundoff,
)
from spec_tests.networks import seeds

# max_norm relative to the gradient's own norm: from far below (small max_norm) to above it
ratios = st.sampled_from([1e-6, 1e-3, 0.1, 0.5, 0.999, 1.0, 1.001, 2.0, 100.0])


def clip_tolerance(grads, dtype) -> float:
    """Relative tolerance on a clipped norm: the norm's own error, plus up to three roundings into
    the gradients' dtype (the total norm, the coefficient and each product may all be held in it)."""
    return norm_tolerance(grads, dtype) + 4 * unit_roundoff(dtype)


def total_bounds(grads, dtype, norm):
    """The returned total norm may be rounded into the gradients' dtype (PyTorch returns it so)."""
    tol = norm_tolerance(grads, dtype) + 2 * unit_roundoff(dtype)
    return norm * (1 - tol) - 2 * smallest_subnormal(dtype), norm * (1 + tol) + 2 * smallest_subnormal(dtype)


def clipped_norm_bounds(grads, clipped, target, dtype):
    """(||clip(g)||, low, high): target within the relative tolerance, plus half a subnormal spacing
    per entry where the result falls into the dtype's subnormal range."""
    tol = clip_tolerance(grads, dtype)
    absolute = sum(np.size(g) for g in grads) * smallest_subnormal(dtype)
    return exact_norm(clipped), target * (1 - tol) - absolute, target * (1 + tol) + absolute


def assert_one_coefficient(grads, clipped, dtype, what):
    """clipped_i = a · g_i for every tensor i with one a ∈ [0, 1] (a from a least-squares fit)."""
    __tracebackhide__ = True
    g_all = np.concatenate([np.asarray(g, dtype=np.float64).ravel() for g in grads])
    c_all = np.concatenate([np.asarray(c, dtype=np.float64).ravel() for c in clipped])
    scale = np.max(np.abs(g_all))
    a = float((c_all / scale) @ (g_all / scale) / ((g_all / scale) @ (g_all / scale))) if scale > 0 else 1.0
    tol = clip_tolerance(grads, dtype)
    assert -tol <= a <= 1 + tol, f"{what}: the gradient was multiplied by {a:.6g}, not by a coefficient in (0, 1]"
    for i, (g, c) in enumerate(zip(grads, clipped)):
        expected = a * np.asarray(g, dtype=np.float64)
        assert_within(np.asarray(c, dtype=np.float64), expected,
                      tol * np.abs(expected) + 2 * smallest_subnormal(dtype),
                      f"{what}: tensor {i} must be the same multiple a = {a:.6g} of its gradient as every other",
                      hint="each tensor was rescaled on its own? clipping must use one coefficient for the whole "
                      "gradient, computed from the norm of all tensors together")


# -- required ------------------------------------------------------------------------------


def clip_ordinary_case(impl, dtype, seed, shapes, log10_scale, ratio):
    """Clip a GradientCase whose scale is clamped into the dtype's ordinary range (ORDINARY_SCALES)
    to ratio · its norm: (case, grads, ||g||, max_norm, clipped)."""
    low, high = ORDINARY_SCALES[dtype]
    case = GradientCase(seed, shapes, dtype, min(max(log10_scale, low), high))
    grads = case.build()
    norm = exact_norm(grads)
    assume(norm > 0)
    clipped, _ = impl.clip_grad_norm(grads, ratio * norm, 2.0)
    return case, grads, norm, ratio * norm, clipped


# Explicit examples run first under every profile: the inputs on which real implementations were
# seen to break a claim (expected_failures/torch.toml), so a known deviation is found every run.
@claim("S12a")
@pytest.mark.parametrize("dtype", list(DTYPES))
@given(seed=seeds, shapes=shapes, log10_scale=st.integers(-100, 100), ratio=ratios)
@example(seed=0, shapes=((),), log10_scale=2, ratio=1e-6)  # float16: a subnormal coefficient
def test_clipped_gradient_norm_is_at_most_max_norm(impl, dtype, seed, shapes, log10_scale, ratio):
    case, grads, norm, max_norm, clipped = clip_ordinary_case(impl, dtype, seed, shapes, log10_scale, ratio)
    out, _, high = clipped_norm_bounds(grads, clipped, max_norm, case.dtype)
    assert_in_interval(out, 0.0, high, f"||clip(g)|| ≤ max_norm = {max_norm:.6g} (||g|| = {norm:.6g}, {case})")


@claim("S12b")
@pytest.mark.parametrize("dtype", list(DTYPES))
@given(seed=seeds, shapes=shapes, log10_scale=st.integers(-100, 100), ratio=ratios)
@example(seed=0, shapes=((2,),), log10_scale=-8, ratio=0.1)  # a small max_norm: 1e-6 added to the norm shows
@example(seed=0, shapes=((),), log10_scale=2, ratio=1e-6)  # float16: a subnormal coefficient
def test_clipped_gradient_norm_is_exactly_max_norm_when_the_gradient_exceeds_it(impl, dtype, seed, shapes,
                                                                                 log10_scale, ratio):
    case, grads, norm, max_norm, clipped = clip_ordinary_case(impl, dtype, seed, shapes, log10_scale, ratio)
    out, low, high = clipped_norm_bounds(grads, clipped, min(norm, max_norm), case.dtype)
    assert_in_interval(out, low, high, f"||clip(g)|| = min(||g||, max_norm) = {min(norm, max_norm):.6g} "
                       f"(||g|| = {norm:.6g}, max_norm = {max_norm:.6g}, {case})",
                       hint="Algorithm 1 rescales to exactly max_norm: a coefficient max_norm / (||g|| + ε) "
                       "misses it when max_norm is small")


@claim("S12c")
@given(case=gradient_cases(), ratio=st.sampled_from([1.0, 1.0 + 1e-9, 1.5, 1e6]))
def test_a_gradient_within_max_norm_is_returned_unchanged(impl, case, ratio):
    grads = case.build()
    norm = exact_norm(grads)
    max_norm = ratio * norm if norm > 0 else 1.0
    clipped, _ = impl.clip_grad_norm(grads, max_norm, 2.0)
    # within its tolerance of the threshold a correct norm may round up: allow that much shrinking
    tol = clip_tolerance(grads, case.dtype)
    slack = tol if ratio < 1 + tol else 0.0
    for i, (g, c) in enumerate(zip(grads, clipped)):
        g64, c64 = np.asarray(g, dtype=np.float64), np.asarray(c, dtype=np.float64)
        assert_within(c64, g64, slack * np.abs(g64) + (2 * smallest_subnormal(case.dtype) if slack else 0.0),
                      f"tensor {i} with ||g|| = {norm:.6g} ≤ max_norm = {max_norm:.6g} must be returned unchanged",
                      hint="clip only when ||g|| > max_norm; otherwise the coefficient is exactly 1")


@claim("S12d")
@given(case=gradient_cases(), ratio=ratios)
def test_every_tensor_is_scaled_by_one_coefficient_so_the_direction_is_kept(impl, case, ratio):
    grads = case.build()
    norm = exact_norm(grads)
    assume(norm > 0)
    clipped, _ = impl.clip_grad_norm(grads, ratio * norm, 2.0)
    assert_one_coefficient(grads, clipped, case.dtype, "clip_grad_norm")


@claim("S12d")
@given(case=gradient_cases(), ratio=ratios, data=st.data())
def test_total_norm_is_the_norm_of_the_concatenation_whatever_the_split_and_order(impl, case, ratio, data):
    grads = case.build()
    norm = exact_norm(grads)
    assume(norm > 0)
    _, total = impl.clip_grad_norm(grads, ratio * norm, 2.0)
    assert_in_interval(total, *total_bounds(grads, case.dtype, norm),
                       "the returned total norm is ||concat(g_1, …, g_k)||, the norm before clipping")
    flat = np.concatenate([g.ravel() for g in grads])
    pieces = data.draw(st.permutations(np.array_split(flat, data.draw(st.integers(1, 4), label="pieces"))), label="split")
    pieces = [p for p in pieces if p.size] or [flat]
    _, total_resplit = impl.clip_grad_norm(pieces, ratio * norm, 2.0)
    assert_in_interval(total_resplit, *total_bounds(grads, case.dtype, norm),
                       "split into other tensors, in another order, the total norm is the same")


@claim("S12h")
@given(dtype=st.sampled_from(list(DTYPES)), shapes=st.lists(st.tuples(st.integers(1, 4)), min_size=1, max_size=3),
       max_norm=st.sampled_from([1e-3, 1.0, 10.0]))
def test_a_zero_gradient_stays_zero_and_never_becomes_nan(impl, dtype, shapes, max_norm):
    grads = [np.zeros(s, dtype=DTYPES[dtype]) for s in shapes]
    clipped, total = impl.clip_grad_norm(grads, max_norm, 2.0)
    assert total == 0.0, f"the norm of a zero gradient is 0, got {total}"
    for i, c in enumerate(clipped):
        assert_within(np.asarray(c, dtype=np.float64), np.zeros(c.shape), 0.0, f"zero tensor {i} stays zero")


@claim("S12h")
def test_an_empty_list_of_gradients_has_norm_zero(impl):
    clipped, total = impl.clip_grad_norm([], 1.0, 2.0)
    assert clipped == [] and total == 0.0, f"got {clipped!r} and total {total!r}"


@claim("S12j")
@given(case=gradient_cases(dtypes=("float64", "float32")), p=st.sampled_from([1.0, 2.0, 3.0, math.inf]), ratio=ratios)
def test_norm_type_p_uses_the_p_norm_of_the_concatenation(impl, case, p, ratio):
    grads = case.build()
    norm = exact_norm(grads, p)
    assume(norm > 0)
    max_norm = ratio * norm
    clipped, total = impl.clip_grad_norm(grads, max_norm, p)
    low, high = total_bounds(grads, case.dtype, norm)
    # (Σ|g|^p)^(1/p) carries p times the summation error, and |g|^p evaluated as exp(p ln|g|) another
    # p·|ln|g||·u: allow both
    widen = 1 if p == math.inf else p * (1 + abs(math.log(exact_norm(grads, math.inf))))
    assert_in_interval(total, norm - widen * (norm - low), norm + widen * (high - norm),
                       f"total norm for norm_type = {p}",
                       hint="the p-norm is (Σ|g|^p)^(1/p) over every entry of every tensor; inf is max|g|")
    out = exact_norm(clipped, p)
    bound = max_norm * (1 + widen * clip_tolerance(grads, case.dtype)) + sum(np.size(g) for g in grads) * \
        smallest_subnormal(case.dtype)
    assert_in_interval(out, 0.0, bound, f"||clip(g)||_{p} ≤ max_norm = {max_norm:.6g}")
    assert_one_coefficient(grads, clipped, case.dtype, f"clipping by the {p}-norm")


# -- recommended ---------------------------------------------------------------------------


@claim("S12e")
@given(case=gradient_cases(), ratio=ratios)
@example(case=GradientCase(0, ((2,),), "float64", 0), ratio=1e-3)  # clipping again must not shrink again
def test_clipping_twice_changes_nothing_more(impl, case, ratio):
    grads = case.build()
    norm = exact_norm(grads)
    assume(norm > 0)
    once, _ = impl.clip_grad_norm(grads, ratio * norm, 2.0)
    twice, _ = impl.clip_grad_norm([np.array(c) for c in once], ratio * norm, 2.0)
    tol = clip_tolerance(grads, case.dtype)
    for i, (a, b) in enumerate(zip(once, twice)):
        a64 = np.asarray(a, dtype=np.float64)
        assert_within(np.asarray(b, dtype=np.float64), a64, tol * np.abs(a64) + 2 * smallest_subnormal(case.dtype),
                      f"tensor {i}: clip(clip(g)) = clip(g), max_norm = {ratio * norm:.6g}",
                      hint="a projection is idempotent; a coefficient max_norm / (||g|| + ε) shrinks again every time")


# (dtype, log10 of entries): squares overflow the dtype (and, for float64, float64 itself),
# or underflow it
EXTREME = [("float32", 20), ("float32", 30), ("float16", 2.5), ("bfloat16", 20), ("bfloat16", 35), ("float64", 160),
           ("float32", -25), ("float16", -4), ("float64", -170)]


@claim("S12f")
@pytest.mark.parametrize("dtype, log10_scale", EXTREME, ids=[f"{d}-1e{s}" for d, s in EXTREME])
@given(seed=st.integers(0, 2**32 - 1), shapes=st.lists(st.tuples(st.integers(2, 6)), min_size=1, max_size=3).map(tuple),
       ratio=st.sampled_from([1e-3, 0.5]))
def test_gradients_whose_squares_overflow_or_underflow_still_clip_exactly(impl, dtype, log10_scale, seed, shapes, ratio):
    if log10_scale < 0:
        ratio = 0.5  # clip tiny gradients by a factor their dtype can still represent
    grads = GradientCase(seed, shapes, dtype, log10_scale).build()
    norm = exact_norm(grads)
    assume(norm > 0 and math.isfinite(norm))
    clipped, total = impl.clip_grad_norm(grads, ratio * norm, 2.0)
    assert_in_interval(total, *total_bounds(grads, dtype, norm),
                       f"the total norm {norm:.6g} of {dtype} entries near 1e{log10_scale} is computed without "
                       "overflow or underflow",
                       hint="summing squares in the gradient's own dtype overflows: scale by max|g| first, or "
                       "accumulate in a wider type")
    assert_one_coefficient(grads, clipped, dtype, f"overflow-safe clipping of {dtype} entries near 1e{log10_scale}")


@claim("S12g")
@given(case=gradient_cases(), bad=st.sampled_from([math.nan, math.inf, -math.inf]), data=st.data())
def test_a_non_finite_gradient_is_refused_with_an_error(impl, case, bad, data):
    grads = case.build()
    index = data.draw(st.integers(0, len(grads) - 1), label="tensor")
    poisoned = [g.copy() for g in grads]
    poisoned[index].flat[0] = bad
    error = impl.rejects("clip_grad_norm", grads=poisoned, max_norm=1.0, norm_type=2.0)
    assert error is not None, (
        f"clip_grad_norm accepted a gradient holding {bad} in tensor {index} instead of raising an error; "
        "this project's policy is to refuse non-finite gradients before changing anything"
    )


@claim("S12i")
@pytest.mark.parametrize("max_norm", [0.0, -1.0, math.nan, math.inf])
def test_a_max_norm_that_is_not_finite_and_positive_is_refused(impl, max_norm):
    error = impl.rejects("clip_grad_norm", grads=[np.array([3.0, 4.0])], max_norm=max_norm, norm_type=2.0)
    assert error is not None, f"clip_grad_norm accepted max_norm = {max_norm} instead of raising an error"


# -- value clipping, adaptive clipping -------------------------------------------------------


@claim("S12k")
@given(case=gradient_cases(), ratio=st.sampled_from([1e-3, 0.1, 1.0, 10.0]))
def test_value_clipping_bounds_every_entry_and_keeps_every_sign(impl, case, ratio):
    grads = case.build()
    m = exact_norm(grads, math.inf)
    assume(m > 0)
    c = float(np.asarray(ratio * m, dtype=DTYPES[case.dtype]).astype(np.float64)) or m
    clipped = impl.clip_grad_value(grads, c)
    for i, (g, out) in enumerate(zip(grads, clipped)):
        g64, out64 = np.asarray(g, dtype=np.float64), np.asarray(out, dtype=np.float64)
        assert_within(out64, np.clip(g64, -c, c), unit_roundoff(case.dtype) * c,
                      f"tensor {i}: every entry clipped to [−{c:.4g}, {c:.4g}], those inside unchanged")
        assert np.all(np.sign(out64) == np.sign(g64)), f"tensor {i}: value clipping must keep every sign"


@claim("S12l")
def test_value_clipping_changes_the_direction_where_norm_clipping_does_not(impl):
    g = [np.array([10.0, 1.0])]
    by_value = impl.clip_grad_value(g, 1.0)[0]
    by_norm = impl.clip_grad_norm(g, 1.0, 2.0)[0][0]
    cosine = lambda a, b: float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    assert_within(by_value, np.array([1.0, 1.0]), 0.0, "clip_value([10, 1], 1) = [1, 1]")
    assert_in_interval(cosine(by_value, g[0]), 0.7739, 0.7740, "cos(clip_value(g), g) = 11/√202 ≈ 0.774")
    assert_in_interval(cosine(by_norm, g[0]), 1 - 1e-15, 1 + 1e-15, "cos(clip_norm(g), g) = 1")


@st.composite
def unit_cases(draw):
    dtype = draw(st.sampled_from(["float64", "float32"]), label="dtype")
    shapes = draw(st.lists(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), min_size=1, max_size=3),
                  label="shapes")
    params = GradientCase(draw(seeds, label="param seed"), tuple(shapes), dtype,
                          draw(st.integers(-4, 2), label="param scale")).build()
    grads = GradientCase(draw(seeds, label="grad seed"), tuple(shapes), dtype,
                         draw(st.integers(-4, 2), label="grad scale")).build()
    return params, grads, dtype



def unitwise(x):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim <= 1:
        return np.asarray(np.linalg.norm(x))
    return np.sqrt(np.sum(x * x, axis=tuple(range(1, x.ndim)), keepdims=True))


@claim("S12m")
@given(case=unit_cases(), clipping=st.sampled_from([1e-3, 1e-2, 0.1]), eps=st.sampled_from([1e-3, 1e-1]))
def test_adaptive_clipping_caps_each_units_gradient_relative_to_its_weights(impl, case, clipping, eps):
    params, grads, dtype = case
    clipped = impl.adaptive_clip_grad(params, grads, clipping, eps)
    tol = 8 * (max(np.size(g) for g in grads) + 4) * unit_roundoff(dtype)
    for i, (w, g, out) in enumerate(zip(params, grads, clipped)):
        threshold = clipping * np.maximum(unitwise(w), eps)
        g_norm, out64 = unitwise(g), np.asarray(out, dtype=np.float64)
        expected_norm = np.minimum(g_norm, threshold)
        coefficient = np.where(g_norm > 0, expected_norm / np.where(g_norm > 0, g_norm, 1), 1.0)
        expected = coefficient * np.asarray(g, dtype=np.float64)
        assert_within(out64, expected, tol * np.abs(expected) + 2 * smallest_subnormal(dtype),
                      f"tensor {i}: each unit's gradient G_i becomes G_i · min(1, λ max(||W_i||, ε) / ||G_i||), "
                      f"λ = {clipping}, ε = {eps}",
                      hint="units are rows in PyTorch's (out, in, …) layout: the norm runs over every axis but the "
                      "first; a vector is one unit")
