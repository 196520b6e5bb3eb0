"""Wrong: returns the gradient of the loss −(1/N) Σ A_i log π_i instead of the REINFORCE ascent direction (sign flipped)."""

import reference

REJECTED_BY = ("P22", "P23", "S11d")  # the exact set of claims whose tests fail on this implementation


def softmax_policy_gradient(states, actions, advantages, W, b):
    grad_W, grad_b = reference.softmax_policy_gradient(states, actions, advantages, W, b)
    return -grad_W, -grad_b


def gaussian_policy_gradient(states, actions, advantages, W, b, log_std):
    return tuple(-g for g in reference.gaussian_policy_gradient(states, actions, advantages, W, b, log_std))
