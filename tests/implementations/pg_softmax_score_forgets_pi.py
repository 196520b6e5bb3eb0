"""Wrong: the softmax score is e_a instead of e_a − π (the gradient of the chosen logit, not of log π)."""

import numpy as np

REJECTED_BY = ("P22", "S11b", "S11c", "S11h")  # the exact set of claims whose tests fail on this implementation


def softmax_policy_gradient(states, actions, advantages, W, b):
    scores = np.zeros((len(states), W.shape[0]))
    scores[np.arange(len(actions)), actions] = 1.0
    weighted = advantages[:, None] * scores / len(states)
    return weighted.T @ states, weighted.sum(axis=0)
