"""Wrong: the LayerNorm Jacobian as diag(g)·P/s, missing the − x̂x̂ᵀ/d term (s treated as a constant).
The term comes from s's dependence on x; the singular value along x̂ comes out 1/s instead of ε/s³."""

import numpy as np

from reference.layernorm import _check, _normalise

REJECTED_BY = ("P18", "S15a")  # the exact set of claims whose tests fail on this implementation


def layer_norm_jacobian(x, gain, bias, eps):
    x, gain, bias, eps = _check(x, gain, bias, eps, ndim=1)
    d = x.shape[0]
    _, s = _normalise(x, eps)
    return gain[:, None] * (np.eye(d) - 1.0 / d) / s
