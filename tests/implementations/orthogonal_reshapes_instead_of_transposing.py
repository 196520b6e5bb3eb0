"""Wrong: orthogonal initialisation reshapes Q instead of transposing it, so wide weights are not orthogonal.

A wide weight has out < in·∏kernel; its rows come out not orthonormal.  Plausible: QR of the tall
(in, out) Gaussian gives Q with orthonormal columns; `q.reshape(out, in)` has the right shape and is
silently wrong, while square and tall weights come out right."""

import math

import numpy as np

REJECTED_BY = ("S13d",)  # the exact set of claims whose tests fail on this implementation


def orthogonal(shape, gain, seed):
    shape = tuple(int(d) for d in shape)
    rows, cols = shape[0], math.prod(shape[1:])
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((max(rows, cols), min(rows, cols))))
    q *= np.sign(np.diag(r))
    return gain * q.reshape(shape)  # should be q.T for rows < cols
