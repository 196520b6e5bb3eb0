"""Spectral helpers for Jacobians and the per-layer gradient-norm diagnostic."""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from .validation import check_matrix


def singular_values(M: np.ndarray) -> np.ndarray:
    """σ_1 ≥ σ_2 ≥ … ≥ σ_min(m,n) ≥ 0 of an (m, n) matrix: M = U diag(σ) Vᵀ."""
    return np.linalg.svd(check_matrix(M, "M"), compute_uv=False)


def largest_singular_value(M: np.ndarray) -> float:
    """σ_max(M) = ||M||_2 = max_{||v||=1} ||M v||, the operator 2-norm."""
    return float(singular_values(M)[0])


def smallest_singular_value(M: np.ndarray) -> float:
    """σ_min(M), the last of the min(m, n) singular values.

    For m ≤ n (no more outputs than inputs), ||Mᵀ u|| ≥ σ_min(M) ||u|| for every u:
    the lower bound a backward product through M obeys.
    """
    return float(singular_values(M)[-1])


def spectral_radius(M: np.ndarray) -> float:
    """ρ(M) = max |λ_i(M)| for a square M.  ρ(M) ≤ σ_max(M), with equality for normal M."""
    M = check_matrix(M, "M")
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"the spectral radius needs a square matrix, got shape {M.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(M))))


class LayerGradientNorms(NamedTuple):
    hidden: np.ndarray  # ||∂L/∂h_l||_F for l = 0..L
    weights: np.ndarray  # ||∂L/∂W_l||_F for l = 1..L, what `param.grad.norm()` prints
    biases: np.ndarray  # ||∂L/∂b_l|| for l = 1..L


def per_layer_gradient_norms(gradients) -> LayerGradientNorms:
    """Frobenius norms of each layer's gradients, input side first.

    ``gradients`` is what mlp_backward returns (hidden, weights, biases).
    """
    hidden, weights, biases = gradients

    def norms(arrays: Sequence[np.ndarray]) -> np.ndarray:
        return np.array([np.linalg.norm(np.asarray(a)) for a in arrays])

    return LayerGradientNorms(norms(hidden), norms(weights), norms(biases))
