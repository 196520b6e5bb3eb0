"""Correct, computed another way: per-example loops, σ' of tanh as 1/cosh², sigmoid's
as e^{-a}/(1+e^{-a})², gradients as products with explicitly formed Jacobians.
The spec must accept it: its tolerances must not encode one implementation's rounding."""

import numpy as np

REJECTED_BY = ()  # the exact set of claims whose tests fail on this implementation

_SIGMA = {
    "linear": (lambda a: a, lambda a: np.ones_like(a)),
    "tanh": (np.tanh, lambda a: 1.0 / np.cosh(np.clip(a, -350, 350)) ** 2),
    "relu": (lambda a: np.where(a > 0, a, 0.0), lambda a: np.where(a > 0, 1.0, 0.0)),
    "sigmoid": (
        lambda a: 0.5 * (1.0 + np.tanh(a / 2)),
        lambda a: np.exp(-np.abs(a)) / (1.0 + np.exp(-np.abs(a))) ** 2,
    ),
}


def mlp_forward(x, weights, biases, activation):
    sigma, _ = _SIGMA[activation]
    pre, hidden = [], [np.array(x, dtype=float)]
    for W, b in zip(weights, biases):
        a = np.stack([W @ h + b for h in hidden[-1]])
        pre.append(a)
        hidden.append(sigma(a))
    return pre, hidden


def mlp_layer_jacobians(x, weights, biases, activation):
    sigma, sigma_prime = _SIGMA[activation]
    h, jacobians = np.array(x, dtype=float), []
    for W, b in zip(weights, biases):
        a = W @ h + b
        jacobians.append(np.diag(sigma_prime(a)) @ W)
        h = sigma(a)
    return jacobians


def mlp_backward(x, weights, biases, activation, grad_output):
    _, sigma_prime = _SIGMA[activation]
    pre, hidden = mlp_forward(x, weights, biases, activation)
    L = len(weights)
    grad_hidden = [np.zeros_like(h) for h in hidden]
    grad_W = [np.zeros_like(W, dtype=float) for W in weights]
    grad_b = [np.zeros_like(b, dtype=float) for b in biases]
    for n in range(len(x)):
        g = np.array(grad_output[n], dtype=float)
        grad_hidden[L][n] = g
        for l in reversed(range(L)):
            D = np.diag(sigma_prime(pre[l][n]))
            delta = D @ g
            grad_W[l] += np.outer(delta, hidden[l][n])
            grad_b[l] += delta
            g = (D @ weights[l]).T @ g
            grad_hidden[l][n] = g
    return grad_hidden, grad_W, grad_b
