"""The LayerNorm reference (reference/layernorm.py) against independent oracles, its refusals of bad
input, the spec's own LayerNorm maths, and how hard the S15 strategies push.

Oracles
-------
* torch: torch.nn.functional.layer_norm / nn.LayerNorm with autograd in float64 (spec_tests/adapters/torch_autograd.py);
  each side is within the spec's rounding bound of the exact value (spec_tests/layernorm_cases.py), so
  they may differ by that bound (which already counts two evaluations).
* finite differences: the dot-product test ⟨J t, c⟩ = ⟨t, Jᵀc⟩ for a tangent t of x, gain and bias at
  once, J t by central differences with Richardson extrapolation (tests/finite_differences.py), the
  step scaled by s along x so that it is small against the input's own scale.
* the spec's closed forms (ln.jacobian, ln.singular_values) against the complex-step derivative of the
  spec's definition and numpy's SVD: the spec's maths is checked here, not only trusted.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings

import reference
from reference.layernorm import layer_norm_backward, layer_norm_forward, layer_norm_jacobian
from reference.validation import ArgumentTypeError
from spec_tests import definitions
from spec_tests import layernorm_cases as ln
from spec_tests.assertions import assert_within
from spec_tests.maths import EPS
from tests.finite_differences import FD_RTOL, FD_STEP

torch_autograd = pytest.importorskip("spec_tests.adapters.torch_autograd")


@settings(max_examples=20)
@given(case=ln.layer_norm_cases())
def test_reference_layer_norm_agrees_with_torch_autograd_in_float64(case):
    c = case.build()
    assert_within(layer_norm_forward(c.x, c.gain, c.bias, c.eps),
                  torch_autograd.layer_norm_forward(c.x, c.gain, c.bias, c.eps),
                  ln.forward_tolerance(c.x, c.gain, c.bias, c.eps), "y against F.layer_norm")
    ours = layer_norm_backward(c.x, c.gain, c.bias, c.eps, c.grad_output)
    theirs = torch_autograd.layer_norm_backward(c.x, c.gain, c.bias, c.eps, c.grad_output)
    for name, a, b, tol in zip(("grad_x", "grad_gain", "grad_bias"), ours, theirs,
                               ln.backward_tolerances(c.x, c.gain, c.eps, c.grad_output)):
        assert_within(a, b, tol, f"{name} against nn.LayerNorm's autograd")
    one = c.single()
    assert_within(layer_norm_jacobian(one.x, c.gain, c.bias, c.eps),
                  torch_autograd.layer_norm_jacobian(one.x, c.gain, c.bias, c.eps),
                  ln.jacobian_tolerance(one.x, c.gain, c.eps), "J against torch.autograd.functional.jacobian")


@pytest.mark.parametrize("eps", [0.0, 1e-5, 0.1])
@pytest.mark.parametrize("spread", [1e-2, 1.0, 30.0])
def test_reference_backward_passes_the_dot_product_test_against_finite_differences(eps, spread):
    case = ln.LayerNormCase(seed=7, features=5, batch=(3,), spread=spread, offset=0.5, eps=eps)
    c = case.build()
    rng = np.random.default_rng(1)
    t_x, t_g, t_b = rng.standard_normal(c.x.shape), rng.standard_normal(5), rng.standard_normal(5)
    _, s = ln.normalise(c.x, c.eps)
    scale = float(np.min(s))

    def along(h):
        return layer_norm_forward(c.x + h * scale * t_x, c.gain + h * t_g, c.bias + h * t_b, c.eps)

    def central(h):
        return (along(h) - along(-h)) / (2 * h)

    derivative = (4 * central(FD_STEP / 2) - central(FD_STEP)) / 3  # Richardson: O(h⁴)
    lhs = float(np.sum(derivative * c.grad_output))
    grads = layer_norm_backward(c.x, c.gain, c.bias, c.eps, c.grad_output)
    terms = [scale * t_x, t_g, t_b]
    rhs = float(sum(np.sum(t * g) for t, g in zip(terms, grads)))
    magnitude = sum(float(np.linalg.norm(t) * np.linalg.norm(g)) for t, g in zip(terms, grads)) + abs(lhs)
    assert abs(lhs - rhs) <= FD_RTOL * magnitude, (
        f"⟨J t, c⟩ = {lhs!r} by finite differences, ⟨t, Jᵀc⟩ = {rhs!r} by layer_norm_backward: "
        f"off by {abs(lhs - rhs) / (FD_RTOL * magnitude):.2g} × the allowed error")


@settings(max_examples=20)
@given(case=ln.layer_norm_cases(batched=False))
def test_the_spec_closed_form_jacobian_is_the_complex_step_derivative_of_its_definition(case):
    c = case.build()
    exact = definitions.jacobian(lambda v: ln.forward(v, c.gain, c.bias, c.eps), c.x)
    assert_within(ln.jacobian(c.x, c.gain, c.eps), exact, ln.jacobian_tolerance(c.x, c.gain, c.eps),
                  "diag(g)(1/s)(P − x̂x̂ᵀ/d) against the complex step of g ⊙ (x − μ)/√(var + ε) + b")


@settings(max_examples=20)
@given(case=ln.layer_norm_cases(batched=False, gains=("ones",)))
def test_the_spec_singular_values_are_those_numpy_finds_in_the_reference_jacobian(case):
    c = case.build()
    J = layer_norm_jacobian(c.x, c.gain, c.bias, c.eps)
    slack = float(np.linalg.norm(ln.jacobian_tolerance(c.x, c.gain, c.eps))) + 4 * c.features * EPS * np.linalg.norm(J, 2)
    assert_within(np.linalg.svd(J, compute_uv=False), ln.singular_values(c.x, c.eps), slack + 1e-300,
                  "singular values: 1/s, …, ε/s³, 0")


def test_the_reference_is_exported_and_torch_matches_a_hand_computed_example():
    x, g, b = np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.0, -1.0]), np.array([0.0, 1.0, 0.0])
    mu, var = 7 / 3, ((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 3
    expected = g * (x - mu) / math.sqrt(var + 1e-5) + b
    for impl in (reference, torch_autograd):
        assert np.allclose(impl.layer_norm_forward(x, g, b, 1e-5), expected, rtol=1e-14, atol=1e-14)


# -- bad input ---------------------------------------------------------------------------

X, GAIN, BIAS = np.ones((2, 3)) * [[0.0, 1.0, 2.0]], np.ones(3), np.zeros(3)

BAD = {
    "gain of wrong length": (dict(gain=np.ones(4)), ValueError, r"gain has shape \(4,\), expected \(3,\)"),
    "bias 2-D": (dict(bias=np.zeros((1, 3))), ValueError, r"bias must be 1-D"),
    "NaN in x": (dict(x=np.full((2, 3), np.nan)), ValueError, r"x holds 6 non-finite"),
    "inf in gain": (dict(gain=np.array([1.0, np.inf, 1.0])), ValueError, r"gain holds 1 non-finite"),
    "negative eps": (dict(eps=-1e-5), ValueError, r"eps must be a finite number ≥ 0, got -1e-05"),
    "NaN eps": (dict(eps=math.nan), ValueError, r"eps must be a finite number ≥ 0"),
    "eps a string": (dict(eps="1e-5"), ArgumentTypeError, r"eps must be a finite number ≥ 0, got str"),
    "eps None": (dict(eps=None), ArgumentTypeError, r"eps must be a finite number ≥ 0, got None"),
    "scalar x": (dict(x=np.float64(1.0)), ValueError, r"x must have at least 1 dimension"),
    "no features": (dict(x=np.ones((2, 0)), gain=np.ones(0), bias=np.zeros(0)), ValueError, r"no features along the last axis"),
    "complex x": (dict(x=np.ones((2, 3), dtype=complex)), ValueError, r"x must hold real numbers"),
    "ragged x": (dict(x=[[1.0, 2.0, 3.0], [1.0]]), ValueError, r"x could not be read as an array"),
    "constant example with eps 0": (dict(x=np.ones((2, 3)), eps=0.0), ValueError, r"eps = 0 and some example of x is constant"),
}


def _call(function, **overrides):
    args = dict(x=X, gain=GAIN, bias=BIAS, eps=1e-5)
    args.update(overrides)
    x = args["x"]
    if function is layer_norm_backward:
        grad_output = X if isinstance(x, list) else (np.ones(np.shape(x)) if np.ndim(x) else 1.0)
        return function(args["x"], args["gain"], args["bias"], args["eps"], grad_output)
    if function is layer_norm_jacobian:
        x = np.asarray(x)[0] if isinstance(x, np.ndarray) and x.ndim == 2 else x
        return function(x, args["gain"], args["bias"], args["eps"])
    return function(args["x"], args["gain"], args["bias"], args["eps"])


@pytest.mark.parametrize("function", [layer_norm_forward, layer_norm_backward, layer_norm_jacobian],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("case", BAD)
def test_layer_norm_functions_refuse_bad_input_by_name(function, case):
    overrides, error, message = BAD[case]
    if function is layer_norm_jacobian and case in ("ragged x",):
        message = r"x could not be read as an array|x must be 1-D"
    if function is layer_norm_jacobian and case == "NaN in x":
        message = r"x holds 3 non-finite"
    if function is layer_norm_jacobian and case == "scalar x":
        message = r"x must be 1-D"
    with pytest.raises(error, match=message):
        _call(function, **overrides)


def test_layer_norm_backward_refuses_a_grad_output_of_another_shape():
    with pytest.raises(ValueError, match=r"grad_output has shape \(3,\), expected \(2, 3\) \(the shape of x\)"):
        layer_norm_backward(X, GAIN, BIAS, 1e-5, np.ones(3))


def test_layer_norm_jacobian_refuses_a_batch():
    with pytest.raises(ValueError, match=r"x must be 1-D, got shape \(2, 3\)"):
        layer_norm_jacobian(X, GAIN, BIAS, 1e-5)


# -- the strategies reach the hard region ----------------------------------------------------

DRAWS = 100


def _draws(strategy) -> list:
    seen = []

    @settings(max_examples=DRAWS, derandomize=True, database=None, deadline=None)
    @given(case=strategy)
    def record(case):
        seen.append(case)

    record()
    return seen


def test_the_layer_norm_strategy_draws_every_regime_of_s_and_near_tight_bounds():
    """Of the S15c test's draws (derandomised, so fixed numbers): near-constant inputs (spread < √ε/10,
    where s ≈ √ε and ‖J‖ is near max|g|/√ε), spreads that dwarf √ε (> 10√ε), ε = 0, and draws whose
    ‖J‖ is within 10% of max|g|/s (the S15c bound nearly tight)."""
    cases = _draws(ln.layer_norm_cases(batched=False))
    near_constant = sum(c.eps > 0 and c.spread < math.sqrt(c.eps) / 10 for c in cases)
    wide = sum(c.eps > 0 and c.spread > 10 * math.sqrt(c.eps) for c in cases)
    zero_eps = sum(c.eps == 0 for c in cases)
    tight = 0
    for case in cases:
        c = case.build()
        _, s = ln.normalise(c.x, c.eps)
        if np.linalg.norm(ln.jacobian(c.x, c.gain, c.eps), 2) >= 0.9 * np.max(np.abs(c.gain)) / float(s[0]):
            tight += 1
    # measured (hypothesis 6.170): 16 near-constant, 30 wide, 18 with ε = 0, 71 within 10% of max|g|/s
    assert near_constant >= 10 and wide >= 15 and zero_eps >= 10 and tight >= 40, (near_constant, wide, zero_eps, tight)
    assert max(sum(c.features == d for c in cases) for d in range(1, 9)) <= 35, "no feature count takes most draws"


def test_the_layer_norm_strategy_draws_wide_layers_but_mostly_narrow_ones():
    """A formula that changes past some width (the unbiased variance only for d ≥ 9, say) must meet a wide
    layer within a dozen draws: of 100 derandomised draws (measured, hypothesis 6.170: 32 batched and 18
    single examples with d from 9 to 64, up to 59/60), a fair share is wide, most have d ≤ 8, and both
    ends are reached."""
    for strategy in (ln.layer_norm_cases(), ln.layer_norm_cases(batched=False)):
        widths = [c.features for c in _draws(strategy)]
        wide = sum(d > 8 for d in widths)
        assert 10 <= wide <= 50 and max(widths) >= 48 and min(widths) == 1, (wide, max(widths), min(widths))
