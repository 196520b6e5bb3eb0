"""S3b, S4, S8, S16, S18: gradients through time.

The Jacobian ∂h_T/∂h_0 is read off the implementation's backward pass: the
sequence is repeated once per hidden unit along the batch, and example i gets
the output gradient e_i at step T only, so ∂L/∂h_0 of example i is row i of
∂h_T/∂h_0.  Norms are compared as logarithms.
"""

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from spec_tests import definitions, maths
from spec_tests.assertions import assert_in_interval, assert_log_at_least, assert_log_at_most, assert_within
from spec_tests.claims import claim
from spec_tests.networks import random_orthogonal, seeds
from spec_tests.sequences import (
    LinearRecurrence,
    RandomRecurrence,
    Recurrence,
    random_recurrences,
    recurrent_matrix,
    scaled_orthogonal,
)


def jacobian_through_time(impl, r: Recurrence) -> np.ndarray:
    """∂h_T/∂h_0 of a vanilla RNN for example 0 of r, from impl.rnn_backward."""
    H = r.hidden_size
    one = r.replicated(H)
    grad_output = np.zeros_like(one.grad_output)
    grad_output[-1] = np.eye(H)
    grads = impl.rnn_backward(one.x, one.h0, *r.weights(), r.activation, grad_output)
    return grads.hidden[0]


def lstm_jacobian_through_time(impl, r: Recurrence) -> np.ndarray:
    """∂(h_T, c_T)/∂(h_0, c_0) for example 0 of an LSTM, rows (h_T, c_T), from impl.lstm_backward."""
    H = r.hidden_size
    one = r.replicated(2 * H)
    grad_output, grad_cell = np.zeros_like(one.grad_output), np.zeros_like(one.grad_cell)
    grad_output[-1, :H] = np.eye(H)
    grad_cell[H:] = np.eye(H)
    grads = impl.lstm_backward(one.x, one.h0, one.c0, *r.weights(), grad_output, grad_cell)
    return np.concatenate([grads.h0, grads.c0], axis=1)


def eigen_condition(W: np.ndarray) -> tuple[float, float]:
    """(ρ(W), κ(V)) for W = V Λ V⁻¹ with unit-norm eigenvector columns."""
    eigenvalues, V = np.linalg.eig(W)
    return float(np.max(np.abs(eigenvalues))), float(np.linalg.cond(V))


def power_slack(T: int, n: int, kappa: float = 1.0) -> float:
    """Log-scale rounding slack for T products by an n × n matrix: errors made at step k are
    amplified by at most κ(V)² relative to ||W^T|| (eigen-decomposition argument)."""
    return float(np.log1p(16 * T * (n + 2) * maths.EPS * kappa**2))


@st.composite
def random_radius_matrices(draw, radii):
    hidden = draw(st.integers(2, 6), label="hidden")
    radius = draw(radii, label="radius")
    return LinearRecurrence(recurrent_matrix(draw(seeds, label="seed"), hidden, radius), draw(st.integers(1, 60), label="steps"))


# -- S4 -----------------------------------------------------------------------------------


@claim("S4a")
@given(case=random_radius_matrices(st.floats(0.3, 1.7)))
def test_linear_rnn_gradient_through_T_steps_lies_between_rho_to_the_T_and_sigma_max_to_the_T(impl, case):
    r = case.build()
    W, T = r.W_hh, r.steps
    rho, kappa = eigen_condition(W)
    assume(kappa < 1e4)  # beyond this, rounding of W^T itself blurs the bounds
    log_norm = maths.log_spectral_norm(jacobian_through_time(impl, r))
    slack = power_slack(T, W.shape[0], kappa)
    assert_log_at_least(log_norm, T * np.log(rho), slack, f"||∂h_T/∂h_0|| ≥ ρ(W)^T, ρ = {rho:.4g}, T = {T}")
    assert_log_at_most(log_norm, T * np.log(np.linalg.norm(W, 2)), slack, f"||∂h_T/∂h_0|| ≤ σ_max(W)^T, T = {T}")
    assert_log_at_most(log_norm, T * np.log(rho) + np.log(kappa), slack,
                       f"||W^T|| ≤ κ(V) ρ^T (Gelfand's rate), κ(V) = {kappa:.4g}, T = {T}")


@claim("S4b")
@given(case=random_recurrences("rnn", activations=("tanh", "sigmoid", "relu", "linear"), max_steps=30, max_hidden=6,
                               max_batch=1))
def test_rnn_gradient_through_T_steps_is_at_most_gamma_sigma_max_to_the_T(impl, case):
    r = case.build()
    gamma = 0.25 if r.activation == "sigmoid" else 1.0
    sigma_max = np.linalg.norm(r.W_hh, 2)
    log_norm = maths.log_spectral_norm(jacobian_through_time(impl, r))
    assert_log_at_most(
        log_norm, r.steps * np.log(gamma * sigma_max), power_slack(r.steps, r.hidden_size),
        f"||∂h_T/∂h_0|| ≤ (γ σ_max(W_hh))^T with γ = {gamma}, σ_max = {sigma_max:.4g}, T = {r.steps}",
        hint="every step multiplies by diag(σ'(a_t)) W_hh, and |σ'| ≤ γ",
    )


@claim("S4c")
@given(steps=st.integers(2, 50))
def test_nilpotent_recurrence_has_zero_gradient_despite_sigma_max_100(impl, steps):
    r = LinearRecurrence(((0.0, 100.0), (0.0, 0.0)), steps).build()
    M = jacobian_through_time(impl, r)
    assert_within(M, np.zeros((2, 2)), 0.0, f"W = [[0, 100], [0, 0]] has W^{steps} = 0 although σ_max(W) = 100")


@claim("S4c")
@given(steps=st.integers(1, 400))
@example(steps=10)  # the transient peak: always checked
def test_non_normal_recurrence_with_rho_0_9_grows_transiently_before_decaying(impl, steps):
    r = LinearRecurrence(((0.9, 100.0), (0.0, 0.9)), steps).build()
    M = jacobian_through_time(impl, r)
    T = steps
    exact = np.array([[0.9**T, 100 * T * 0.9 ** (T - 1)], [0.0, 0.9**T]])
    assert_within(M, exact, 8 * T * maths.EPS * np.abs(exact) + 8 * T * maths.EPS * 0.9**T + maths.TINY,
                  f"W^T = [[0.9^T, 100·T·0.9^(T-1)], [0, 0.9^T]] at T = {T}")
    if T == 10:
        assert np.linalg.norm(M, 2) > 380, f"||W^10|| ≈ 387 although ρ(W)^10 = 0.35; got {np.linalg.norm(M, 2):.4g}"


# -- S3 in time ---------------------------------------------------------------------------


@claim("S3b")
@given(seed=seeds, hidden=st.integers(2, 6), steps=st.integers(1, 10), data=st.data())
def test_rnn_with_a_spectrum_straddling_one_grows_some_directions_and_shrinks_the_others(impl, seed, hidden, steps, data):
    growing = data.draw(st.integers(1, hidden - 1), label="growing")
    rng = np.random.default_rng(seed)
    s = np.concatenate([rng.uniform(1.1, 2.0, growing), rng.uniform(0.5, 0.9, hidden - growing)])
    Q = random_orthogonal(rng, hidden)
    r = LinearRecurrence(tuple(map(tuple, Q * s @ Q.T)), steps).build()
    M = jacobian_through_time(impl, r)
    tolerance = 16 * steps * (hidden + 2) * maths.EPS * s.max() ** steps
    for i in range(hidden):
        assert_within(Q[:, i] @ M, s[i] ** steps * Q[:, i], tolerance,
                      f"a gradient along q_{i} reaches h_0 as s_{i}^T q_{i} with s_{i} = {s[i]:.3f}, T = {steps}")


# -- S8 -----------------------------------------------------------------------------------


@claim("S8a")
@given(case=random_recurrences("rnn", max_steps=20, max_hidden=5, max_batch=1))
def test_rnn_gradient_at_the_first_step_is_at_least_the_product_of_smallest_singular_values(impl, case):
    r = case.build()
    one = r.single()
    jacobians = impl.rnn_step_jacobians(one.x, one.h0, *r.weights(), r.activation)
    M = jacobian_through_time(impl, r)
    g = r.grad_output[-1, 0]
    _, log_lower, _, slack = maths.backward_bounds(jacobians)[-1]
    log_bound = maths.log_norm(g) + log_lower
    assert_log_at_least(maths.log_norm(g @ M), log_bound, slack,
                        f"||∂L/∂h_0|| ≥ ∏_t σ_min(J_t) · ||∂L/∂h_T|| over T = {r.steps} steps")


@claim("S8a")
@pytest.mark.parametrize("activation", ["tanh", "linear"])
@given(seed=seeds, hidden=st.integers(1, 6), c=st.floats(1.05, 2.0), steps=st.integers(1, 300))
def test_at_the_origin_the_rnn_gradient_grows_exactly_like_c_to_the_T(impl, activation, seed, hidden, c, steps):
    case = LinearRecurrence(scaled_orthogonal(seed, hidden, c), steps, activation=activation)
    r = case.build()
    r = r._replace(x=np.zeros_like(r.x), h0=np.zeros_like(r.h0), b_ih=np.zeros_like(r.b_ih))
    M = jacobian_through_time(impl, r)
    log_s = maths.safe_log(np.linalg.svd(M, compute_uv=False))
    slack = power_slack(steps, hidden)
    assert_in_interval(float(log_s.min()), steps * np.log(c) - slack, steps * np.log(c) + slack,
                       f"every singular value of ∂h_T/∂h_0 is c^T (c = {c:.4g}, T = {steps}), smallest")
    assert_in_interval(float(log_s.max()), steps * np.log(c) - slack, steps * np.log(c) + slack,
                       f"every singular value of ∂h_T/∂h_0 is c^T (c = {c:.4g}, T = {steps}), largest",
                       hint="at h = 0 with zero inputs and biases, σ'(0) = 1 for tanh and linear: J_t = W_hh")


# -- S18 ----------------------------------------------------------------------------------


@claim("S18a")
@given(case=random_radius_matrices(st.one_of(st.floats(0.5, 0.95), st.floats(1.05, 1.5))))
def test_linear_recurrence_vanishes_below_spectral_radius_one_and_explodes_above(impl, case):
    r = case.build()
    T = case.steps
    rho, kappa = eigen_condition(r.W_hh)
    assume(kappa < 1e4)
    log_norm = maths.log_spectral_norm(jacobian_through_time(impl, r))
    slack = power_slack(T, r.hidden_size, kappa)
    if rho < 1:
        assert_log_at_most(log_norm, T * np.log(rho) + np.log(kappa), slack,
                           f"ρ = {rho:.3f} < 1: ||∂h_T/∂h_0|| ≤ κ(V) ρ^T → 0 (T = {T})")
    else:
        assert_log_at_least(log_norm, T * np.log(rho), slack, f"ρ = {rho:.3f} > 1: ||∂h_T/∂h_0|| ≥ ρ^T → ∞ (T = {T})")


@claim("S18b")
@given(seed=seeds, hidden=st.integers(1, 6), steps=st.integers(1, 1000), epsilon=st.sampled_from([-0.01, 0.0, 0.01]))
def test_orthogonal_recurrence_is_bounded_only_on_the_knife_edge(impl, seed, hidden, steps, epsilon):
    r = LinearRecurrence(scaled_orthogonal(seed, hidden, 1 + epsilon), steps).build()
    log_s = maths.safe_log(np.linalg.svd(jacobian_through_time(impl, r), compute_uv=False))
    expected, slack = steps * np.log1p(epsilon), power_slack(steps, hidden)
    assert_in_interval(float(log_s.min()), expected - slack, expected + slack,
                       f"W = (1 + {epsilon})·Q: every singular value of W^T is (1 + ε)^T, T = {steps}")
    assert_in_interval(float(log_s.max()), expected - slack, expected + slack,
                       f"W = (1 + {epsilon})·Q: every singular value of W^T is (1 + ε)^T, T = {steps}")


@claim("S18b")
@given(steps=st.integers(1, 1000))
def test_jordan_block_with_rho_one_grows_polynomially(impl, steps):
    r = LinearRecurrence(((1.0, 1.0), (0.0, 1.0)), steps).build()
    norm = np.linalg.norm(jacobian_through_time(impl, r), 2)
    expected = (steps + np.sqrt(steps**2 + 4)) / 2
    assert_in_interval(norm, expected * (1 - 16 * steps * maths.EPS), expected * (1 + 16 * steps * maths.EPS),
                       f"||J^T|| = (T + √(T² + 4))/2 for the Jordan block J = [[1, 1], [0, 1]], T = {steps}")


# -- S16 ----------------------------------------------------------------------------------


@claim("S16a")
@pytest.mark.parametrize("kind", ["lstm", "gru"])
@given(data=st.data())
def test_the_gated_direct_path_is_diagonal_in_0_1_and_its_product_has_norm_at_most_one(impl, kind, data):
    r = data.draw(random_recurrences(kind, max_steps=30, max_hidden=5, max_batch=1), label="case").build().single()
    jac = (impl.lstm_step_jacobians(r.x, r.h0, r.c0, *r.weights()) if kind == "lstm"
           else impl.gru_step_jacobians(r.x, r.h0, *r.weights()))
    product = np.eye(r.hidden_size)
    for t, D in enumerate(jac.direct, start=1):
        off_diagonal = D - np.diag(np.diag(D))
        assert_within(off_diagonal, np.zeros_like(D), 0.0, f"the direct path at step {t} is diagonal")
        assert_in_interval(float(np.min(np.diag(D))), 0.0, 1.0, f"smallest gate value at step {t}")
        assert_in_interval(float(np.max(np.diag(D))), 0.0, 1.0, f"largest gate value at step {t}")
        product = D @ product
    gate = "f" if kind == "lstm" else "z"
    assert_in_interval(float(np.linalg.norm(product, 2)), 0.0, 1.0, f"||∏_t diag({gate}_t)|| over T = {r.steps}")


def fixed_point_lstm(steps: int) -> Recurrence:
    """Hidden size 1, zero input, b_i = b_o = 5, b_f = 0, recurrent cell-input weight 10: h = c = 0 is fixed."""
    zeros = np.zeros
    return Recurrence(
        "tanh", zeros((steps, 1, 1)), zeros((1, 1)), zeros((1, 1)), zeros((4, 1)),
        np.array([[0.0], [0.0], [10.0], [0.0]]), np.array([5.0, 0.0, 0.0, 5.0]), zeros(4),
        zeros((steps, 1, 1)), np.ones((1, 1)),
    )


@claim("S16b")
@given(steps=st.integers(1, 60))
def test_full_lstm_cell_gradient_explodes_while_its_direct_path_vanishes(impl, steps):
    r = fixed_point_lstm(steps)
    grads = impl.lstm_backward(r.x, r.h0, r.c0, *r.weights(), r.grad_output, r.grad_cell)
    sigmoid5 = float(definitions.sigmoid(np.array(5.0)))
    lam = sigmoid5**2 * 10 + 0.5
    expected_log = np.log(0.5) + (steps - 1) * np.log(lam)
    slack = float(np.log1p(32 * steps * maths.EPS))
    assert_in_interval(float(maths.safe_log(grads.c0[0, 0])), expected_log - slack, expected_log + slack,
                       f"∂c_T/∂c_0 = ½·λ^(T-1), λ = σ(5)²·10 + ½ ≈ {lam:.4f}, T = {steps}",
                       hint="the full Jacobian includes the path c_(t-1) → h_(t-1) → g_t → c_t through W_hg")
    one = r.single()
    direct = impl.lstm_step_jacobians(one.x, one.h0, one.c0, *r.weights()).direct
    assert_in_interval(float(np.prod(direct[:, 0, 0])), 0.5**steps * (1 - 4 * steps * maths.EPS),
                       0.5**steps * (1 + 4 * steps * maths.EPS), f"the direct path ∏ f_t = 2^-T, T = {steps}")


@st.composite
def small_recurrent_lstms(draw):
    return RandomRecurrence(
        kind="lstm", seed=draw(seeds, label="seed"), steps=draw(st.integers(10, 80), label="steps"),
        hidden=draw(st.integers(1, 4), label="hidden"), recurrent_scale=0.05, bias_scale=0.5,
    )


def lstm_step_bounds(r: Recurrence, hidden, cells) -> np.ndarray:
    """β_t of S16c at each step, from the states the implementation visited."""
    H = r.hidden_size
    W_i, W_f, W_g, W_o = (np.linalg.norm(r.W_hh[k * H:(k + 1) * H], 2) for k in range(4))
    bounds = []
    for t in range(r.steps):
        _, c_new, (i, f, g, o) = definitions.lstm_step(r.x[t, 0], hidden[t, 0], cells[t, 0], *r.weights())
        beta_c = (np.max(f) + np.max(np.abs(cells[t, 0] * f * (1 - f))) * W_f + np.max(np.abs(g * i * (1 - i))) * W_i
                  + np.max(np.abs(i * (1 - g**2))) * W_g)
        beta_h = np.max(np.abs(o * (1 - np.tanh(c_new) ** 2))) * beta_c + np.max(np.abs(np.tanh(c_new) * o * (1 - o))) * W_o
        bounds.append(max(beta_c, beta_h))
    return np.array(bounds)


@claim("S16c")
@given(case=small_recurrent_lstms())
def test_lstm_with_small_recurrent_weights_keeps_a_bounded_gradient_where_a_vanilla_rnn_explodes(impl, case):
    r = case.build()
    hidden, cells = impl.lstm_forward(r.x, r.h0, r.c0, *r.weights())
    log_bound = float(np.sum(maths.safe_log(lstm_step_bounds(r, hidden, cells))))
    assume(log_bound <= 0)  # the claim's condition: ∏ β_t ≤ 1
    M = lstm_jacobian_through_time(impl, r)
    H = r.hidden_size
    slack = power_slack(r.steps, 2 * H)
    for rows, cols, name in [(slice(0, H), slice(0, H), "∂h_T/∂h_0"), (slice(0, H), slice(H, None), "∂h_T/∂c_0"),
                             (slice(H, None), slice(0, H), "∂c_T/∂h_0"), (slice(H, None), slice(H, None), "∂c_T/∂c_0")]:
        assert_log_at_most(maths.log_spectral_norm(M[rows, cols]), log_bound, slack,
                           f"||{name}|| ≤ ∏_t β_t ≤ 1 over T = {r.steps} steps")
    rnn = LinearRecurrence(scaled_orthogonal(case.seed, H, 1.1), r.steps).build()
    assert_log_at_least(maths.log_spectral_norm(jacobian_through_time(impl, rnn)), r.steps * np.log(1.1),
                        power_slack(r.steps, H), f"a linear RNN with W = 1.1·Q explodes over the same T = {r.steps}")
