"""Wrong: LayerNorm with the unbiased variance Σ(x − μ)²/(d − 1) (torch.var's default), not nn.LayerNorm's.
Used in the forward pass, the backward pass and the Jacobian alike, so consistent, but s is too large."""

import numpy as np

REJECTED_BY = ("P16", "P17", "P18", "S15a", "S15d")  # the exact set of claims whose tests fail on this implementation


def _normalise(x, eps):
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[-1]
    centred = x - x.mean(axis=-1, keepdims=True)
    s = np.sqrt((centred * centred).sum(axis=-1, keepdims=True) / max(d - 1, 1) + eps)
    return centred / s, s, d


def layer_norm_forward(x, gain, bias, eps=1e-5):
    x_hat, _, _ = _normalise(x, eps)
    return gain * x_hat + bias


def layer_norm_backward(x, gain, bias, eps, grad_output):
    x_hat, s, d = _normalise(x, eps)
    g_hat = gain * grad_output
    # the vector–Jacobian product of this (unbiased) normalisation: ∂s/∂x = x̂ᵀ/(d − 1)
    grad_x = (g_hat - g_hat.mean(axis=-1, keepdims=True)
              - x_hat * (g_hat * x_hat).sum(axis=-1, keepdims=True) / max(d - 1, 1)) / s
    leading = tuple(range(np.ndim(x) - 1))
    return grad_x, (grad_output * x_hat).sum(axis=leading), grad_output.sum(axis=leading)


def layer_norm_jacobian(x, gain, bias, eps):
    x_hat, s, d = _normalise(x, eps)
    return gain[:, None] * (np.eye(d) - 1.0 / d - np.outer(x_hat, x_hat) / max(d - 1, 1)) / s
