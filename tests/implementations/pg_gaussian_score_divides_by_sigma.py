"""Wrong: the Gaussian mean score is (a − μ)/σ instead of (a − μ)/σ² (and (a − μ)²/σ − 1 for log σ)."""

import numpy as np

REJECTED_BY = ("P23", "S11d")  # the exact set of claims whose tests fail on this implementation


def gaussian_policy_gradient(states, actions, advantages, W, b, log_std):
    sigma = np.exp(log_std)
    deviation = actions - (states @ W.T + b)
    weights = advantages[:, None] / len(states)
    weighted = weights * deviation / sigma
    return weighted.T @ states, weighted.sum(axis=0), (weights * (deviation**2 / sigma - 1.0)).sum(axis=0)
