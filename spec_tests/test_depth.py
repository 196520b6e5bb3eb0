"""S1, S3, S5, S9 (first part): how the gradient's norm changes through depth.

Backward through L layers the gradient is multiplied by J_Lᵀ, …, J_1ᵀ with
J_l = diag(σ'(a_l)) W_l.  Norms are compared as logarithms, so products like c^L
never overflow; the rounding slack is stated where it is used.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec_tests import maths
from spec_tests.assertions import (
    assert_in_interval,
    assert_log_at_least,
    assert_log_at_most,
    assert_within,
)
from spec_tests.claims import claim
from spec_tests.networks import (
    GaussianNetwork,
    Network,
    ScaledOrthogonalNetwork,
    SharedBasisNetwork,
    narrowing_networks,
    random_networks,
    seeds,
    spectral_networks,
)
from spec_tests.gaussian_drift import S9A_MARGIN, linear_gaussian_drift


def hidden_log_norms(impl, net: Network) -> np.ndarray:
    grads = impl.mlp_backward(net.x, net.weights, net.biases, net.activation, net.grad_output)
    return np.array([maths.log_norm(g) for g in grads.hidden])


# -- S1 -------------------------------------------------------------------------------


@claim("S1a")
@given(case=random_networks(max_batch=1, max_depth=8))
def test_gradient_norm_at_every_layer_is_at_most_output_norm_times_product_of_layer_norms(impl, case):
    net = case.build()
    log_g = hidden_log_norms(impl, net)
    bounds = maths.backward_bounds(impl.mlp_layer_jacobians(*net.single()))
    for l, (log_upper, _, slack, _) in zip(range(net.depth, 0, -1), bounds):
        assert_log_at_most(
            log_g[l - 1], log_g[-1] + log_upper, slack,
            f"||∂L/∂h_{l - 1}|| ≤ ||∂L/∂h_L|| · ∏_(k={l}..L) σ_max(J_k)",
            hint="a gradient larger than this bound means the backward pass and the layer Jacobians "
            "disagree: the backward product must be J_lᵀ g at every layer",
        )


@claim("S1b")
@given(case=narrowing_networks())
def test_gradient_norm_is_at_least_output_norm_times_product_of_smallest_singular_values(impl, case):
    net = case.build()
    log_g = hidden_log_norms(impl, net)
    bounds = maths.backward_bounds(impl.mlp_layer_jacobians(*net.single()))
    for l, (_, log_lower, _, slack) in zip(range(net.depth, 0, -1), bounds):
        assert_log_at_least(
            log_g[l - 1], log_g[-1] + log_lower, slack,
            f"||∂L/∂h_{l - 1}|| ≥ ||∂L/∂h_L|| · ∏_(k={l}..L) σ_min(J_k)  (widths never increase)",
        )


@claim("S1b")
@given(case=spectral_networks(low=1.2, high=2.4, max_depth=120))
def test_smallest_singular_values_above_c_make_the_input_gradient_at_least_c_to_the_L(impl, case):
    net = case.build()
    log_g = hidden_log_norms(impl, net)
    c = case.low
    assert_log_at_least(
        log_g[0], log_g[-1] + net.depth * np.log(c), net.depth * 2 * maths.step_slack(case.width),  # κ ≤ 2
        f"||∂L/∂h_0|| ≥ c^L ||∂L/∂h_L|| with c = {c}, L = {net.depth}",
        hint="every layer's smallest singular value is at least c, so every backward step multiplies "
        "the norm by at least c",
    )


@claim("S1c")
@given(c=st.floats(1.5, 1e3), pairs=st.integers(1, 20), grad=st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)))
def test_layer_norms_above_one_do_not_imply_growth_diagonal_pairs_cancel(impl, c, pairs, grad):
    up, down = np.diag([c, 1 / c]), np.diag([1 / c, c])
    weights = [up, down] * pairs
    net = Network(np.ones((1, 2)), weights, [np.zeros(2)] * len(weights), "linear", np.array([grad]))
    for J in impl.mlp_layer_jacobians(*net.single()):
        assert_in_interval(np.linalg.norm(J, 2), c * (1 - 4 * maths.EPS), c * (1 + 4 * maths.EPS),
                           "every layer Jacobian has operator norm c > 1")
    grads = impl.mlp_backward(net.x, net.weights, net.biases, net.activation, net.grad_output)
    assert_within(
        grads.hidden[0], net.grad_output,
        4 * len(weights) * (maths.EPS * np.abs(net.grad_output) + c * maths.SMALLEST_SUBNORMAL),
        "diag(c, 1/c)·diag(1/c, c) = I, so the gradient reaching the input equals the output gradient",
    )


@claim("S1c")
@given(c=st.floats(1.5, 1e3), grad=st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)))
def test_layer_norms_above_one_do_not_imply_growth_nilpotent_layers_annihilate(impl, c, grad):
    nilpotent = np.array([[0.0, c], [0.0, 0.0]])
    net = Network(np.ones((1, 2)), [nilpotent, nilpotent], [np.zeros(2)] * 2, "linear", np.array([grad]))
    grads = impl.mlp_backward(net.x, net.weights, net.biases, net.activation, net.grad_output)
    assert_within(grads.hidden[0], np.zeros((1, 2)), 0.0,
                  f"J = [[0, {c:g}], [0, 0]] has norm {c:g} but J² = 0: the input gradient is exactly zero")


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
    factors = spectra.prod(axis=0)  # ∏_l s_{l,i}
    scale = spectra.max(axis=1).prod()  # ∏_l max_i s_{l,i}: the largest any component can grow
    tolerance = 4 * case.depth * (case.width**2 + 4) * maths.EPS * scale
    for i in range(case.width):
        assert_within(
            grads.hidden[0][i], factors[i] * Q[:, i], tolerance,
            f"gradient along singular direction q_{i} reaches the input as (∏_l s_(l,{i})) q_{i} "
            f"= {factors[i]:.4g} q_{i} ({'growing' if i < case.growing else 'vanishing'} direction)",
        )
    grows = [maths.log_norm(grads.hidden[0][i]) > 0 for i in range(case.width)]
    assert grows == [i < case.growing for i in range(case.width)], (
        f"directions with singular values > 1 must grow and the others shrink; grew: {grows}"
    )


# -- S5 -------------------------------------------------------------------------------


@claim("S5a")
@given(case=spectral_networks(low=1.05, high=2.1, max_depth=40))
def test_under_the_growth_condition_hidden_gradient_norms_increase_from_output_to_input(impl, case):
    net = case.build()
    log_g = hidden_log_norms(impl, net)
    slack = 2 * maths.step_slack(case.width)  # κ(J) ≤ 2
    for l in range(net.depth, 0, -1):
        assert_log_at_least(
            log_g[l - 1], log_g[l] + np.log(case.low), slack,
            f"||∂L/∂h_{l - 1}|| ≥ c ||∂L/∂h_{l}|| with c = σ_min ≥ {case.low}",
            hint="per-layer gradient norms must increase from the output towards the input",
        )


@claim("S5b")
@given(case=spectral_networks(low=0.45, high=0.9, max_depth=40))
def test_under_the_mirror_condition_hidden_gradient_norms_decrease_from_output_to_input(impl, case):
    net = case.build()
    log_g = hidden_log_norms(impl, net)
    slack = 2 * maths.step_slack(case.width)
    for l in range(net.depth, 0, -1):
        assert_log_at_most(
            log_g[l - 1], log_g[l] + np.log(case.high), slack,
            f"||∂L/∂h_{l - 1}|| ≤ c ||∂L/∂h_{l}|| with c = σ_max ≤ {case.high}",
        )


@st.composite
def scaled_orthogonal_networks(draw):
    return ScaledOrthogonalNetwork(
        seed=draw(seeds, label="seed"),
        width=draw(st.integers(1, 8), label="width"),
        depth=draw(st.integers(2, 30), label="depth"),
        c=draw(st.floats(1.1, 2.0), label="c"),
    )


@claim("S5c")
@given(case=scaled_orthogonal_networks())
def test_weight_gradient_norms_can_be_equal_at_every_layer_while_hidden_gradients_grow(impl, case):
    net = case.build()
    grads = impl.mlp_backward(net.x, net.weights, net.biases, net.activation, net.grad_output)
    L, c = net.depth, case.c
    slack = 4 * L * (case.width**2 + 4) * maths.EPS
    log_expected = (L - 1) * np.log(c) + maths.log_norm(net.x) + maths.log_norm(net.grad_output)
    for l in range(1, L + 1):
        log_w = maths.log_norm(grads.weights[l - 1])
        assert_log_at_most(log_w, log_expected, slack, f"||∂L/∂W_{l}||_F ≤ c^(L-1) ||x|| ||∂L/∂h_L||")
        assert_log_at_least(log_w, log_expected, slack, f"||∂L/∂W_{l}||_F ≥ c^(L-1) ||x|| ||∂L/∂h_L||")
    for l in range(L, 0, -1):
        step = maths.log_norm(grads.hidden[l - 1]) - maths.log_norm(grads.hidden[l])
        assert_in_interval(step, np.log(c) - slack, np.log(c) + slack,
                           f"log(||∂L/∂h_{l - 1}|| / ||∂L/∂h_{l}||) = log c")


# -- S9, first part ---------------------------------------------------------------------

@claim("S9a")
@given(
    seed=seeds,
    width=st.integers(16, 48),
    depth=st.integers(24, 48),
    s=st.sampled_from([0.5, 1.0, 2.0, 3.0]),
)
def test_linear_gaussian_network_log_gradient_drifts_at_rate_log_s(impl, seed, width, depth, s):
    net = GaussianNetwork(seed, width, depth, s, "linear").build()
    log_g = hidden_log_norms(impl, net)
    drift = (log_g[0] - log_g[-1]) / depth
    mu = linear_gaussian_drift(s, width)
    assert_in_interval(
        drift, mu - S9A_MARGIN, mu + S9A_MARGIN,
        f"mean per-layer log growth for s = {s}, n = {width}, L = {depth} (expected μ = {mu:.4f} ± {S9A_MARGIN}; "
        "a correct implementation misses this with probability ≤ 1e-9)",
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
