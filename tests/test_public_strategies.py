"""spec_tests.strategies delivers what each docstring promises, draw by draw, and the examples of
docs/strategies.md run and pass.

The promises are checked with numpy's LAPACK routes (svd, eigvals) and the spec's own forward pass
(maths.mlp_spec_jacobians), independently of how the strategies build their draws.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from spec_tests import maths, strategies
from spec_tests.gradients import DTYPES, smallest_subnormal, unit_roundoff
from spec_tests.strategies import (
    exact_norm,
    gradient_lists,
    gradient_lists_with_norm,
    linear_networks_with_singular_values,
    log_uniform,
    matrices_with_singular_values,
    matrices_with_spectral_radius,
    networks_with_jacobian_spectra,
    overflowing_gradient_lists,
    subnormal_gradient_lists,
    uniform,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DRAWS = settings(max_examples=30, deadline=None)


def finfo(dtype: str):
    return ml_dtypes.finfo(DTYPES[dtype])


# -- matrices ------------------------------------------------------------------------------------

shapes_and_values = st.integers(1, 6).flatmap(
    lambda k: st.tuples(st.just(k), st.integers(k, 8), st.booleans(),
                        st.lists(log_uniform(1e-4, 1e4), min_size=k, max_size=k)))


@DRAWS
@given(data=st.data(), drawn=shapes_and_values)
def test_matrices_have_exactly_the_singular_values_asked_for(data, drawn):
    k, other, tall, values = drawn
    shape = (other, k) if tall else (k, other)
    A = data.draw(matrices_with_singular_values(values, shape=shape))
    assert A.shape == shape and A.dtype == np.float64
    got = np.linalg.svd(A, compute_uv=False)
    want = np.sort(values)[::-1]
    error = np.max(np.abs(got - want))
    assert error <= 1e-12 * max(values), f"singular values off by {error:.3g} (> 1e-12·max): {got} vs {want}"


def test_matrices_with_singular_values_refuse_a_shape_that_does_not_fit():
    with pytest.raises(ValueError, match="singular values"):
        find(matrices_with_singular_values((1.0, 2.0), shape=(3, 3)), lambda A: True)
    with pytest.raises(ValueError, match="non-negative"):
        find(matrices_with_singular_values((1.0, -2.0)), lambda A: True)


@DRAWS
@given(data=st.data(), radius=log_uniform(1e-3, 1e3), size=st.integers(1, 8), normal=st.booleans())
def test_matrices_have_the_spectral_radius_asked_for(data, radius, size, normal):
    A = data.draw(matrices_with_spectral_radius(radius, size, normal=normal))
    assert A.shape == (size, size) and A.dtype == np.float64
    got = np.max(np.abs(np.linalg.eigvals(A)))
    tol = 1e-12 if normal else 1e-9
    assert abs(got - radius) <= tol * radius, f"spectral radius {got!r}, asked {radius!r}"
    if normal:  # every singular value is the radius too
        assert np.allclose(np.linalg.svd(A, compute_uv=False), radius, rtol=1e-12, atol=0)


# -- networks ------------------------------------------------------------------------------------


@DRAWS
@given(data=st.data(), low=uniform(0.1, 2.0), width=uniform(0.0, 1.0))
def test_linear_networks_have_every_singular_value_in_the_range_asked_for(data, low, width):
    high = low * (1 + width)
    net = data.draw(linear_networks_with_singular_values(low, high, max_depth=6)).build()
    assert net.activation == "linear"
    for W in net.weights:
        s = np.linalg.svd(W, compute_uv=False)
        assert s.min() >= low - 1e-12 * high and s.max() <= high + 1e-12 * high, (s, low, high)


@DRAWS
@given(data=st.data(), path=st.sampled_from(["top", "bottom"]), low=log_uniform(0.2, 3.0), width=uniform(0.0, 1.0))
def test_network_jacobians_have_their_path_singular_value_in_the_range_asked_for(data, path, low, width):
    high = low * (1 + width)
    case = data.draw(networks_with_jacobian_spectra(low, high, path=path, max_depth=6, max_width=6))
    net = case.build()
    if path == "bottom":
        assert all(b <= a for a, b in zip(case.widths, case.widths[1:])), f"widths increase: {case.widths}"
    jacobians, _, _ = maths.mlp_spec_jacobians(net)  # from the spec's own forward pass
    for l, J in enumerate(jacobians, start=1):
        s = np.linalg.svd(J, compute_uv=False)
        value = s.max() if path == "top" else s.min()
        assert low * (1 - 1e-9) <= value <= high * (1 + 1e-9), (
            f"layer {l}: σ_{'max' if path == 'top' else 'min'}(J) = {value!r} outside [{low!r}, {high!r}] ({case!r})")


def test_network_strategies_refuse_bad_parameters():
    with pytest.raises(ValueError, match="path"):
        networks_with_jacobian_spectra(1.0, 2.0, path="middle")
    with pytest.raises(ValueError, match="low"):
        networks_with_jacobian_spectra(2.0, 1.0)
    with pytest.raises(ValueError, match="activations"):
        networks_with_jacobian_spectra(1.0, 2.0, activations=("gelu",))
    with pytest.raises(ValueError, match="low"):
        linear_networks_with_singular_values(-1.0, 1.0)


# -- gradient lists --------------------------------------------------------------------------------


def assert_dtype_and_finite(grads, dtype):
    assert grads, "an empty list"
    for g in grads:
        assert g.dtype == DTYPES[dtype], f"{g.dtype} drawn, {dtype} promised"
        assert np.all(np.isfinite(np.asarray(g, dtype=np.float64))), f"non-finite entries in {dtype}: {g}"


@DRAWS
@given(case=gradient_lists())
def test_gradient_lists_have_their_dtype_and_finite_entries(case):
    assert_dtype_and_finite(case.build(), case.dtype)


# norms from the subnormal range to near the dtype's largest value
NORM_RANGES = {"float64": (1e-310, 1e300), "float32": (1e-42, 1e37), "bfloat16": (1e-42, 1e37), "float16": (1e-7, 6e4)}


@pytest.mark.parametrize("dtype", strategies.DTYPE_NAMES)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_gradient_lists_have_the_norm_asked_for(dtype, data):
    case = data.draw(gradient_lists_with_norm(log_uniform(*NORM_RANGES[dtype]), dtypes=(dtype,)))
    grads = case.build()
    assert_dtype_and_finite(grads, case.dtype)
    n = sum(g.size for g in grads)
    tol = (unit_roundoff(DTYPES[case.dtype]) + 2.0**-50) * case.target + (math.sqrt(n) + 1) * smallest_subnormal(case.dtype)
    error = abs(exact_norm(grads) - case.target)
    assert error <= tol, f"norm {exact_norm(grads)!r} of {case!r}: off by {error / tol:.3g} × the stated tolerance"


def test_gradient_lists_with_norm_refuse_a_norm_beyond_the_dtype():
    with pytest.raises(ValueError, match="largest"):
        gradient_lists_with_norm(1e6, dtypes=("float16",))
    with pytest.raises(ValueError, match="largest"):
        find(gradient_lists_with_norm(st.just(1e6), dtypes=("float16",)), lambda case: True)
    with pytest.raises(ValueError, match="dtypes"):
        gradient_lists_with_norm(1.0, dtypes=("float8",))


@DRAWS
@given(case=overflowing_gradient_lists())
def test_overflowing_gradient_lists_overflow_when_squared(case):
    grads = case.build()
    assert_dtype_and_finite(grads, case.dtype)
    largest = max((g.ravel()[np.argmax(np.abs(g))] for g in grads), key=abs)
    with np.errstate(over="ignore"):
        square = largest * largest  # in the dtype
    assert square.dtype == DTYPES[case.dtype] and np.isinf(square), f"{largest!r}² = {square!r} in {case.dtype}"


@DRAWS
@given(case=subnormal_gradient_lists())
def test_subnormal_gradient_lists_are_subnormal_or_zero(case):
    grads = case.build()
    assert_dtype_and_finite(grads, case.dtype)
    flat = np.concatenate([np.abs(np.asarray(g, dtype=np.float64)).ravel() for g in grads])
    assert flat.max() > 0, f"every entry of {case!r} is zero"
    normal = float(finfo(case.dtype).smallest_normal)
    assert flat.max() < normal, f"an entry {flat.max()!r} of {case!r} is a normal {case.dtype} number"


@pytest.mark.parametrize("make", [gradient_lists_with_norm, overflowing_gradient_lists, subnormal_gradient_lists,
                                  gradient_lists])
def test_every_dtype_is_drawn(make):
    args = (1.0,) if make is gradient_lists_with_norm else ()
    seen = set()

    @settings(max_examples=40, deadline=None, derandomize=True, database=None)
    @given(case=make(*args))
    def record(case):
        seen.add(case.dtype)

    record()
    assert seen == set(strategies.DTYPE_NAMES), f"{make.__name__} drew only {sorted(seen)}"


def test_public_names_are_exported():
    for name in strategies.__all__:
        assert hasattr(strategies, name), name


# -- the examples of docs/strategies.md ---------------------------------------------------------

EXAMPLE_PAGE = ROOT / "docs" / "strategies.md"


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", EXAMPLE_PAGE.read_text(encoding="utf-8"), flags=re.S)


def test_the_docs_page_has_examples_of_every_strategy():
    text = "".join(examples())
    for name in ("matrices_with_singular_values", "matrices_with_spectral_radius",
                 "linear_networks_with_singular_values", "networks_with_jacobian_spectra", "gradient_lists_with_norm",
                 "overflowing_gradient_lists", "subnormal_gradient_lists"):
        assert name in text, f"docs/strategies.md has no example of {name}"


@pytest.mark.parametrize("index", range(len(examples())))
def test_docs_example_runs_and_passes(index):
    namespace: dict = {"__name__": f"docs_strategies_example_{index}"}
    exec(compile(examples()[index], f"docs/strategies.md (example {index + 1})", "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_") and callable(f)]
    assert tests, f"example {index + 1} defines no test_ function"
    for test in tests:
        EXAMPLES(test)()
