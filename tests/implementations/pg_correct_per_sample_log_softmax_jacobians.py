"""Correct, computed another way: per-sample loops, log π by log-sum-exp, the score as a row of the Jacobian of log_softmax (I − 1πᵀ), σ⁻² as exp(−2·log_std), Welford's running mean and variance, PPO's ratio as π/π_old."""

import math

import numpy as np

REJECTED_BY = ()  # the exact set of claims whose tests fail on this implementation


def _log_softmax(z):
    top = max(z)
    return z - (top + math.log(sum(math.exp(v - top) for v in z)))


def _score(z, a):
    pi = np.exp(_log_softmax(z))
    jacobian = np.eye(len(z)) - np.outer(np.ones(len(z)), pi)  # ∂ log_softmax(z)_j / ∂z_k = δ_jk − π_k
    return jacobian[a]


def _accumulate(states, weights_and_scores, K):
    grad_W, grad_b = np.zeros((K, states.shape[1])), np.zeros(K)
    for s, (w, score) in zip(states, weights_and_scores):
        grad_W += np.outer(w * score, s)
        grad_b += w * score
    return grad_W / len(states), grad_b / len(states)


def softmax_policy_gradient(states, actions, advantages, W, b):
    pairs = [(A, _score(W @ s + b, a)) for s, a, A in zip(states, actions, advantages)]
    return _accumulate(states, pairs, W.shape[0])


def gaussian_policy_gradient(states, actions, advantages, W, b, log_std):
    inverse_variance = np.exp(-2.0 * log_std)
    grad_W, grad_b, grad_log_std = np.zeros_like(W), np.zeros_like(b), np.zeros_like(log_std)
    for s, a, A in zip(states, actions, advantages):
        deviation = a - (W @ s + b)
        grad_W += np.outer(A * deviation * inverse_variance, s)
        grad_b += A * deviation * inverse_variance
        grad_log_std += A * (deviation * deviation * inverse_variance - 1.0)
    N = len(states)
    return grad_W / N, grad_b / N, grad_log_std / N


def normalise_advantages(advantages):
    mean, m2 = 0.0, 0.0
    for count, value in enumerate(advantages, start=1):  # Welford
        delta = value - mean
        mean += delta / count
        m2 += delta * (value - mean)
    return (advantages - mean) / math.sqrt(m2 / len(advantages))


def ppo_clip_gradient(states, actions, advantages, old_log_probs, W, b, clip_eps):
    pairs = []
    for s, a, A, old in zip(states, actions, advantages, old_log_probs):
        z = W @ s + b
        pi_a = math.exp(_log_softmax(z)[a])
        ratio = pi_a / math.exp(old)
        unclipped, clipped = ratio * A, min(max(ratio, 1 - clip_eps), 1 + clip_eps) * A
        pairs.append((ratio * A if unclipped <= clipped else 0.0, _score(z, a)))
    return _accumulate(states, pairs, W.shape[0])
