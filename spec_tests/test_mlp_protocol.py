"""P1–P3: what mlp_forward, mlp_backward and mlp_layer_jacobians must compute.

Each check is local: it takes the implementation's own values at one layer and
recomputes the next from the definition, so an error is caught where it is made.
Each claim calls only its own function: P2 and P3 evaluate σ'(a_l) at the spec's
own forward pass (maths.mlp_forward_bounds), whose error, like any correct
implementation's, is bounded to first order.  Tolerances (spec_tests/maths.py):
one dot product's rounding for P1 and P3; for P2, the sum of two first-order bounds
— the implementation's ∂L/∂h_{l−1} from the exact value, in any evaluation order,
and the spec's one step from the implementation's ∂L/∂h_l — so a backward pass that
multiplies whole Jacobian chains passes, while a relative error of 1e-8 fails.
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


@claim("P2")
@given(case=random_networks())
def test_backward_pass_is_the_chain_rule_for_hidden_states_weights_and_biases(impl, case):
    """Step by step from the implementation's own ∂L/∂h_l, at the spec's own forward pass; each step's
    tolerance covers every evaluation order (the implementation may multiply whole Jacobian chains)."""
    net = case.build()
    grads = impl.mlp_backward(net.x, net.weights, net.biases, net.activation, net.grad_output)
    assert_within(grads.hidden[-1], net.grad_output, 0.0, "∂L/∂h_L must be grad_output itself")
    forward = maths.mlp_forward_bounds(net.x, net.weights, net.biases, net.activation)
    bounds = maths.mlp_backward_bounds(net.weights, forward, net.activation, net.grad_output)
    batch = net.x.shape[0]
    for l in range(net.depth, 0, -1):
        W = net.weights[l - 1]
        slope, u = bounds.slope[l - 1], bounds.slope_error[l - 1]
        g = grads.hidden[l]
        delta = maths.sigma_prime(net.activation, forward.pre[l - 1]) * g
        delta_error = maths.delta_error(slope, u, g, bounds.error[l])
        assert_within(
            grads.hidden[l - 1], delta @ W,
            bounds.error[l - 1] + maths.matmul_error(delta, delta_error, W, 0.0, W.shape[0]) + maths.TINY,
            f"∂L/∂h_{l - 1} = (σ'(a_{l}) ⊙ ∂L/∂h_{l}) W_{l}",
            hint="the backward product multiplies by J_lᵀ = W_lᵀ diag(σ'(a_l)): check σ' and the transpose",
        )
        h, h_error = forward.hidden[l - 1], forward.hidden_error[l - 1]
        assert_within(
            grads.weights[l - 1], delta.T @ h,
            2 * maths.matmul_error(delta.T, delta_error.T, h, h_error, batch) + maths.TINY,
            f"∂L/∂W_{l} = Σ_batch δ_{l} h_{l - 1}ᵀ",
            hint="the weight gradient has W's (out, in) layout and sums over the batch",
        )
        ones = np.ones(batch)
        assert_within(
            grads.biases[l - 1], ones @ delta,
            2 * maths.matmul_error(ones, 0.0, delta, delta_error, batch) + maths.TINY,
            f"∂L/∂b_{l} = Σ_batch δ_{l}",
        )


@claim("P3")
@given(case=random_networks(max_batch=1))
def test_layer_jacobians_are_diag_sigma_prime_times_weights(impl, case):
    net = case.build()
    jacobians = impl.mlp_layer_jacobians(*net.single())
    forward = maths.mlp_forward_bounds(net.x[:1], net.weights, net.biases, net.activation)
    for l, W in enumerate(net.weights, start=1):
        a = forward.pre[l - 1][0]
        # σ'(a_l) of any correct forward pass, the spec's included, is within u of the spec's; each side rounds
        # the product σ'·W once
        u = maths.sigma_prime_uncertainty(net.activation, a, 2 * forward.pre_error[l - 1][0])
        expected = maths.sigma_prime(net.activation, a)[:, None] * W
        assert_within(
            jacobians[l - 1], expected, u[:, None] * np.abs(W) + maths.EPS * np.abs(expected) + maths.TINY,
            f"J_{l} = diag(σ'(a_{l})) W_{l}",
            hint="J_l = ∂h_l/∂h_(l-1) has shape (d_l, d_(l-1)): rows scaled by σ'(a_l)",
        )
