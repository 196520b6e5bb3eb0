"""Wrong: normalises advantages by the variance instead of the standard deviation, (A − mean)/var."""

import numpy as np

from reference import softmax_policy_gradient  # noqa: F401  (correct)

REJECTED_BY = ("P24", "S11e", "S11f")  # the exact set of claims whose tests fail on this implementation


def normalise_advantages(advantages):
    centred = advantages - advantages.mean()
    return centred / np.mean(centred**2)
