"""Wrong: normalises the advantages inside the policy gradient (for N > 1), so the estimate is no longer linear in them."""

import numpy as np

import reference

REJECTED_BY = ("P22", "S11a", "S11b")  # the exact set of claims whose tests fail on this implementation


def softmax_policy_gradient(states, actions, advantages, W, b):
    advantages = np.asarray(advantages, dtype=np.float64)
    if len(advantages) > 1 and np.ptp(advantages) > 0:
        advantages = (advantages - advantages.mean()) / advantages.std()
    return reference.softmax_policy_gradient(states, actions, advantages, W, b)
