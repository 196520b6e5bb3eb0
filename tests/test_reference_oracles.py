"""Independent oracles for the reference: PyTorch's autograd (float64) and finite
differences.  These are the project's own tests; the spec's P-claims are checked
separately against every implementation.

Tolerances
----------
* torch: each side is within a first-order rounding bound of the exact gradient, for
  any evaluation order, propagated entry by entry through absolute-value chains: the
  spec's own bounds (maths.mlp_forward_bounds, maths.mlp_backward_bounds, derived in
  maths.py's docstring), so the two may differ by twice that bound.
* finite differences (the dot-product test ⟨J t, c⟩ = ⟨t, Jᵀ c⟩ of JAX's
  check_vjp): central differences with steps ε = eps^(1/3) and ε/2, combined by
  Richardson extrapolation; rounding is O(eps/ε) ≈ eps^(2/3) ≈ 3.7e-11 times the
  scale of the terms.  The tolerance is 1e4·eps^(2/3) ≈ 3.7e-7 relative to that
  scale, plus 24·eps/ε·||f||·||c|| for the rounding of f itself, plus the
  disagreement of the two steps (a truncation estimate, which matters for steep
  tanh networks whose third derivatives are large).
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import reference
from spec_tests import maths
from spec_tests.networks import ACTIVATION_NAMES, random_networks
from tests.finite_differences import FD_RTOL, FD_STEP

torch_autograd = pytest.importorskip("spec_tests.adapters.torch_autograd")


@given(case=random_networks(max_depth=8, max_batch=3))
def test_reference_gradients_agree_with_torch_autograd_in_float64(case):
    net = case.build()
    args = (net.x, net.weights, net.biases, net.activation)
    ours = reference.mlp_backward(*args, net.grad_output)
    theirs = torch_autograd.mlp_backward(*args, net.grad_output)
    forward = maths.mlp_forward_bounds(*args)
    bounds = maths.mlp_backward_bounds(net.weights, forward, net.activation, net.grad_output)
    for l in range(net.depth + 1):  # each side is within E of the exact value: they differ by ≤ 2E
        np.testing.assert_array_less(np.abs(ours.hidden[l] - theirs[0][l]), 2 * bounds.error[l] + maths.TINY)
    batch = len(net.x)
    for l in range(1, net.depth + 1):
        delta = maths.sigma_prime(net.activation, forward.pre[l - 1]) * ours.hidden[l]
        delta_error = maths.delta_error(bounds.slope[l - 1], bounds.slope_error[l - 1], ours.hidden[l], bounds.error[l])
        h, h_error = forward.hidden[l - 1], forward.hidden_error[l - 1]
        weight_error = maths.matmul_error(delta.T, delta_error.T, h, h_error, batch)
        bias_error = maths.matmul_error(np.ones(batch), 0.0, delta, delta_error, batch)
        np.testing.assert_array_less(np.abs(ours.weights[l - 1] - theirs[1][l - 1]), 2 * weight_error + maths.TINY)
        np.testing.assert_array_less(np.abs(ours.biases[l - 1] - theirs[2][l - 1]), 2 * bias_error + maths.TINY)


@given(case=random_networks(max_depth=6, max_batch=1))
def test_reference_layer_jacobians_agree_with_torch_autograd_jacobian(case):
    net = case.build()
    ours = reference.mlp_layer_jacobians(*net.single())
    theirs = torch_autograd.mlp_layer_jacobians(*net.single())
    forward = maths.mlp_forward_bounds(net.x[:1], net.weights, net.biases, net.activation)
    for l, (J, K, W) in enumerate(zip(ours, theirs, net.weights), start=1):
        a = forward.pre[l - 1][0]  # both evaluate σ' within 2Δ_l of it, and round σ'·W once each
        slope_error = maths.sigma_prime_uncertainty(net.activation, a, 2 * forward.pre_error[l - 1][0])
        bound = (slope_error + maths.EPS * np.abs(maths.sigma_prime(net.activation, a)))[:, None] * np.abs(W)
        np.testing.assert_array_less(np.abs(J - K), bound + maths.TINY)


def _fd_directional(f, point, direction):
    """Central differences at steps ε and ε/2, combined by Richardson extrapolation (error O(ε⁴)),
    and the size of their disagreement, a truncation estimate that covers steep networks."""
    def central(step):
        return (f(point + step * direction) - f(point - step * direction)) / (2 * step)

    coarse, fine = central(FD_STEP), central(FD_STEP / 2)
    return (4 * fine - coarse) / 3, fine - coarse


@given(
    case=random_networks(activations=ACTIVATION_NAMES, max_depth=5, max_batch=2),
    seed=st.integers(0, 2**32 - 1),
)
def test_reference_backward_passes_the_dot_product_test_against_finite_differences(case, seed):
    net = case.build()
    pre, _ = reference.mlp_forward(net.x, net.weights, net.biases, net.activation)
    if net.activation == "relu":  # central differences are only valid away from the kink
        assume(min(np.min(np.abs(a)) for a in pre) > 1e3 * FD_STEP)
    rng = np.random.default_rng(seed)
    t_x = rng.standard_normal(net.x.shape)
    t_W = [rng.standard_normal(W.shape) for W in net.weights]
    c = net.grad_output
    grads = reference.mlp_backward(net.x, net.weights, net.biases, net.activation, c)

    def output(x):
        return reference.mlp_forward(x, net.weights, net.biases, net.activation).hidden_states[-1]

    def output_of_weights(flat):
        shapes, weights, start = [W.shape for W in net.weights], [], 0
        for shape in shapes:
            weights.append(flat[start:start + np.prod(shape)].reshape(shape))
            start += np.prod(shape)
        return reference.mlp_forward(net.x, weights, net.biases, net.activation).hidden_states[-1]

    # rounding in f(p ± εt) contributes ≤ a few eps·||f||/ε to each difference quotient (ε/2: twice that,
    # weighted 4/3 by the extrapolation)
    rounding = 24 * maths.EPS / FD_STEP * np.linalg.norm(output(net.x)) * np.linalg.norm(c)
    for (lhs_derivative, truncation), tangent, cotangent_result in [
        (_fd_directional(output, net.x, t_x), t_x, grads.hidden[0]),
        (
            _fd_directional(output_of_weights, np.concatenate([W.ravel() for W in net.weights]),
                            np.concatenate([t.ravel() for t in t_W])),
            np.concatenate([t.ravel() for t in t_W]),
            np.concatenate([g.ravel() for g in grads.weights]),
        ),
    ]:
        lhs = np.sum(lhs_derivative * c)  # ⟨J t, c⟩
        rhs = np.sum(tangent * cotangent_result)  # ⟨t, Jᵀ c⟩
        scale = np.linalg.norm(tangent) * np.linalg.norm(cotangent_result) + np.linalg.norm(lhs_derivative) * np.linalg.norm(c)
        tolerance = FD_RTOL * scale + rounding + abs(np.sum(truncation * c))
        assert abs(lhs - rhs) <= tolerance, f"⟨J t, c⟩ = {lhs!r} but ⟨t, Jᵀ c⟩ = {rhs!r}"


def test_end_to_end_jacobian_and_spectral_helpers_on_a_closed_form():
    J1, J2 = np.diag([3.0, 0.5]), np.array([[0.0, 2.0], [1.0, 0.0]])
    product = reference.end_to_end_jacobian([J1, J2])
    np.testing.assert_array_equal(product, J2 @ J1)
    assert reference.largest_singular_value(product) == pytest.approx(3.0, rel=4 * maths.EPS)
    assert reference.smallest_singular_value(product) == pytest.approx(1.0, rel=4 * maths.EPS)
    assert reference.spectral_radius(np.array([[0.9, 100.0], [0.0, 0.9]])) == pytest.approx(0.9, rel=4 * maths.EPS)
    norms = reference.per_layer_gradient_norms(
        reference.MLPGradients([np.array([[3.0, 4.0]])], [np.array([[1.0, 2.0], [2.0, 4.0]])], [np.array([0.0, 5.0])])
    )
    assert (norms.hidden[0], norms.weights[0], norms.biases[0]) == (5.0, 5.0, 5.0)
