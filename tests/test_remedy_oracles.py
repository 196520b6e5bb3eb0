"""Independent oracles for the reference's remedies: numpy's own norms in float64, closed forms,
and torch where torch is right."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference
from spec_tests.gradients import (
    AdaptiveCase,
    GradientCase,
    adaptive_cases,
    adaptive_clip_definition,
)

torch_autograd = pytest.importorskip("spec_tests.adapters.torch_autograd")


@given(seed=st.integers(0, 2**32 - 1), p=st.sampled_from([1.0, 2.0, 3.0, math.inf]),
       shapes=st.lists(st.tuples(st.integers(1, 50)), min_size=1, max_size=4))
def test_global_norm_matches_numpy_on_the_concatenation_in_float64(seed, p, shapes):
    grads = GradientCase(seed, tuple(shapes), "float64", 0).build()
    expected = np.linalg.norm(np.concatenate([g.ravel() for g in grads]), ord=p)
    assert reference.global_norm(grads, p) == pytest.approx(expected, rel=1e-13)


@given(seed=st.integers(0, 2**32 - 1), max_norm=st.sampled_from([0.1, 1.0, 10.0]))
def test_reference_clipping_agrees_with_torch_where_torch_is_exact(seed, max_norm):
    # float64 gradients of norm ~10 and max_norm ≥ 0.1: torch's +1e-6 is below 1e-5 relative
    grads = GradientCase(seed, ((20,), (5, 4)), "float64", 0).build()
    ours, total = reference.clip_grad_norm(grads, max_norm)
    theirs, their_total = torch_autograd.clip_grad_norm(grads, max_norm, 2.0)
    assert total == pytest.approx(their_total, rel=1e-14)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=2e-5)


def test_clipping_closed_forms():
    clipped, total = reference.clip_grad_norm([np.array([3.0]), np.array([[4.0]])], 1.0)
    assert total == 5.0
    np.testing.assert_allclose(clipped[0], [0.6], rtol=1e-15)
    np.testing.assert_allclose(clipped[1], [[0.8]], rtol=1e-15)
    np.testing.assert_array_equal(reference.clip_grad_value([np.array([10.0, -0.5, -3.0])], 1.0)[0], [1.0, -0.5, -1.0])
    agc = reference.adaptive_clip_grad([np.ones((2, 4))], [np.array([[1.0] * 4, [1e-4] * 4])], 0.1, 1e-3)[0]
    np.testing.assert_allclose(agc[0], [0.1] * 4, rtol=1e-14)  # ||W_0|| = 2, threshold 0.2, ||G_0|| = 2
    np.testing.assert_array_equal(agc[1], [1e-4] * 4)  # below the threshold: unchanged


def test_the_specs_adaptive_clipping_definition_on_a_closed_form():
    # ||W_0|| = 2, threshold 0.2, ||G_0|| = 2: scaled by 0.1; ||G_1|| = 2e-4 is below it; the vector is one unit
    params = [np.ones((2, 4)), np.array([3.0, 4.0])]
    grads = [np.array([[1.0] * 4, [1e-4] * 4]), np.array([6.0, 8.0])]
    clipped = adaptive_clip_definition(params, grads, 0.1, 1e-3)
    np.testing.assert_allclose(clipped[0], [[0.1] * 4, [1e-4] * 4], rtol=1e-15)
    np.testing.assert_allclose(clipped[1], [0.3, 0.4], rtol=1e-15)  # threshold 0.5, ||G|| = 10
    # weights below ε: the threshold is λε
    np.testing.assert_allclose(adaptive_clip_definition([np.zeros((1, 2))], [np.array([[3.0, 4.0]])], 0.5, 0.1)[0],
                               [[0.03, 0.04]], rtol=1e-15)


@given(case=adaptive_cases(dtypes=("float64",)))
def test_the_specs_adaptive_clipping_definition_agrees_with_the_reference(case: AdaptiveCase):
    params, grads = case.build()
    ours = reference.adaptive_clip_grad(params, grads, case.clipping, case.eps)
    for mine, theirs in zip(adaptive_clip_definition(params, grads, case.clipping, case.eps), ours):
        np.testing.assert_allclose(theirs, mine, rtol=1e-13, err_msg=repr(case))


def test_schedules_closed_forms():
    np.testing.assert_allclose(reference.warmup_schedule(5, 1.0, 4), [0.25, 0.5, 0.75, 1.0, 1.0], rtol=1e-15)
    cosine = reference.warmup_cosine_schedule(5, 1.0, 2, 0.0)
    np.testing.assert_allclose(cosine, [0.5, 1.0, 0.75, 0.25, 0.0], atol=1e-15)
    params, velocities = reference.sgd_step([np.array([1.0])], [np.array([2.0])], [np.array([1.0])], 0.5, 0.5)
    assert velocities[0][0] == 2.5 and params[0][0] == -0.25
