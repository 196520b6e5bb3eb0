"""S11 and P22–P25: policy gradients — the REINFORCE estimate for a softmax and a Gaussian policy,
advantage normalisation, and the gradient of PPO's clipped surrogate.

Expected values and bounds come from the spec's own definitions (spec_tests/policy_cases.py), never
from another output of the implementation.  Tolerances: twice the first-order rounding bound of one
correct float64 evaluation (policy_cases.py derives it), so any evaluation order passes; norms are
compared with the norm of the entrywise bound added.
"""

import math

import numpy as np
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from spec_tests.assertions import assert_in_interval, assert_log_at_least, assert_within, assert_within_case
from spec_tests.claims import claim
from spec_tests.maths import EPS
from spec_tests.policy_cases import (
    PLAIN_ADVANTAGES,
    GaussianGradient,
    PPOGradient,
    SoftmaxGradient,
    advantage_cases,
    gaussian_cases,
    normalised,
    ppo_cases,
    softmax,
    softmax_cases,
)
from spec_tests.spread import log_uniform, spread_integers, uniform

U = EPS / 2


def norm(*arrays) -> float:
    return math.sqrt(sum(float(np.sum(np.square(a))) for a in arrays))


# -- P22–P25: the definitions ------------------------------------------------------------------------


@claim("P22")
@given(case=softmax_cases())
def test_softmax_policy_gradient_is_the_mean_of_advantage_weighted_scores(impl, case):
    states, actions, advantages, W, b = case.build()
    grad_W, grad_b = impl.softmax_policy_gradient(states, actions, advantages, W, b)
    spec = SoftmaxGradient(states, actions, advantages, W, b)
    hint = ("∇_z log π(a|s) = e_a − π for logits z = s Wᵀ + b; the estimate is the ascent direction "
            "(1/N) Σ A_i ∇log π_i, not the gradient of the loss −(1/N) Σ A_i log π_i")
    assert_within(grad_b, spec.grad_b, 2 * spec.bound_b, f"∂/∂b = (1/N) Σ A_i (e_a_i − π_i) ({case})", hint=hint)
    assert_within(grad_W, spec.grad_W, 2 * spec.bound_W, f"∂/∂W = (1/N) Σ A_i (e_a_i − π_i) s_iᵀ ({case})", hint=hint)


@claim("P23")
@given(case=gaussian_cases())
def test_gaussian_policy_gradient_is_the_mean_of_advantage_weighted_scores(impl, case):
    states, actions, advantages, W, b, log_std = case.build()
    grad_W, grad_b, grad_log_std = impl.gaussian_policy_gradient(states, actions, advantages, W, b, log_std)
    spec = GaussianGradient(states, actions, advantages, W, b, log_std)
    hint = "∇_μ log π = (a − μ)/σ² (σ², not σ), ∇_log σ log π = (a − μ)²/σ² − 1, σ = exp(log_std)"
    assert_within(grad_b, spec.grad_b, 2 * spec.bound_b, f"∂/∂b = (1/N) Σ A_i (a_i − μ_i)/σ² ({case})", hint=hint)
    assert_within(grad_W, spec.grad_W, 2 * spec.bound_W, f"∂/∂W = (1/N) Σ A_i (a_i − μ_i)/σ² s_iᵀ ({case})",
                  hint=hint)
    assert_within(grad_log_std, spec.grad_log_std, 2 * spec.bound_log_std,
                  f"∂/∂log_std = (1/N) Σ A_i ((a_i − μ_i)²/σ² − 1) ({case})", hint=hint)


@claim("P24")
@given(case=advantage_cases())
@example(case=PLAIN_ADVANTAGES)  # first: a formula bug's report shows a plain, well-conditioned case
def test_normalised_advantages_have_mean_zero_and_biased_standard_deviation_one(impl, case):
    advantages = case.build()
    assume(np.ptp(advantages) > 0)
    got = impl.normalise_advantages(advantages)
    expected, bound = normalised(advantages)
    assert_within(got, expected, 2 * bound, f"Â = (A − mean(A)) / std(A), biased std, ε = 0 ({case})",
                  hint="the biased standard deviation √((1/N) Σ (A_i − mean)²), numpy's default (torch.std "
                  "divides by N − 1), no ε, the mean subtracted first; E[A²] − E[A]² cancels catastrophically")


@claim("P25")
@given(case=ppo_cases())
def test_ppo_gradient_is_the_gradient_of_the_clipped_surrogate(impl, case):
    states, actions, advantages, old, W, b, eps = case.build()
    spec = PPOGradient(states, actions, advantages, old, W, b, eps)
    assume(spec.margin > 1e-7)  # which term is active is not in doubt (the cases keep 1e-6)
    grad_W, grad_b = impl.ppo_clip_gradient(states, actions, advantages, old, W, b, eps)
    # the case after the problem, the ratios and advantages (up to a few hundred of each) on the hint's line: the
    # first line, the one a report shows, leads with the problem whole however long the case's repr
    what = "(1/N) Σ min(r A, clip(r, 1 − ε, 1 + ε) A)"
    shown = slice(0, 8)
    more = " …" if len(advantages) > 8 else ""
    hint = ("a sample contributes r·A·∇log π where min picks the unclipped term: A > 0 and r < 1 + ε, "
            "or A < 0 and r > 1 − ε (unbounded in r); it contributes 0 only where the clipped term is picked\n"
            f"  ratios {np.round(spec.ratio[shown], 4).tolist()}{more}, advantages "
            f"{np.round(advantages[shown], 4).tolist()}{more}, active {spec.active[shown].tolist()}{more}")
    assert_within_case(grad_b, spec.grad_b, 2 * spec.bound_b, f"∇_b {what}", case, hint=hint)
    assert_within_case(grad_W, spec.grad_W, 2 * spec.bound_W, f"∇_W {what}", case, hint=hint)


# -- S11a: linearity ---------------------------------------------------------------------------------

scales = st.tuples(st.sampled_from([1.0, -1.0]), log_uniform(1e-6, 1e6)).map(lambda t: t[0] * t[1]) | st.just(0.0)


@claim("S11a")
@settings(max_examples=30)
@given(case=softmax_cases(), c=scales, other_seed=st.integers(0, 2**32 - 1))
def test_softmax_estimate_is_linear_in_the_advantages(impl, case, c, other_seed):
    states, actions, A, W, b = case.build()
    A2 = case.advantage_scale * np.random.default_rng(other_seed).standard_normal(len(A))
    base = SoftmaxGradient(states, actions, A, W, b)
    scaled = SoftmaxGradient(states, actions, c * A, W, b)
    g = impl.softmax_policy_gradient(states, actions, A, W, b)
    gc = impl.softmax_policy_gradient(states, actions, c * A, W, b)
    for got, one, bound_c, bound_1, name in ((gc[0], g[0], scaled.bound_W, base.bound_W, "∂/∂W"),
                                             (gc[1], g[1], scaled.bound_b, base.bound_b, "∂/∂b")):
        # each call within its own bound of the exact value; c·A is itself rounded (u of each term)
        assert_within(got, c * one, 2 * bound_c + abs(c) * bound_1 + U * np.abs(c * one),
                      f"{name} for advantages c·A must be c times {name} for A, c = {c:.6g} ({case})",
                      hint="the estimate is linear in A: do not normalise or clip advantages inside it")
    both = SoftmaxGradient(states, actions, A + A2, W, b)
    other = SoftmaxGradient(states, actions, A2, W, b)
    g2 = impl.softmax_policy_gradient(states, actions, A2, W, b)
    gsum = impl.softmax_policy_gradient(states, actions, A + A2, W, b)
    assert_within(gsum[1], g[1] + g2[1], 2 * (both.bound_b + base.bound_b + other.bound_b),
                  f"∂/∂b for A + A' must be the sum of those for A and A' ({case})",
                  hint="the estimate is linear in A")


@claim("S11a")
@settings(max_examples=30)
@given(case=gaussian_cases(), c=scales)
def test_gaussian_estimate_is_linear_in_the_advantages(impl, case, c):
    states, actions, A, W, b, log_std = case.build()
    base = GaussianGradient(states, actions, A, W, b, log_std)
    scaled = GaussianGradient(states, actions, c * A, W, b, log_std)
    g = impl.gaussian_policy_gradient(states, actions, A, W, b, log_std)
    gc = impl.gaussian_policy_gradient(states, actions, c * A, W, b, log_std)
    pairs = ((base.bound_W, scaled.bound_W, "∂/∂W"), (base.bound_b, scaled.bound_b, "∂/∂b"),
             (base.bound_log_std, scaled.bound_log_std, "∂/∂log_std"))
    for got, one, (bound_1, bound_c, name) in zip(gc, g, pairs):
        assert_within(got, c * one, 2 * bound_c + abs(c) * bound_1 + U * np.abs(c * one),
                      f"{name} for advantages c·A must be c times {name} for A, c = {c:.6g} ({case})",
                      hint="the estimate is linear in A: do not normalise or clip advantages inside it")


# -- S11b, S11c: the softmax score ------------------------------------------------------------------


@claim("S11b")
@given(case=softmax_cases())
def test_softmax_estimate_is_bounded_by_the_mass_of_the_other_actions(impl, case):
    states, actions, A, W, b = case.build()
    spec = SoftmaxGradient(states, actions, A, W, b)
    grad_W, grad_b = impl.softmax_policy_gradient(states, actions, A, W, b)
    N = len(A)
    # the spec's 1 − π_a is Σ_{j≠a} π_j, within ρ of itself
    others = spec.others * (1 + spec.rho)
    bound_b = float(np.sum(np.abs(A) * math.sqrt(2) * others)) / N
    bound_W = float(np.sum(np.abs(A) * math.sqrt(2) * others * np.linalg.norm(states, axis=1))) / N
    assert_in_interval(norm(grad_b), 0.0, bound_b + 2 * norm(spec.bound_b),
                       f"||∂/∂b|| ≤ (1/N) Σ |A_i| √2 (1 − π_a_i) ({case})",
                       hint="||e_a − π||² = (1 − π_a)² + Σ_{j≠a} π_j² ≤ 2(1 − π_a)²: did the score forget −π?")
    assert_in_interval(norm(grad_W), 0.0, bound_W + 2 * norm(spec.bound_W),
                       f"||∂/∂W||_F ≤ (1/N) Σ |A_i| √2 (1 − π_a_i) ||s_i|| ({case})")
    if N == 1:
        low = float(abs(A[0]) * spec.others[0] * (1 - spec.rho[0]))
        assert_in_interval(norm(grad_b), low - 2 * norm(spec.bound_b), math.inf,
                           f"one sample: ||∂/∂b|| ≥ |A| (1 − π_a) ({case})")


@claim("S11c")
@given(K=spread_integers(2, 8), bias=uniform(-20.0, 20.0), d=spread_integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_at_the_uniform_policy_every_score_has_norm_sqrt_one_minus_one_over_k(impl, K, bias, d, seed):
    state = np.random.default_rng(seed).standard_normal((1, d))
    W, b = np.zeros((K, d)), np.full(K, bias)
    for a in range(K):
        actions = np.array([a], dtype=np.int64)
        grad_W, grad_b = impl.softmax_policy_gradient(state, actions, np.ones(1), W, b)
        spec = SoftmaxGradient(state, actions, np.ones(1), W, b)
        target = math.sqrt(1 - 1 / K)
        slack = 2 * norm(spec.bound_b) + 2 * U
        assert_in_interval(norm(grad_b), target - slack, target + slack,
                           f"uniform policy over K = {K} actions, action {a}: ||e_a − π|| = √(1 − 1/K)",
                           hint="e_a − π at π = 1/K has entries 1 − 1/K and −1/K")
        target_W = target * np.linalg.norm(state)
        slack_W = 2 * norm(spec.bound_W) + 2 * U * target_W
        assert_in_interval(norm(grad_W), target_W - slack_W, target_W + slack_W,
                           f"uniform policy, action {a}: ||∂/∂W||_F = √(1 − 1/K)·||s||")


@claim("S11c")
@given(case=softmax_cases(N=(1, 1)))
def test_the_expected_squared_score_is_one_minus_the_squared_norm_of_pi_at_most_one_minus_one_over_k(impl, case):
    states, _, _, W, b = case.build()
    K = W.shape[0]
    pi = softmax(states @ W.T + b)[0]
    expected_square, slack = 0.0, 0.0
    for a in range(K):
        actions = np.array([a], dtype=np.int64)
        _, grad_b = impl.softmax_policy_gradient(states, actions, np.ones(1), W, b)
        spec = SoftmaxGradient(states, actions, np.ones(1), W, b)
        expected_square += pi[a] * norm(grad_b) ** 2
        slack += pi[a] * (2 * norm(spec.bound_b) * (2 * norm(spec.scores) + 2 * norm(spec.bound_b))
                          + spec.rho[0] * norm(spec.scores) ** 2)
    target = 1 - float(np.sum(pi**2))
    slack += 4 * K * U + 2 * float(np.max(SoftmaxGradient(states, np.zeros(1, dtype=np.int64), np.ones(1), W, b).rho))
    assert_in_interval(expected_square, target - slack, target + slack,
                       f"E_a∼π ||e_a − π||² = 1 − ||π||² (π = {np.round(pi, 6).tolist()}, {case})")
    assert_in_interval(expected_square, 0.0, 1 - 1 / K + slack,
                       f"E_a∼π ||e_a − π||² ≤ 1 − 1/K = {1 - 1 / K:.6g} ({case})")


# -- S11d: the Gaussian score as σ → 0 -------------------------------------------------------------


@claim("S11d")
@settings(max_examples=25)
@given(case=gaussian_cases(N=(1, 1)), z=st.tuples(st.sampled_from([1.0, -1.0]), uniform(0.1, 3.0)))
def test_gaussian_score_grows_as_sigma_to_the_minus_two_for_a_fixed_action_and_minus_one_for_a_sample(impl, case, z):
    states, _, _, W, b, _ = case.build()
    m = W.shape[0]
    mu = states @ W.T + b
    z = z[0] * z[1] * np.ones(m)
    fixed = mu + z  # a − μ = z whatever σ
    for k in range(0, 9):
        sigma = 10.0**-k
        log_std = np.full(m, -k * math.log(10.0))
        for actions, exponent, what in ((fixed, 2, "a fixed action a = μ + z"),
                                        (mu + sigma * z, 1, "a sampled action a = μ + σz")):
            grad_W, grad_b, grad_log_std = impl.gaussian_policy_gradient(states, actions, np.ones(1), W, b, log_std)
            spec = GaussianGradient(states, actions, np.ones(1), W, b, log_std)
            # log ||∂/∂b|| = log ||z|| − exponent·log σ; the spec's a − μ differs from z by rounding only
            target = math.log(norm(spec.grad_b))
            relative = 2 * norm(spec.bound_b) / norm(spec.grad_b)
            assert_in_interval(math.log(norm(grad_b)), target - 2 * relative, target + 2 * relative,
                               f"σ = 1e-{k}, {what}: log ||∂/∂b|| = log ||(a − μ)/σ²||",
                               hint="∇_μ log π = (a − μ)/σ², with σ² = exp(2·log_std)")
            growth = math.log(norm(z)) + exponent * k * math.log(10.0)
            assert_log_at_least(math.log(norm(grad_b)), growth, 1e-6,
                                f"σ = 1e-{k}, {what}: ||∂/∂b|| grows as σ^-{exponent}",
                                hint="the score (a − μ)/σ² is unbounded as σ → 0")
            assert_within(grad_log_std, spec.grad_log_std, 2 * spec.bound_log_std,
                          f"σ = 1e-{k}, {what}: ∂/∂log_std = (a − μ)²/σ² − 1")


# -- S11e, S11f: advantage normalisation ------------------------------------------------------------


@claim("S11e")
@given(case=advantage_cases(), c=log_uniform(1e-6, 1e6), sign=st.sampled_from([1.0, -1.0]),
       shift=uniform(-1e6, 1e6, power=3.0))
def test_normalisation_is_invariant_to_positive_affine_maps_and_flips_sign_under_negative_ones(impl, case, c, sign,
                                                                                               shift):
    A = case.build()
    assume(np.ptp(A) > 0)
    c = sign * c
    offset = shift * abs(c) * float(np.std(A))
    A2 = c * A + offset
    assume(np.ptp(A2) > 0)
    base, bound = normalised(A)
    # forming c·A + b rounds each entry by up to u(|cA| + |cA + b|): carried as an input error
    _, bound2 = normalised(A2, input_error=float(np.max(U * (np.abs(c * A) + np.abs(A2)))))
    got, got2 = impl.normalise_advantages(A), impl.normalise_advantages(A2)
    assert_within(got2, sign * got, 2 * (bound + bound2),
                  f"normalise(c·A + b) = {'' if sign > 0 else '−'}normalise(A), c = {c:.6g}, b = {offset:.6g} ({case})",
                  hint="subtract the mean and divide by the standard deviation (not the variance)")


@claim("S11f")
@given(case=softmax_cases(N=(2, 8), tight=True), adv=advantage_cases(N=(2, 8)))
def test_with_normalised_advantages_the_estimate_is_at_most_the_largest_score(impl, case, adv):
    states, actions, raw, W, b = case.build()
    N = len(actions)
    if not case.tight:
        raw = np.resize(adv.build(), N)  # advantages of every scale and offset
    assume(np.ptp(raw) > 0)
    A_hat = impl.normalise_advantages(raw)
    grad_W, grad_b = impl.softmax_policy_gradient(states, actions, A_hat, W, b)
    expected_hat, hat_bound = normalised(raw)
    spec = SoftmaxGradient(states, actions, A_hat, W, b)
    per_sample = np.linalg.norm(spec.scores, axis=1) * np.sqrt(np.sum(states**2, axis=1) + 1)
    largest = float(np.max(per_sample * (1 + spec.rho)))
    # (1/N) Σ|Â_i| ≤ 1 holds for the exact Â; a correct Â is within 2·hat_bound of the spec's
    slack = largest * float(np.max(2 * hat_bound)) + 2 * norm(spec.bound_W, spec.bound_b)
    assert_in_interval(norm(grad_W, grad_b), 0.0, largest + slack,
                       f"||∇|| with normalised advantages ≤ max_i ||∇log π_i|| = {largest:.6g} "
                       f"(raw advantages from {raw.min():.3g} to {raw.max():.3g}, {case})",
                       hint="normalised advantages have (1/N) Σ Â² = 1, so (1/N) Σ |Â| ≤ 1")


# -- S11g, S11h: counterexamples -------------------------------------------------------------------


@claim("S11g")
@settings(max_examples=25)
@given(case=softmax_cases(N=(1, 1), advantage_scales=(1e-2, 1e2)), eps=uniform(0.05, 0.5))
def test_ppo_gradient_of_a_negative_advantage_above_the_clip_range_grows_with_the_ratio(impl, case, eps):
    states, actions, A, W, b = case.build()
    logits = states @ W.T + b
    log_pi = float(np.log(softmax(logits)[0, actions[0]]))
    size = math.sqrt(float(np.sum(states**2)) + 1)
    for k in range(1, 7):
        r = (1 + eps) * 10.0**k
        old = np.array([log_pi - math.log(r)])
        negative = -np.abs(A)
        spec = PPOGradient(states, actions, negative, old, W, b, eps)
        grad_W, grad_b = impl.ppo_clip_gradient(states, actions, negative, old, W, b, eps)
        low = r * abs(A[0]) * spec.others[0] * size * (1 - spec.rho[0] - spec.ratio_error[0] - 1e-12)
        assert_in_interval(norm(grad_W, grad_b), low - 2 * norm(spec.bound_W, spec.bound_b), math.inf,
                           f"A = {negative[0]:.4g} < 0, r = {r:.4g} > 1 + ε = {1 + eps:.4g}: "
                           f"||∇|| ≥ r·|A|·(1 − π_a)·||(s, 1)|| ({case})",
                           hint="min(rA, clip(r)A) picks the unclipped rA when A < 0 and r > 1 + ε: its gradient "
                           "r·A·∇log π is not clipped")
        positive = np.abs(A)
        grad_W, grad_b = impl.ppo_clip_gradient(states, actions, positive, old, W, b, eps)
        assert_within(np.concatenate([grad_W.ravel(), grad_b]), np.zeros(grad_W.size + grad_b.size), 0.0,
                      f"A = {positive[0]:.4g} > 0, r = {r:.4g} > 1 + ε: the clipped term is picked, gradient 0")


@claim("S11h")
@given(K=spread_integers(2, 5), d=spread_integers(1, 4), gap=uniform(30.0, 60.0), A=log_uniform(1e3, 1e9),
       N=spread_integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_huge_advantages_on_a_near_deterministic_policy_give_a_tiny_gradient(impl, K, d, gap, A, N, seed):
    rng = np.random.default_rng(seed)
    states = rng.uniform(-1.0, 1.0, (N, d)) * 3 / math.sqrt(d)  # ||s|| ≤ 3
    W = 0.001 * rng.standard_normal((K, d))
    actions = rng.integers(0, K, N).astype(np.int64)
    b = np.zeros(K)
    b[actions[0]] = gap + 1.0  # the taken action leads by at least gap (|s Wᵀ| ≤ 0.5 at most here)
    actions[:] = actions[0]
    advantages = A * rng.choice([-1.0, 1.0], N)
    spec = SoftmaxGradient(states, actions, advantages, W, b)
    assert np.all(spec.others <= (K - 1) * math.exp(-gap)), "the construction keeps every logit gap ≥ gap"
    grad_W, grad_b = impl.softmax_policy_gradient(states, actions, advantages, W, b)
    bound = float(A * math.sqrt(2) * np.max(spec.others * (1 + spec.rho) * np.sqrt(np.sum(states**2, axis=1) + 1)))
    assert bound < 1e-3
    assert_in_interval(norm(grad_W, grad_b), 0.0, bound + 2 * norm(spec.bound_W, spec.bound_b),
                       f"|A| = {A:.3g} but 1 − π_a ≤ {(K - 1) * math.exp(-gap):.3g}: "
                       f"||∇|| ≤ |A|·√2·(1 − π_a)·||(s, 1)|| < 1e-3",
                       hint="the score e_a − π vanishes as π_a → 1, whatever the advantage")
