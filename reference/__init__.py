"""The numpy reference implementation of the specification.

Functions of the implementation protocol (docs/protocol.md), which the spec
checks on any implementation:

    mlp_forward, mlp_backward, mlp_layer_jacobians

Helpers used by the docs, figures and benchmarks:

    end_to_end_jacobian, singular_values, largest_singular_value,
    smallest_singular_value, spectral_radius, per_layer_gradient_norms
"""

from .activations import ACTIVATIONS, get_activation
from .mlp import (
    MLPForward,
    MLPGradients,
    end_to_end_jacobian,
    mlp_backward,
    mlp_forward,
    mlp_layer_jacobians,
)
from .spectra import (
    per_layer_gradient_norms,
    largest_singular_value,
    singular_values,
    smallest_singular_value,
    spectral_radius,
)

__all__ = [
    "ACTIVATIONS",
    "MLPForward",
    "MLPGradients",
    "end_to_end_jacobian",
    "get_activation",
    "largest_singular_value",
    "mlp_backward",
    "mlp_forward",
    "mlp_layer_jacobians",
    "per_layer_gradient_norms",
    "singular_values",
    "smallest_singular_value",
    "spectral_radius",
]
