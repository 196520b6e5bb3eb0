"""Elementwise activations σ and their derivatives σ'.

Each entry also records γ = sup |σ'|, the constant in Pascanu et al. (2013)'s
bound ||diag(σ'(a)) W|| ≤ γ ||W||.  The derivative of relu at 0 is taken as 0,
as PyTorch does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .validation import check_choice


def _sigmoid(a: np.ndarray) -> np.ndarray:
    """σ(a) = 1 / (1 + e^{-a}), evaluated without overflow for either sign of a."""
    z = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


@dataclass(frozen=True)
class Activation:
    name: str
    function: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]


ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation("linear", lambda a: a, np.ones_like),
    "tanh": Activation("tanh", np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),
    "relu": Activation(
        "relu", lambda a: np.maximum(a, 0.0), lambda a: (a > 0).astype(a.dtype)
    ),
    "sigmoid": Activation(
        "sigmoid", _sigmoid, lambda a: _sigmoid(a) * (1.0 - _sigmoid(a))
    ),
}


def get_activation(name: str) -> Activation:
    """Look up an activation by name; a clear ValueError lists the known ones."""
    return ACTIVATIONS[check_choice(name, "activation", ACTIVATIONS)]
