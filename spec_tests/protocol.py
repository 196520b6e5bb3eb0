"""The protocol as types, for implementation authors: every function an implementation under test may
provide, its parameters (names and order: the spec calls them positionally, in this order) and the
structure of what it returns.  docs/protocol.md states the maths; templates/student.py is the same list
as stubs.  tests/test_protocol_types.py keeps the three, and the boundary spec_tests/iut.py, in sync.

Check an implementation module with a type checker, for example::

    import my_impl
    from spec_tests.protocol import GradientImplementation
    implementation: GradientImplementation = my_impl  # mypy/pyright name any function that differs

A module need not provide every function: a claim whose functions are missing is skipped.  Arrays are
float64 numpy arrays (``Array``); the named tuples below give the fields of structured results, but a
plain tuple in the same order is accepted.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, Sequence

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
Arrays = list[Array]
Branch = tuple[Array, Array, Array, Array]  # (W1, b1, W2, b2) of one residual block
ParameterDict = dict[str, Array]  # a transformer layer's parameters by their torch state_dict names


class MLPForward(NamedTuple):
    pre_activations: Arrays  # a_1 … a_L, each (batch, width_l)
    hidden_states: Arrays  # h_0 … h_L


class MLPGradients(NamedTuple):
    hidden: Arrays  # ∂L/∂h_0 … ∂L/∂h_L
    weights: Arrays
    biases: Arrays


class RNNGradients(NamedTuple):
    hidden: Array  # total ∂L/∂h_t, t = 0 … T: (T + 1, batch, hidden)
    inputs: Array
    W_ih: Array
    W_hh: Array
    b_ih: Array
    b_hh: Array


class LSTMForward(NamedTuple):
    hidden: Array  # h_0 … h_T: (T + 1, batch, hidden)
    cells: Array  # c_0 … c_T


class LSTMGradients(NamedTuple):
    inputs: Array
    h0: Array
    c0: Array
    W_ih: Array
    W_hh: Array
    b_ih: Array
    b_hh: Array


class GRUGradients(NamedTuple):
    inputs: Array
    h0: Array
    W_ih: Array
    W_hh: Array
    b_ih: Array
    b_hh: Array


class StepJacobians(NamedTuple):
    direct: Array  # ∂h_t/∂h_{t−1} through the hidden path only
    full: Array  # of the whole state (LSTM: (h, c))


class ClippedByNorm(NamedTuple):
    clipped: Arrays
    total_norm: float  # ||g|| before clipping


class SGDStep(NamedTuple):
    params: Arrays
    velocities: Arrays


class ResidualGradients(NamedTuple):
    hidden: Arrays  # ∂L/∂h_0 … ∂L/∂h_L
    branches: list[Branch]  # (∂W1, ∂b1, ∂W2, ∂b2) per block


class LayerNormGradients(NamedTuple):
    x: Array
    gain: Array
    bias: Array


class SoftmaxPolicyGradient(NamedTuple):
    W: Array
    b: Array


class GaussianPolicyGradient(NamedTuple):
    W: Array
    b: Array
    log_std: Array


class TransformerStackForward(NamedTuple):
    hidden: Array  # h_0 … h_L: (L + 1, batch, seq, d)
    output: Array  # after the final norm, when there is one


class TransformerLayerGradients(NamedTuple):
    inputs: Array
    params: ParameterDict


class TransformerStackGradients(NamedTuple):
    hidden: Array
    layers: list[ParameterDict]
    final_norm: ParameterDict | None


class TransformerBlockJacobians(NamedTuple):
    attention: Array  # (seq·d, seq·d), token-major
    feedforward: Array


# reached through Implementation.initialise(scheme, shape, **options) at the boundary
INITIALISERS = ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "normal")


class GradientImplementation(Protocol):
    """Every protocol function (docs/protocol.md), with its definition claim."""

    # deep networks (docs/depth.md)
    def mlp_forward(self, x: Array, weights: Arrays, biases: Arrays, activation: str) -> MLPForward: ...  # P1
    def mlp_backward(self, x: Array, weights: Arrays, biases: Arrays, activation: str,
                     grad_output: Array) -> MLPGradients: ...  # P2
    def mlp_layer_jacobians(self, x: Array, weights: Arrays, biases: Arrays, activation: str) -> Arrays: ...

    # recurrence (docs/recurrence.md)
    def rnn_forward(self, x: Array, h0: Array, W_ih: Array, W_hh: Array, b_ih: Array, b_hh: Array,
                    activation: str) -> Array: ...
    def rnn_backward(self, x: Array, h0: Array, W_ih: Array, W_hh: Array, b_ih: Array, b_hh: Array,
                     activation: str, grad_output: Array) -> RNNGradients: ...
    def rnn_step_jacobians(self, x: Array, h0: Array, W_ih: Array, W_hh: Array, b_ih: Array, b_hh: Array,
                           activation: str) -> Array: ...
    def lstm_forward(self, x: Array, h0: Array, c0: Array, W_ih: Array, W_hh: Array, b_ih: Array,
                     b_hh: Array) -> LSTMForward: ...
    def lstm_backward(self, x: Array, h0: Array, c0: Array, W_ih: Array, W_hh: Array, b_ih: Array, b_hh: Array,
                      grad_output: Array, grad_cell: Array) -> LSTMGradients: ...
    def lstm_step_jacobians(self, x: Array, h0: Array, c0: Array, W_ih: Array, W_hh: Array, b_ih: Array,
                            b_hh: Array) -> StepJacobians: ...
    def gru_forward(self, x: Array, h0: Array, W_ih: Array, W_hh: Array, b_ih: Array, b_hh: Array) -> Array: ...
    def gru_backward(self, x: Array, h0: Array, W_ih: Array, W_hh: Array, b_ih: Array, b_hh: Array,
                     grad_output: Array) -> GRUGradients: ...
    def gru_step_jacobians(self, x: Array, h0: Array, W_ih: Array, W_hh: Array, b_ih: Array,
                           b_hh: Array) -> StepJacobians: ...

    # clipping (docs/clipping.md)
    def clip_grad_norm(self, grads: Arrays, max_norm: float, norm_type: float) -> ClippedByNorm: ...
    def clip_grad_value(self, grads: Arrays, clip_value: float) -> Arrays: ...
    def adaptive_clip_grad(self, params: Arrays, grads: Arrays, clipping: float, eps: float) -> Arrays: ...

    # initialisation (docs/initialisation.md): each returns a float64 array of `shape`, drawn from `seed`
    def calculate_gain(self, nonlinearity: str, param: float | None) -> float: ...
    def xavier_uniform(self, shape: tuple[int, ...], gain: float, seed: int) -> Array: ...
    def xavier_normal(self, shape: tuple[int, ...], gain: float, seed: int) -> Array: ...
    def kaiming_uniform(self, shape: tuple[int, ...], a: float, mode: str, nonlinearity: str, seed: int) -> Array: ...
    def kaiming_normal(self, shape: tuple[int, ...], a: float, mode: str, nonlinearity: str, seed: int) -> Array: ...
    def orthogonal(self, shape: tuple[int, ...], gain: float, seed: int) -> Array: ...
    def normal(self, shape: tuple[int, ...], std: float, seed: int) -> Array: ...

    # warm-up (docs/warmup.md)
    def warmup_schedule(self, num_steps: int, peak_lr: float, warmup_steps: int) -> Array: ...
    def warmup_cosine_schedule(self, num_steps: int, peak_lr: float, warmup_steps: int,
                               final_lr: float) -> Array: ...
    def sgd_step(self, params: Arrays, grads: Arrays, velocities: Arrays, lr: float, momentum: float) -> SGDStep: ...

    # residual networks (docs/residual.md)
    def residual_forward(self, x: Array, branches: Sequence[Branch], alphas: Sequence[float],
                         activation: str) -> Arrays: ...
    def residual_backward(self, x: Array, branches: Sequence[Branch], alphas: Sequence[float], activation: str,
                          grad_output: Array) -> ResidualGradients: ...
    def residual_block_jacobians(self, x: Array, branches: Sequence[Branch], alphas: Sequence[float],
                                 activation: str) -> Arrays: ...

    # normalisation (docs/normalisation.md)
    def layer_norm_forward(self, x: Array, gain: Array, bias: Array, eps: float) -> Array: ...
    def layer_norm_backward(self, x: Array, gain: Array, bias: Array, eps: float,
                            grad_output: Array) -> LayerNormGradients: ...
    def layer_norm_jacobian(self, x: Array, gain: Array, bias: Array, eps: float) -> Array: ...

    # policy gradients (docs/policy_gradients.md)
    def softmax_policy_gradient(self, states: Array, actions: Array, advantages: Array, W: Array,
                                b: Array) -> SoftmaxPolicyGradient: ...
    def gaussian_policy_gradient(self, states: Array, actions: Array, advantages: Array, W: Array, b: Array,
                                 log_std: Array) -> GaussianPolicyGradient: ...
    def normalise_advantages(self, advantages: Array) -> Array: ...
    def ppo_clip_gradient(self, states: Array, actions: Array, advantages: Array, old_log_probs: Array, W: Array,
                          b: Array, clip_eps: float) -> SoftmaxPolicyGradient: ...

    # transformers (docs/protocol.md)
    def transformer_layer_forward(self, x: Array, params: ParameterDict, nhead: int, norm_first: bool) -> Array: ...
    def transformer_stack_forward(self, x: Array, layers: Sequence[ParameterDict], final_norm: ParameterDict | None,
                                  nhead: int, norm_first: bool) -> TransformerStackForward: ...
    def transformer_layer_backward(self, x: Array, params: ParameterDict, nhead: int, norm_first: bool,
                                   grad_output: Array) -> TransformerLayerGradients: ...
    def transformer_stack_backward(self, x: Array, layers: Sequence[ParameterDict], final_norm: ParameterDict | None,
                                   nhead: int, norm_first: bool, grad_output: Array) -> TransformerStackGradients: ...
    def transformer_block_jacobians(self, x: Array, params: ParameterDict, nhead: int,
                                    norm_first: bool) -> TransformerBlockJacobians: ...


def protocol_functions() -> dict[str, tuple[str, ...]]:
    """{function: its parameter names, in order}, from GradientImplementation."""
    import inspect

    return {name: tuple(inspect.signature(fn).parameters)[1:]
            for name, fn in vars(GradientImplementation).items()
            if inspect.isfunction(fn) and not name.startswith("_")}

