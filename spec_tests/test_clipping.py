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
    GradientCase,
    adaptive_cases,
    adaptive_clip_definition,
    clip_tolerance,
    exact_norm,
    gradient_cases,
    norm_tolerance,
    ordinary_clip_draws,
    ordinary_scale,
    smallest_subnormal,
    unit_roundoff,
    units,
)
from spec_tests.gradients import max_norm_ratios as ratios


def total_bounds(grads, dtype, norm):
    """The returned total norm may be rounded into the gradients' dtype (PyTorch returns it so)."""
    tol = norm_tolerance(grads, dtype) + 2 * unit_roundoff(dtype)
    return norm * (1 - tol) - 2 * smallest_subnormal(dtype), norm * (1 + tol) + 2 * smallest_subnormal(dtype)


def clipped_norm_bounds(grads, clipped, target, dtype):
    """(||clip(g)||, low, high): target within the relative tolerance, plus what rounding into the
    dtype's subnormal range adds: at most half a subnormal spacing per entry, so √n/2 spacings to
    the 2-norm (||x + e|| ≤ ||x|| + ||e||)."""
    tol = clip_tolerance(grads, dtype)
    absolute = math.sqrt(sum(np.size(g) for g in grads)) * smallest_subnormal(dtype) / 2
    return exact_norm(clipped), target * (1 - tol) - absolute, target * (1 + tol) + absolute


def assert_one_coefficient(grads, clipped, dtype, coefficient, what):
    """clipped_i = a · g_i for every tensor i with one a ∈ (0, 1], each product rounded into the dtype
    (a from a least-squares fit).

    ``coefficient`` is the spec's own min(1, c / ||g||), used only to tell whether a > 0 can be seen:
    where coefficient · max|g| reaches the dtype's smallest subnormal, a correct product (its
    coefficient within the tolerance of that one) rounds to a non-zero entry, so a must come out
    positive; below that every entry may round to zero, and a = 0 is what a positive a looks like."""
    __tracebackhide__ = True
    g_all = np.concatenate([np.asarray(g, dtype=np.float64).ravel() for g in grads])
    c_all = np.concatenate([np.asarray(c, dtype=np.float64).ravel() for c in clipped])
    scale = np.max(np.abs(g_all))
    a = float((c_all / scale) @ (g_all / scale) / ((g_all / scale) @ (g_all / scale))) if scale > 0 else 1.0
    tol = clip_tolerance(grads, dtype)
    visible = coefficient * scale >= smallest_subnormal(dtype)
    assert (a > 0 if visible else a >= 0) and a <= 1 + tol, (
        f"{what}: the gradient was multiplied by {a:.6g}, not by a coefficient in (0, 1] "
        f"(clipping by min(1, max_norm / ||g||) = {coefficient:.6g})"
        + ("\n  hint: a zero gradient from a non-zero one: did the coefficient's norm overflow to inf?" if a == 0 else "")
    )
    for i, (g, c) in enumerate(zip(grads, clipped)):
        expected = a * np.asarray(g, dtype=np.float64)
        assert_within(np.asarray(c, dtype=np.float64), expected,
                      tol * np.abs(expected) + 2 * smallest_subnormal(dtype),
                      f"{what}: tensor {i} must be the same multiple a = {a:.6g} of its gradient as every other",
                      hint="each tensor was rescaled on its own? clipping must use one coefficient for the whole "
                      "gradient, computed from the norm of all tensors together")


# -- required ------------------------------------------------------------------------------


def clip_ordinary_case(impl, dtype, seed, shapes, position, ratio):
    """Clip a GradientCase whose scale sits at ``position`` ∈ [0, 1] of the dtype's ordinary range
    (gradients.ORDINARY_SCALES) to ratio · its norm: (case, grads, ||g||, max_norm, clipped)."""
    case = GradientCase(seed, shapes, dtype, ordinary_scale(dtype, position))
    grads = case.build()
    norm = exact_norm(grads)
    assume(norm > 0)
    clipped, _ = impl.clip_grad_norm(grads, ratio * norm, 2.0)
    return case, grads, norm, ratio * norm, clipped


# Explicit examples run first under every profile: the inputs on which real implementations were
# seen to break a claim (expected_failures/torch.toml), so a known deviation is found every run.
@claim("S12a")
@pytest.mark.parametrize("dtype", list(DTYPES))
@given(**ordinary_clip_draws)  # position and ratio, then seed and shapes
@example(seed=0, shapes=((),), position=0.8, ratio=1e-6)  # float16 at 1e2: a subnormal coefficient
@example(seed=3, shapes=((),), position=0.9, ratio=0.5)  # float16 645.5: its square overflows float16
def test_clipped_gradient_norm_is_at_most_max_norm(impl, dtype, seed, shapes, position, ratio):
    case, grads, norm, max_norm, clipped = clip_ordinary_case(impl, dtype, seed, shapes, position, ratio)
    out, _, high = clipped_norm_bounds(grads, clipped, max_norm, case.dtype)
    assert_in_interval(out, 0.0, high, f"||clip(g)|| ≤ max_norm = {max_norm:.6g} (||g|| = {norm:.6g}, {case})")


@claim("S12b")
@pytest.mark.parametrize("dtype", list(DTYPES))
@given(**ordinary_clip_draws)  # position and ratio, then seed and shapes
@example(seed=0, shapes=((2,),), position=0.3, ratio=0.1)  # near 1e-40 (float64), 1e-4.8 (float32): +1e-6 shows
@example(seed=0, shapes=((),), position=0.8, ratio=1e-6)  # float16 at 1e2: a subnormal coefficient
@example(seed=0, shapes=((),), position=0.0, ratio=0.5)  # float16 0.001257: its square is subnormal in float16
def test_clipped_gradient_norm_is_exactly_max_norm_when_the_gradient_exceeds_it(impl, dtype, seed, shapes,
                                                                                 position, ratio):
    case, grads, norm, max_norm, clipped = clip_ordinary_case(impl, dtype, seed, shapes, position, ratio)
    out, low, high = clipped_norm_bounds(grads, clipped, min(norm, max_norm), case.dtype)
    assert_in_interval(out, low, high, f"||clip(g)|| = min(||g||, max_norm) = {min(norm, max_norm):.6g} "
                       f"(||g|| = {norm:.6g}, max_norm = {max_norm:.6g}, {case})",
                       hint="Algorithm 1 rescales to exactly max_norm: a coefficient max_norm / (||g|| + ε) "
                       "misses it when max_norm is small")


@claim("S12c")
@given(ratio=st.sampled_from([1.0, 1.0 + 1e-9, 1.5, 1e6]), case=gradient_cases())
@example(case=GradientCase(0, ((),), "float16", -2.0), ratio=1.0)  # float16 0.001257: its square is subnormal
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
@given(ratio=ratios, case=gradient_cases())
@example(case=GradientCase(1, ((),), "float16", 3.0), ratio=0.5)  # float16 345.5: its square overflows float16
def test_every_tensor_is_scaled_by_one_coefficient_so_the_direction_is_kept(impl, case, ratio):
    grads = case.build()
    norm = exact_norm(grads)
    assume(norm > 0)
    clipped, _ = impl.clip_grad_norm(grads, ratio * norm, 2.0)
    assert_one_coefficient(grads, clipped, case.dtype, min(1.0, ratio), f"clip_grad_norm, max_norm = {ratio} ||g||")


@claim("S12d")
@given(ratio=ratios, pieces=st.integers(1, 4), shuffle=st.integers(0, 2**32 - 1), case=gradient_cases())
@example(case=GradientCase(1, ((),), "float16", 3.0), ratio=0.5, pieces=1, shuffle=0)  # its square overflows
@example(case=GradientCase(0, ((),), "float16", -2.0), ratio=0.5, pieces=1, shuffle=0)  # its square is subnormal
def test_total_norm_is_the_norm_of_the_concatenation_whatever_the_split_and_order(impl, ratio, pieces, shuffle, case):
    grads = case.build()
    norm = exact_norm(grads)
    assume(norm > 0)
    _, total = impl.clip_grad_norm(grads, ratio * norm, 2.0)
    assert_in_interval(total, *total_bounds(grads, case.dtype, norm),
                       f"the returned total norm is ||concat(g_1, …, g_k)||, the norm before clipping ({case})")
    flat = np.concatenate([g.ravel() for g in grads])
    split = np.array_split(flat, pieces)
    resplit = [split[i] for i in np.random.default_rng(shuffle).permutation(pieces) if split[i].size] or [flat]
    _, total_resplit = impl.clip_grad_norm(resplit, ratio * norm, 2.0)
    assert_in_interval(total_resplit, *total_bounds(grads, case.dtype, norm),
                       f"split into {len(resplit)} other tensors, in another order, the total norm is the same ({case})")


@claim("S12h")
@given(max_norm=st.sampled_from([1e-3, 1.0, 10.0]), dtype=st.sampled_from(list(DTYPES)),
       shapes=st.lists(st.tuples(st.integers(1, 4)), min_size=1, max_size=3))
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
@given(p=st.sampled_from([1.0, 2.0, 3.0, math.inf]), ratio=ratios, case=gradient_cases(dtypes=("float64", "float32")))
@example(case=GradientCase(0, ((),), "float32", -12.0), p=3.0, ratio=1e-6)  # |g|³ = 2e-39: subnormal in float32
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
    # ||x + e||_p ≤ ||x||_p + ||e||_1: each entry's subnormal rounding adds at most half a spacing
    target, tol = min(norm, max_norm), widen * clip_tolerance(grads, case.dtype)
    absolute = sum(np.size(g) for g in grads) * smallest_subnormal(case.dtype) / 2
    assert_in_interval(exact_norm(clipped, p), target * (1 - tol) - absolute, target * (1 + tol) + absolute,
                       f"||clip(g)||_{p} = min(||g||_{p}, max_norm) = {target:.6g} (||g||_{p} = {norm:.6g}, "
                       f"max_norm = {max_norm:.6g}, {case})",
                       hint="clip by c / ||g||_p with the same p the total was computed with")
    assert_one_coefficient(grads, clipped, case.dtype, min(1.0, ratio), f"clipping by the {p}-norm")


# -- recommended ---------------------------------------------------------------------------


@claim("S12e")
@given(ratio=ratios, case=gradient_cases())
@example(case=GradientCase(0, ((2,),), "float64", 0), ratio=1e-3)  # clipping again must not shrink again
@example(case=GradientCase(1, ((),), "float16", 3.0), ratio=0.5)  # float16 345.5: its square overflows float16
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
@given(ratio=st.sampled_from([1e-3, 0.5]), seed=st.integers(0, 2**32 - 1),
       shapes=st.lists(st.tuples(st.integers(2, 6)), min_size=1, max_size=3).map(tuple))
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
    # (the protocol boundary already refuses a non-finite clipped gradient for these finite inputs)
    out, low, high = clipped_norm_bounds(grads, clipped, ratio * norm, dtype)
    assert_in_interval(out, low, high, f"||clip(g)|| = max_norm = {ratio * norm:.6g} for {dtype} entries near "
                       f"1e{log10_scale} (||g|| = {norm:.6g})",
                       hint="the coefficient max_norm / ||g|| must come from the overflow-safe norm: a norm that "
                       "overflowed to inf gives 0, one that underflowed to 0 leaves the gradient unclipped")
    assert_one_coefficient(grads, clipped, dtype, ratio, f"overflow-safe clipping of {dtype} entries near 1e{log10_scale}")


@claim("S12g")
@given(bad=st.sampled_from([math.nan, math.inf, -math.inf]),
       where=st.tuples(st.floats(0, 1, exclude_max=True), st.floats(0, 1, exclude_max=True)), case=gradient_cases())
def test_a_non_finite_gradient_is_refused_with_an_error(impl, bad, where, case):
    grads = case.build()
    index = int(where[0] * len(grads))  # which tensor, and which entry in it, as fractions: any one
    entry = int(where[1] * grads[index].size)
    poisoned = [g.copy() for g in grads]
    poisoned[index].flat[entry] = bad
    error = impl.rejects("clip_grad_norm", grads=poisoned, max_norm=1.0, norm_type=2.0)
    assert error is not None, (
        f"clip_grad_norm returned a clipped gradient for one holding {bad} (tensor {index}, entry {entry}) instead "
        f"of raising an error; this project's policy is to refuse non-finite gradients ({case})"
    )


@claim("S12i")
@pytest.mark.parametrize("max_norm", [0.0, -1.0, math.nan, math.inf])
def test_a_max_norm_that_is_not_finite_and_positive_is_refused(impl, max_norm):
    error = impl.rejects("clip_grad_norm", grads=[np.array([3.0, 4.0])], max_norm=max_norm, norm_type=2.0)
    assert error is not None, f"clip_grad_norm accepted max_norm = {max_norm} instead of raising an error"


# -- value clipping, adaptive clipping -------------------------------------------------------


@claim("S12k")
@given(ratio=st.sampled_from([1e-3, 0.1, 1.0, 10.0]), case=gradient_cases())
def test_value_clipping_bounds_every_entry_and_keeps_every_sign(impl, case, ratio):
    grads = case.build()
    m = exact_norm(grads, math.inf)
    assume(m > 0)
    c = float(np.asarray(ratio * m, dtype=DTYPES[case.dtype]).astype(np.float64)) or m
    clipped = impl.clip_grad_value(grads, c)
    for i, (g, out) in enumerate(zip(grads, clipped)):
        g64, out64 = np.asarray(g, dtype=np.float64), np.asarray(out, dtype=np.float64)
        # c is representable in the dtype, and min/max round nothing: the result is exact (and so keeps
        # every sign, every entry in [−c, c])
        assert_within(out64, np.clip(g64, -c, c), 0.0,
                      f"tensor {i}: every entry clipped to [−{c:.4g}, {c:.4g}], those inside unchanged ({case})",
                      hint="min(max(g, −c), c): entries beyond ±c become ±c with their sign, the others stay as they are")


@claim("S12l")
def test_value_clipping_changes_the_direction_where_norm_clipping_does_not(impl):
    g = [np.array([10.0, 1.0])]
    by_value = impl.clip_grad_value(g, 1.0)[0]
    by_norm = impl.clip_grad_norm(g, 1.0, 2.0)[0][0]
    def cosine(a, b, what):
        __tracebackhide__ = True
        assert np.linalg.norm(a) > 0, f"{what} = {a.tolist()}: the zero vector has no direction (g = [10, 1], c = 1)"
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    assert_within(by_value, np.array([1.0, 1.0]), 0.0, "clip_value([10, 1], 1) = [1, 1]")
    assert_in_interval(cosine(by_value, g[0], "clip_value(g)"), 0.7739, 0.7740, "cos(clip_value(g), g) = 11/√202 ≈ 0.774")
    assert_in_interval(cosine(by_norm, g[0], "clip_norm(g)"), 1 - 1e-15, 1 + 1e-15, "cos(clip_norm(g), g) = 1")


@claim("S12m")
@given(case=adaptive_cases())
def test_adaptive_clipping_caps_each_units_gradient_relative_to_its_weights(impl, case):
    params, grads = case.build()
    clipped = impl.adaptive_clip_grad(params, grads, case.clipping, case.eps)
    expected_all = adaptive_clip_definition(params, grads, case.clipping, case.eps)
    # A correct implementation may compute each unit's two norms in the gradients' dtype (γ_m of it,
    # m entries per unit, each), then λ·max(·, ε), the division, the product and the rounding into
    # the dtype (one rounding each): at most 2γ_{m+3} relative, plus one subnormal spacing (rounding into
    # the subnormal range, of the result or of a float32 intermediate).
    m = max(units(g)[0].size for g in grads)
    u = unit_roundoff(case.dtype)
    tol = 2 * (m + 3) * u / (1 - (m + 3) * u)
    for i, (g, out, expected) in enumerate(zip(grads, clipped, expected_all)):
        assert_within(np.asarray(out, dtype=np.float64), expected, tol * np.abs(expected) + smallest_subnormal(case.dtype),
                      f"tensor {i} of shape {np.shape(g)}: each unit's gradient G_i becomes "
                      f"G_i · min(1, λ max(||W_i||, ε) / ||G_i||) ({case})",
                      hint="units are rows in PyTorch's (out, in, …) layout: the norm runs over every axis but the "
                      "first; a vector is one unit")
