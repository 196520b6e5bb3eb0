"""A deep MLP, its backward pass, and its layer Jacobians.

Conventions (PyTorch's): W_l has shape (d_l, d_{l-1}) = (out_features, in_features),
a batch is a (batch, d) array with one example per row — so every equation below is
written for row vectors, as the code computes it — and every layer, the last
included, applies the activation σ:

    h_0 = x,    a_l = h_{l-1} W_lᵀ + b_l,    h_l = σ(a_l),    l = 1..L.

The layer Jacobian is J_l = ∂h_l/∂h_{l-1} = diag(σ'(a_l)) W_l (for one example, as a
column-vector map), and backward propagation multiplies a row gradient by it from the
right, g_{l-1} = g_l J_l = (σ'(a_l) ⊙ g_l) W_l, from the output to the input.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from .activations import get_activation
from .validation import as_float_array, check_input, check_matrix_chain, check_network


class MLPForward(NamedTuple):
    pre_activations: list[np.ndarray]  # [a_1, ..., a_L], each (batch, d_l)
    hidden_states: list[np.ndarray]  # [h_0 = x, h_1, ..., h_L], each (batch, d_l)


class MLPGradients(NamedTuple):
    hidden: list[np.ndarray]  # [∂L/∂h_0, ..., ∂L/∂h_L], each (batch, d_l)
    weights: list[np.ndarray]  # [∂L/∂W_1, ..., ∂L/∂W_L], each (d_l, d_{l-1})
    biases: list[np.ndarray]  # [∂L/∂b_1, ..., ∂L/∂b_L], each (d_l,)


def _prepare(x, weights, biases, activation, batched):
    sigma = get_activation(activation)
    W, b, dtype = check_network(weights, biases, x)
    return check_input(x, W, dtype, batched), W, b, sigma


def mlp_forward(
    x: np.ndarray, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], activation: str
) -> MLPForward:
    """Forward pass keeping every pre-activation and hidden state.

        h_0 = x,    a_l = h_{l-1} W_lᵀ + b_l,    h_l = σ(a_l)      (rows are examples)

    x: (batch, d_0); weights[l-1] = W_l: (d_l, d_{l-1}); biases[l-1] = b_l: (d_l,).
    """
    x, W, b, sigma = _prepare(x, weights, biases, activation, batched=True)
    return _forward(x, W, b, sigma)


def _forward(x, W, b, sigma) -> MLPForward:
    pre_activations, hidden_states = [], [x]
    for W_l, b_l in zip(W, b):
        a_l = hidden_states[-1] @ W_l.T + b_l
        pre_activations.append(a_l)
        hidden_states.append(sigma.function(a_l))
    return MLPForward(pre_activations, hidden_states)


def mlp_backward(
    x: np.ndarray,
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    activation: str,
    grad_output: np.ndarray,
) -> MLPGradients:
    """Reverse-mode gradients of L = Σ_batch ⟨grad_output, h_L⟩, by vector–Jacobian products.

        g_L = grad_output
        δ_l = σ'(a_l) ⊙ g_l                       (∂L/∂a_l)
        g_{l-1} = J_lᵀ g_l = W_lᵀ δ_l              (∂L/∂h_{l-1})
        ∂L/∂W_l = Σ_batch δ_l h_{l-1}ᵀ,    ∂L/∂b_l = Σ_batch δ_l

    Cost O(L·d²) per example; no Jacobian matrix is formed.
    grad_output: (batch, d_L), the same shape as h_L.
    """
    x, W, b, sigma = _prepare(x, weights, biases, activation, batched=True)
    g = as_float_array(grad_output, "grad_output", ndim=2, dtype=x.dtype)
    expected = (x.shape[0], W[-1].shape[0])
    if g.shape != expected:
        raise ValueError(f"grad_output has shape {g.shape}, expected {expected} (the shape of h_L)")
    forward = _forward(x, W, b, sigma)
    hidden, grad_W, grad_b = [g], [], []
    for l in reversed(range(len(W))):
        delta = sigma.derivative(forward.pre_activations[l]) * hidden[0]
        grad_W.insert(0, delta.T @ forward.hidden_states[l])
        grad_b.insert(0, delta.sum(axis=0))
        hidden.insert(0, delta @ W[l])
    return MLPGradients(hidden, grad_W, grad_b)


def mlp_layer_jacobians(
    x: np.ndarray, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], activation: str
) -> list[np.ndarray]:
    """The layer Jacobians at one example x of shape (d_0,):

        J_l = ∂h_l/∂h_{l-1} = diag(σ'(a_l)) W_l,    shape (d_l, d_{l-1}),    l = 1..L.
    """
    x, W, b, sigma = _prepare(x, weights, biases, activation, batched=False)
    forward = _forward(x[None, :], W, b, sigma)
    return [sigma.derivative(a[0])[:, None] * W_l for a, W_l in zip(forward.pre_activations, W)]


def end_to_end_jacobian(layer_jacobians: Sequence[np.ndarray]) -> np.ndarray:
    """∂h_L/∂h_0 = J_L J_{L-1} ⋯ J_1, shape (d_L, d_0).  Forms the full product: O(L·d³)."""
    jacobians = check_matrix_chain(layer_jacobians)
    product = jacobians[0]
    for J in jacobians[1:]:
        product = J @ product
    return product
