"""S1, S3, S5, S9 (first part): how the gradient's norm changes through depth.

Backward through L layers the gradient is multiplied by J_Lᵀ, …, J_1ᵀ with
J_l = diag(σ'(a_l)) W_l.  Every bound is computed from the spec's OWN J_l — a_l from its
own forward pass of the network it built, σ' from maths — never from the implementation's
derivatives, so a backward pass and Jacobians that are wrong in the same way cannot agree
with each other past a theorem (maths.mlp_state_bounds).

Rounding, derived where it is used: a correct implementation's pre-activations differ from
the spec's by at most the forward error bound, so the Jacobian it effectively uses is within
B_l = u_l|W_l| of the spec's; every singular value is widened by ||B_l|| and by the SVD's
accuracy (maths.backward_bounds); and the computed gradient, in any evaluation order, is within
the smaller of two first-order bounds of the exact one (maths.mlp_backward_bounds' elementwise
E_l, backward_bounds_and_errors' normwise one).  Norms are compared as logarithms, so products
like c^L never overflow; the log arithmetic's own rounding is maths.log_ulps.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from spec_tests import maths
from spec_tests.assertions import (
    assert_in_interval,
    assert_log_at_least,
    assert_log_at_most,
    assert_within,
)
from spec_tests.claims import claim
from spec_tests.gaussian_drift import (
    S9A_DOWNWARD_WIDTHS,
    S9A_FAILURE_PROBABILITY,
    S9A_MARGIN,
    downward_drift_depth,
    linear_gaussian_drift,
)
from spec_tests.networks import (
    GaussianNetwork,
    Network,
    ScaledOrthogonalNetwork,
    SharedBasisNetwork,
    aligned_networks,
    growth_networks,
    random_networks,
    seeds,
)
from spec_tests.spread import uniform


def hidden_log_norms(impl, net: Network) -> np.ndarray:
    grads = impl.mlp_backward(net.x, net.weights, net.biases, net.activation, net.grad_output)
    return np.array([maths.log_norm(g) for g in grads.hidden])


# -- S1 -------------------------------------------------------------------------------


@claim("S1a")
@given(case=st.one_of(random_networks(max_batch=1, max_depth=8), aligned_networks("top")))
def test_gradient_norm_at_every_layer_is_at_most_output_norm_times_product_of_layer_norms(impl, case):
    net = case.build()
    log_g = hidden_log_norms(impl, net)
    for l, bound in enumerate(maths.mlp_state_bounds(net)):
        assert_log_at_most(
            log_g[l], bound.log_upper, bound.slack_upper + maths.log_ulps(log_g[l], bound.log_upper),
            f"||∂L/∂h_{l}|| ≤ ||∂L/∂h_L|| · ∏_(k={l + 1}..L) σ_max(J_k), J_k = diag(σ'(a_k)) W_k from the spec",
            hint="a gradient larger than the product of the layer Jacobians' norms: the backward product must "
            "be J_lᵀ g with J_l = diag(σ'(a_l)) W_l at every layer (check σ' and the transpose)",
        )


@claim("S1b")
@given(case=aligned_networks("bottom", narrowing=True))
def test_gradient_norm_is_at_least_output_norm_times_product_of_smallest_singular_values(impl, case):
    net = case.build()
    log_g = hidden_log_norms(impl, net)
    for l, bound in enumerate(maths.mlp_state_bounds(net)):
        assert_log_at_least(
            log_g[l], bound.log_lower, bound.slack_lower + maths.log_ulps(log_g[l], bound.log_lower),
            f"||∂L/∂h_{l}|| ≥ ||∂L/∂h_L|| · ∏_(k={l + 1}..L) σ_min(J_k)  (widths never increase)",
            hint="a gradient smaller than the product of the smallest singular values of the spec's "
            "J_k = diag(σ'(a_k)) W_k: check that σ' is applied once per layer",
        )


@claim("S1b")
@given(case=st.one_of(growth_networks(square=True), growth_networks(narrowing=True)))
def test_smallest_singular_values_above_c_make_the_input_gradient_at_least_c_to_the_L(impl, case):
    net = case.build()
    log_g = hidden_log_norms(impl, net)
    c, L = case.low, net.depth
    bound = maths.mlp_state_bounds(net)[0]
    target = maths.log_norm(net.grad_output) + L * np.log(c)
    # the built network's σ_min(J_k) equal c up to its construction's rounding: bound.log_lower may be a
    # hair below L log c; that shortfall is part of the slack
    slack = bound.slack_lower + max(0.0, target - bound.log_lower) + maths.log_ulps(log_g[0], target)
    assert_log_at_least(
        log_g[0], target, slack,
        f"||∂L/∂h_0|| ≥ c^L ||∂L/∂h_L|| with every σ_min(J_k) ≥ c = {c!r}, L = {L}",
        hint="every layer's smallest singular value is at least c, so every backward step multiplies "
        "the norm by at least c",
    )


@claim("S1c")
@given(c=st.floats(1.5, 1e3), pairs=st.integers(1, 20),
       x=st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)),
       grad=st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)))
# a subnormal gradient, run under every profile: XLA on CPU flushes subnormals to zero (expected_failures/jax.toml)
@example(c=2.0, pairs=1, x=(0.0, 0.0), grad=(0.0, 1e-310))
def test_layer_norms_above_one_do_not_imply_growth_diagonal_pairs_cancel(impl, c, pairs, x, grad):
    up, down = np.diag([c, 1 / c]), np.diag([1 / c, c])  # each of norm c (tests/test_strategies_depth.py)
    weights = [up, down] * pairs
    net = Network(np.array([x]), weights, [np.zeros(2)] * len(weights), "linear", np.array([grad]))
    grads = impl.mlp_backward(net.x, net.weights, net.biases, net.activation, net.grad_output)
    g = np.abs(net.grad_output)
    for depth in range(0, len(weights) + 1, 2):
        # a monomial g_i · c · fl(1/c) ⋯ meets ≤ 4 roundings per layer in any evaluation order, and
        # c·fl(1/c) = 1 + δ with |δ| ≤ u: ≤ 4·depth·eps relative, and c·(smallest subnormal) per rounding
        # where the gradient is subnormal
        assert_within(
            grads.hidden[len(weights) - depth], net.grad_output,
            4 * depth * (maths.EPS * g + c * maths.SMALLEST_SUBNORMAL),
            f"diag(c, 1/c)·diag(1/c, c) = I with c = {c!r}: ∂L/∂h at depth {depth} from the output "
            "equals the output gradient",
            hint="the gradient is unchanged after every pair of layers although every layer has norm c > 1",
        )


@claim("S1c")
@given(c=st.floats(1.5, 1e3), x=st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)),
       grad=st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)))
def test_layer_norms_above_one_do_not_imply_growth_nilpotent_layers_annihilate(impl, c, x, grad):
    nilpotent = np.array([[0.0, c], [0.0, 0.0]])
    net = Network(np.array([x]), [nilpotent, nilpotent], [np.zeros(2)] * 2, "linear", np.array([grad]))
    grads = impl.mlp_backward(net.x, net.weights, net.biases, net.activation, net.grad_output)
    # every monomial of (J²)ᵀ g contains a zero factor: exactly zero in any evaluation order
    assert_within(grads.hidden[0], np.zeros((1, 2)), 0.0,
                  f"J = [[0, {c!r}], [0, 0]] has norm {c:g} but J² = 0: the input gradient is exactly zero")


# -- S3 -------------------------------------------------------------------------------


@st.composite
def shared_basis_networks(draw):
    width = draw(st.integers(2, 8), label="width")
    return SharedBasisNetwork(
        seed=draw(seeds, label="seed"),
        width=width,
        depth=draw(st.integers(1, 10), label="depth"),
        growing=draw(st.integers(1, width - 1), label="growing"),
    )


@claim("S3a")
@given(case=shared_basis_networks())
def test_with_a_spectrum_straddling_one_each_singular_direction_scales_by_its_own_product(impl, case):
    net = case.build()
    Q, spectra = case.basis(), case.spectra()
    # one example per singular direction: the output gradient of example i is q_i
    x = np.repeat(net.x, case.width, axis=0)
    grads = impl.mlp_backward(x, net.weights, net.biases, "linear", Q.T.copy())
    factors = spectra.prod(axis=0)  # ∏_l s_{l,i}: > 1.1^L for the growing directions, < 0.9^L for the others
    scale = spectra.max(axis=1).prod()  # ∏_l max_i s_{l,i}: the largest any component can grow
    # rounding made at one layer (the network's construction included) is amplified by at most the largest
    # singular value of each later layer; 4(n² + 4)·eps per layer covers a dot product and Q's departure
    # from orthogonality.  The smallest factor, 0.5^10, is far above this tolerance, 4^10 times the largest.
    tolerance = 4 * case.depth * (case.width**2 + 4) * maths.EPS * scale
    for i in range(case.width):
        assert_within(
            grads.hidden[0][i], factors[i] * Q[:, i], tolerance,
            f"gradient along singular direction q_{i} reaches the input as (∏_l s_(l,{i})) q_{i} "
            f"= {factors[i]:.4g} q_{i} ({'growing' if i < case.growing else 'vanishing'} direction)",
        )


# -- S5 -------------------------------------------------------------------------------


def _log_sum(*logs) -> float:
    return float(np.logaddexp.reduce(np.array(logs, dtype=float)))


def _excess(log_x: float, log_e: float) -> float:
    """log((x + e) / x) ≥ 0, computed without cancellation."""
    return float(np.log1p(np.exp(log_e - log_x)))


def _shortfall(log_x: float, log_e: float) -> float:
    """log((x − e) / x) ≤ 0, −inf when e ≥ x."""
    return float(np.log1p(-np.exp(log_e - log_x))) if log_e < log_x else -np.inf


@claim("S5a")
@given(case=growth_networks(square=True))
def test_under_the_growth_condition_hidden_gradient_norms_increase_from_output_to_input(impl, case):
    net = case.build()
    log_g = hidden_log_norms(impl, net)
    bounds = maths.mlp_state_bounds(net)
    log_error = [b.log_error for b in bounds] + [-np.inf]  # ε_l ≥ ||ĝ_l − g_l||; ∂L/∂h_L is given
    for l in range(net.depth, 0, -1):
        # exactly ||g_(l−1)|| ≥ c_l ||g_l||, c_l ≥ c up to the construction's rounding (spec's SVD); the computed
        # norms are within ε_(l−1), ε_l of the exact ones: ||ĝ_(l−1)|| ≥ c_l (||ĝ_l|| − ε_l) − ε_(l−1)
        log_c = min(np.log(case.low), bounds[l - 1].layer_log_lower)
        rhs = log_c + log_g[l]
        slack = -_shortfall(rhs, _log_sum(log_c + log_error[l], log_error[l - 1])) + maths.log_ulps(rhs, log_g[l - 1])
        assert_log_at_least(
            log_g[l - 1], rhs, slack,
            f"||∂L/∂h_{l - 1}|| ≥ c ||∂L/∂h_{l}|| with every σ_min(J_k) ≥ c = {case.low!r}",
            hint="per-layer gradient norms must increase from the output towards the input",
        )


@claim("S5b")
@given(case=aligned_networks("top", activations=("linear",), max_depth=40,
                             c=uniform(0.05, 1.0)))  # c in [0.05, 1)
def test_under_the_mirror_condition_hidden_gradient_norms_decrease_from_output_to_input(impl, case):
    net = case.build()
    log_g = hidden_log_norms(impl, net)
    bounds = maths.mlp_state_bounds(net)
    log_error = [b.log_error for b in bounds] + [-np.inf]
    for l in range(net.depth, 0, -1):
        # ||ĝ_(l−1)|| ≤ c_l (||ĝ_l|| + ε_l) + ε_(l−1), c_l ≤ c up to the construction's rounding
        log_c = max(np.log(case.high), bounds[l - 1].layer_log_upper)
        rhs = log_c + log_g[l]
        slack = _excess(rhs, _log_sum(log_c + log_error[l], log_error[l - 1])) + maths.log_ulps(rhs, log_g[l - 1])
        assert_log_at_most(
            log_g[l - 1], rhs, slack,
            f"||∂L/∂h_{l - 1}|| ≤ c ||∂L/∂h_{l}|| with every σ_max(J_k) ≤ c = {case.high!r}",
            hint="per-layer gradient norms must decrease from the output towards the input",
        )


@st.composite
def scaled_orthogonal_networks(draw):
    return ScaledOrthogonalNetwork(
        seed=draw(seeds, label="seed"),
        width=draw(st.integers(1, 8), label="width"),
        depth=draw(st.integers(2, 30), label="depth"),
        c=draw(uniform(3.0, 1.0), label="c"),  # c in (1, 3]
    )


@claim("S5c")
@given(case=scaled_orthogonal_networks())
def test_weight_gradient_norms_can_be_equal_at_every_layer_while_hidden_gradients_grow(impl, case):
    net = case.build()
    grads = impl.mlp_backward(net.x, net.weights, net.biases, net.activation, net.grad_output)
    L, c = net.depth, case.c
    log_x, log_gL = maths.log_norm(net.x), maths.log_norm(net.grad_output)
    # every singular value of the built W_l = c·Q_l is c up to Q_l's rounding: the spec's SVD bounds them
    hidden = maths.mlp_state_bounds(net)
    forward = maths.mlp_forward_bounds(net.x, net.weights, net.biases, net.activation)
    states = maths.backward_bounds([W.T for W in reversed(net.weights)])  # ||h_l|| / ||x||, l = 1..L
    log_expected = (L - 1) * np.log(c) + log_x + log_gL
    for l in range(1, L + 1):
        # ∂L/∂W_l = δ_l h_(l−1)ᵀ with δ_l = ∂L/∂h_l (linear): ||·||_F = ||δ_l|| ||h_(l−1)||, each within its
        # bounds, and one rounding per entry of the outer product
        d_hi = hidden[l].log_upper if l < L else log_gL
        d_lo = hidden[l].log_lower if l < L else log_gL
        d_err = hidden[l].log_error if l < L else -np.inf
        h_hi = log_x + (states[l - 2].log_upper if l > 1 else 0.0)
        h_lo = log_x + (states[l - 2].log_lower if l > 1 else 0.0)
        h_err = maths.log_norm(forward.hidden_error[l - 1])
        log_w = maths.log_norm(grads.weights[l - 1])
        ulps = maths.log_ulps(log_w, log_expected, d_hi, h_hi)
        upper = d_hi + _excess(d_hi, d_err) + h_hi + _excess(h_hi, h_err) + maths.EPS
        lower = d_lo + _shortfall(d_lo, d_err) + h_lo + _shortfall(h_lo, h_err) - maths.EPS
        assert_log_at_most(log_w, log_expected, max(upper - log_expected, 0.0) + ulps,
                           f"||∂L/∂W_{l}||_F ≤ c^(L-1) ||x|| ||∂L/∂h_L|| with c = {c!r}, L = {L}",
                           hint="∂L/∂W_l = δ_l h_(l−1)ᵀ: δ_l of layer l, times the layer's INPUT h_(l−1)")
        assert_log_at_least(log_w, log_expected, max(log_expected - lower, 0.0) + ulps,
                            f"||∂L/∂W_{l}||_F ≥ c^(L-1) ||x|| ||∂L/∂h_L|| with c = {c!r}, L = {L}",
                            hint="∂L/∂W_l = δ_l h_(l−1)ᵀ: δ_l of layer l, times the layer's INPUT h_(l−1)")
    log_g = [maths.log_norm(g) for g in grads.hidden]
    errors = [b.log_error for b in hidden] + [-np.inf]
    for l in range(L, 0, -1):
        layer = hidden[l - 1]
        # ||ĝ_(l−1)|| within σ_max(W_l)(||ĝ_l|| + ε_l) + ε_(l−1) and σ_min(W_l)(||ĝ_l|| − ε_l) − ε_(l−1)
        top, bottom = layer.layer_log_upper, layer.layer_log_lower
        ulps = maths.log_ulps(log_g[l - 1], log_g[l], top)
        hi = top + _excess(top + log_g[l], _log_sum(top + errors[l], errors[l - 1]))
        lo = bottom + _shortfall(bottom + log_g[l], _log_sum(bottom + errors[l], errors[l - 1]))
        assert_in_interval(log_g[l - 1] - log_g[l], min(lo, np.log(c)) - ulps, max(hi, np.log(c)) + ulps,
                           f"log(||∂L/∂h_{l - 1}|| / ||∂L/∂h_{l}||) = log c with c = {c!r}",
                           hint="every singular value of W_l = c·Q_l is c: each backward step multiplies the "
                           "norm by exactly c")


# -- S9, first part ---------------------------------------------------------------------

@claim("S9a")
@given(
    seed=seeds,
    width=st.integers(16, 48),
    depth=st.integers(24, 48),
    log_s=uniform(np.log(0.25), np.log(4.0)),
)
def test_linear_gaussian_network_log_gradient_drifts_at_rate_log_s(impl, seed, width, depth, log_s):
    s = float(np.exp(log_s))
    net = GaussianNetwork(seed, width, depth, s, "linear").build()
    log_g = hidden_log_norms(impl, net)
    drift = (log_g[0] - log_g[-1]) / depth
    mu = linear_gaussian_drift(s, width)
    assert_in_interval(
        drift, mu - S9A_MARGIN, mu + S9A_MARGIN,
        f"mean per-layer log growth for s = {s!r}, n = {width}, L = {depth} (expected μ = {mu:.4f} ± {S9A_MARGIN}; "
        "a correct implementation misses this with probability ≤ 2.2e-12)",
    )


@claim("S9a")
@pytest.mark.parametrize("width", S9A_DOWNWARD_WIDTHS, ids=[f"n={n}" for n in S9A_DOWNWARD_WIDTHS])
def test_linear_gaussian_network_at_s_equal_one_drifts_down_by_about_one_over_2n(impl, width):
    depth = downward_drift_depth(width)
    net = GaussianNetwork(0, width, depth, 1.0, "linear").build()
    log_g = hidden_log_norms(impl, net)
    drift = (log_g[0] - log_g[-1]) / depth
    mu = linear_gaussian_drift(1.0, width)
    assert_in_interval(
        drift, 1.5 * mu, 0.5 * mu,
        f"mean per-layer log growth for s = 1, n = {width}, L = {depth}, seed 0 (expected μ = {mu:.5f} "
        f"≈ −1/(2n) = {-0.5 / width:.5f}, within |μ|/2; a correct implementation misses this with probability "
        f"≤ {S9A_FAILURE_PROBABILITY:g})",
        hint="at Glorot's s = 1 the gradient neither explodes nor stays level: E[log χ²_n/n] < 0 makes it "
        "drift slowly down",
    )


S9B_SEEDS = range(16)
S9B_MARGIN = 0.1


@claim("S9b")
@pytest.mark.parametrize("r", [0.5, 1.0, 2.0], ids=["s=half_of_He", "s=He", "s=twice_He"])
def test_relu_gaussian_network_log_gradient_drifts_at_rate_log_s_over_root_two(impl, r):
    drifts = []
    for seed in S9B_SEEDS:
        net = GaussianNetwork(seed, 64, 32, np.sqrt(2) * r, "relu").build()
        log_g = hidden_log_norms(impl, net)
        drifts.append((log_g[0] - log_g[-1]) / net.depth)
    assert_in_interval(
        float(np.mean(drifts)), np.log(r) - S9B_MARGIN, np.log(r) + S9B_MARGIN,
        f"mean over seeds 0..15 of the per-layer log growth with s = √2·{r}",
        hint="ReLU passes about half the units: the drift is log(s/√2), critical at He's s = √2",
    )
