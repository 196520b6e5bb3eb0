"""Wrong: treats PPO's ratio clipping as gradient clipping: a sample outside [1 − ε, 1 + ε] contributes nothing, whatever the sign of A (the gradient of clip(r)·A alone, without the min)."""

import numpy as np

import reference
from reference.policy_gradient import softmax_log_probabilities, softmax_scores

REJECTED_BY = ("P25", "S11g")  # the exact set of claims whose tests fail on this implementation


def ppo_clip_gradient(states, actions, advantages, old_log_probs, W, b, clip_eps):
    logits = states @ W.T + b
    ratio = np.exp(softmax_log_probabilities(logits)[np.arange(len(actions)), actions] - old_log_probs)
    inside = (ratio >= 1 - clip_eps) & (ratio <= 1 + clip_eps)
    weighted = np.where(inside, ratio * advantages, 0.0)[:, None] * softmax_scores(logits, actions) / len(states)
    return weighted.T @ states, weighted.sum(axis=0)


softmax_policy_gradient = reference.softmax_policy_gradient  # correct
