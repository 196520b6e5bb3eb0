"""Wrong: PPO's surrogate with max instead of min (the optimistic bound): the unclipped term is kept on the wrong side."""

import numpy as np

from reference.policy_gradient import softmax_log_probabilities, softmax_scores

REJECTED_BY = ("P25", "S11g")  # the exact set of claims whose tests fail on this implementation


def ppo_clip_gradient(states, actions, advantages, old_log_probs, W, b, clip_eps):
    logits = states @ W.T + b
    ratio = np.exp(softmax_log_probabilities(logits)[np.arange(len(actions)), actions] - old_log_probs)
    # max(rA, clip(r)A) picks rA exactly when min picks clip(r)A (ties aside)
    active = ((advantages > 0) & (ratio >= 1 + clip_eps)) | ((advantages < 0) & (ratio <= 1 - clip_eps))
    weighted = np.where(active, ratio * advantages, 0.0)[:, None] * softmax_scores(logits, actions) / len(states)
    return weighted.T @ states, weighted.sum(axis=0)
