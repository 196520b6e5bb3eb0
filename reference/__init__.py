"""The numpy reference implementation of the specification.

Functions of the implementation protocol (docs/protocol.md), which the spec
checks on any implementation:

    mlp_forward, mlp_backward, mlp_layer_jacobians
    rnn_forward, rnn_backward, rnn_step_jacobians
    lstm_forward, lstm_backward, lstm_step_jacobians
    gru_forward, gru_backward, gru_step_jacobians

Helpers used by the docs, figures and benchmarks:

    end_to_end_jacobian, singular_values, largest_singular_value,
    smallest_singular_value, spectral_radius, per_layer_gradient_norms
"""

from .activations import ACTIVATIONS, get_activation
from .gated import (
    GRUGradients,
    LSTMForward,
    LSTMGradients,
    StepJacobians,
    gru_backward,
    gru_forward,
    gru_step_jacobians,
    lstm_backward,
    lstm_forward,
    lstm_step_jacobians,
)
from .mlp import (
    MLPForward,
    MLPGradients,
    end_to_end_jacobian,
    mlp_backward,
    mlp_forward,
    mlp_layer_jacobians,
)
from .rnn import RNNForward, RNNGradients, rnn_backward, rnn_forward, rnn_step_jacobians
from .spectra import (
    per_layer_gradient_norms,
    largest_singular_value,
    singular_values,
    smallest_singular_value,
    spectral_radius,
)

__all__ = [
    "ACTIVATIONS",
    "GRUGradients",
    "LSTMForward",
    "LSTMGradients",
    "RNNForward",
    "RNNGradients",
    "StepJacobians",
    "gru_backward",
    "gru_forward",
    "gru_step_jacobians",
    "lstm_backward",
    "lstm_forward",
    "lstm_step_jacobians",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_jacobians",
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
