"""Layer normalisation (Ba, Kiros & Hinton 2016), with PyTorch's conventions.

Each example (a vector along the LAST axis, d features; any leading axes are a batch) is
centred and scaled by its own statistics, then multiplied by a gain g and shifted by a bias b:

    μ = (1/d) Σ_i x_i,    var = (1/d) Σ_i (x_i − μ)²     (biased: divide by d, not d − 1)
    s = √(var + ε),       x̂ = (x − μ)/s,                 y = g ⊙ x̂ + b.

ε sits INSIDE the square root, as in torch.nn.functional.layer_norm (default ε = 1e-5).

The Jacobian of one example, with P = I − 11ᵀ/d the centring projection, is

    J = ∂y/∂x = diag(g) · (1/s) · (P − x̂ x̂ᵀ/d),

and the backward pass multiplies a gradient of the output by Jᵀ without forming it:

    ĝ = g ⊙ ∂L/∂y,    ∂L/∂x = (1/s) · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)),
    ∂L/∂g = Σ_batch ∂L/∂y ⊙ x̂,    ∂L/∂b = Σ_batch ∂L/∂y.

ε may be 0 (PyTorch accepts it) as long as no example is constant; a constant example with
ε = 0 would divide by s = 0 and is refused.
"""

from __future__ import annotations

import numpy as np

from .validation import as_float_array, check_non_negative, common_float_dtype


def _check(x, gain, bias, eps, min_ndim: int = 1, ndim: int | None = None):
    """x (…, d) and gain, bias (d,) as float arrays of one dtype; eps as a float ≥ 0."""
    eps = check_non_negative(eps, "eps")
    dtype = common_float_dtype(x, gain, bias)
    x = as_float_array(x, "x", ndim=ndim, dtype=dtype)
    if x.ndim < min_ndim:
        raise ValueError(f"x must have at least {min_ndim} dimension (the features, last), got shape {x.shape}")
    d = x.shape[-1]
    if d == 0:
        raise ValueError(f"x has shape {x.shape}: no features along the last axis; expected d ≥ 1")
    gain = as_float_array(gain, "gain", ndim=1, dtype=dtype)
    bias = as_float_array(bias, "bias", ndim=1, dtype=dtype)
    for name, vector in (("gain", gain), ("bias", bias)):
        if vector.shape != (d,):
            raise ValueError(f"{name} has shape {vector.shape}, expected ({d},) to match x's last axis of shape {x.shape}")
    return x, gain, bias, eps


def _normalise(x: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """(x̂, s) with s = √(var + ε) over the last axis (two-pass: centre first, then square)."""
    centred = x - x.mean(axis=-1, keepdims=True)
    variance = (centred * centred).mean(axis=-1, keepdims=True)  # biased: divides by d
    s = np.sqrt(variance + eps)
    if eps == 0 and not np.all(s > 0):
        raise ValueError("eps = 0 and some example of x is constant (variance 0): x̂ = (x − μ)/√(var + ε) "
                         "would divide by zero; use eps > 0")
    return centred / s, s


def layer_norm_forward(x, gain, bias, eps=1e-5) -> np.ndarray:
    """y = g ⊙ (x − μ)/√(var + ε) + b over the last axis of x (biased variance, ε inside the root).

    x: (…, d), any leading shape; gain, bias: (d,); eps ≥ 0.  Returns y with x's shape.
    """
    x, gain, bias, eps = _check(x, gain, bias, eps)
    x_hat, _ = _normalise(x, eps)
    return gain * x_hat + bias


def layer_norm_backward(x, gain, bias, eps, grad_output) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(∂L/∂x, ∂L/∂g, ∂L/∂b) given grad_output = ∂L/∂y of the same shape as x.

        ĝ = g ⊙ ∂L/∂y,    ∂L/∂x = (1/s)(ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂))      (means over the last axis)
        ∂L/∂g = Σ ∂L/∂y ⊙ x̂,    ∂L/∂b = Σ ∂L/∂y                         (sums over all leading axes)
    """
    x, gain, bias, eps = _check(x, gain, bias, eps)
    grad_output = as_float_array(grad_output, "grad_output", dtype=x.dtype)
    if grad_output.shape != x.shape:
        raise ValueError(f"grad_output has shape {grad_output.shape}, expected {x.shape} (the shape of x)")
    x_hat, s = _normalise(x, eps)
    grad_x_hat = gain * grad_output
    grad_x = (grad_x_hat
              - grad_x_hat.mean(axis=-1, keepdims=True)
              - x_hat * (grad_x_hat * x_hat).mean(axis=-1, keepdims=True)) / s
    leading = tuple(range(x.ndim - 1))
    grad_gain = (grad_output * x_hat).sum(axis=leading)
    grad_bias = grad_output.sum(axis=leading)
    return grad_x, grad_gain, grad_bias


def layer_norm_jacobian(x, gain, bias, eps) -> np.ndarray:
    """J = ∂y/∂x = diag(g) · (1/s) · (P − x̂ x̂ᵀ/d) at one example x of shape (d,); P = I − 11ᵀ/d.

    With g = 1 its singular values are 0 (along 1), ε/s³ (along x̂) and 1/s (the d − 2 others).
    """
    x, gain, bias, eps = _check(x, gain, bias, eps, ndim=1)
    d = x.shape[0]
    x_hat, s = _normalise(x, eps)
    centring = np.eye(d, dtype=x.dtype) - 1.0 / d
    return gain[:, None] * (centring - np.outer(x_hat, x_hat) / d) / s


__all__ = ["layer_norm_backward", "layer_norm_forward", "layer_norm_jacobian"]
