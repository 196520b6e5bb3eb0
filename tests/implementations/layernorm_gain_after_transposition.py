"""Wrong: the LayerNorm Jacobian with the gain applied after transposition, (1/s)(P − x̂x̂ᵀ/d)·diag(g).
This is the transpose of the right answer: the gain scales columns, as in the vector–Jacobian product,
instead of rows."""

import numpy as np

from reference.layernorm import _check, _normalise

REJECTED_BY = ("P18",)  # the exact set of claims whose tests fail on this implementation


def layer_norm_jacobian(x, gain, bias, eps):
    x, gain, bias, eps = _check(x, gain, bias, eps, ndim=1)
    d = x.shape[0]
    x_hat, s = _normalise(x, eps)
    return (np.eye(d) - 1.0 / d - np.outer(x_hat, x_hat) / d) / s * gain[None, :]
