"""The reference's policy gradients (reference/policy_gradient.py) against independent oracles: torch
autograd in float64 through torch.distributions, and central finite differences of the objective; its
refusals of bad input; and how often S11b's and S11f's drawn cases come near their bounds."""

import math

import numpy as np
import pytest

import reference
from spec_tests.adapters import torch_autograd
from spec_tests.policy_cases import SoftmaxCase, SoftmaxGradient, advantage_cases, gaussian_cases, softmax_cases
from tests.strategy_draws import draws

RNG = np.random.default_rng(20240611)
STATES, W, B = RNG.standard_normal((5, 3)), RNG.standard_normal((4, 3)), RNG.standard_normal(4)
ACTIONS, ADVANTAGES = np.array([0, 3, 1, 1, 2]), RNG.standard_normal(5)
MEAN_W, MEAN_B, LOG_STD = RNG.standard_normal((2, 3)), RNG.standard_normal(2), np.array([-0.5, 0.3])
CONTINUOUS = STATES @ MEAN_W.T + MEAN_B + RNG.standard_normal((5, 2))


def _softmax_objective(W, b):
    log_pi = reference.policy_gradient.softmax_log_probabilities(STATES @ W.T + b)
    return float(np.mean(ADVANTAGES * log_pi[np.arange(5), ACTIONS]))


def _gaussian_objective(W, b, log_std):
    mu, var = STATES @ W.T + b, np.exp(2 * log_std)
    log_pi = -0.5 * (CONTINUOUS - mu) ** 2 / var - log_std - 0.5 * math.log(2 * math.pi)
    return float(np.mean(ADVANTAGES * log_pi.sum(axis=1)))


def _central_difference(f, arrays, h=1e-6):
    grads = []
    for index, array in enumerate(arrays):
        grad = np.zeros_like(array)
        for position in np.ndindex(array.shape):
            shifted = [a.copy() for a in arrays]
            shifted[index][position] += h
            up = f(*shifted)
            shifted[index][position] -= 2 * h
            grad[position] = (up - f(*shifted)) / (2 * h)
        grads.append(grad)
    return grads


def test_softmax_policy_gradient_matches_torch_categorical_autograd_and_finite_differences():
    ours = reference.softmax_policy_gradient(STATES, ACTIONS, ADVANTAGES, W, B)
    for theirs, tol in ((torch_autograd.softmax_policy_gradient(STATES, ACTIONS, ADVANTAGES, W, B), 1e-14),
                        (_central_difference(_softmax_objective, [W, B]), 1e-8)):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_gaussian_policy_gradient_matches_torch_normal_autograd_and_finite_differences():
    ours = reference.gaussian_policy_gradient(STATES, CONTINUOUS, ADVANTAGES, MEAN_W, MEAN_B, LOG_STD)
    torch_result = torch_autograd.gaussian_policy_gradient(STATES, CONTINUOUS, ADVANTAGES, MEAN_W, MEAN_B, LOG_STD)
    differences = _central_difference(_gaussian_objective, [MEAN_W, MEAN_B, LOG_STD])
    for theirs, tol in ((torch_result, 1e-13), (differences, 1e-7)):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_ppo_clip_gradient_matches_torch_autograd_of_the_clipped_surrogate_in_every_region():
    log_pi = reference.policy_gradient.softmax_log_probabilities(STATES @ W.T + B)[np.arange(5), ACTIONS]
    ratios = np.array([0.5, 0.95, 1.05, 1.5, 30.0])  # below, inside, inside, above, far above (ε = 0.2)
    for advantages in (ADVANTAGES, np.abs(ADVANTAGES), -np.abs(ADVANTAGES)):
        ours = reference.ppo_clip_gradient(STATES, ACTIONS, advantages, log_pi - np.log(ratios), W, B, 0.2)
        theirs = torch_autograd.ppo_clip_gradient(STATES, ACTIONS, advantages, log_pi - np.log(ratios), W, B, 0.2)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)


def test_normalise_advantages_matches_torch_with_the_biased_std_and_has_mean_zero_variance_one():
    A = 1e6 + RNG.standard_normal(7)
    ours = reference.normalise_advantages(A)
    np.testing.assert_allclose(ours, torch_autograd.normalise_advantages(A), rtol=1e-9, atol=1e-9)
    # the mean of a 1e6 offset cancels to N·u·1e6/std ≈ 1e-9
    assert abs(ours.mean()) < 1e-8 and abs(np.mean(ours**2) - 1) < 1e-12


BAD = {
    "actions as floats": (lambda: reference.softmax_policy_gradient(STATES, ACTIONS.astype(float), ADVANTAGES, W, B),
                          TypeError, r"actions must be an integer array"),
    "action out of range": (lambda: reference.softmax_policy_gradient(STATES, ACTIONS + 1, ADVANTAGES, W, B),
                            ValueError, r"actions must lie in 0\.\.3"),
    "advantages too short": (lambda: reference.softmax_policy_gradient(STATES, ACTIONS, ADVANTAGES[:3], W, B),
                             ValueError, r"advantages has shape \(3,\), expected \(5,\)"),
    "W of wrong width": (lambda: reference.softmax_policy_gradient(STATES, ACTIONS, ADVANTAGES, W[:, :2], B),
                         ValueError, r"W has shape \(4, 2\) but states have 3 features"),
    "b of wrong length": (lambda: reference.softmax_policy_gradient(STATES, ACTIONS, ADVANTAGES, W, B[:2]),
                          ValueError, r"b has shape \(2,\), expected \(4,\)"),
    "NaN advantage": (lambda: reference.softmax_policy_gradient(STATES, ACTIONS, np.full(5, np.nan), W, B),
                      ValueError, r"advantages holds 5 non-finite"),
    "empty batch": (lambda: reference.softmax_policy_gradient(np.ones((0, 3)), ACTIONS[:0], ADVANTAGES[:0], W, B),
                    ValueError, r"states holds no samples"),
    "Gaussian actions of wrong shape": (
        lambda: reference.gaussian_policy_gradient(STATES, CONTINUOUS[:, :1], ADVANTAGES, MEAN_W, MEAN_B, LOG_STD),
        ValueError, r"actions has shape \(5, 1\), expected \(5, 2\)"),
    "log_std overflowing σ²": (
        lambda: reference.gaussian_policy_gradient(STATES, CONTINUOUS, ADVANTAGES, MEAN_W, MEAN_B, np.full(2, 400.0)),
        ValueError, r"log_std must keep σ²"),
    "one advantage": (lambda: reference.normalise_advantages(np.ones(1)), ValueError, r"at least 2 values"),
    "equal advantages": (lambda: reference.normalise_advantages(np.full(4, 2.0)), ValueError, r"all equal"),
    "2-D advantages": (lambda: reference.normalise_advantages(np.ones((2, 2))), ValueError, r"advantages must be 1-D"),
    "clip_eps zero": (lambda: reference.ppo_clip_gradient(STATES, ACTIONS, ADVANTAGES, np.zeros(5), W, B, 0.0),
                      ValueError, r"clip_eps must be"),
    "old_log_probs of wrong shape": (
        lambda: reference.ppo_clip_gradient(STATES, ACTIONS, ADVANTAGES, np.zeros(4), W, B, 0.2),
        ValueError, r"old_log_probs has shape \(4,\), expected \(5,\)"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_input_to_the_policy_gradients_is_refused_by_name(name):
    call, error, message = BAD[name]
    with pytest.raises(error, match=message):
        call()


# -- how often the drawn cases come near the bounds (the strategies reach the hard region) -----------


def _shares(cases, ratio_of):
    ratios = np.array([ratio_of(case) for case in cases])
    return float(np.mean(ratios >= 0.99)), float(np.max(ratios))


def test_s11b_draws_come_near_the_upper_bound_sqrt2_times_one_minus_pi_a():
    """Single samples: ||e_a − π|| / (√2 (1 − π_a)) ≥ 0.99 in a good share of draws (measured 33%); the
    ratio exceeds 1 by rounding only (1 − π_a near 1e-13 is known to ~1e-12 relatively)."""
    cases = [SoftmaxCase(seed, 1, 1 + seed % 4, 2 + seed % 4, 10 ** (-3 + 4 * ((seed * 0.618) % 1))) for seed in range(400)]

    def ratio(case):
        spec = SoftmaxGradient(*case.build())
        return np.linalg.norm(spec.scores[0]) / (math.sqrt(2) * spec.others[0])

    share, largest = _shares(cases, ratio)
    assert share >= 0.2 and largest <= 1 + 1e-9, (share, largest)


def test_s11f_tight_draws_come_near_the_bound_max_score():
    """The tight construction: ||normalised estimate|| / max_i ||∇log π_i|| ≥ 0.99 for most blurs."""
    cases = [SoftmaxCase(seed, 2 + seed % 6, 1 + seed % 4, 2 + seed % 4, 10 ** (-3 + 4 * ((seed * 0.618) % 1)), 1.0, True)
             for seed in range(200)]

    def ratio(case):
        states, actions, A, W, b = case.build()
        spec = SoftmaxGradient(states, actions, reference.normalise_advantages(A), W, b)
        largest = np.max(np.linalg.norm(spec.scores, axis=1) * np.sqrt(np.sum(states**2, axis=1) + 1))
        return math.sqrt(np.sum(spec.grad_W**2) + np.sum(spec.grad_b**2)) / largest

    share, largest = _shares(cases, ratio)
    assert share >= 0.3 and largest <= 1 + 1e-12, (share, largest)


def test_the_strategies_draw_large_batches_and_plain_advantages_often():
    """Of 100 derandomised draws (measured, hypothesis 6.170): N > 16 in 18 advantage cases and 29 softmax and
    29 Gaussian ones (up to 286–297; N ≤ 8 in 71–82), so a formula that changes for large N (the N − 1 std past
    N = 16, say) meets one within a dozen draws; the advantages are well-conditioned (|offset| ≤ 10 standard
    deviations) in 86, with offset 0 and scale 1 in 19, and 14 have a common offset that dwarfs the spread."""
    advantages = draws(advantage_cases(), 100)
    for cases in (advantages, draws(softmax_cases(), 100), draws(gaussian_cases(), 100)):
        sizes = [c.N for c in cases]
        assert sum(n > 16 for n in sizes) >= 10 and max(sizes) >= 200 and sum(n <= 8 for n in sizes) >= 50, sizes
    plain = sum(c.offset == 0 and c.scale == 1 for c in advantages)
    conditioned = sum(abs(c.offset) <= 10 for c in advantages)
    assert plain >= 8 and 50 <= conditioned <= 92, (plain, conditioned)
