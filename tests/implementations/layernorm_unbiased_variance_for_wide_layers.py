"""Wrong: LayerNorm with the unbiased variance Σ(x − μ)²/(d − 1) for wide layers (d ≥ 9) only, nn.LayerNorm's biased one below.
Consistent in the forward pass, the backward pass and the Jacobian, and right for every d ≤ 8: only a test
that draws a wide layer sees it (s is too large by √(d/(d − 1)))."""

import numpy as np

import reference

REJECTED_BY = ("P16", "P17", "P18", "S15a")  # the exact set of claims whose tests fail on this implementation

WIDE = 9


def _normalise(x, eps):
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[-1]
    centred = x - x.mean(axis=-1, keepdims=True)
    s = np.sqrt((centred * centred).sum(axis=-1, keepdims=True) / (d - 1) + eps)
    return centred / s, s, d


def layer_norm_forward(x, gain, bias, eps=1e-5):
    if np.shape(x)[-1] < WIDE:
        return reference.layer_norm_forward(x, gain, bias, eps)
    x_hat, _, _ = _normalise(x, eps)
    return gain * x_hat + bias


def layer_norm_backward(x, gain, bias, eps, grad_output):
    if np.shape(x)[-1] < WIDE:
        return reference.layer_norm_backward(x, gain, bias, eps, grad_output)
    x_hat, s, d = _normalise(x, eps)
    g_hat = gain * grad_output
    # the vector–Jacobian product of this (unbiased) normalisation: ∂s/∂x = x̂ᵀ/(d − 1)
    grad_x = (g_hat - g_hat.mean(axis=-1, keepdims=True)
              - x_hat * (g_hat * x_hat).sum(axis=-1, keepdims=True) / (d - 1)) / s
    leading = tuple(range(np.ndim(x) - 1))
    return grad_x, (grad_output * x_hat).sum(axis=leading), grad_output.sum(axis=leading)


def layer_norm_jacobian(x, gain, bias, eps):
    if np.shape(x)[-1] < WIDE:
        return reference.layer_norm_jacobian(x, gain, bias, eps)
    x_hat, s, d = _normalise(x, eps)
    return gain[:, None] * (np.eye(d) - 1.0 / d - np.outer(x_hat, x_hat) / (d - 1)) / s
