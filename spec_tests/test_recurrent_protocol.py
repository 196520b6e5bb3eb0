"""P4–P12: what the recurrent functions must compute (PyTorch's conventions).

Forward passes are checked step by step, recomputing step t from the implementation's
own state at t − 1 with the spec's definitions (spec_tests/definitions.py).  The vanilla
RNN's backward pass and step Jacobians (P5, P6) are checked entrywise at the spec's own
forward pass (maths.rnn_forward_bounds), P5 step by step from the implementation's own
total gradients with a tolerance that covers every evaluation order (maths: the sum of
two first-order chain bounds), so each of P4–P6 calls only its own function.  The LSTM's
and GRU's step Jacobians (P9, P12) are evaluated at the spec's own forward states, whose
difference from any correct forward pass is carried step by step; their backward passes
(P8, P11) are checked by the dot-product test ⟨J t, c⟩ = ⟨t, Jᵀc⟩ for a random tangent t
of *every* input at once, J t taken by the complex step through the definition.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from spec_tests import definitions, maths
from spec_tests.assertions import assert_within
from spec_tests.claims import claim
from spec_tests.sequences import random_recurrences


def step_error(x_t, h, W_ih, W_hh, b_ih, b_hh):
    """How far two correct evaluations of x W_ihᵀ + b_ih + h W_hhᵀ + b_hh may differ: one affine map
    of the stacked input [x, h] with two biases (maths.affine_error)."""
    stacked = np.concatenate([x_t, h], axis=-1)
    return maths.affine_error(stacked, np.concatenate([W_ih, W_hh], axis=1), np.abs(b_ih) + np.abs(b_hh),
                              bias_terms=2)


def gate_error(z_error, slope_bound):
    """A gate σ(z) or tanh(z) whose argument may be off by z_error: its value may be off by this."""
    return slope_bound * z_error + 4 * maths.EPS


def dot_product_test(lhs, tangents, gradients, r, width, what):
    """⟨J t, c⟩ (complex step, the spec's definition) against ⟨t, Jᵀc⟩ (the implementation).

    A backward pass of T steps of width n is accurate to about 16·T·(n + 4)·eps relative to
    two scales: the terms of the dot product, Σ_k ||t_k||·||∂L/∂input_k|| + |⟨J t, c⟩|, and, where
    saturated gates make the gradient tiny while σ' is known only to a few eps absolutely, ||t|| times
    the normwise scale maths.recurrent_normwise_scale, which holds with every derivative factor ≤ 1.
    """
    __tracebackhide__ = True
    rhs = sum(float(np.sum(t * g)) for t, g in zip(tangents, gradients))
    terms = sum(np.linalg.norm(t) * np.linalg.norm(g) for t, g in zip(tangents, gradients)) + abs(lhs)
    cotangent = np.linalg.norm(r.grad_output) + (0.0 if r.grad_cell is None else np.linalg.norm(r.grad_cell))
    tangent = np.sqrt(sum(np.sum(t * t) for t in tangents))
    normwise = tangent * maths.recurrent_normwise_scale(r.x, r.h0, r.c0, r.W_ih, r.W_hh, cotangent)
    tolerance = 16 * r.steps * (width + 4) * maths.EPS * (terms + normwise)
    assert abs(lhs - rhs) <= tolerance, (
        f"{what}: ⟨t, Jᵀc⟩ = {rhs!r} from the implementation's gradients, but ⟨J t, c⟩ = {lhs!r} from the "
        f"definition: off by {abs(lhs - rhs) / tolerance:.2g} × the allowed rounding "
        f"(|difference| {abs(lhs - rhs):.3g}, tolerance {tolerance:.3g})"
    )


def random_tangents(seed, arrays):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(np.shape(a)) for a in arrays]


# -- vanilla RNN --------------------------------------------------------------------------


@claim("P4")
@given(case=random_recurrences("rnn"))
def test_rnn_forward_unrolls_the_recurrence_with_two_biases(impl, case):
    r = case.build()
    hidden = impl.rnn_forward(r.x, r.h0, *r.weights(), r.activation)
    assert_within(hidden[0], r.h0, 0.0, "hidden[0] must be h0")
    slope = 0.25 if r.activation == "sigmoid" else 1.0
    for t in range(1, r.steps + 1):
        expected = definitions.rnn_step(r.x[t - 1], hidden[t - 1], *r.weights(), r.activation)
        error = slope * step_error(r.x[t - 1], hidden[t - 1], *r.weights()) + maths.sigma_error(r.activation, expected)
        assert_within(hidden[t], expected, error, f"h_{t} = σ(x_{t} W_ihᵀ + b_ih + h_{t - 1} W_hhᵀ + b_hh)",
                      hint="sequences are time-first (T, batch, input); both biases are added")


@claim("P5")
@given(case=random_recurrences("rnn"))
def test_rnn_backward_is_backpropagation_through_time(impl, case):
    """Step by step from the implementation's own total gradients ∂L/∂h_t, at the spec's own forward pass;
    the tolerances cover every evaluation order (maths: the implementation may sum unrolled products)."""
    r = case.build()
    grads = impl.rnn_backward(r.x, r.h0, *r.weights(), r.activation, r.grad_output)
    assert_within(grads.hidden[-1], r.grad_output[-1], 0.0, "∂L/∂h_T = grad_output_T")
    forward = maths.rnn_forward_bounds(r.x, r.h0, *r.weights(), r.activation)
    bounds = maths.rnn_backward_bounds(r.W_hh, forward, r.activation, r.grad_output)
    H, I = r.hidden_size, r.x.shape[-1]
    deltas, delta_errors = [], []
    for t in range(r.steps, 0, -1):
        g = grads.hidden[t]
        delta = maths.sigma_prime(r.activation, forward.pre[t - 1]) * g
        delta_error = maths.delta_error(bounds.slope[t - 1], bounds.slope_error[t - 1], g, bounds.error[t])
        deltas.insert(0, delta)
        delta_errors.insert(0, delta_error)
        direct = r.grad_output[t - 2] if t >= 2 else np.zeros_like(g)
        assert_within(
            grads.hidden[t - 1], direct + delta @ r.W_hh,
            bounds.error[t - 1] + maths.matmul_error(delta, delta_error, r.W_hh, 0.0, H + 1)
            + maths.gamma(H + 1) * np.abs(direct) + maths.TINY,
            f"∂L/∂h_{t - 1} = grad_output_{t - 1} + (σ'(a_{t}) ⊙ ∂L/∂h_{t}) W_hh (the total gradient)",
            hint="the gradient at h_(t-1) adds its own output gradient to what flows back from step t",
        )
        assert_within(
            grads.inputs[t - 1], delta @ r.W_ih, 2 * maths.matmul_error(delta, delta_error, r.W_ih, 0.0, H) + maths.TINY,
            f"∂L/∂x_{t} = δ_{t} W_ih, δ_{t} = σ'(a_{t}) ⊙ ∂L/∂h_{t}",
        )
    # the weight gradients sum over the steps and the batch: (T·batch, ·) stacks
    delta, delta_error = np.concatenate(deltas), np.concatenate(delta_errors)
    n = delta.shape[0]
    h_prev, h_error = np.concatenate(forward.hidden[:-1]), np.concatenate(forward.hidden_error[:-1])
    x = r.x.reshape(n, I)
    ones = np.ones(n)
    bias_error = maths.matmul_error(ones, 0.0, delta, delta_error, n)
    for name, got, expected, error in [
        ("∂L/∂W_hh = Σ_t δ_tᵀ h_(t-1)", grads.W_hh, delta.T @ h_prev,
         maths.matmul_error(delta.T, delta_error.T, h_prev, h_error, n)),
        ("∂L/∂W_ih = Σ_t δ_tᵀ x_t", grads.W_ih, delta.T @ x, maths.matmul_error(delta.T, delta_error.T, x, 0.0, n)),
        ("∂L/∂b_ih = Σ_t δ_t", grads.b_ih, ones @ delta, bias_error),
        ("∂L/∂b_hh = Σ_t δ_t", grads.b_hh, ones @ delta, bias_error),
    ]:  # each side within `error` of the exact sum
        assert_within(got, expected, 2 * error + maths.TINY, f"{name}, summed over the steps and the batch",
                      hint="weights are (out, in) as in torch.nn.RNN; each bias receives the whole sum")


@claim("P6")
@given(case=random_recurrences("rnn", max_batch=1))
def test_rnn_step_jacobians_are_diag_sigma_prime_times_W_hh(impl, case):
    r = case.build()
    one = r.single()
    jacobians = impl.rnn_step_jacobians(one.x, one.h0, *r.weights(), r.activation)
    forward = maths.rnn_forward_bounds(one.x, one.h0, *r.weights(), r.activation)
    for t in range(1, r.steps + 1):
        a = forward.pre[t - 1]
        # σ'(a_t) of any correct forward pass, the spec's included, is within u of the spec's; each side rounds
        # the product σ'·W_hh once
        u = maths.sigma_prime_uncertainty(r.activation, a, 2 * forward.pre_error[t - 1])
        expected = maths.sigma_prime(r.activation, a)[:, None] * r.W_hh
        assert_within(jacobians[t - 1], expected, u[:, None] * np.abs(r.W_hh) + maths.EPS * np.abs(expected) + maths.TINY,
                      f"J_{t} = ∂h_{t}/∂h_{t - 1} = diag(σ'(a_{t})) W_hh",
                      hint="a_t = x_t W_ihᵀ + b_ih + h_(t-1) W_hhᵀ + b_hh; rows of W_hh scaled by σ'(a_t)")


# -- LSTM ---------------------------------------------------------------------------------


def lstm_step_errors(x_t, h, c, r, h_difference=0.0, c_difference=0.0):
    """Bounds on how far correct evaluations of c_t and h_t may differ, from the gates' rounding, when their
    h_{t−1} and c_{t−1} may already differ by h_difference and c_difference (0: the same state); and the
    bound on the gates' pre-activations z."""
    z_error = step_error(x_t, h, *r.weights()) + np.broadcast_to(h_difference, np.shape(h)) @ np.abs(r.W_hh).T
    H = r.hidden_size
    _, c_new, (i, f, g, o) = definitions.lstm_step(x_t, h, c, *r.weights())
    e_i, e_f, e_g, e_o = (gate_error(z_error[..., k * H:(k + 1) * H], s) for k, s in enumerate((0.25, 0.25, 1.0, 0.25)))
    c_error = (e_f * np.abs(c) + np.abs(f) * c_difference + e_i * np.abs(g) + np.abs(i) * e_g
               + 2 * maths.EPS * (np.abs(f * c) + np.abs(i * g)))
    h_error = e_o * np.abs(np.tanh(c_new)) + np.abs(o) * (c_error + 4 * maths.EPS) + maths.TINY
    return c_error + maths.TINY, h_error, z_error


@claim("P7")
@given(case=random_recurrences("lstm"))
def test_lstm_forward_follows_the_cell_equations_with_gates_i_f_g_o(impl, case):
    r = case.build()
    hidden, cells = impl.lstm_forward(r.x, r.h0, r.c0, *r.weights())
    assert_within(hidden[0], r.h0, 0.0, "hidden[0] must be h0")
    assert_within(cells[0], r.c0, 0.0, "cells[0] must be c0")
    for t in range(1, r.steps + 1):
        h, c, _ = definitions.lstm_step(r.x[t - 1], hidden[t - 1], cells[t - 1], *r.weights())
        c_error, h_error, _ = lstm_step_errors(r.x[t - 1], hidden[t - 1], cells[t - 1], r)
        hint = "gate blocks are stacked (i, f, g, o) as in torch.nn.LSTM; c_t = f c_(t-1) + i g, h_t = o tanh(c_t)"
        assert_within(cells[t], c, c_error, f"c_{t} = f ⊙ c_{t - 1} + i ⊙ g", hint=hint)
        assert_within(hidden[t], h, h_error, f"h_{t} = o ⊙ tanh(c_{t})", hint=hint)


@claim("P8")
@given(case=random_recurrences("lstm"), seed=st.integers(0, 2**32 - 1))
def test_lstm_backward_is_the_vector_jacobian_product_of_the_lstm(impl, case, seed):
    r = case.build()
    grads = impl.lstm_backward(r.x, r.h0, r.c0, *r.weights(), r.grad_output, r.grad_cell)

    def loss(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
        hidden, cells = definitions.lstm_unroll(x, h0, c0, W_ih, W_hh, b_ih, b_hh)
        return np.sum(r.grad_output * hidden[1:]) + np.sum(r.grad_cell * cells[-1])

    inputs = [r.x, r.h0, r.c0, *r.weights()]
    tangents = random_tangents(seed, inputs)
    lhs = definitions.directional_derivative(loss, inputs, tangents)
    dot_product_test(lhs, tangents, list(grads), r, 4 * r.hidden_size + r.x.shape[-1],
                     "LSTM gradients of x, h0, c0, W_ih, W_hh, b_ih, b_hh for L = Σ⟨g_t, h_t⟩ + ⟨g_c, c_T⟩")


@claim("P9")
@given(case=random_recurrences("lstm", max_batch=1))
def test_lstm_step_jacobians_direct_path_is_diag_f_and_full_is_the_step_derivative(impl, case):
    """At the spec's own forward states; the states of any correct forward pass may differ from them by the
    rounding carried through the steps (lstm_step_errors, step after step)."""
    r = case.build()
    one = r.single()
    H = r.hidden_size
    jac = impl.lstm_step_jacobians(one.x, one.h0, one.c0, *r.weights())
    h, c, h_difference, c_difference = one.h0, one.c0, np.zeros(H), np.zeros(H)
    W = [np.abs(r.W_hh[k * H:(k + 1) * H]) for k in range(4)]
    ones = np.ones((H, H))
    for t in range(1, r.steps + 1):
        x_t = one.x[t - 1]
        c_new_difference, h_new_difference, z_error = lstm_step_errors(x_t, h, c, r, h_difference, c_difference)
        h_new, c_new, (i, f, g, _) = definitions.lstm_step(x_t, h, c, *r.weights())
        e_f = gate_error(z_error[H:2 * H], 0.25)
        assert_within(jac.direct[t - 1], np.diag(f), np.diag(e_f),
                      f"the direct cell path ∂c_{t}/∂c_{t - 1} (h_{t - 1} held fixed) is diag(f_{t})",
                      hint="f is the second gate block (i, f, g, o)")

        def step(state, x_t=x_t):
            h_next, c_next, _ = definitions.lstm_step(x_t, state[:H], state[H:], *r.weights())
            return np.concatenate([h_next, c_next])

        expected = definitions.jacobian(step, np.concatenate([h, c]))
        through_h = (np.abs(c)[:, None] * W[1] + np.abs(g)[:, None] * W[0] + np.abs(i)[:, None] * W[2] + W[3])
        magnitude = np.block([[through_h, ones], [through_h, ones]])
        # where the states themselves differ: c_{t−1} enters ∂c_t/∂h through f(1 − f) ≤ 1/4, c_t enters
        # o(1 − tanh² c_t) with slope ≤ 4/(3√3) and tanh(c_t) o(1 − o) with slope ≤ 1/4
        through_c_prev = 0.25 * c_difference[:, None] * W[1]
        through_c_new = c_new_difference[:, None] * (4 / (3 * np.sqrt(3)) * through_h + 0.25 * W[3])
        states = np.block([[through_c_new + through_c_prev, c_new_difference[:, None] * ones],
                           [through_c_prev, np.zeros((H, H))]])
        n = r.x.shape[-1] + H + 4
        tolerance = (16 * n * maths.EPS * np.abs(expected) + (np.max(z_error) + 8 * maths.EPS) * magnitude + states
                     + maths.TINY)
        assert_within(jac.full[t - 1], expected, tolerance,
                      f"the full step Jacobian ∂(h_{t}, c_{t})/∂(h_{t - 1}, c_{t - 1}), rows (h, c), columns (h, c)")
        h, c, h_difference, c_difference = h_new, c_new, h_new_difference, c_new_difference


# -- GRU ----------------------------------------------------------------------------------


def gru_step_error(x_t, h, r, h_difference=0.0):
    """How far correct evaluations of h_t may differ when their h_{t−1} may already differ by h_difference
    (0: the same state); the bound on the gates' pre-activations; and |h W_hnᵀ + b_hn|."""
    z_error = step_error(x_t, h, *r.weights()) + np.broadcast_to(h_difference, np.shape(h)) @ np.abs(r.W_hh).T
    H = r.hidden_size
    h_new, (reset, update, n) = definitions.gru_step(x_t, h, *r.weights())
    e_r, e_z = gate_error(z_error[..., :H], 0.25), gate_error(z_error[..., H:2 * H], 0.25)
    hn = np.abs(h @ r.W_hh[2 * H:].T + r.b_hh[2 * H:])
    e_n = gate_error(z_error[..., 2 * H:] * (1 + np.abs(reset)) + e_r * hn, 1.0)
    h_error = (e_z * (np.abs(n) + np.abs(h)) + np.abs(1 - update) * e_n + np.abs(update) * h_difference
               + 2 * maths.EPS * (np.abs(h_new) + np.abs(h)))
    return h_error + maths.TINY, z_error, hn


@claim("P10")
@given(case=random_recurrences("gru"))
def test_gru_forward_follows_pytorchs_equations_with_reset_after_the_matmul(impl, case):
    r = case.build()
    hidden = impl.gru_forward(r.x, r.h0, *r.weights())
    assert_within(hidden[0], r.h0, 0.0, "hidden[0] must be h0")
    for t in range(1, r.steps + 1):
        expected, _ = definitions.gru_step(r.x[t - 1], hidden[t - 1], *r.weights())
        error, _, _ = gru_step_error(r.x[t - 1], hidden[t - 1], r)
        assert_within(
            hidden[t], expected, error, f"h_{t} = (1 − z) ⊙ n + z ⊙ h_{t - 1}, n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))",
            hint="gates are stacked (r, z, n); the reset gate multiplies W_hn h + b_hn, after the matmul; "
            "z weighs the previous state",
        )


@claim("P11")
@given(case=random_recurrences("gru"), seed=st.integers(0, 2**32 - 1))
def test_gru_backward_is_the_vector_jacobian_product_of_the_gru(impl, case, seed):
    r = case.build()
    grads = impl.gru_backward(r.x, r.h0, *r.weights(), r.grad_output)
    inputs = [r.x, r.h0, *r.weights()]
    tangents = random_tangents(seed, inputs)
    lhs = definitions.directional_derivative(
        lambda *p: np.sum(r.grad_output * definitions.gru_unroll(*p)[1:]), inputs, tangents)
    dot_product_test(lhs, tangents, list(grads), r, 3 * r.hidden_size + r.x.shape[-1],
                     "GRU gradients of x, h0, W_ih, W_hh, b_ih, b_hh")


@claim("P12")
@given(case=random_recurrences("gru", max_batch=1))
def test_gru_step_jacobians_direct_path_is_diag_z_and_full_is_the_step_derivative(impl, case):
    """At the spec's own forward states; the states of any correct forward pass may differ from them by the
    rounding carried through the steps (gru_step_error, step after step)."""
    r = case.build()
    one = r.single()
    H = r.hidden_size
    jac = impl.gru_step_jacobians(one.x, one.h0, *r.weights())
    h, h_difference = one.h0, np.zeros(H)
    W_r, W_z, W_n = (np.abs(r.W_hh[k * H:(k + 1) * H]) for k in range(3))
    for t in range(1, r.steps + 1):
        x_t = one.x[t - 1]
        h_new_difference, z_error, hn = gru_step_error(x_t, h, r, h_difference)
        h_new, (_, update, n) = definitions.gru_step(x_t, h, *r.weights())
        assert_within(jac.direct[t - 1], np.diag(update), np.diag(gate_error(z_error[H:2 * H], 0.25)),
                      f"the direct path ∂h_{t}/∂h_{t - 1} (gates held fixed) is diag(z_{t})",
                      hint="in PyTorch's h_t = (1 − z) ⊙ n + z ⊙ h_(t-1), z (the second gate block) weighs h_(t-1)")
        expected = definitions.jacobian(lambda s, x_t=x_t: definitions.gru_step(x_t, s, *r.weights())[0], h)
        magnitude = np.eye(H) + (np.abs(h) + np.abs(n))[:, None] * W_z + hn[:, None] * W_r + W_n
        # h_{t−1} itself enters through (h_{t−1} − n) z(1 − z) W_hz, z(1 − z) ≤ 1/4
        tolerance = (16 * (r.x.shape[-1] + H + 4) * maths.EPS * np.abs(expected)
                     + (np.max(z_error) * (1 + np.max(hn)) + 8 * maths.EPS) * magnitude
                     + 0.25 * h_difference[:, None] * W_z + maths.TINY)
        assert_within(jac.full[t - 1], expected, tolerance, f"the full step Jacobian ∂h_{t}/∂h_{t - 1}")
        h, h_difference = h_new, h_new_difference
