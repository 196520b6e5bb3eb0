"""Correct, computed another way: LayerNorm backward as Jᵀ·∂L/∂y from explicit Jacobians, np.var, 1/s as rstd.
The normalisation multiplies by the reciprocal 1/s (as PyTorch's rstd); the Jacobian is assembled as
(g/s)(I − 11ᵀ/d) − (g ⊙ x̂/s) x̂ᵀ/d; the backward pass is Jᵀ·∂L/∂y, one explicit Jacobian per example; the
gain and bias gradients are summed with math.fsum.
The spec must accept it: its tolerances must not encode the reference's evaluation order."""

import math

import numpy as np

REJECTED_BY = ()  # the exact set of claims whose tests fail on this implementation


def _normalise(x, eps):
    x = np.asarray(x, dtype=np.float64)
    rstd = 1.0 / np.sqrt(np.var(x, axis=-1, keepdims=True) + eps)
    return (x - np.mean(x, axis=-1, keepdims=True)) * rstd, rstd


def layer_norm_forward(x, gain, bias, eps=1e-5):
    x_hat, _ = _normalise(x, eps)
    return x_hat * gain + bias


def layer_norm_jacobian(x, gain, bias, eps):
    x_hat, rstd = _normalise(x, eps)
    d = x_hat.shape[-1]
    scaled = np.asarray(gain, dtype=np.float64) * rstd
    return scaled[:, None] * (np.eye(d) - 1.0 / d) - np.outer(scaled * x_hat, x_hat) / d


def layer_norm_backward(x, gain, bias, eps, grad_output):
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[-1]
    rows, grads = x.reshape(-1, d), np.asarray(grad_output, dtype=np.float64).reshape(-1, d)
    grad_x = np.stack([layer_norm_jacobian(row, gain, bias, eps).T @ g for row, g in zip(rows, grads)])
    x_hat = _normalise(rows, eps)[0]
    grad_gain = np.array([math.fsum(column) for column in (grads * x_hat).T])
    grad_bias = np.array([math.fsum(column) for column in grads.T])
    return grad_x.reshape(x.shape), grad_gain, grad_bias
