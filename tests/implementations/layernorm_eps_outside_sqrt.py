"""Wrong: LayerNorm with ε outside the square root, y = g ⊙ (x − μ)/(√var + ε) + b, differentiated consistently.
As in some hand-written implementations: near-constant inputs get ‖J‖ ≈ 1/ε instead of 1/√ε, and scaling x by c no longer matches ε/c²."""

import numpy as np

REJECTED_BY = ("P16", "P17", "P18", "S15a", "S15b", "S15c", "S15d")  # the exact set of claims whose tests fail on this implementation


def _normalise(x, eps):
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=-1, keepdims=True)
    sigma = np.sqrt((centred * centred).mean(axis=-1, keepdims=True))
    s = sigma + eps
    return centred / s, s, sigma


def layer_norm_forward(x, gain, bias, eps=1e-5):
    x_hat, _, _ = _normalise(x, eps)
    return gain * x_hat + bias


def _jacobian_rows(x, gain, eps):
    """∂y/∂x of this map at each example: diag(g)(1/s)(P − x̂ (x − μ)ᵀ/(d·σ))."""
    x_hat, s, sigma = _normalise(x, eps)
    d = x.shape[-1]
    centred = x_hat * s
    safe = np.where(sigma > 0, sigma, 1.0)
    outer = np.einsum("...i,...j->...ij", x_hat, centred) / (d * safe)[..., None]
    return gain[:, None] * (np.eye(d) - 1.0 / d - outer) / s[..., None]


def layer_norm_backward(x, gain, bias, eps, grad_output):
    x = np.asarray(x, dtype=np.float64)
    J = _jacobian_rows(x, gain, eps)
    grad_x = np.einsum("...i,...ij->...j", grad_output, J)
    x_hat, _, _ = _normalise(x, eps)
    leading = tuple(range(x.ndim - 1))
    return grad_x, (grad_output * x_hat).sum(axis=leading), grad_output.sum(axis=leading)


def layer_norm_jacobian(x, gain, bias, eps):
    return _jacobian_rows(np.asarray(x, dtype=np.float64), gain, eps)
