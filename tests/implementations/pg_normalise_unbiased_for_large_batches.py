"""Wrong: normalises advantages by the unbiased std √(Σ(A − mean)²/(N − 1)) (torch.std's default) for batches of N > 16 only.
Right for every N ≤ 16, so only a test that draws a large batch sees it: Â is too small by √((N − 1)/N)."""

import numpy as np

import reference
from reference import softmax_policy_gradient  # noqa: F401  (correct)

REJECTED_BY = ("P24",)  # the exact set of claims whose tests fail on this implementation


def normalise_advantages(advantages):
    advantages = np.asarray(advantages, dtype=np.float64)
    N = advantages.size
    if N <= 16:
        return reference.normalise_advantages(advantages)
    centred = advantages - advantages.mean()
    return centred / np.sqrt(np.sum(centred**2) / (N - 1))
