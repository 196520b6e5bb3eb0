"""The spec's own policy-gradient definitions, their rounding bounds, and the drawn cases (S11, P22–P25).

Independent of reference/.  Every bound is a first-order forward-error bound for one correct float64
evaluation (u = 2⁻⁵³, γ_n = n·u/(1 − n·u), Higham eq. 3.5); a check compares two evaluations, the
implementation's and the spec's, so its tolerance is twice the bound.

Softmax, logits z = s Wᵀ + b (each within Δz = γ_{d+1}(|s||W|ᵀ + |b|)): any of the usual evaluations
— exp(z − max)/Σ, log-softmax then exp, autograd through logsumexp — gives π_k to a relative error

    ρ = 2·max_k Δz_k + u·(2·(max z − min z) + 2K + 8)

(a perturbation Δz moves log π_k by at most 2·max Δz; the shift z − max, the exponential, the sum of K
terms, the logarithm and the division add the rest), so each entry of the score e_a − π is within
ρ·π_k (+ u for the entry a, 1 − π_a).  The gradient (1/N) Σ A_i score_i s_iᵀ then carries those errors
times |A_i||s_i|, plus γ_{N+3} of the sum of the products' absolute values.

Gaussian, μ = s Wᵀ + b, δ = a − μ within e_δ = Δμ + u|δ|; 1/σ² = exp(−2·log_std) within 7u relatively
(exp within 2 ulps, a square or a division), so (a − μ)/σ² is within (e_δ + 7u|δ|)/σ² and
δ²/σ² − 1 within (2|δ|e_δ + e_δ² + 10u·δ²)/σ² + u(δ²/σ² + 1).

Normalisation Â = (A − m)/s: m within e_m = γ_{2N+2}·max|A| (a running, Welford-style mean included),
A − m within e_m + u|A − m|, s within max_i e_c,i + γ_{N+4}·s (the root-mean-square is 1-Lipschitz),
so Â_i within (e_c,i + |Â_i|·(max e_c + γ_{N+4}·s))/s + u|Â_i|.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from .maths import UNIT_ROUNDOFF as U
from .maths import gamma
from .spread import log_uniform, spread_integers, uniform, uniform_choice

# -- the definitions ------------------------------------------------------------------------------


def logits_and_error(states, W, b):
    """z = s Wᵀ + b and its rounding bound Δz = γ_{d+1}(|s||W|ᵀ + |b|)."""
    return states @ W.T + b, gamma(states.shape[1] + 1) * (np.abs(states) @ np.abs(W).T + np.abs(b))


def softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def probability_error(logits, logit_error):
    """ρ_i, the relative error to which any correct evaluation knows π_i (one per sample)."""
    K = logits.shape[1]
    spread = logits.max(axis=1) - logits.min(axis=1)
    return 2 * logit_error.max(axis=1) + U * (2 * spread + 2 * K + 8)


def others_mass(pi, actions):
    """1 − π_a computed as Σ_{j≠a} π_j: accurate to the relative error of π even when π_a ≈ 1."""
    mask = np.ones_like(pi, dtype=bool)
    mask[np.arange(len(actions)), actions] = False
    return np.where(mask, pi, 0.0).sum(axis=1)


def softmax_scores(pi, actions):
    """e_{a_i} − π_i, one row per sample."""
    scores = -pi.copy()
    scores[np.arange(len(actions)), actions] += 1.0
    return scores


def score_errors(pi, actions, rho):
    """Entrywise bound on a correct evaluation's e_a − π: ρ_i·π_ik, plus u on the entry a (1 − π_a)."""
    errors = rho[:, None] * pi
    errors[np.arange(len(actions)), actions] += U
    return errors


def linear_gradient(weights, rows, row_errors, states, weight_errors=None):
    """(grad_W, grad_b, bound_W, bound_b) for grad_W = (1/N) Σ w_i r_i s_iᵀ, grad_b = (1/N) Σ w_i r_i, with
    the rows r_i known to within row_errors and the weights w_i within weight_errors (default 0): one
    correct evaluation's first-order bound."""
    N = len(weights)
    if weight_errors is None:
        weight_errors = np.zeros_like(weights)
    w = weights[:, None]
    grad_W, grad_b = (w * rows).T @ states / N, (w * rows).sum(axis=0) / N
    carried = np.abs(w) * row_errors + np.abs(weight_errors)[:, None] * np.abs(rows)
    magnitude = np.abs(w) * np.abs(rows)
    bound_W = (carried.T @ np.abs(states) + gamma(N + 3) * (magnitude.T @ np.abs(states))) / N
    bound_b = (carried.sum(axis=0) + gamma(N + 2) * magnitude.sum(axis=0)) / N
    return grad_W, grad_b, bound_W, bound_b


class SoftmaxGradient:
    """The spec's REINFORCE estimate for the softmax policy and its one-evaluation bounds."""

    def __init__(self, states, actions, advantages, W, b, advantage_errors=None):
        logits, logit_error = logits_and_error(states, W, b)
        self.pi = softmax(logits)
        self.rho = probability_error(logits, logit_error)
        self.scores = softmax_scores(self.pi, actions)
        self.score_errors = score_errors(self.pi, actions, self.rho)
        self.grad_W, self.grad_b, self.bound_W, self.bound_b = linear_gradient(
            advantages, self.scores, self.score_errors, states, advantage_errors)
        self.others = others_mass(self.pi, actions)  # 1 − π_a, per sample


class GaussianGradient:
    """The spec's REINFORCE estimate for the Gaussian policy and its one-evaluation bounds."""

    def __init__(self, states, actions, advantages, W, b, log_std):
        mu, mu_error = logits_and_error(states, W, b)
        inverse_variance = np.exp(-2.0 * log_std)
        delta = actions - mu
        delta_error = mu_error + U * np.abs(delta)
        self.mean_scores = delta * inverse_variance
        mean_errors = (delta_error + 7 * U * np.abs(delta)) * inverse_variance
        squared = delta * delta * inverse_variance
        self.std_scores = squared - 1.0
        std_errors = (2 * np.abs(delta) * delta_error + delta_error**2 + 10 * U * delta**2) * inverse_variance \
            + U * (squared + 1)
        self.grad_W, self.grad_b, self.bound_W, self.bound_b = linear_gradient(
            advantages, self.mean_scores, mean_errors, states)
        N = len(advantages)
        a = np.abs(advantages)[:, None]
        self.grad_log_std = (advantages[:, None] * self.std_scores).sum(axis=0) / N
        self.bound_log_std = ((a * std_errors).sum(axis=0) + gamma(N + 2) * (a * np.abs(self.std_scores)).sum(axis=0)) / N


def normalised(advantages, input_error=0.0):
    """(Â, bound on Â) for Â = (A − mean)/std (biased std, ε = 0), each A_i known to within input_error."""
    N = len(advantages)
    centred = advantages - advantages.mean()
    std = math.sqrt(np.mean(centred**2))
    values = centred / std
    e_m = gamma(2 * N + 2) * np.max(np.abs(advantages)) + input_error
    e_c = e_m + U * np.abs(centred) + input_error
    bound = (e_c + np.abs(values) * (e_c.max() + gamma(N + 4) * std)) / std + U * np.abs(values)
    return values, bound


class PPOGradient:
    """The spec's gradient of the clipped surrogate (softmax policy) and its one-evaluation bound.
    `margin` is the smallest relative distance of a ratio from 1 ± ε: the drawn cases keep it far above
    the ratios' rounding, so which term is active is never in doubt."""

    def __init__(self, states, actions, advantages, old_log_probs, W, b, clip_eps):
        logits, logit_error = logits_and_error(states, W, b)
        pi = softmax(logits)
        rho = probability_error(logits, logit_error)
        rows = np.arange(len(actions))
        log_pi = np.log(pi[rows, actions])
        self.ratio = np.exp(log_pi - old_log_probs)
        ratio_error = rho + U * (np.abs(log_pi) + np.abs(old_log_probs) + np.abs(np.log(self.ratio)) + 4)
        self.active = ((advantages > 0) & (self.ratio <= 1 + clip_eps)) | \
            ((advantages < 0) & (self.ratio >= 1 - clip_eps))
        self.margin = float(np.min(np.minimum(np.abs(self.ratio / (1 + clip_eps) - 1),
                                              np.abs(self.ratio / (1 - clip_eps) - 1))))
        weights = np.where(self.active, self.ratio * advantages, 0.0)
        self.ratio_error, self.rho = ratio_error, rho
        self.scores = softmax_scores(pi, actions)
        self.grad_W, self.grad_b, self.bound_W, self.bound_b = linear_gradient(
            weights, self.scores, score_errors(pi, actions, rho), states, np.abs(weights) * (ratio_error + 2 * U))
        self.others = others_mass(pi, actions)


# -- the drawn cases ---------------------------------------------------------------------------------

LARGE_N = (17, 300)  # a large batch: past any threshold of "small" an implementation might switch at
LARGE_SHARE = 0.3  # of the draws of a strategy whose N range is not a single value


@st.composite
def sample_counts(draw, low: int, high: int, large=LARGE_N):
    """N mostly from low to high (each about equally often), but LARGE_SHARE of the draws from large
    (None: never; nor where low = high): a formula that changes with N (N − 1 in the std only for large
    batches, say) is drawn on both sides of any threshold up to a few hundred.  Shrinks towards low."""
    if large is not None and high > low and draw(uniform(0, 1)) >= 1 - LARGE_SHARE:  # u = 0: a small N
        return draw(spread_integers(*large))
    return draw(spread_integers(low, high))


@dataclass(frozen=True)
class SoftmaxCase:
    """A softmax policy (K actions, d features) and N samples: states N(0, 1), W and b N(0, scale²) so the
    policy runs from near-uniform (scale 1e-3) to near-deterministic (scale 10: logit gaps of tens),
    actions uniform over 0..K−1 (often not the likeliest one), advantages N(0, 1)·advantage_scale.
    `tight`: the construction of S11f's equality case, blurred by `scale` (see build)."""

    seed: int
    N: int
    d: int
    K: int
    scale: float
    advantage_scale: float = 1.0
    tight: bool = False

    def build(self):
        """(states, actions, advantages, W, b).  Tight: every state repeated, the policy (almost) uniform
        over actions 0 and 1 and (almost) never the others, actions alternating 0, 1 and advantages
        alternating +A, −A: then Â = ±1 and every per-sample gradient is ±the same, so the normalised
        estimate has norm max_i ||∇log π_i||, the bound of S11f, as scale → 0.
        (W = 0.1·scale·N(0, 1), the other actions' logits 3·log(0.1·scale).)"""
        rng = np.random.default_rng(self.seed)
        if self.tight:
            N = 2 * max(1, self.N // 2)
            state = rng.standard_normal(self.d)
            states = np.tile(state, (N, 1))
            blur = self.scale / 10  # in [1e-4, 1]: exactly tight as blur → 0
            W = blur * rng.standard_normal((self.K, self.d))
            b = np.concatenate([[0.0, 0.0], np.full(self.K - 2, 3 * math.log(blur))])
            actions = np.arange(N) % 2
            advantages = self.advantage_scale * np.where(actions == 0, 1.0, -1.0)
            return states, actions.astype(np.int64), advantages, W, b
        states = rng.standard_normal((self.N, self.d))
        W = self.scale * rng.standard_normal((self.K, self.d))
        b = self.scale * rng.standard_normal(self.K)
        actions = rng.integers(0, self.K, self.N).astype(np.int64)
        advantages = self.advantage_scale * rng.standard_normal(self.N)
        return states, actions, advantages, W, b


def softmax_cases(N=(1, 6), advantage_scales=(1e-3, 1e6), tight: bool = False):
    return st.builds(
        SoftmaxCase,
        seed=st.integers(0, 2**32 - 1),
        N=sample_counts(*N),
        d=spread_integers(1, 4),
        K=spread_integers(2, 5),
        scale=log_uniform(1e-3, 10.0),
        advantage_scale=log_uniform(*advantage_scales),
        tight=st.just(False) if not tight else st.booleans(),
    )


@dataclass(frozen=True)
class GaussianCase:
    """A diagonal Gaussian policy (m action dimensions, d features), N samples: states, W, b N(0, 1),
    log_std uniform in [−log_std_range, 2], actions a = μ + σ·z with z N(0, 1) (samples of the policy)."""

    seed: int
    N: int
    d: int
    m: int
    log_std_low: float = -6.0
    advantage_scale: float = 1.0

    def build(self):
        """(states, actions, advantages, W, b, log_std)."""
        rng = np.random.default_rng(self.seed)
        states = rng.standard_normal((self.N, self.d))
        W, b = rng.standard_normal((self.m, self.d)), rng.standard_normal(self.m)
        log_std = rng.uniform(self.log_std_low, 2.0, self.m)
        actions = states @ W.T + b + np.exp(log_std) * rng.standard_normal((self.N, self.m))
        advantages = self.advantage_scale * rng.standard_normal(self.N)
        return states, actions, advantages, W, b, log_std


def gaussian_cases(N=(1, 6)):
    return st.builds(
        GaussianCase,
        seed=st.integers(0, 2**32 - 1),
        N=sample_counts(*N),
        d=spread_integers(1, 4),
        m=spread_integers(1, 3),
        log_std_low=uniform(-8.0, 0.0),
        advantage_scale=log_uniform(1e-3, 1e6),
    )


@dataclass(frozen=True)
class AdvantageCase:
    """N advantages scale·(offset + N(0, 1)): a common offset of `offset` standard deviations, which makes
    the mean large beside the spread (ill-conditioned: cancellation) as |offset| grows."""

    seed: int
    N: int
    scale: float
    offset: float

    def build(self):
        rng = np.random.default_rng(self.seed)
        return self.scale * (self.offset + rng.standard_normal(self.N))


PLAIN_ADVANTAGES = AdvantageCase(seed=0, N=6, scale=1.0, offset=0.0)  # well-conditioned: a formula bug shows here


@st.composite
def advantage_cases(draw, N=(2, 8), scales=(1e-8, 1e12)) -> AdvantageCase:
    """Plain, well-conditioned cases are common, and are what a draw shrinks to: scale 1 (else log-uniform
    over scales) and offset 0, or ±10^U(−2, 1) standard deviations (well-conditioned), or ±10^U(1, 6) (the
    mean dwarfs the spread: cancellation), each aimed at a third of the draws (the shares Hypothesis
    gives are measured in tests/test_policy_gradient_oracles.py).  So a formula bug usually first fails
    on a plain case, a conditioning bug on an offset one.  N as sample_counts draws it: up to a few
    hundred at times."""
    seed = draw(st.integers(0, 2**32 - 1))
    count = draw(sample_counts(*N))
    scale = 1.0 if draw(uniform(0, 1)) < 0.4 else draw(log_uniform(*scales))
    kind = draw(uniform(0, 3))  # [0, 1): offset 0, [1, 2): small, [2, 3): large
    if kind < 1:
        offset = 0.0
    else:
        sign = draw(uniform_choice([1.0, -1.0]))
        offset = sign * draw(log_uniform(1e-2, 10.0) if kind < 2 else log_uniform(10.0, 1e6))
    return AdvantageCase(seed=seed, N=count, scale=scale, offset=offset)


RATIO_REGIONS = ("below 1 − ε", "inside", "above 1 + ε")


@dataclass(frozen=True)
class PPOCase:
    """A SoftmaxCase with old log-probabilities set so that each sample's ratio r_i = π/π_old lands in a
    drawn region (below 1 − ε, inside [1 − ε, 1 + ε], above 1 + ε: up to 100·(1 + ε)), at least 1e-6
    (relatively) from either end, and a clipping ε."""

    policy: SoftmaxCase
    clip_eps: float
    ratio_seed: int

    def build(self):
        """(states, actions, advantages, old_log_probs, W, b, clip_eps)."""
        states, actions, advantages, W, b = self.policy.build()
        rng = np.random.default_rng(self.ratio_seed)
        eps = self.clip_eps
        region = rng.integers(0, 3, len(actions))
        low = np.log(1 - eps) + np.log1p(1e-6)
        ratio = np.where(region == 0, (1 - eps) * rng.uniform(1e-2, 1 - 1e-5, len(actions)),
                         np.where(region == 1, np.exp(rng.uniform(low, np.log(1 + eps) - 2e-6, len(actions))),
                                  (1 + eps) * np.exp(rng.uniform(1e-5, np.log(100.0), len(actions)))))
        logits = states @ W.T + b
        top = logits.max(axis=1, keepdims=True)
        log_pi = (logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True)))[np.arange(len(actions)), actions]
        return states, actions, advantages, log_pi - np.log(ratio), W, b, eps


def ppo_cases():
    return st.builds(
        PPOCase,
        policy=softmax_cases(N=(1, 6), advantage_scales=(1e-3, 1e4)),
        clip_eps=uniform(0.05, 0.5),
        ratio_seed=st.integers(0, 2**32 - 1),
    )
