"""P1–P3: what mlp_forward, mlp_backward and mlp_layer_jacobians must compute.

Each check is local: it takes the implementation's own values at one layer and
recomputes the next from the definition, so an error is caught where it is made.
Tolerances are the dot-product rounding bounds of spec_tests/maths.py.
"""

import numpy as np
from hypothesis import given

from spec_tests import maths
from spec_tests.assertions import assert_within
from spec_tests.claims import claim
from spec_tests.networks import random_networks


@claim("P1")
@given(case=random_networks())
def test_forward_pass_applies_the_affine_map_then_the_activation_at_every_layer(impl, case):
    net = case.build()
    pre, hidden = impl.mlp_forward(net.x, net.weights, net.biases, net.activation)
    assert_within(hidden[0], net.x, 0.0, "h_0 must be the input x")
    for l, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
        h_prev = hidden[l - 1]
        assert_within(
            pre[l - 1], h_prev @ W.T + b, maths.affine_error(h_prev, W, b),
            f"a_{l} = h_{l - 1} W_{l}ᵀ + b_{l}",
            hint="weights are (out_features, in_features), as in PyTorch: a = h @ W.T + b",
        )
        expected = maths.sigma(net.activation, pre[l - 1])
        assert_within(
            hidden[l], expected, maths.sigma_error(net.activation, expected) + maths.TINY,
            f"h_{l} = {net.activation}(a_{l})",
            hint="every layer, the last included, applies the activation",
        )


def _delta_and_error(net, pre, hidden, grad_hidden, l):
    """δ_l = σ'(a_l) ⊙ g_l from the implementation's own a_l and g_l, and its error bound."""
    W, b = net.weights[l - 1], net.biases[l - 1]
    a, g = pre[l - 1], grad_hidden[l]
    delta = maths.sigma_prime(net.activation, a) * g
    a_error = maths.affine_error(hidden[l - 1], W, b)
    delta_error = maths.sigma_prime_uncertainty(net.activation, a, a_error) * np.abs(g)
    return delta, delta_error


@claim("P2")
@given(case=random_networks())
def test_backward_pass_is_the_chain_rule_for_hidden_states_weights_and_biases(impl, case):
    net = case.build()
    pre, hidden = impl.mlp_forward(net.x, net.weights, net.biases, net.activation)
    grads = impl.mlp_backward(net.x, net.weights, net.biases, net.activation, net.grad_output)
    assert_within(grads.hidden[-1], net.grad_output, 0.0, "∂L/∂h_L must be grad_output itself")
    batch = net.x.shape[0]
    for l in range(net.depth, 0, -1):
        W = net.weights[l - 1]
        delta, delta_error = _delta_and_error(net, pre, hidden, grads.hidden, l)
        absolute_delta = np.abs(delta) + delta_error
        assert_within(
            grads.hidden[l - 1], delta @ W,
            delta_error @ np.abs(W) + 2 * maths.gamma(W.shape[0]) * absolute_delta @ np.abs(W) + maths.TINY,
            f"∂L/∂h_{l - 1} = (σ'(a_{l}) ⊙ ∂L/∂h_{l}) W_{l}",
            hint="the backward product multiplies by J_lᵀ = W_lᵀ diag(σ'(a_l)): check σ' and the transpose",
        )
        h_prev = np.abs(hidden[l - 1])
        assert_within(
            grads.weights[l - 1], delta.T @ hidden[l - 1],
            delta_error.T @ h_prev + 2 * maths.gamma(batch) * absolute_delta.T @ h_prev + maths.TINY,
            f"∂L/∂W_{l} = Σ_batch δ_{l} h_{l - 1}ᵀ",
            hint="the weight gradient has W's (out, in) layout and sums over the batch",
        )
        assert_within(
            grads.biases[l - 1], delta.sum(axis=0),
            delta_error.sum(axis=0) + 2 * maths.gamma(batch) * absolute_delta.sum(axis=0) + maths.TINY,
            f"∂L/∂b_{l} = Σ_batch δ_{l}",
        )


@claim("P3")
@given(case=random_networks(max_batch=1))
def test_layer_jacobians_are_diag_sigma_prime_times_weights(impl, case):
    net = case.build()
    pre, hidden = impl.mlp_forward(net.x, net.weights, net.biases, net.activation)
    jacobians = impl.mlp_layer_jacobians(*net.single())
    for l, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
        a = pre[l - 1][0]
        uncertainty = maths.sigma_prime_uncertainty(net.activation, a, maths.affine_error(hidden[l - 1][0], W, b))
        expected = maths.sigma_prime(net.activation, a)[:, None] * W
        assert_within(
            jacobians[l - 1], expected,
            uncertainty[:, None] * np.abs(W) + 2 * maths.EPS * np.abs(expected) + maths.TINY,
            f"J_{l} = diag(σ'(a_{l})) W_{l}",
            hint="J_l = ∂h_l/∂h_(l-1) has shape (d_l, d_(l-1)): rows scaled by σ'(a_l)",
        )
