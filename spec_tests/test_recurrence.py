"""S3b, S4, S8, S16, S18: gradients through time.

The Jacobian ∂h_T/∂h_0 is read off the implementation's backward pass: the
sequence is repeated once per hidden unit along the batch, and example i gets
the output gradient e_i at step T only, so ∂L/∂h_0 of example i is row i of
∂h_T/∂h_0.  Norms are compared as logarithms.

Every bound and expected value comes from the spec alone: the matrices it built,
its own forward pass with error bounds that cover any correct evaluation
(maths.rnn_forward_bounds; for the LSTM, interval arithmetic below), σ' from
maths — never from the implementation's forward pass, step Jacobians or states,
so a backward pass and Jacobians that are wrong in the same way cannot pass.
Rounding slacks cover every evaluation order of a correct backward pass (Horner's
rule, unrolled products, …): maths' module docstring derives the first-order
bounds, and slack_above / slack_below turn an error bound into a log-scale slack.
"""

import numpy as np
import pytest
from hypothesis import assume, event, example, given
from hypothesis import strategies as st

from spec_tests import definitions, maths
from spec_tests.assertions import (
    assert_in_interval,
    assert_log_at_least,
    assert_log_at_most,
    assert_within,
)
from spec_tests.claims import claim
from spec_tests.networks import random_orthogonal, seeds
from spec_tests.sequences import (
    GAMMA,
    LinearRecurrence,
    Recurrence,
    expanding_recurrences,
    forgetful_lstms,
    knife_edge_offsets,
    pascanu_recurrences,
    random_recurrences,
    recurrent_matrix,
    saturated_recurrences,
    scaled_orthogonal,
)

EPS = maths.EPS


# -- reading gradients through time off the implementation ---------------------------------


def first_step_gradients(impl, r: Recurrence, rows: np.ndarray, steps: int | None = None) -> np.ndarray:
    """rows·∂h_T/∂h_0 (T = steps, default r.steps) for example 0 of a vanilla RNN, one row per output
    gradient at step T, from a single impl.rnn_backward call (example 0 repeated along the batch)."""
    T = r.steps if steps is None else steps
    one = r.replicated(len(rows))
    grad_output = np.zeros((T, len(rows), r.hidden_size))
    grad_output[-1] = rows
    grads = impl.rnn_backward(one.x[:T], one.h0, *r.weights(), r.activation, grad_output)
    return np.asarray(grads.hidden[0], dtype=float)


def jacobian_through_time(impl, r: Recurrence, steps: int | None = None) -> np.ndarray:
    """∂h_T/∂h_0 of a vanilla RNN for example 0 of r, from impl.rnn_backward."""
    return first_step_gradients(impl, r, np.eye(r.hidden_size), steps)


def lstm_jacobian_through_time(impl, r: Recurrence) -> np.ndarray:
    """∂(h_T, c_T)/∂(h_0, c_0) for example 0 of an LSTM, rows (h_T, c_T), from impl.lstm_backward."""
    H = r.hidden_size
    one = r.replicated(2 * H)
    grad_output, grad_cell = np.zeros_like(one.grad_output), np.zeros_like(one.grad_cell)
    grad_output[-1, :H] = np.eye(H)
    grad_cell[H:] = np.eye(H)
    grads = impl.lstm_backward(one.x, one.h0, one.c0, *r.weights(), grad_output, grad_cell)
    return np.concatenate([grads.h0, grads.c0], axis=1)


# -- the spec's own bounds ------------------------------------------------------------------


def slack_above(log_error: float, log_bound: float) -> float:
    """Log-scale slack for 'computed ≤ bound' when the computed value may exceed the exact one by e^log_error."""
    return float(np.log1p(np.exp(log_error - log_bound))) if np.isfinite(log_bound) else 0.0


def slack_below(log_error: float, log_bound: float) -> float:
    """Log-scale slack for 'computed ≥ bound' when the computed value may fall short of the exact one by
    e^log_error; infinite (nothing can be asserted) where rounding may swallow the whole bound."""
    relative = np.exp(log_error - log_bound) if np.isfinite(log_bound) else np.inf
    return float(-np.log1p(-relative)) if relative < 1 else np.inf


def spec_step_jacobians(r: Recurrence):
    """The spec's forward pass of example 0 (maths.rnn_forward_bounds), its step Jacobians
    J_t = diag(σ'(a_t)) W_hh, and B_t ≥ |J̃_t − J_t| for the J̃_t any correct implementation effectively
    uses (σ' at its own rounded pre-activation, within 2Δ_t of the spec's; forming J_t: one rounding)."""
    one = r.single()
    forward = maths.rnn_forward_bounds(one.x, one.h0, *r.weights(), r.activation)
    jacobians, uncertainties = [], []
    for a, a_error in zip(forward.pre, forward.pre_error):
        J = maths.sigma_prime(r.activation, a)[:, None] * r.W_hh
        u = maths.sigma_prime_uncertainty(r.activation, a, 2 * a_error)
        jacobians.append(J)
        uncertainties.append(u[:, None] * np.abs(r.W_hh) + EPS * np.abs(J))
    return forward, jacobians, uncertainties


def log_first_step_error(r: Recurrence, forward, jacobians, uncertainties, rows, steps: int | None = None) -> float:
    """log of a bound on ||R̂ − R||_F, R = rows·∂h_T/∂h_0, for every correct evaluation: the smaller of the
    elementwise bound (maths.rnn_backward_bounds: the chain in absolute values) and the normwise one
    (maths.backward_bounds_and_errors: γ_m ∏ || |J_t| + B_t ||, per row)."""
    T = r.steps if steps is None else steps
    grad_output = np.zeros((T,) + rows.shape)
    grad_output[-1] = rows
    elementwise = maths.rnn_backward_bounds(r.W_hh, forward, r.activation, grad_output).error[0]
    _, log_normwise = maths.backward_bounds_and_errors(jacobians[:T], uncertainties[:T])[-1]
    row_norms = np.linalg.norm(rows, axis=1)
    return min(maths.log_norm(elementwise), float(np.log(np.linalg.norm(row_norms))) + log_normwise)


def eigen_condition(W: np.ndarray) -> tuple[float, float]:
    """(ρ(W), κ(V)) for W = V Λ V⁻¹ with unit-norm eigenvector columns."""
    eigenvalues, V = np.linalg.eig(W)
    return float(np.max(np.abs(eigenvalues))), float(np.linalg.cond(V))


def log_power_error(W: np.ndarray, T: int, rho: float, kappa: float) -> float:
    """log of a bound on ||fl(W^T) − W^T||_2 for a backward pass of a linear RNN (σ' = 1, so only the
    products round), to first order; the smaller of

    * γ_m || |W|^T ||_F, m = T(n + 2): every evaluation order (maths' monomial argument), and
    * T·n·γ_{n+2}·κ(V)⁴ ρ^T for any chain or tree of matrix and vector products (Horner's rule, unrolled
      products, repeated squaring): each of the ≤ T multiplications A·B errs by γ_{n+2} |A||B|, at most
      n γ_{n+2} ||A|| ||B|| in norm, and its operands and the two products around it are powers of W,
      ||W^k|| ≤ κ(V) ρ^k.
    """
    n = W.shape[0]
    A, log_scale = np.eye(n), 0.0
    for _ in range(T):  # |W|^T, renormalised so that it never overflows
        A = A @ np.abs(W)
        top = np.max(A)
        if top == 0:
            return -np.inf
        A, log_scale = A / top, log_scale + np.log(top)
    monomials = np.log(maths.gamma(T * (n + 2))) + log_scale + np.log(np.linalg.norm(A))
    products = np.log(T * n * maths.gamma(n + 2)) + 4 * np.log(kappa) + T * np.log(rho) if rho > 0 else np.inf
    return float(min(monomials, products))


def spectral_slack(n: int, T: int, rho: float = 1.0, sigma_max: float = 1.0, kappa: float = 1.0) -> float:
    """Log-scale accuracy of the spec's own spectral quantities: LAPACK's singular values are accurate to
    step_slack(n)·σ_max (maths.step_slack), its eigenvalues to κ(V) times that (Bauer–Fike); raised to the
    T-th power that is T times as much in log, plus the SVD of the measured matrix and κ(V) itself."""
    return (T + 2) * maths.step_slack(n) * kappa * sigma_max / rho


def orthogonal_power_slack(T: int, n: int) -> float:
    """Log-scale slack for ∂h_T/∂h_0 = (cQ)^T, Q orthogonal: every product is well conditioned, so a chain or
    tree of products errs by at most T·n·γ_{n+2} relative (log_power_error with κ = 1); the stored c·Q is
    orthogonal only to about n·eps, which the T-th power multiplies by T (spectral_slack)."""
    return float(np.log1p(T * n * maths.gamma(n + 2))) + spectral_slack(n, T)


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
    W, T, n = r.W_hh, r.steps, r.hidden_size
    rho, kappa = eigen_condition(W)
    assume(kappa < 1e4)  # beyond this, the spec's own eigenvectors (so κ(V)) are not reliable
    sigma_max = float(np.linalg.norm(W, 2))
    log_norm = maths.log_spectral_norm(jacobian_through_time(impl, r))
    log_error = log_power_error(W, T, rho, kappa)
    spec = spectral_slack(n, T, rho, sigma_max, kappa)
    bounds = [("≥", T * np.log(rho), f"||∂h_T/∂h_0|| ≥ ρ(W)^T, ρ = {rho:.4g}, T = {T}"),
              ("≤", T * np.log(sigma_max), f"||∂h_T/∂h_0|| ≤ σ_max(W)^T, σ_max = {sigma_max:.4g}, T = {T}"),
              ("≤", T * np.log(rho) + np.log(kappa), f"||W^T|| ≤ κ(V) ρ^T (Gelfand's rate), κ(V) = {kappa:.4g}, T = {T}")]
    for direction, log_bound, what in bounds:  # neither upper bound implies the other: κ ρ^T ≶ σ_max^T
        if direction == "≥":
            assert_log_at_least(log_norm, log_bound, slack_below(log_error, log_bound) + spec, what)
        else:
            assert_log_at_most(log_norm, log_bound, slack_above(log_error, log_bound) + spec, what)


@claim("S4b")
@given(case=pascanu_recurrences())
def test_rnn_gradient_through_T_steps_is_at_most_gamma_sigma_max_to_the_T(impl, case):
    """Random RNNs, and RNNs near a fixed point where σ' ≈ γ at every step (tight when W_hh is normal)."""
    r = case.build()
    T, H = r.steps, r.hidden_size
    gamma = GAMMA[r.activation]
    sigma_max = float(np.linalg.norm(r.W_hh, 2))
    forward, jacobians, uncertainties = spec_step_jacobians(r)
    log_error = log_first_step_error(r, forward, jacobians, uncertainties, np.eye(H))
    log_bound = T * np.log(gamma * sigma_max)
    log_norm = maths.log_spectral_norm(jacobian_through_time(impl, r))
    assert_log_at_most(
        log_norm, log_bound, slack_above(log_error, log_bound) + spectral_slack(H, T, sigma_max=sigma_max, rho=sigma_max),
        f"||∂h_T/∂h_0|| ≤ (γ σ_max(W_hh))^T with γ = {gamma}, σ_max = {sigma_max:.4g}, T = {T}",
        hint="every step multiplies by diag(σ'(a_t)) W_hh, and |σ'| ≤ γ",
    )


@claim("S4b")
@given(case=saturated_recurrences())
def test_sigma_max_above_one_over_gamma_does_not_make_the_gradient_explode(impl, case):
    """The necessary condition is not sufficient: W_hh with σ_max > 1/γ, biases holding the state where σ'
    is small, so every step Jacobian contracts and ||∂h_T/∂h_0|| ≤ ∏_t ||J_t|| vanishes."""
    r = case.build()
    T, H = r.steps, r.hidden_size
    gamma = GAMMA[r.activation]
    sigma_max = float(np.linalg.norm(r.W_hh, 2))
    assert sigma_max > 1 / gamma  # the construction (spec_tests/sequences.py), not the implementation
    forward, jacobians, uncertainties = spec_step_jacobians(r)
    chain = maths.backward_bounds_and_errors(jacobians, uncertainties, layers=True)
    steps = [step.layer_log_upper for step in chain]
    assume(max(steps) < 0)  # every step contracts: the construction's aim (tests/test_strategies_recurrence.py)
    bound = chain[-1].bound
    log_error = log_first_step_error(r, forward, jacobians, uncertainties, np.eye(H))
    log_norm = maths.log_spectral_norm(jacobian_through_time(impl, r))
    assert_log_at_most(
        log_norm, bound.log_upper, slack_above(log_error, bound.log_upper) + spectral_slack(H, 0),
        f"σ_max(W_hh) = {sigma_max:.4g} > 1/γ = {1 / gamma:g}, yet every step contracts (||J_t|| ≤ "
        f"{np.exp(max(steps)):.4g}): ||∂h_T/∂h_0|| ≤ ∏_t ||J_t|| = {np.exp(bound.log_upper):.3g} over T = {T}",
        hint="σ_max(W_hh) > 1/γ is necessary for exploding, not sufficient: saturated units have σ'(a_t) ≪ γ",
    )


@claim("S4c")
@given(steps=st.integers(2, 50))
def test_nilpotent_recurrence_has_zero_gradient_despite_sigma_max_100(impl, steps):
    """W² = 0 exactly in floating point too: every product of two or more factors W is 0·100 + 100·0."""
    r = LinearRecurrence(((0.0, 100.0), (0.0, 0.0)), steps).build()
    M = jacobian_through_time(impl, r)
    assert_within(M, np.zeros((2, 2)), 0.0, f"W = [[0, 100], [0, 0]] has W^{steps} = 0 although σ_max(W) = 100")


@claim("S4c")
@given(steps=st.integers(1, 400))
@example(steps=10)  # the transient peak, ||W^10|| ≈ 387: always checked
def test_non_normal_recurrence_with_rho_0_9_grows_transiently_before_decaying(impl, steps):
    """Exact W^T, entry by entry.  W ≥ 0, so |W|^T = W^T and the monomial bound γ_{T(n+2)} |W|^T (maths) is
    γ_{4T}·|W^T|, in every evaluation order; the spec's own 0.9**T and 100·T·0.9**(T−1) add a few ulps."""
    r = LinearRecurrence(((0.9, 100.0), (0.0, 0.9)), steps).build()
    M = jacobian_through_time(impl, r)
    T = steps
    exact = np.array([[0.9**T, 100 * T * 0.9 ** (T - 1)], [0.0, 0.9**T]])
    assert_within(M, exact, (maths.gamma(4 * T) + 4 * EPS) * np.abs(exact) + maths.TINY,
                  f"W^T = [[0.9^T, 100·T·0.9^(T-1)], [0, 0.9^T]] at T = {T}, ρ(W) = 0.9")


# -- S3 in time ---------------------------------------------------------------------------


@claim("S3b")
@given(seed=seeds, hidden=st.integers(2, 6), steps=st.integers(1, 10), data=st.data())
def test_rnn_with_a_spectrum_straddling_one_grows_some_directions_and_shrinks_the_others(impl, seed, hidden, steps, data):
    """Tolerance, in norm (so per entry): a chain or tree of products of the normal W errs by T·n·γ_{n+2}·s_max^T
    (log_power_error, κ = 1); the stored W = fl(Q diag(s) Qᵀ), with Q orthogonal to about n·eps, is off by about
    n·γ_{n+2}·s_max, which the T-th power multiplies by T; the spec's own q_iᵀM adds n·γ_n·||M||."""
    growing = data.draw(st.integers(1, hidden - 1), label="growing")
    rng = np.random.default_rng(seed)
    s = np.concatenate([rng.uniform(1.1, 2.0, growing), rng.uniform(0.5, 0.9, hidden - growing)])
    Q = random_orthogonal(rng, hidden)
    r = LinearRecurrence(tuple(map(tuple, Q * s @ Q.T)), steps).build()
    M = jacobian_through_time(impl, r)
    tolerance = (3 * steps + 1) * hidden * maths.gamma(hidden + 2) * s.max() ** steps
    for i in range(hidden):
        assert_within(Q[:, i] @ M, s[i] ** steps * Q[:, i], tolerance,
                      f"a gradient along q_{i} reaches h_0 as s_{i}^T q_{i} with s_{i} = {s[i]:.3f}, T = {steps}")


# -- S8 -----------------------------------------------------------------------------------


@claim("S8a")
@given(case=expanding_recurrences(), data=st.data())
def test_rnn_gradient_at_the_first_step_grows_with_the_product_of_smallest_singular_values(impl, case, data):
    """RNNs near a fixed point with σ_min(W_hh) ≥ 1/γ: in about two draws in three every step has
    σ_min(J_t) > 1 (the others saturate or lose units, and check the general bound)."""
    r = case.build()
    T, H = r.steps, r.hidden_size
    forward, jacobians, uncertainties = spec_step_jacobians(r)
    chain = maths.backward_bounds_and_errors(jacobians, uncertainties, layers=True)
    whole = chain[-1].bound
    c = float(np.exp(min(step.layer_log_lower for step in chain)))
    event("every σ_min(J_t) > 1" if c > 1 else "some σ_min(J_t) ≤ 1")
    g = r.grad_output[-1, 0]
    rows = np.vstack([np.eye(H), g])
    measured = first_step_gradients(impl, r, rows)
    log_g = maths.log_norm(g)
    log_bound = log_g + whole.log_lower
    log_error = log_first_step_error(r, forward, jacobians, uncertainties, g[None])
    assert_log_at_least(
        maths.log_norm(measured[H]), log_bound, slack_below(log_error, log_bound) + maths.step_slack(H),
        f"||∂L/∂h_0|| ≥ ∏_t σ_min(J_t)·||∂L/∂h_T|| over T = {T} steps (smallest σ_min(J_t) = {c:.4g}"
        + (f" > 1: at least {c:.4g}^T growth)" if c > 1 else ")"),
        hint="every step multiplies by J_tᵀ, and ||J_tᵀ v|| ≥ σ_min(J_t)||v|| for a square J_t",
    )
    if T < 2:
        return
    shorter = data.draw(st.integers(1, T - 1), label="shorter")
    longer_jacobian, shorter_jacobian = measured[:H], jacobian_through_time(impl, r, shorter)
    log_growth = maths.backward_bounds(jacobians[shorter:], uncertainties[shorter:])[-1].log_lower
    log_longer, log_shorter = maths.log_spectral_norm(longer_jacobian), maths.log_spectral_norm(shorter_jacobian)
    error_longer = log_first_step_error(r, forward, jacobians, uncertainties, np.eye(H))
    error_shorter = log_first_step_error(r, forward, jacobians, uncertainties, np.eye(H), shorter)
    # ||M̂_T|| + E_T ≥ ||M_T|| ≥ ∏_(T'<t≤T) σ_min(J_t)·||M_T'|| ≥ ∏ σ_min(J_t)·(||M̂_T'|| − E_T')
    slack = slack_above(error_longer, log_longer) + slack_below(error_shorter, log_shorter) + 2 * maths.step_slack(H)
    assert_log_at_least(
        log_longer, log_growth + log_shorter, slack,
        f"the longer sequence gives the larger gradient at the first step: ||∂h_{T}/∂h_0|| ≥ "
        f"∏_({shorter} < t ≤ {T}) σ_min(J_t)·||∂h_{shorter}/∂h_0||, a factor {np.exp(log_growth):.4g}",
        hint="∂h_T/∂h_0 = (∂h_T/∂h_T')(∂h_T'/∂h_0), and σ_min of the first factor is at least ∏ σ_min(J_t)",
    )


@claim("S8a")
@pytest.mark.parametrize("activation", ["tanh", "linear"])
@given(seed=seeds, hidden=st.integers(1, 6), c=st.floats(1.05, 2.0), steps=st.integers(1, 300))
def test_at_the_origin_the_rnn_gradient_grows_exactly_like_c_to_the_T(impl, activation, seed, hidden, c, steps):
    """With zero inputs and biases and h_0 = 0, every a_t is exactly 0 and σ'(0) = 1: J_t = W_hh = cQ exactly."""
    case = LinearRecurrence(scaled_orthogonal(seed, hidden, c), steps, activation=activation)
    r = case.build()
    r = r._replace(x=np.zeros_like(r.x), h0=np.zeros_like(r.h0), b_ih=np.zeros_like(r.b_ih))
    M = jacobian_through_time(impl, r)
    log_s = maths.safe_log(np.linalg.svd(M, compute_uv=False))
    slack = orthogonal_power_slack(steps, hidden)
    for which, value in (("smallest", float(log_s.min())), ("largest", float(log_s.max()))):
        assert_in_interval(value, steps * np.log(c) - slack, steps * np.log(c) + slack,
                           f"every singular value of ∂h_T/∂h_0 is c^T (c = {c:.4g}, T = {steps}), log of the {which}",
                           hint="at h = 0 with zero inputs and biases, σ'(0) = 1 for tanh and linear: J_t = W_hh")


# -- S18 ----------------------------------------------------------------------------------


@claim("S18a")
@given(case=random_radius_matrices(st.one_of(st.floats(0.5, 0.95), st.floats(1.05, 1.5))))
def test_linear_recurrence_vanishes_below_spectral_radius_one_and_explodes_above(impl, case):
    r = case.build()
    W, T, n = r.W_hh, case.steps, r.hidden_size
    rho, kappa = eigen_condition(W)
    assume(kappa < 1e4)
    log_norm = maths.log_spectral_norm(jacobian_through_time(impl, r))
    log_error = log_power_error(W, T, rho, kappa)
    spec = spectral_slack(n, T, rho, float(np.linalg.norm(W, 2)), kappa)
    if rho < 1:
        log_bound = T * np.log(rho) + np.log(kappa)
        assert_log_at_most(log_norm, log_bound, slack_above(log_error, log_bound) + spec,
                           f"ρ = {rho:.3f} < 1: ||∂h_T/∂h_0|| ≤ κ(V) ρ^T → 0 (κ(V) = {kappa:.3g}, T = {T})")
    else:
        log_bound = T * np.log(rho)
        assert_log_at_least(log_norm, log_bound, slack_below(log_error, log_bound) + spec,
                            f"ρ = {rho:.3f} > 1: ||∂h_T/∂h_0|| ≥ ρ^T → ∞ (T = {T})")


@claim("S18b")
@given(seed=seeds, hidden=st.integers(1, 6), steps=st.integers(1, 1000), epsilon=knife_edge_offsets())
def test_orthogonal_recurrence_is_bounded_only_on_the_knife_edge(impl, seed, hidden, steps, epsilon):
    r = LinearRecurrence(scaled_orthogonal(seed, hidden, 1 + epsilon), steps).build()
    log_s = maths.safe_log(np.linalg.svd(jacobian_through_time(impl, r), compute_uv=False))
    expected, slack = steps * np.log1p(epsilon), orthogonal_power_slack(steps, hidden)
    for which, value in (("smallest", float(log_s.min())), ("largest", float(log_s.max()))):
        assert_in_interval(value, expected - slack, expected + slack,
                           f"W = (1 + ε)·Q, ε = {epsilon:.3g}: every singular value of W^T is (1 + ε)^T, T = {steps}, "
                           f"log of the {which}")


@claim("S18b")
@given(steps=st.integers(1, 1000))
def test_jordan_block_with_rho_one_grows_polynomially(impl, steps):
    """J^T = [[1, T], [0, 1]] has small integer entries: every correct evaluation order computes it exactly, so
    only the spec's SVD (maths.step_slack) and the formula's few roundings are allowed."""
    r = LinearRecurrence(((1.0, 1.0), (0.0, 1.0)), steps).build()
    norm = np.linalg.norm(jacobian_through_time(impl, r), 2)
    expected = (steps + np.sqrt(steps**2 + 4)) / 2
    tolerance = (maths.step_slack(2) + 4 * EPS) * expected
    assert_in_interval(norm, expected - tolerance, expected + tolerance,
                       f"||J^T|| = (T + √(T² + 4))/2 for the Jordan block J = [[1, 1], [0, 1]], T = {steps}")


# -- S16 ----------------------------------------------------------------------------------

# -- S16: the spec's own gated forward passes, in interval arithmetic ----------------------

SIGMA_ROUNDING = 8 * EPS  # two evaluations of σ, tanh or a slope, each within 4 eps absolutely (maths.sigma_error)


def gate_interval(z, z_error, function):
    """[low, high] of a monotone gate σ or tanh over the arguments within z_error of z, widened by both sides'
    evaluation error and clipped to the gate's range."""
    low = np.maximum(function(z - z_error) - SIGMA_ROUNDING, -1.0 if function is np.tanh else 0.0)
    return low, np.minimum(function(z + z_error) + SIGMA_ROUNDING, 1.0)


def _product_interval(a_low, a_high, b_low, b_high):
    corners = np.stack([a_low * b_low, a_low * b_high, a_high * b_low, a_high * b_high])
    return corners.min(axis=0), corners.max(axis=0)


def _largest_magnitude(low, high):
    return np.maximum(np.abs(low), np.abs(high))


def _sigmoid_slope_max(z_low, z_high):
    """max of σ' = σ(1 − σ) over [z_low, z_high] (σ' peaks at 0), plus evaluation error."""
    s = definitions.sigmoid(np.clip(0.0, z_low, z_high))
    return s * (1 - s) + SIGMA_ROUNDING


def _tanh_slope_max(low, high):
    """max of tanh' = 1 − tanh² over [low, high], plus evaluation error."""
    return 1 - np.tanh(np.clip(0.0, low, high)) ** 2 + SIGMA_ROUNDING


def lstm_magnitude_bounds(r: Recurrence) -> dict:
    """The spec's own LSTM forward pass of example 0 in interval arithmetic, and upper bounds of the magnitudes
    definitions.lstm_step_bound takes, (T, hidden) each, valid at every state any correct float64 forward pass
    may visit (to first order): each pre-activation is known to maths.affine_error at the interval's largest
    magnitudes plus the state's half-width through |W_hh|; the gates are monotone, evaluated at the ends of
    their argument's interval and widened by SIGMA_ROUNDING; c_t = f c + i g and h_t = o tanh(c_t) by interval
    products, plus three and one roundings.  Also "gate": the interval (low, high) of f_t, (T, hidden) each."""
    one, H = r.single(), r.hidden_size
    W = np.concatenate([r.W_ih, r.W_hh], axis=1)
    abs_W_hh, biases = np.abs(r.W_hh), np.abs(r.b_ih) + np.abs(r.b_hh)
    h_low = h_high = one.h0
    c_low = c_high = one.c0
    steps = {name: [] for name in ("z_low", "z_high", "c_prev", "g", "i", "o", "c_low", "c_high", "tanh_c", "f_low", "f_high")}
    for x_t in one.x:
        h_radius = (h_high - h_low) / 2 + EPS * _largest_magnitude(h_low, h_high)
        z = x_t @ r.W_ih.T + r.b_ih + (h_low + h_high) / 2 @ r.W_hh.T + r.b_hh
        magnitude = np.concatenate([x_t, _largest_magnitude(h_low, h_high)])
        z_error = maths.affine_error(magnitude, W, biases, bias_terms=2) + h_radius @ abs_W_hh.T
        low, high = gate_interval(z, z_error, definitions.sigmoid)
        low[2 * H:3 * H], high[2 * H:3 * H] = gate_interval(z[2 * H:3 * H], z_error[2 * H:3 * H], np.tanh)
        (i_low, f_low, g_low, o_low), (i_high, f_high, g_high, o_high) = np.split(low, 4), np.split(high, 4)
        fc, ig = _product_interval(f_low, f_high, c_low, c_high), _product_interval(i_low, i_high, g_low, g_high)
        rounding = maths.gamma(3) * (_largest_magnitude(*fc) + _largest_magnitude(*ig)) + maths.TINY
        new_c_low, new_c_high = fc[0] + ig[0] - rounding, fc[1] + ig[1] + rounding
        tanh_c = gate_interval((new_c_low + new_c_high) / 2, (new_c_high - new_c_low) / 2, np.tanh)
        new_h = _product_interval(o_low, o_high, *tanh_c)
        h_rounding = maths.gamma(1) * _largest_magnitude(*new_h) + maths.TINY
        for name, value in (("z_low", z - z_error), ("z_high", z + z_error), ("c_prev", _largest_magnitude(c_low, c_high)),
                            ("g", _largest_magnitude(g_low, g_high)), ("i", i_high), ("o", o_high),
                            ("c_low", new_c_low), ("c_high", new_c_high), ("tanh_c", _largest_magnitude(*tanh_c)),
                            ("f_low", f_low), ("f_high", f_high)):
            steps[name].append(value)
        c_low, c_high = new_c_low, new_c_high
        h_low, h_high = new_h[0] - h_rounding, new_h[1] + h_rounding
    s = {name: np.array(values) for name, values in steps.items()}
    z_low, z_high = np.split(s["z_low"], 4, axis=1), np.split(s["z_high"], 4, axis=1)
    return {
        "f": np.minimum(definitions.sigmoid(z_high[1]) + SIGMA_ROUNDING, 1.0),
        "c_df": s["c_prev"] * _sigmoid_slope_max(z_low[1], z_high[1]),
        "g_di": s["g"] * _sigmoid_slope_max(z_low[0], z_high[0]),
        "i_dg": s["i"] * _tanh_slope_max(z_low[2], z_high[2]),
        "o_dtanh": s["o"] * _tanh_slope_max(s["c_low"], s["c_high"]),
        "tanh_do": s["tanh_c"] * _sigmoid_slope_max(z_low[3], z_high[3]),
        "gate": (s["f_low"], s["f_high"]),  # the forget gate f_t, for S16a
    }


def gru_update_gate_bounds(r: Recurrence):
    """The spec's own GRU forward pass of example 0 in interval arithmetic, as lstm_magnitude_bounds: the interval
    (low, high) of the update gate z_t, (T, hidden) each, at every state any correct forward pass may visit.
    n = tanh(gi_n + r ⊙ hn) and h_t = (1 − z) ⊙ n + z ⊙ h_{t-1} by interval products, plus two and three
    roundings."""
    one, H = r.single(), r.hidden_size
    W = np.concatenate([r.W_ih, r.W_hh], axis=1)
    abs_W_hh, biases = np.abs(r.W_hh), np.abs(r.b_ih) + np.abs(r.b_hh)
    W_in, b_in, W_hn, b_hn = r.W_ih[2 * H:], r.b_ih[2 * H:], r.W_hh[2 * H:], r.b_hh[2 * H:]
    h_low = h_high = one.h0
    lows, highs = [], []
    for x_t in one.x:
        h_mid, h_magnitude = (h_low + h_high) / 2, _largest_magnitude(h_low, h_high)
        h_radius = (h_high - h_low) / 2 + EPS * h_magnitude
        gates = x_t @ r.W_ih.T + r.b_ih + h_mid @ r.W_hh.T + r.b_hh  # r and z blocks: the sums PyTorch adds
        gates_error = (maths.affine_error(np.concatenate([x_t, h_magnitude]), W, biases, bias_terms=2)
                       + h_radius @ abs_W_hh.T)
        reset = gate_interval(gates[:H], gates_error[:H], definitions.sigmoid)
        update = gate_interval(gates[H:2 * H], gates_error[H:2 * H], definitions.sigmoid)
        hn = h_mid @ W_hn.T + b_hn
        hn_error = maths.affine_error(h_magnitude, W_hn, np.abs(b_hn)) + h_radius @ np.abs(W_hn).T
        gi_n = x_t @ W_in.T + b_in
        gi_error = maths.affine_error(x_t, W_in, np.abs(b_in))
        r_hn = _product_interval(*reset, hn - hn_error, hn + hn_error)
        rounding = maths.gamma(2) * (np.abs(gi_n) + gi_error + _largest_magnitude(*r_hn))
        n = gate_interval((r_hn[0] + r_hn[1]) / 2 + gi_n, (r_hn[1] - r_hn[0]) / 2 + gi_error + rounding, np.tanh)
        carried = _product_interval(1 - update[1], 1 - update[0], *n)
        kept = _product_interval(*update, h_low, h_high)
        rounding = maths.gamma(3) * (_largest_magnitude(*carried) + _largest_magnitude(*kept)) + maths.TINY
        h_low, h_high = carried[0] + kept[0] - rounding, carried[1] + kept[1] + rounding
        lows.append(update[0])
        highs.append(update[1])
    return np.array(lows), np.array(highs)


@claim("S16a")
@pytest.mark.parametrize("kind", ["lstm", "gru"])
@given(data=st.data())
def test_the_gated_direct_path_is_diag_of_the_gate_with_entries_in_0_1(impl, kind, data):
    """The direct path at step t must be diag(f_t) (LSTM) or diag(z_t) (GRU), the gate as the spec's own forward
    pass computes it, within the interval that holds at every state a correct forward pass may visit
    (lstm_magnitude_bounds, gru_update_gate_bounds).  Each gate lies in [0, 1], so the product over the steps is
    diagonal with entries in [0, 1] and norm ≤ 1 — which needs no further check."""
    r = data.draw(random_recurrences(kind, max_steps=30, max_hidden=5, max_batch=1), label="case").build()
    one = r.single()
    if kind == "lstm":
        jac = impl.lstm_step_jacobians(one.x, one.h0, one.c0, *r.weights())
        low, high = lstm_magnitude_bounds(r)["gate"]
    else:
        jac = impl.gru_step_jacobians(one.x, one.h0, *r.weights())
        low, high = gru_update_gate_bounds(r)
    gate = "f" if kind == "lstm" else "z"
    for t in range(1, r.steps + 1):
        D = np.asarray(jac.direct[t - 1], dtype=float)
        assert_within(D - np.diag(np.diag(D)), np.zeros_like(D), 0.0, f"the direct path at step {t} is diagonal")
        assert_within(np.diag(D), (low[t - 1] + high[t - 1]) / 2, (high[t - 1] - low[t - 1]) / 2,
                      f"the direct path at step {t} is diag({gate}_{t}), {gate}_{t} ∈ [0, 1] the gate of the spec's "
                      f"forward pass",
                      hint="∂c_t/∂c_(t-1) with h_(t-1) held fixed is diag(f_t); the GRU's ∂h_t/∂h_(t-1) with the gates "
                      "held fixed is diag(z_t) — a gate in (0, 1), not the identity")


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
    slack = float(np.log1p(32 * steps * EPS))
    assert_in_interval(float(maths.safe_log(grads.c0[0, 0])), expected_log - slack, expected_log + slack,
                       f"∂c_T/∂c_0 = ½·λ^(T-1), λ = σ(5)²·10 + ½ ≈ {lam:.4f}, T = {steps}",
                       hint="the full Jacobian includes the path c_(t-1) → h_(t-1) → g_t → c_t through W_hg")
    one = r.single()
    direct = impl.lstm_step_jacobians(one.x, one.h0, one.c0, *r.weights()).direct
    assert_in_interval(float(np.prod(direct[:, 0, 0])), 0.5**steps * (1 - 4 * steps * EPS),
                       0.5**steps * (1 + 4 * steps * EPS), f"the direct path ∏ f_t = 2^-T, T = {steps}")


@claim("S16c")
@given(case=forgetful_lstms())
def test_lstm_gradient_through_time_is_at_most_the_product_of_the_step_bounds(impl, case):
    """β_t from the spec's own interval forward pass (lstm_magnitude_bounds), with the block norms (SVD: relative
    maths.step_slack).  Rounding, every evaluation order: a monomial of the backward pass meets at most
    4H + 8 roundings per step, so |ΔM| ≤ γ_m·|J_T|⋯|J_1| with m = T(4H + 8) (maths), and every block of that
    absolute product is bounded like the Jacobian's, by ∏ β̃_t: β_t with the norms of |W_hk| instead of W_hk.
    In nine draws in ten or so every β_t ≤ 1 (tests/test_strategies_recurrence.py); most of the others
    just miss it (largest β_t ≈ 1.01)."""
    r = case.build()
    T, H = r.steps, r.hidden_size
    widen = 1 + maths.step_slack(H)
    norms, abs_norms = (definitions.lstm_block_norms(W) * widen for W in (r.W_hh, np.abs(r.W_hh)))
    magnitudes = lstm_magnitude_bounds(r)
    betas = definitions.lstm_step_bound(magnitudes, norms) * (1 + 16 * EPS)
    abs_betas = definitions.lstm_step_bound(magnitudes, abs_norms) * (1 + 16 * EPS)
    condition = bool(np.all(betas <= 1))
    event("every β_t ≤ 1" if condition else "some β_t > 1")
    log_bound = float(np.sum(np.log(betas)))
    log_error = float(np.log(maths.gamma(T * (4 * H + 8))) + np.sum(np.log(abs_betas)))
    slack = slack_above(log_error, log_bound) + maths.step_slack(2 * H)
    M = lstm_jacobian_through_time(impl, r)
    conclusion = " ≤ 1 (every β_t ≤ 1)" if condition else ""
    for rows, cols, name in [(slice(0, H), slice(0, H), "∂h_T/∂h_0"), (slice(0, H), slice(H, None), "∂h_T/∂c_0"),
                             (slice(H, None), slice(0, H), "∂c_T/∂h_0"), (slice(H, None), slice(H, None), "∂c_T/∂c_0")]:
        assert_log_at_most(maths.log_spectral_norm(M[rows, cols]), log_bound, slack,
                           f"||{name}|| ≤ ∏_t β_t = {np.exp(log_bound):.4g}{conclusion} over T = {T} steps "
                           f"(largest β_t = {betas.max():.4g})",
                           hint="one step's Jacobian [[D B + E, D A], [B, A]] has block norm ≤ β_t (docs/recurrence.md)")
