"""P13–P15 and S14: residual connections, h_l = h_{l-1} + α_l F_l(h_{l-1}).

The block Jacobian is J_l = I + α_l J_{F_l} with J_{F_l} = W2 diag(σ'(z_l)) W1.  Every bound of the
S14 claims is computed from the spec's OWN branch Jacobians — z_l from its own forward pass of the
network it built (spec_tests/residual_cases.py) — never from the implementation's Jacobians, so a
backward pass and Jacobians wrong in the same way cannot agree past a theorem.

Rounding: P13 recomputes each block from the implementation's own h_{l-1} (two evaluations of one
block differ by at most twice its first-order error); P14 checks each step from the implementation's
own ∂L/∂h_l, with the tolerance the sum of two first-order bounds, each valid for every evaluation
order (residual_cases' docstring): the implementation's ∂L/∂h_{l-1} from the exact value, and the
spec's one step from the implementation's ∂L/∂h_l.  The theorems compare logarithms of norms; the
computed gradient is within ||E_l|| of the exact one, and each ||α_l J_{F_l}|| is widened by the
uncertainty of σ' and the SVD's accuracy (residual_cases.spec_branch_norms).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from spec_tests import maths
from spec_tests.assertions import assert_in_interval, assert_log_at_least, assert_log_at_most, assert_within
from spec_tests.claims import claim
from spec_tests.residual_cases import (
    AlignedResidualNetwork,
    RandomResidualNetwork,
    ResidualNet,
    aligned_residual_networks,
    random_residual_networks,
    residual_backward_bounds,
    residual_forward_bounds,
    spec_branch_norms,
)
from spec_tests.spread import log_uniform, spread_integers, uniform, uniform_choice

# -- P13–P15: the protocol -------------------------------------------------------------------------


@claim("P13")
@given(case=random_residual_networks())
def test_residual_forward_adds_the_scaled_branch_to_the_identity_at_every_block(impl, case):
    net = case.build()
    hidden = impl.residual_forward(*net.args())
    assert_within(hidden[0], net.x, 0.0, "h_0 must be the input x")
    for l, ((W1, b1, W2, b2), alpha) in enumerate(zip(net.branches, net.alphas), start=1):
        h = hidden[l - 1]
        z = h @ W1.T + b1
        z_error = maths.affine_error(h, W1, b1)  # two correct evaluations of z from the same h
        u, u_error = maths._propagate_activation(net.activation, z, z_error)
        u_error = u_error + maths.sigma_error(net.activation, u)
        F = u @ W2.T + b2
        F_error = maths.affine_error(u, W2, b2) + u_error @ np.abs(W2).T
        expected = h + alpha * F
        tolerance = abs(alpha) * F_error + 2 * maths.gamma(2) * (np.abs(h) + np.abs(alpha * F)) + maths.TINY
        assert_within(
            hidden[l], expected, tolerance,
            f"h_{l} = h_{l - 1} + α_{l}·(σ(h_{l - 1} W1ᵀ + b1) W2ᵀ + b2) with α_{l} = {alpha!r}",
            hint="the block adds α_l·F_l(h_(l-1)) to h_(l-1): the skip path, plus the scaled branch "
            "(σ between the two linear maps only)",
        )


@claim("P14")
@settings(max_examples=40)  # each example checks every block and its four parameter gradients
@given(case=random_residual_networks())
def test_residual_backward_is_the_chain_rule_through_skip_and_branch(impl, case):
    """Step by step from the implementation's own ∂L/∂h_l, at the spec's own forward pass."""
    net = case.build()
    grads = impl.residual_backward(*net.args(), net.grad_output)
    assert_within(grads.hidden[-1], net.grad_output, 0.0, "∂L/∂h_L must be grad_output itself")
    forward = residual_forward_bounds(*net.args())
    bounds = residual_backward_bounds(net.branches, net.alphas, forward, net.activation, net.grad_output)
    batch = net.x.shape[0]
    for l in range(net.depth, 0, -1):
        (W1, _, W2, _), alpha = net.branches[l - 1], net.alphas[l - 1]
        d, m = W1.shape[1], W1.shape[0]
        g, E = grads.hidden[l], bounds.error[l]
        slope, s = bounds.slope[l - 1], bounds.slope_error[l - 1]
        e = alpha * g  # ∂L/∂F_l
        e_error = abs(alpha) * E + maths.UNIT_ROUNDOFF * np.abs(e)
        t = e @ W2
        t_error = e_error @ np.abs(W2) + maths.gamma(d) * ((np.abs(e) + e_error) @ np.abs(W2))
        delta = maths.sigma_prime(net.activation, forward.z[l - 1]) * t
        delta_error = maths.delta_error(slope, s, t, t_error)
        branch = delta @ W1
        branch_error = maths.matmul_error(delta, delta_error, W1, 0.0, m)
        tolerance = (bounds.error[l - 1] + E + branch_error
                     + maths.UNIT_ROUNDOFF * (np.abs(g) + E + np.abs(branch) + branch_error) + maths.TINY)
        assert_within(
            grads.hidden[l - 1], g + branch, tolerance,
            f"∂L/∂h_{l - 1} = ∂L/∂h_{l} + (σ'(z_{l}) ⊙ (α_{l} ∂L/∂h_{l} W2)) W1",
            hint="the skip path passes ∂L/∂h_l through unchanged, and the branch adds its own vector–Jacobian "
            "product: check the identity term, α and σ'",
        )
        h, h_error = forward.hidden[l - 1], forward.hidden_error[l - 1]
        u, u_error = forward.u[l - 1], forward.u_error[l - 1]
        dW1, db1, dW2, db2 = grads.branches[l - 1]
        ones = np.ones(batch)
        checks = [
            (dW1, delta.T @ h, maths.matmul_error(delta.T, delta_error.T, h, h_error, batch), "∂L/∂W1 = Σ_batch δᵀ h_(l-1)"),
            (db1, ones @ delta, maths.matmul_error(ones, 0.0, delta, delta_error, batch), "∂L/∂b1 = Σ_batch δ"),
            (dW2, e.T @ u, maths.matmul_error(e.T, e_error.T, u, u_error, batch), "∂L/∂W2 = Σ_batch (α ∂L/∂h_l)ᵀ σ(z)"),
            (db2, ones @ e, maths.matmul_error(ones, 0.0, e, e_error, batch), "∂L/∂b2 = Σ_batch α ∂L/∂h_l"),
        ]
        for actual, expected, error, what in checks:
            assert_within(actual, expected, 2 * error + maths.TINY, f"block {l}: {what}, δ = σ'(z) ⊙ (α ∂L/∂h_{l} W2)",
                          hint="branch gradients are the MLP's for the branch, with ∂L/∂F_l = α_l ∂L/∂h_l; "
                          "weights keep PyTorch's (out, in) layout and sum over the batch")


@claim("P15")
@given(case=random_residual_networks(max_batch=1))
def test_residual_block_jacobians_are_identity_plus_alpha_times_branch_jacobian(impl, case):
    net = case.build()
    jacobians = impl.residual_block_jacobians(*net.single())
    forward = residual_forward_bounds(net.x[:1], net.branches, net.alphas, net.activation)
    for l, ((W1, _, W2, _), alpha) in enumerate(zip(net.branches, net.alphas), start=1):
        z = forward.z[l - 1][0]
        s = maths.sigma_prime_uncertainty(net.activation, z, 2 * forward.z_error[l - 1][0])
        slope = maths.sigma_prime(net.activation, z)
        m, d = W1.shape
        expected = np.eye(d) + alpha * (W2 * slope) @ W1
        magnitude = abs(alpha) * (np.abs(W2) * np.abs(slope)) @ np.abs(W1)
        tolerance = abs(alpha) * (np.abs(W2) * s) @ np.abs(W1) + 2 * maths.gamma(m + 3) * (np.eye(d) + magnitude) + maths.TINY
        assert_within(
            jacobians[l - 1], expected, tolerance,
            f"J_{l} = I + α_{l} W2 diag(σ'(z_{l})) W1 with α_{l} = {alpha!r}",
            hint="the block Jacobian is the skip path's identity plus α_l times the branch's Jacobian",
        )


# -- S14a: product bounds ----------------------------------------------------------------------------


def _gradient_bound_checks(impl, net: ResidualNet):
    """The S14a inequalities at every hidden state l, for the implementation's gradient."""
    grads = impl.residual_backward(*net.args(), net.grad_output)
    log_g = [maths.log_norm(g) for g in grads.hidden]
    forward = residual_forward_bounds(*net.args())
    bounds = residual_backward_bounds(net.branches, net.alphas, forward, net.activation, net.grad_output)
    norms = spec_branch_norms(net, forward=forward)
    log_gL = maths.log_norm(net.grad_output)
    for l in range(net.depth - 1, -1, -1):
        above = norms[l:]
        log_upper = log_gL + float(np.sum(np.log1p(above)))
        log_error = maths.log_norm(bounds.error[l])
        slack = float(np.log1p(np.exp(log_error - log_upper))) + maths.log_ulps(log_g[l], log_upper) + len(above) * maths.EPS
        assert_log_at_most(
            log_g[l], log_upper, slack,
            f"||∂L/∂h_{l}|| ≤ ||∂L/∂h_L|| · ∏_(k={l + 1}..L) (1 + ||α_k J_F_k||), J_F from the spec's forward pass",
            hint="the gradient through I + α_k J_F_k grows by at most 1 + ||α_k J_F_k|| per block: check the "
            "branch's vector–Jacobian product (α, σ', W2 then W1)",
        )
        assert_log_at_most(log_upper - log_gL, float(np.sum(above)), maths.log_ulps(log_upper, np.sum(above)),
                           "∏(1 + ||J_k||) ≤ exp(Σ ||J_k||)")
        if max(above) < 1:
            log_lower = log_gL + float(np.sum(np.log1p(-np.array(above))))
            relative = np.exp(log_error - log_lower)
            if relative < 1:
                assert_log_at_least(
                    log_g[l], log_lower, float(-np.log1p(-relative)) + maths.log_ulps(log_g[l], log_lower) + len(above) * maths.EPS,
                    f"||∂L/∂h_{l}|| ≥ ||∂L/∂h_L|| · ∏_(k={l + 1}..L) (1 − ||α_k J_F_k||) with every ||α_k J_F_k|| < 1",
                    hint="with every branch Jacobian of norm below 1, I + α_k J_F_k shrinks no vector by more than "
                    "1 − ||α_k J_F_k||: the skip path must carry the gradient through unchanged",
                )


@claim("S14a")
@settings(max_examples=40)  # a third of the draws attain each bound (tests/test_residual_oracles.py)
@given(case=st.one_of(random_residual_networks(inits=("plain", "scaled"), max_batch=1),
                      aligned_residual_networks(sign=1, c_high=3.0), aligned_residual_networks(sign=-1)))
def test_residual_gradient_lies_between_the_products_of_one_plus_and_one_minus_the_branch_norms(impl, case):
    _gradient_bound_checks(impl, case.build())


# -- S14b: α/L scaling -----------------------------------------------------------------------------


@st.composite
def scaled_residual_networks(draw):
    """α/L-scaled networks at depths 1..300: random tanh/relu/sigmoid/linear branches, or aligned linear branches
    whose top eigenvalue is the same K at every block (the upper bound e^(αK) is then approached as L grows)."""
    depth = draw(spread_integers(1, 300), label="depth")
    alpha = draw(uniform(0.1, 4.0), label="alpha")
    if draw(st.booleans(), label="aligned"):
        width = draw(spread_integers(1, 4), label="width")
        K = draw(uniform(0.05, 1.5), label="K")
        return AlignedResidualNetwork(seed=draw(st.integers(0, 2**32 - 1), label="seed"), width=width,
                                      hidden=draw(spread_integers(1, width), label="hidden"), depth=depth,
                                      sign=draw(uniform_choice((1, -1)), label="sign"), c_low=K, c_high=K,
                                      alpha=alpha / depth)
    return RandomResidualNetwork(seed=draw(st.integers(0, 2**32 - 1), label="seed"),
                                 width=draw(spread_integers(1, 4), label="width"),
                                 hidden=draw(spread_integers(1, 4), label="hidden"), depth=depth,
                                 activation=draw(uniform_choice(maths.DERIVATIVES), label="activation"),
                                 init="scaled", alpha=alpha, weight_scale=draw(log_uniform(0.3, 3.0), label="weight_scale"))


@claim("S14b")
@settings(max_examples=20)  # up to 300 blocks each; the aligned half reaches the bound
@given(case=scaled_residual_networks())
def test_alpha_over_L_scaled_branches_keep_the_gradient_within_depth_independent_bounds(impl, case):
    net = case.build()
    L = net.depth
    alpha = abs(net.alphas[0]) * L  # α_l = α/L
    grads = impl.residual_backward(*net.args(), net.grad_output)
    forward = residual_forward_bounds(*net.args())
    bounds = residual_backward_bounds(net.branches, net.alphas, forward, net.activation, net.grad_output)
    # K: the largest ||J_F_l|| along this forward pass (the spec's, widened); α_l ||J_F_l|| ≤ αK/L
    K = max(spec_branch_norms(net, forward=forward)) / (alpha / L)
    log_ratio = maths.log_norm(grads.hidden[0]) - maths.log_norm(net.grad_output)
    log_relative_error = maths.log_norm(bounds.error[0]) - maths.log_norm(net.grad_output)
    x = alpha * K / L
    upper, upper_exp = L * float(np.log1p(x)), alpha * K
    slack_upper = float(np.log1p(np.exp(log_relative_error - upper))) + maths.log_ulps(log_ratio, upper) + L * maths.EPS
    assert_log_at_most(
        log_ratio, upper, slack_upper,
        f"||∂L/∂h_0|| / ||∂L/∂h_L|| ≤ (1 + αK/L)^L = e^{upper:.6g} with α = {alpha:.4g}, K = {K:.4g}, L = {L}",
        hint="with α_l = α/L every block multiplies the gradient by at most 1 + αK/L, whatever the depth",
    )
    assert_log_at_most(upper, upper_exp, maths.log_ulps(upper, upper_exp) + L * maths.EPS,
                       f"(1 + αK/L)^L ≤ e^(αK) = e^{upper_exp:.4g}, whatever L = {L}")
    if x < 1:
        lower, lower_exp = L * float(np.log1p(-x)), -alpha * K / (1 - x)
        relative = np.exp(log_relative_error - lower)
        if relative < 1:
            assert_log_at_least(
                log_ratio, lower, float(-np.log1p(-relative)) + maths.log_ulps(log_ratio, lower) + L * maths.EPS,
                f"||∂L/∂h_0|| / ||∂L/∂h_L|| ≥ (1 − αK/L)^L = e^{lower:.6g} with α = {alpha:.4g}, K = {K:.4g}, L = {L}",
                hint="the skip path carries the gradient: it cannot vanish through α/L-scaled branches",
            )
        assert_log_at_least(lower, lower_exp, maths.log_ulps(lower, lower_exp) + L * maths.EPS,
                            f"(1 − αK/L)^L ≥ e^(−αK/(1 − αK/L)) = e^{lower_exp:.4g}, whatever L = {L}")


# -- S14c: ReZero / SkipInit and Fixup are the identity at initialisation ---------------------------


@claim("S14c")
@given(case=random_residual_networks(inits=("rezero", "fixup"), max_depth=12))
def test_rezero_skipinit_and_fixup_networks_are_exactly_the_identity_at_initialisation(impl, case):
    net = case.build()
    scheme = "ReZero/SkipInit (every α_l = 0)" if case.init == "rezero" else "Fixup (every W2 = 0, b2 = 0)"
    hidden = impl.residual_forward(*net.args())
    for l in range(net.depth + 1):
        assert_within(hidden[l], net.x, 0.0, f"{scheme}: h_{l} = x exactly",
                      hint="a block whose branch contributes exactly 0 adds nothing to h")
    grads = impl.residual_backward(*net.args(), net.grad_output)
    for l in range(net.depth + 1):
        assert_within(grads.hidden[l], net.grad_output, 0.0, f"{scheme}: ∂L/∂h_{l} = ∂L/∂h_L exactly",
                      hint="the gradient passes every block unchanged: the skip path's identity, plus a branch "
                      "term that is exactly zero")
    for l, branch in enumerate(grads.branches, start=1):
        zero = branch if case.init == "rezero" else branch[:2]
        names = ("∂L/∂W1", "∂L/∂b1", "∂L/∂W2", "∂L/∂b2")
        for name, value in zip(names, zero):
            assert_within(value, np.zeros_like(value), 0.0, f"{scheme}: block {l}'s {name} = 0 exactly",
                          hint="∂L/∂F_l = α_l ∂L/∂h_l is 0 under ReZero; under Fixup W2 = 0 cuts the path to W1 and b1")
    jacobians = impl.residual_block_jacobians(*net.single())
    for l, J in enumerate(jacobians, start=1):
        assert_within(J, np.eye(net.x.shape[1]), 0.0, f"{scheme}: J_{l} = I exactly",
                      hint="I + α_l W2 diag(σ') W1 with α_l = 0 or W2 = 0 is the identity")


# -- S14d: counterexample: a skip path alone does not stop growth ----------------------------------


def _identity_branches(a: float, width: int, depth: int) -> ResidualNet:
    """Linear branches W1 = I, W2 = a·I, zero biases, α = 1: every block Jacobian is (1 + a)·I."""
    branches = [(np.eye(width), np.zeros(width), a * np.eye(width), np.zeros(width))] * depth
    rng = np.random.default_rng(width)
    return ResidualNet(rng.standard_normal((1, width)), branches, [1.0] * depth, "linear",
                       rng.standard_normal((1, width)))


def _check_growth(impl, a: float, width: int, depth: int):
    net = _identity_branches(a, width, depth)
    grads = impl.residual_backward(*net.args(), net.grad_output)
    factor = (1 + a) ** depth
    # per block each monomial meets ≤ 4 roundings (a·g, ·σ' = 1, the skip addition; or 1 + a formed first),
    # and (1 + a)^L is itself rounded L times here: γ_(5L) relative
    assert_within(
        grads.hidden[0], factor * net.grad_output, maths.gamma(5 * depth) * factor * np.abs(net.grad_output) + maths.TINY,
        f"J_F = {a!r}·I in each of {depth} blocks: ∂L/∂h_0 = (1 + a)^L ∂L/∂h_L = {factor:.6g} ∂L/∂h_L",
        hint="every block Jacobian is (1 + a)I: with a skip path the gradient still grows like (1 + a)^L",
    )
    return factor


@claim("S14d")
@given(a=log_uniform(1e-3, 1.0), width=spread_integers(1, 6), depth=spread_integers(1, 80))
def test_a_skip_path_alone_does_not_stop_growth_branch_a_identity_gives_one_plus_a_to_the_L(impl, a, width, depth):
    _check_growth(impl, a, width, depth)


@claim("S14d")
def test_a_point_one_identity_branch_over_fifty_blocks_multiplies_the_gradient_by_117(impl):
    factor = _check_growth(impl, 0.1, 3, 50)
    assert_in_interval(factor, 117.39, 117.40, "(1.1)^50")
