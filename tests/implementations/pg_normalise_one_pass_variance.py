"""Wrong: the variance as E[A²] − E[A]² in one pass, which cancels catastrophically for advantages with a large common offset."""

import numpy as np

from reference import softmax_policy_gradient  # noqa: F401  (correct)

REJECTED_BY = ("P24", "S11e")  # the exact set of claims whose tests fail on this implementation


def normalise_advantages(advantages):
    mean = advantages.mean()
    variance = max(np.mean(advantages**2) - mean**2, np.finfo(np.float64).tiny)
    return (advantages - mean) / np.sqrt(variance)
