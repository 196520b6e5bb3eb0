"""P16–P18 and S15: LayerNorm, its backward pass and its Jacobian (PyTorch's conventions).

y = g ⊙ (x − μ)/s + b over the last axis, s = √(var + ε) with the biased variance and ε inside the
root (Ba, Kiros & Hinton 2016; torch.nn.functional.layer_norm).  Its Jacobian at one example is
J = diag(g)·(1/s)·(P − x̂x̂ᵀ/d), P = I − 11ᵀ/d.  Every expected value and bound is computed here from
the input x (spec_tests/layernorm_cases.py), never from the implementation's other outputs; the
tolerances are what two correct float64 evaluations may differ by (``rounding``), stated there.
"""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from spec_tests import layernorm_cases as ln
from spec_tests.assertions import assert_in_interval, assert_within, assert_within_case
from spec_tests.claims import claim
from spec_tests.maths import EPS, gamma
from spec_tests.networks import seeds
from spec_tests.spread import log_uniform, spread_integers, uniform


def spectral_slack(J, tolerance) -> float:
    """How far a singular value of a correct J may be from the exact one: ‖Ĵ − J‖₂ ≤ ‖entrywise tolerance‖_F,
    plus the SVD's own backward error, 4·d·eps·‖J‖ (Weyl's inequality for singular values)."""
    d = J.shape[0]
    return float(np.linalg.norm(tolerance)) + 4 * d * EPS * float(np.linalg.norm(J, 2)) + 1e-300


# -- the protocol -------------------------------------------------------------------------


@claim("P16")
@given(case=ln.layer_norm_cases())
def test_layer_norm_forward_normalises_the_last_axis_with_biased_variance_and_eps_inside_the_root(impl, case):
    c = case.build()
    y = impl.layer_norm_forward(c.x, c.gain, c.bias, c.eps)
    assert_within_case(y, ln.forward(c.x, c.gain, c.bias, c.eps), ln.forward_tolerance(c.x, c.gain, c.bias, c.eps),
                       "y = g ⊙ (x − μ)/√(var + ε) + b over the last axis", case,
                       hint="var is biased (divide by d, not d − 1) and ε goes inside the square root, as in "
                            "torch.nn.functional.layer_norm")


@claim("P17")
@given(case=ln.layer_norm_cases())
def test_layer_norm_backward_is_the_vector_jacobian_product(impl, case):
    c = case.build()
    grad_x, grad_gain, grad_bias = impl.layer_norm_backward(c.x, c.gain, c.bias, c.eps, c.grad_output)
    x_hat, s = ln.normalise(c.x, c.eps)
    g_hat = c.gain * c.grad_output
    expected_x = (g_hat - g_hat.mean(axis=-1, keepdims=True)
                  - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True)) / s
    leading = tuple(range(c.x.ndim - 1))
    tol_x, tol_gain, tol_bias = ln.backward_tolerances(c.x, c.gain, c.eps, c.grad_output)
    assert_within_case(grad_x, expected_x, tol_x, "∂L/∂x = (1/s)(ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)), ĝ = g ⊙ ∂L/∂y",
                       case, hint="the mean term comes from μ's dependence on x, the x̂ term from s's")
    assert_within_case(grad_gain, (c.grad_output * x_hat).sum(axis=leading), tol_gain,
                       "∂L/∂g = Σ_batch ∂L/∂y ⊙ x̂ (summed over every leading axis)", case)
    assert_within_case(grad_bias, c.grad_output.sum(axis=leading), tol_bias, "∂L/∂b = Σ_batch ∂L/∂y", case)


@claim("P18")
@given(case=ln.layer_norm_cases(batched=False))
def test_layer_norm_jacobian_is_diag_g_over_s_times_centring_minus_x_hat_outer_x_hat_over_d(impl, case):
    c = case.build()
    J = impl.layer_norm_jacobian(c.x, c.gain, c.bias, c.eps)
    assert_within_case(J, ln.jacobian(c.x, c.gain, c.eps), ln.jacobian_tolerance(c.x, c.gain, c.eps),
                       "J = ∂y/∂x = diag(g)·(1/s)·(P − x̂x̂ᵀ/d), P = I − 11ᵀ/d", case,
                       hint="row i is output i (J[i, j] = ∂y_i/∂x_j), so the gain scales rows")


# -- S15: what LayerNorm does to the Jacobian -----------------------------------------------


@claim("S15a")
@given(case=ln.layer_norm_cases(batched=False, gains=("ones",)))
def test_with_gain_one_the_singular_values_are_zero_eps_over_s_cubed_and_one_over_s(impl, case):
    c = case.build()
    J = impl.layer_norm_jacobian(c.x, c.gain, c.bias, c.eps)
    slack = spectral_slack(J, ln.jacobian_tolerance(c.x, c.gain, c.eps))
    expected = ln.singular_values(c.x, c.eps)
    assert_within(np.linalg.svd(J, compute_uv=False), expected, slack,
                  "singular values of J (g = 1): 1/s (d − 2 times), ε/s³, 0, descending",
                  hint="x̂ is an eigenvector with eigenvalue ε/s³ = (1/s)(1 − var/s²); 1 is in the kernel")
    d = c.features
    x_hat, s = ln.normalise(c.x, c.eps)
    assert_within(J @ np.ones(d), np.zeros(d), slack * math.sqrt(d), "J·1 = 0: shifting x by a constant changes nothing")
    # J's own error acts on x̂, and x̂'s error e_x̂ is multiplied by ‖J‖ on one side and ε/s³ on the other
    x_hat_error = float(np.linalg.norm(ln.rounding(c.x, c.eps).x_hat_error))
    product_error = gamma(d) * np.abs(J) @ np.abs(x_hat) + 2 * EPS * np.abs(c.eps / s**3 * x_hat)
    assert_within(J @ x_hat, c.eps / s**3 * x_hat,
                  slack * float(np.linalg.norm(x_hat)) + 2 * float(np.linalg.norm(J, 2)) * x_hat_error
                  + product_error + 1e-300,
                  "J x̂ = (ε/s³) x̂: stretching x about its mean changes y only through ε")


@claim("S15b")
@given(case=ln.layer_norm_cases(batched=False), power=spread_integers(-20, 20), negative=st.booleans())
def test_scaling_the_input_by_c_is_dividing_eps_by_c_squared_and_the_jacobian_by_abs_c(impl, case, power, negative):
    """c = ±2^k, so that c·x and ε/c² are exact in floating point and the identity is checked exactly
    as stated (for other c it holds in exact arithmetic just the same)."""
    c = case.build()
    scale = (-1.0 if negative else 1.0) * 2.0**power
    J_scaled = impl.layer_norm_jacobian(scale * c.x, c.gain, c.bias, c.eps)
    J_reduced_eps = impl.layer_norm_jacobian(c.x, c.gain, c.bias, c.eps / scale**2)
    tolerance = ln.jacobian_tolerance(c.x, c.gain, c.eps / scale**2)
    assert_within(abs(scale) * J_scaled, J_reduced_eps, 2 * tolerance + 1e-300,
                  f"|c|·J(c·x; ε) = J(x; ε/c²) at c = {scale:g}, ε = {c.eps:g}",
                  hint="ε sits inside the root with var, which scales as c²: ε outside it would scale as |c|")


@claim("S15c")
@given(case=ln.layer_norm_cases(batched=False))
def test_the_jacobian_norm_is_at_most_max_abs_gain_over_s_and_so_over_root_eps(impl, case):
    c = case.build()
    J = impl.layer_norm_jacobian(c.x, c.gain, c.bias, c.eps)
    _, s = ln.normalise(c.x, c.eps)
    s = float(s[0])
    bound = float(np.max(np.abs(c.gain))) / s
    norm = float(np.linalg.norm(J, 2))
    slack = spectral_slack(J, ln.jacobian_tolerance(c.x, c.gain, c.eps))
    assert norm <= bound + slack, (
        f"‖J‖₂ ≤ max|g|/s: ‖J‖₂ = {norm!r} exceeds max|g|/s = {bound!r} by {(norm - bound) / slack:.2g} × the "
        f"allowed rounding (slack {slack:.3g}); s = √(var + ε) = {s!r}, ε = {c.eps!r}")


@claim("S15d")
@settings(max_examples=30)
@given(seed=seeds, features=spread_integers(3, 8), gain_value=uniform(-2, 2), eps=log_uniform(1e-12, 1e-1),
       level=uniform(-10, 10), tiny=log_uniform(1e-8, 1e-2))
def test_counterexample_layernorm_does_not_bound_the_jacobian_near_constant_inputs(
        impl, seed, features, gain_value, eps, level, tiny):
    gamma = gain_value
    gain, bias = np.full(features, gamma), np.zeros(features)
    rng = np.random.default_rng(seed)
    # a constant input: ‖J‖ = |γ|/√ε, the bound attained (316|γ| at ε = 1e-5)
    constant = np.full(features, level)
    J = impl.layer_norm_jacobian(constant, gain, bias, eps)
    expected = abs(gamma) / math.sqrt(eps)
    slack = spectral_slack(J, ln.jacobian_tolerance(constant, gain, eps))
    assert_in_interval(float(np.linalg.norm(J, 2)), expected - slack, expected + slack,
                       f"‖J‖₂ at the constant input {level:g}·1 (g = {gamma:g}·1, ε = {eps:g}) must be |γ|/√ε")
    # a near-constant input with spread σ = tiny·√ε: ‖J‖ = |γ|/√(σ² + ε) ≥ |γ|/√(2ε)
    near = level + tiny * math.sqrt(eps) * rng.standard_normal(features)
    J = impl.layer_norm_jacobian(near, gain, bias, eps)
    _, s = ln.normalise(near, eps)
    expected = abs(gamma) / float(s[0])
    slack = spectral_slack(J, ln.jacobian_tolerance(near, gain, eps))
    assert_in_interval(float(np.linalg.norm(J, 2)), expected - slack, expected + slack,
                       f"‖J‖₂ at a near-constant input (spread {tiny:.2g}·√ε) must be |γ|/√(σ² + ε) ≈ |γ|/√ε")
    # with ε = 0 there is no bound at all: ‖J‖ = |γ|/σ for spread σ
    spread = tiny * rng.standard_normal(features)
    J = impl.layer_norm_jacobian(spread, gain, bias, 0.0)
    _, s = ln.normalise(spread, 0.0)
    expected = abs(gamma) / float(s[0])
    slack = spectral_slack(J, ln.jacobian_tolerance(spread, gain, 0.0))
    assert_in_interval(float(np.linalg.norm(J, 2)), expected - slack, expected + slack,
                       f"‖J‖₂ with ε = 0 at spread σ = {float(s[0]):.2g} must be |γ|/σ (unbounded as σ → 0)")
