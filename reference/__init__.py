"""The numpy reference implementation of the specification.

Functions of the implementation protocol (docs/protocol.md), which the spec
checks on any implementation:

    mlp_forward, mlp_backward, mlp_layer_jacobians
    rnn_forward, rnn_backward, rnn_step_jacobians
    lstm_forward, lstm_backward, lstm_step_jacobians
    gru_forward, gru_backward, gru_step_jacobians
    clip_grad_norm, clip_grad_value, adaptive_clip_grad
    calculate_gain, xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal, orthogonal, normal
    warmup_schedule, warmup_cosine_schedule, sgd_step
    residual_forward, residual_backward, residual_block_jacobians
    softmax_policy_gradient, gaussian_policy_gradient, normalise_advantages, ppo_clip_gradient
    layer_norm_forward, layer_norm_backward, layer_norm_jacobian
    transformer_layer_forward, transformer_layer_backward, transformer_stack_forward,
    transformer_stack_backward, transformer_block_jacobians

Helpers used by the docs, figures and benchmarks:

    end_to_end_jacobian, singular_values, largest_singular_value,
    smallest_singular_value, spectral_radius, per_layer_gradient_norms
"""

from .activations import ACTIVATIONS, get_activation
from .clipping import adaptive_clip_grad, clip_grad_norm, clip_grad_norm_, clip_grad_value, global_norm
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
from .initialisation import (
    calculate_gain,
    fans,
    kaiming_normal,
    kaiming_uniform,
    normal,
    orthogonal,
    xavier_normal,
    xavier_uniform,
)
from .layernorm import layer_norm_backward, layer_norm_forward, layer_norm_jacobian
from .mlp import (
    MLPForward,
    MLPGradients,
    end_to_end_jacobian,
    mlp_backward,
    mlp_forward,
    mlp_layer_jacobians,
)
from .policy_gradient import (
    gaussian_policy_gradient,
    normalise_advantages,
    ppo_clip_gradient,
    softmax_policy_gradient,
)
from .residual import (
    RESIDUAL_INITS,
    ResidualGradients,
    residual_backward,
    residual_block_jacobians,
    residual_forward,
    residual_init,
)
from .rnn import RNNForward, RNNGradients, rnn_backward, rnn_forward, rnn_step_jacobians
from .schedules import sgd_step, warmup_cosine_schedule, warmup_schedule
from .spectra import (
    largest_singular_value,
    per_layer_gradient_norms,
    singular_values,
    smallest_singular_value,
    spectral_radius,
)
from .transformer import (
    transformer_block_jacobians,
    transformer_layer_backward,
    transformer_layer_forward,
    transformer_stack_backward,
    transformer_stack_forward,
)

__all__ = [
    "transformer_block_jacobians",
    "transformer_layer_backward",
    "transformer_layer_forward",
    "transformer_stack_backward",
    "transformer_stack_forward",
    "RESIDUAL_INITS",
    "ResidualGradients",
    "residual_backward",
    "residual_block_jacobians",
    "residual_forward",
    "residual_init",
    "ACTIVATIONS",
    "adaptive_clip_grad",
    "calculate_gain",
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value",
    "fans",
    "global_norm",
    "kaiming_normal",
    "kaiming_uniform",
    "normal",
    "orthogonal",
    "sgd_step",
    "layer_norm_backward",
    "layer_norm_forward",
    "layer_norm_jacobian",
    "softmax_policy_gradient",
    "gaussian_policy_gradient",
    "normalise_advantages",
    "ppo_clip_gradient",
    "warmup_cosine_schedule",
    "warmup_schedule",
    "xavier_normal",
    "xavier_uniform",
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
