"""The protocol implemented with JAX and optax: ``--impl jax`` (the optional extra ``[jax]``).

A second real implementation beside PyTorch's.  Gradients come from ``jax.vjp`` and ``jax.grad``,
Jacobians from ``jax.jacrev``, recurrences run through ``jax.lax.scan`` in PyTorch's gate
conventions, and the remedies are optax's and jax.nn's own: ``optax.clip_by_global_norm``,
``optax.clip``, ``optax.adaptive_grad_clip``, ``jax.nn.initializers``, optax's warmup schedules and
``optax.sgd``.  Nothing here computes a derivative by hand; where JAX or optax has no equivalent of
a protocol function (PyTorch's ``calculate_gain`` table, p-norm clipping for p ∉ {1, 2, ∞}, PyTorch's
TransformerEncoderLayer) the nearest library functions are composed, and docs/jax.md says so, with
every convention that had to be mapped (fan axes, AGC's unit axes, optax's momentum trace, the
warmup schedules' endpoints).

Everything runs in float64 (``jax_enable_x64``).  Speed: XLA compiles every computation for every
shape it meets (20–40 ms for one elementwise operation, 0.2–0.3 s for a scanned recurrence and its
backward pass), and a conformance run makes some 21,000 calls with thousands of distinct shapes and
depths, so compilation, not arithmetic, sets the pace.  Hence (docs/jax.md, "Speed"):

* the widths, batch axes, depths and sequence lengths of MLPs, residual MLPs and recurrences, the
  depth of Transformer stacks and the gradients' lengths are **zero-padded to powers of four** (not a
  Transformer's widths: that would change its softmax and LayerNorm).  A padded unit has zero weights
  in and out and its pre-activation is masked to 0, so it adds exact zeros to every real sum; padded
  layers and time steps come after the real ones and hold the state; the padding is sliced off every
  result;
* MLP layers, residual blocks, recurrences and Transformer stacks run through **lax.scan** inside one
  ``jax.jit`` per padded signature; clipping and SGD run **op by op** (``jax.disable_jit``), each
  primitive compiled once per padded shape and cached;
* the fixed-structure functions (LayerNorm, Transformer layers, policy gradients) are ``jax.jit``-
  compiled whole; the initialisers are jax.random's own jitted samplers.
"""

from __future__ import annotations

import functools
import math
from functools import partial

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")

import jax.numpy as jnp  # noqa: E402  (after enabling float64)
import numpy as np  # noqa: E402
import optax  # noqa: E402

_ACTIVATIONS = {
    "linear": lambda a: a,
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,  # its derivative at 0 is 0, as PyTorch's
    "sigmoid": jax.nn.sigmoid,
}


def _activation(name: str):
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)}") from None


def _f64(array) -> np.ndarray:
    return np.asarray(array, dtype=np.float64)


def _numpy(tree):
    """Every JAX array of a result as a writable numpy array (lists stay lists, tuples tuples)."""
    return jax.tree.map(lambda a: np.array(a), tree)


def _linear(h, W, b):
    """PyTorch's layout: h Wᵀ + b, W (out, in)."""
    return h @ W.T + b


# -- evaluation: shapes padded to powers of four --------------------------------------------------


def _eager(function):
    """Evaluate op by op (jax.disable_jit): each primitive compiled once per shape and dtype, and cached;
    used where a call is a handful of operations on tensors of any number and shape (clipping, SGD)."""
    @functools.wraps(function)
    def call(*args):
        with jax.disable_jit():
            return function(*args)
    return call


def _bucket(n: int) -> int:
    """The padded size of an axis of n: the power of four at or above it, at least 4 (4, 16, 64, …).
    Coarse on purpose: a compilation costs far more than the arithmetic on the padding."""
    size = 4
    while size < n:
        size *= 4
    return size


def _buckets(shape) -> tuple:
    return tuple(_bucket(n) for n in shape)


def _pad(array, shape, dtype=np.float64) -> np.ndarray:
    """``array`` with zeros appended along each axis up to ``shape``."""
    array = np.asarray(array, dtype=dtype)
    return np.pad(array, [(0, size - n) for n, size in zip(array.shape, shape)])


def _unpad(array, shape) -> np.ndarray:
    """The leading ``shape`` corner of a padded result, as a writable numpy array."""
    return np.array(np.asarray(array)[tuple(slice(0, n) for n in shape)])


def _pad_gates(array, gates: int, block_shape) -> np.ndarray:
    """PyTorch's stack of G gate blocks (G·H, …): each block padded to ``block_shape``, restacked."""
    array = _f64(array)
    blocks = _pad(array.reshape((gates, -1) + array.shape[1:]), (gates,) + tuple(block_shape))
    return blocks.reshape((gates * block_shape[0],) + tuple(block_shape[1:]))


def _unpad_gates(array, gates: int, block_shape) -> np.ndarray:
    array = np.asarray(array)
    blocks = _unpad(array.reshape((gates, -1) + array.shape[1:]), (gates,) + tuple(block_shape))
    return blocks.reshape((gates * block_shape[0],) + tuple(block_shape[1:]))


def _with_initial(state0, states):
    """state_0 stacked before states 1 … T (of every leaf of a pytree)."""
    return jax.tree.map(lambda s0, s: jnp.concatenate([s0[None], s]), state0, states)


# -- MLP: h_l = σ(h_{l-1} W_lᵀ + b_l) ----------------------------------------------------------


def _mlp_layers(x, weights, biases, units, depth, activation, taps):
    """lax.scan over the layers (stacked, padded to a common width and a power-of-four depth):
    a_l = h_{l-1} W_lᵀ + b_l, h_l = σ(a_l) + tap_l, the taps zeros whose cotangents are the total ∂L/∂h_l
    (the JAX idiom for intermediate gradients).  ``units`` masks each layer's real units: a padded
    unit's pre-activation is 0 whatever reaches it (also 0·inf once a real activation overflows), and
    a padded layer (l ≥ depth) holds the state."""
    sigma = _activation(activation)

    def layer(carry, inputs):
        l, h = carry
        W, b, real, tap = inputs
        a = jnp.where(real, _linear(h, W, b), 0.0)
        h = jnp.where(l < depth, sigma(a), h) + tap
        return (l + 1, h), (a, h)

    return jax.lax.scan(layer, (0, x), (weights, biases, units, taps))[1]


@partial(jax.jit, static_argnums=5)
def _mlp_forward(x, weights, biases, units, depth, activation):
    pre, hidden = _mlp_layers(x, weights, biases, units, depth, activation, jnp.zeros((len(weights),) + x.shape))
    return pre, _with_initial(x, hidden)


@partial(jax.jit, static_argnums=5)
def _mlp_backward(x, weights, biases, units, depth, activation, grad_output):
    def output(x, weights, biases, taps):
        return _mlp_layers(x, weights, biases, units, depth, activation, taps)[1][-1]  # h_L, held by padded layers
    _, vjp = jax.vjp(output, x, weights, biases, jnp.zeros((len(weights),) + x.shape))
    grad_x, grad_W, grad_b, grad_taps = vjp(grad_output)
    return _with_initial(grad_x, grad_taps), grad_W, grad_b


@partial(jax.jit, static_argnums=5)
def _mlp_layer_jacobians(x, weights, biases, units, depth, activation):
    """jax.jacrev of each layer h ↦ σ(W h + b) at the state it receives, vectorised over layers by vmap."""
    _, hidden = _mlp_layers(x, weights, biases, units, depth, activation, jnp.zeros((len(weights),) + x.shape))
    layer = lambda h, W, b, real: _activation(activation)(jnp.where(real, _linear(h, W, b), 0.0))
    return jax.vmap(jax.jacrev(layer))(_with_initial(x, hidden)[:-1], weights, biases, units)


class _PaddedMLP:
    """An MLP's arguments for _mlp_layers: every width padded to one power of four D, the batch axis too,
    the depth L to a power of four; the weights stacked (L_padded, D, D), the biases (L_padded, D)."""

    def __init__(self, x, weights, biases):
        self.lead = np.shape(x)[:-1]
        self.depth = len(weights)
        self.widths = [np.shape(x)[-1]] + [np.shape(W)[0] for W in weights]
        D, L = _bucket(max(self.widths)), _bucket(self.depth)
        self.lead_padded, self.width_padded = _buckets(self.lead), D
        self.x = self.pad_states(x)
        self.weights = np.zeros((L, D, D))
        self.biases = np.zeros((L, D))
        self.units = np.zeros((L, D), dtype=bool)
        for l, (W, b) in enumerate(zip(weights, biases)):
            self.weights[l, :self.widths[l + 1], :self.widths[l]] = W
            self.biases[l, :self.widths[l + 1]] = b
            self.units[l, :self.widths[l + 1]] = True

    def pad_states(self, array):
        return _pad(array, self.lead_padded + (self.width_padded,))

    def unpad_states(self, stacked, first):
        """Layers first … L of a stacked (L_padded + …, batch, D) result, each sliced to its width."""
        return [_unpad(stacked[l - first], self.lead + (self.widths[l],)) for l in range(first, self.depth + 1)]


def mlp_forward(x, weights, biases, activation):
    net = _PaddedMLP(x, weights, biases)
    pre, hidden = _mlp_forward(net.x, net.weights, net.biases, net.units, net.depth, activation)
    pre, hidden = np.asarray(pre), np.asarray(hidden)
    return net.unpad_states(pre, 1), net.unpad_states(hidden, 0)


def mlp_backward(x, weights, biases, activation, grad_output):
    net = _PaddedMLP(x, weights, biases)
    grad_hidden, grad_W, grad_b = _mlp_backward(net.x, net.weights, net.biases, net.units, net.depth, activation,
                                                net.pad_states(grad_output))
    grad_W, grad_b, w = np.asarray(grad_W), np.asarray(grad_b), net.widths
    return (net.unpad_states(np.asarray(grad_hidden), 0),
            [_unpad(grad_W[l], (w[l + 1], w[l])) for l in range(net.depth)],
            [_unpad(grad_b[l], (w[l + 1],)) for l in range(net.depth)])


def mlp_layer_jacobians(x, weights, biases, activation):
    net = _PaddedMLP(x, weights, biases)
    jacobians = np.asarray(_mlp_layer_jacobians(net.x, net.weights, net.biases, net.units, net.depth, activation))
    return [_unpad(jacobians[l], (net.widths[l + 1], net.widths[l])) for l in range(net.depth)]


# -- recurrent layers: PyTorch's cell equations, unrolled by jax.lax.scan ----------------------


# Each cell takes ``real``, the mask of real (unpadded) rows of the stacked gates: a padded unit's gate
# pre-activations are 0 whatever reaches them (see _mlp_layers).


def _rnn_cell(activation, real, x_t, h, W_ih, W_hh, b_ih, b_hh):
    """nn.RNN: h_t = σ(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)."""
    return _activation(activation)(jnp.where(real, _linear(x_t, W_ih, b_ih) + _linear(h, W_hh, b_hh), 0.0))


def _lstm_cell(real, x_t, h, c, W_ih, W_hh, b_ih, b_hh):
    """nn.LSTM, gates stacked (i, f, g, o): c_t = f ⊙ c + i ⊙ g, h_t = o ⊙ tanh(c_t)."""
    i, f, g, o = jnp.split(jnp.where(real, _linear(x_t, W_ih, b_ih) + _linear(h, W_hh, b_hh), 0.0), 4, axis=-1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    return jax.nn.sigmoid(o) * jnp.tanh(c), c


def _gru_gates(real, x_t, h, W_ih, W_hh, b_ih, b_hh):
    """nn.GRU, gates stacked (r, z, n), the reset gate applied after the recurrent matmul:
    r, z = σ(…), n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))."""
    i_r, i_z, i_n = jnp.split(jnp.where(real, _linear(x_t, W_ih, b_ih), 0.0), 3, axis=-1)
    h_r, h_z, h_n = jnp.split(jnp.where(real, _linear(h, W_hh, b_hh), 0.0), 3, axis=-1)
    r, z = jax.nn.sigmoid(i_r + h_r), jax.nn.sigmoid(i_z + h_z)
    return z, jnp.tanh(i_n + r * h_n)


def _gru_cell(real, x_t, h, W_ih, W_hh, b_ih, b_hh):
    z, n = _gru_gates(real, x_t, h, W_ih, W_hh, b_ih, b_hh)
    return (1 - z) * n + z * h


def _scan(cell, x, state0, length, taps=None):
    """The states after steps 1 … T_padded of lax.scan of state_t = cell(x_t, state_{t-1}) (+ tap_t: zeros
    whose cotangents are the total ∂L/∂h_t, as in _mlp).  Steps from ``length`` on are padding: they hold
    the state (so it cannot overflow there, and a zero cotangent meets only finite values)."""
    if taps is None:
        taps = jax.tree.map(lambda s: jnp.zeros((x.shape[0],) + s.shape), state0)

    def step(carry, inputs):
        t, state = carry
        x_t, tap = inputs
        new = jax.tree.map(lambda a, b, c: jnp.where(t < length, a, b) + c, cell(x_t, state), state, tap)
        return (t + 1, new), new

    return jax.lax.scan(step, (0, state0), (x, taps))[1]


def _step_jacobians(step, x, states):
    """jax.jacrev of state ↦ step(x_t, state) at every visited state, vectorised over t by jax.vmap."""
    return jax.vmap(jax.jacrev(step, argnums=1))(x, states)


class _PaddedRecurrence:
    """A recurrent layer's arguments zero-padded to powers of four: the sequence length, the batch axis,
    the input and hidden sizes, each of the G gate blocks of the weights on its own.  A padded hidden
    unit has zero weights in and out, so it stays at a constant (0 for the LSTM and GRU) and never reaches
    a real one; padded time steps come after the real ones and hold the state (_scan)."""

    def __init__(self, gates, x, states, W_ih, W_hh, b_ih, b_hh):
        self.gates = gates
        self.T, *lead, self.input_size = np.shape(x)
        self.lead, self.hidden_size = tuple(lead), np.shape(W_hh)[1]
        self.T_padded, self.lead_padded = _bucket(self.T), _buckets(self.lead)
        self.input_padded, self.hidden_padded = _bucket(self.input_size), _bucket(self.hidden_size)
        self.x = _pad(x, (self.T_padded,) + self.lead_padded + (self.input_padded,))
        self.states = [self.pad_states(s) for s in states]
        H, I = self.hidden_padded, self.input_padded
        self.params = (_pad_gates(W_ih, gates, (H, I)), _pad_gates(W_hh, gates, (H, H)),
                       _pad_gates(b_ih, gates, (H,)), _pad_gates(b_hh, gates, (H,)))
        self.units = np.tile(np.arange(H) < self.hidden_size, gates)

    def pad_states(self, array):
        """An array shaped like (batch, H), or (T, batch, H) (padded in time too)."""
        array = np.asarray(array)
        in_time = array.ndim > len(self.lead) + 1
        return _pad(array, ((self.T_padded,) if in_time else ()) + self.lead_padded + (self.hidden_padded,))

    def unpad_states(self, array, steps=0):
        """(batch, H) or, with ``steps``, (steps, batch, H)."""
        return _unpad(array, ((steps,) if steps else ()) + self.lead + (self.hidden_size,))

    def unpad_grad_x(self, array):
        return _unpad(array, (self.T,) + self.lead + (self.input_size,))

    def unpad_param_grads(self, grads):
        H, I, G = self.hidden_size, self.input_size, self.gates
        return (_unpad_gates(grads[0], G, (H, I)), _unpad_gates(grads[1], G, (H, H)),
                _unpad_gates(grads[2], G, (H,)), _unpad_gates(grads[3], G, (H,)))

    def unpad_step_jacobians(self, jacobians, blocks=1):
        """(T_padded, k·H_padded, k·H_padded) → (T, k·H, k·H), for k state blocks (h, c) in that order."""
        index = np.concatenate([block * self.hidden_padded + np.arange(self.hidden_size) for block in range(blocks)])
        return np.array(np.asarray(jacobians)[:self.T][:, index][:, :, index])


@partial(jax.jit, static_argnums=8)
def _rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, real, length, activation):
    cell = lambda x_t, h: _rnn_cell(activation, real, x_t, h, W_ih, W_hh, b_ih, b_hh)
    return _with_initial(h0, _scan(cell, x, h0, length))


@partial(jax.jit, static_argnums=8)
def _rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, real, length, activation, grad_output):
    def outputs(x, h0, params, taps):
        return _scan(lambda x_t, h: _rnn_cell(activation, real, x_t, h, *params), x, h0, length, taps)
    _, vjp = jax.vjp(outputs, x, h0, (W_ih, W_hh, b_ih, b_hh), jnp.zeros_like(grad_output))
    grad_x, grad_h0, grad_params, grad_taps = vjp(grad_output)
    return _with_initial(grad_h0, grad_taps), grad_x, grad_params


@partial(jax.jit, static_argnums=8)
def _rnn_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh, real, length, activation):
    step = lambda x_t, h: _rnn_cell(activation, real, x_t, h, W_ih, W_hh, b_ih, b_hh)
    states = _with_initial(h0, _scan(step, x, h0, length))
    return _step_jacobians(step, x, states[:-1])


def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, activation):
    net = _PaddedRecurrence(1, x, [h0], W_ih, W_hh, b_ih, b_hh)
    return net.unpad_states(_rnn_forward(net.x, *net.states, *net.params, net.units, net.T, activation), net.T + 1)


def rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, activation, grad_output):
    net = _PaddedRecurrence(1, x, [h0, grad_output], W_ih, W_hh, b_ih, b_hh)
    grad_hidden, grad_x, grad_params = _rnn_backward(net.x, net.states[0], *net.params, net.units, net.T, activation,
                                                     net.states[1])
    return (net.unpad_states(grad_hidden, net.T + 1), net.unpad_grad_x(grad_x), *net.unpad_param_grads(grad_params))


def rnn_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh, activation):
    net = _PaddedRecurrence(1, x, [h0], W_ih, W_hh, b_ih, b_hh)
    return net.unpad_step_jacobians(_rnn_step_jacobians(net.x, *net.states, *net.params, net.units, net.T, activation))


def _lstm_states(x, h0, c0, params, real, length):
    return _scan(lambda x_t, state: _lstm_cell(real, x_t, *state, *params), x, (h0, c0), length)


@jax.jit
def _lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, real, length):
    return _with_initial((h0, c0), _lstm_states(x, h0, c0, (W_ih, W_hh, b_ih, b_hh), real, length))


@jax.jit
def _lstm_backward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, real, length, grad_output, grad_cell):
    """L = Σ_t ⟨grad_output_t, h_t⟩ + ⟨grad_cell, c_T⟩: the vjp of (nn.LSTM's output, c_n); the padded
    steps hold c_T, so the last padded step's cell is c_T."""
    def outputs(x, h0, c0, params):
        hs, cs = _lstm_states(x, h0, c0, params, real, length)
        return hs, cs[-1]
    _, vjp = jax.vjp(outputs, x, h0, c0, (W_ih, W_hh, b_ih, b_hh))
    return vjp((grad_output, grad_cell))


@jax.jit
def _lstm_step_jacobians(x, h0, c0, W_ih, W_hh, b_ih, b_hh, real, length):
    params = (W_ih, W_hh, b_ih, b_hh)
    H = h0.shape[0]
    hs, cs = _with_initial((h0, c0), _lstm_states(x, h0, c0, params, real, length))
    hs, cs = hs[:-1], cs[:-1]
    full_step = lambda x_t, s: jnp.concatenate(_lstm_cell(real, x_t, s[:H], s[H:], *params))
    full = _step_jacobians(full_step, x, jnp.concatenate([hs, cs], axis=-1))
    # ∂c_t/∂c_{t-1} with h_{t-1} held fixed: the cell path alone
    direct = jax.vmap(jax.jacrev(lambda x_t, h, c: _lstm_cell(real, x_t, h, c, *params)[1], argnums=2))(x, hs, cs)
    return direct, full


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    net = _PaddedRecurrence(4, x, [h0, c0], W_ih, W_hh, b_ih, b_hh)
    hidden, cells = _lstm_forward(net.x, *net.states, *net.params, net.units, net.T)
    return net.unpad_states(hidden, net.T + 1), net.unpad_states(cells, net.T + 1)


def lstm_backward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, grad_output, grad_cell):
    net = _PaddedRecurrence(4, x, [h0, c0, grad_output, grad_cell], W_ih, W_hh, b_ih, b_hh)
    h0, c0, grad_output, grad_cell = net.states
    grad_x, grad_h0, grad_c0, grad_params = _lstm_backward(net.x, h0, c0, *net.params, net.units, net.T, grad_output,
                                                           grad_cell)
    return (net.unpad_grad_x(grad_x), net.unpad_states(grad_h0), net.unpad_states(grad_c0),
            *net.unpad_param_grads(grad_params))


def lstm_step_jacobians(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    net = _PaddedRecurrence(4, x, [h0, c0], W_ih, W_hh, b_ih, b_hh)
    direct, full = _lstm_step_jacobians(net.x, *net.states, *net.params, net.units, net.T)
    return net.unpad_step_jacobians(direct), net.unpad_step_jacobians(full, blocks=2)


@jax.jit
def _gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh, real, length):
    cell = lambda x_t, h: _gru_cell(real, x_t, h, W_ih, W_hh, b_ih, b_hh)
    return _with_initial(h0, _scan(cell, x, h0, length))


@jax.jit
def _gru_backward(x, h0, W_ih, W_hh, b_ih, b_hh, real, length, grad_output):
    def outputs(x, h0, params):
        return _scan(lambda x_t, h: _gru_cell(real, x_t, h, *params), x, h0, length)
    _, vjp = jax.vjp(outputs, x, h0, (W_ih, W_hh, b_ih, b_hh))
    return vjp(grad_output)


@jax.jit
def _gru_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh, real, length):
    params = (W_ih, W_hh, b_ih, b_hh)
    step = lambda x_t, h: _gru_cell(real, x_t, h, *params)
    states = _with_initial(h0, _scan(step, x, h0, length))[:-1]

    def gates_held_fixed(x_t, h):
        """h_t = (1 − z) ⊙ n + z ⊙ h_{t-1} with z and n as constants (lax.stop_gradient): the direct path."""
        z, n = jax.lax.stop_gradient(_gru_gates(real, x_t, h, *params))
        return (1 - z) * n + z * h

    return _step_jacobians(gates_held_fixed, x, states), _step_jacobians(step, x, states)


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    net = _PaddedRecurrence(3, x, [h0], W_ih, W_hh, b_ih, b_hh)
    return net.unpad_states(_gru_forward(net.x, *net.states, *net.params, net.units, net.T), net.T + 1)


def gru_backward(x, h0, W_ih, W_hh, b_ih, b_hh, grad_output):
    net = _PaddedRecurrence(3, x, [h0, grad_output], W_ih, W_hh, b_ih, b_hh)
    grad_x, grad_h0, grad_params = _gru_backward(net.x, net.states[0], *net.params, net.units, net.T, net.states[1])
    return (net.unpad_grad_x(grad_x), net.unpad_states(grad_h0), *net.unpad_param_grads(grad_params))


def gru_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh):
    net = _PaddedRecurrence(3, x, [h0], W_ih, W_hh, b_ih, b_hh)
    direct, full = _gru_step_jacobians(net.x, *net.states, *net.params, net.units, net.T)
    return net.unpad_step_jacobians(direct), net.unpad_step_jacobians(full)


# -- clipping: optax.clip_by_global_norm, optax.clip, optax.adaptive_grad_clip ---------------------


def _update(transformation, updates, params=None):
    """One optax GradientTransformation applied to ``updates`` (a pytree)."""
    state = transformation.init(updates if params is None else params)
    return transformation.update(updates, state, params)[0]


class _FlatGradients:
    """Gradients of any float dtype (float16/32/64, ml_dtypes.bfloat16), each flattened and zero-padded to a
    power-of-four length in its own dtype: norms, entrywise clipping and the SGD step are unchanged by
    zeros, and the padded entries are dropped from the results."""

    def __init__(self, grads, dtype=None):
        grads = [np.asarray(g) if dtype is None else np.asarray(g, dtype=dtype) for g in grads]
        self.shapes = [g.shape for g in grads]
        self.arrays = [jnp.asarray(_pad(g.ravel(), (_bucket(g.size),), g.dtype)) for g in grads]

    def unpad(self, arrays):
        return [np.array(np.asarray(a)[:math.prod(shape)].reshape(shape)) for a, shape in zip(arrays, self.shapes)]


@_eager
def clip_grad_norm(grads, max_norm, norm_type):
    """optax.clip_by_global_norm(max_norm) for norm_type 2, its total optax.tree.norm (the norm it clips by).
    Like optax it validates nothing: non-finite gradients and a max_norm ≤ 0 or NaN pass through.

    optax clips by the 2-norm only.  For another p the total is optax.tree.norm(ord=p) where optax has
    that ord (1, ∞), else jnp.linalg.vector_norm of the concatenation, and the clipping is
    clip_by_global_norm's own rule, select(total < max_norm, g, (g / total) · max_norm)."""
    flat = _FlatGradients(grads)
    g = flat.arrays
    if float(norm_type) == 2.0:
        return flat.unpad(_update(optax.clip_by_global_norm(max_norm), g)), float(optax.tree.norm(g))
    if float(norm_type) in (1.0, math.inf):
        total = optax.tree.norm(g, ord=float(norm_type))
    else:
        total = jnp.linalg.vector_norm(jnp.concatenate(g or [jnp.zeros(1)]), ord=float(norm_type))
    clipped = [jax.lax.select(total < max_norm, t, (t / total.astype(t.dtype)) * max_norm) for t in g]
    return flat.unpad(clipped), float(total)


@_eager
def clip_grad_value(grads, clip_value):
    """optax.clip(clip_value): each entry to [−c, c]."""
    flat = _FlatGradients(grads)
    return flat.unpad(_update(optax.clip(clip_value), flat.arrays))


@_eager
def adaptive_clip_grad(params, grads, clipping, eps):
    """optax.adaptive_grad_clip(clipping, eps, axis=1) on each tensor viewed as a (units, entries) matrix.

    optax's default unit axes assume JAX's layouts (a matrix (in, out) has its units in columns, a
    kernel (…, in, out) too) and take any tensor with a single axis longer than 1 as one unit, also a
    (n, 1) weight of n units.  PyTorch's units are the rows of (out, in, …): tensor i becomes
    (shape[0], ∏shape[1:]) (a vector or a scalar one row, one unit), zero-padded like the gradients
    (a padded unit is zero, below any threshold, and unchanged), and axis=1 names the entries of a unit."""
    clipped = []
    for p, g in zip(params, grads):
        p, g = np.asarray(p), np.asarray(g)
        units = (g.shape[0], -1) if g.ndim >= 2 else (1, -1)
        p2, g2 = p.reshape(units), g.reshape(units)
        padded = _buckets(g2.shape)
        out = _update(optax.adaptive_grad_clip(clipping, eps, axis=1), jnp.asarray(_pad(g2, padded, g.dtype)),
                      jnp.asarray(_pad(p2, padded, p.dtype)))
        clipped.append(_unpad(out, g2.shape).reshape(g.shape))
    return clipped


# -- initialisation: jax.nn.initializers in PyTorch's (out, in, kernel…) layout ---------------------


def calculate_gain(nonlinearity, param=None):
    """JAX has no gain table: jax.nn.initializers.variance_scaling takes the variance factor gain² as its
    ``scale`` (he_* use 2, glorot_*/lecun_* 1).  PyTorch's table (torch.nn.init.calculate_gain), transcribed."""
    if nonlinearity in ("linear", "sigmoid", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                        "conv_transpose2d", "conv_transpose3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


# PyTorch's layout (out, in, kernel…): fan_in = shape[1]·∏kernel, fan_out = shape[0]·∏kernel.  jax's
# variance_scaling defaults to (…, in, out) (in_axis=-2, out_axis=-1), so the axes are passed.
_TORCH_AXES = dict(in_axis=1, out_axis=0)


def _key(seed):
    return jax.random.key(int(seed))


def _initialised(initializer, shape, seed):
    return np.array(initializer(_key(seed), tuple(shape), jnp.float64))


def _variance_scaling(gain, mode, distribution):
    """variance_scaling(gain², mode, distribution): "normal" is jax's untruncated normal (torch's *_normal_);
    jax.nn.initializers.he_normal/glorot_normal/lecun_normal use "truncated_normal" instead."""
    return jax.nn.initializers.variance_scaling(gain**2, mode, distribution, **_TORCH_AXES)


def xavier_uniform(shape, gain, seed):
    return _initialised(_variance_scaling(gain, "fan_avg", "uniform"), shape, seed)


def xavier_normal(shape, gain, seed):
    return _initialised(_variance_scaling(gain, "fan_avg", "normal"), shape, seed)


def kaiming_uniform(shape, a, mode, nonlinearity, seed):
    return _initialised(_variance_scaling(calculate_gain(nonlinearity, a), mode, "uniform"), shape, seed)


def kaiming_normal(shape, a, mode, nonlinearity, seed):
    return _initialised(_variance_scaling(calculate_gain(nonlinearity, a), mode, "normal"), shape, seed)


def orthogonal(shape, gain, seed):
    """jax.nn.initializers.orthogonal(gain) of the (shape[0], ∏shape[1:]) matrix, PyTorch's flattening (jax's
    column_axis names one axis of columns and takes every other axis as rows), reshaped to ``shape``."""
    shape = tuple(shape)
    matrix = (shape[0], math.prod(shape[1:]))
    return _initialised(jax.nn.initializers.orthogonal(gain, column_axis=-1), matrix, seed).reshape(shape)


def normal(shape, std, seed):
    """jax.nn.initializers.normal(std): untruncated, mean 0."""
    return _initialised(jax.nn.initializers.normal(std), shape, seed)


# -- schedules and SGD: optax ----------------------------------------------------------------------


def _rates(schedule, num_steps):
    return np.array([float(schedule(t)) for t in range(num_steps)], dtype=np.float64)


def warmup_schedule(num_steps, peak_lr, warmup_steps):
    """optax.warmup_constant_schedule(peak/W, peak, W − 1): optax's warmup reaches the peak at step
    ``warmup_steps``, the spec's at W − 1 from peak/W at step 0, so optax is given W − 1 steps."""
    schedule = optax.warmup_constant_schedule(peak_lr / warmup_steps, peak_lr, warmup_steps - 1)
    return _rates(schedule, num_steps)


def warmup_cosine_schedule(num_steps, peak_lr, warmup_steps, final_lr):
    """optax.warmup_cosine_decay_schedule(peak/W, peak, W − 1, N − 1, final): its decay_steps counts the warmup
    too, so the cosine runs from the peak at step W − 1 to the final rate at step N − 1."""
    schedule = optax.warmup_cosine_decay_schedule(peak_lr / warmup_steps, peak_lr, warmup_steps - 1,
                                                  num_steps - 1, final_lr)
    return _rates(schedule, num_steps)


@_eager
def sgd_step(params, grads, velocities, lr, momentum):
    """One optax.sgd(lr, momentum) step applied with optax.apply_updates.  optax's momentum is a trace,
    v ← g + μ·v, and its update −lr·v: θ ← θ − lr·v, PyTorch's SGD without dampening.  The trace is set
    to the given velocities (optax.tree_utils.tree_set); with μ = 0 optax keeps no trace
    (momentum=None) and the velocity is the gradient.  Each tensor flattened and zero-padded as in
    clipping (a zero parameter with zero gradient and velocity stays zero)."""
    flat_params = _FlatGradients(params, np.float64)
    grads = _FlatGradients(grads, np.float64).arrays
    optimizer = optax.sgd(lr, momentum=momentum or None)
    state = optimizer.init(flat_params.arrays)
    if momentum:
        state = optax.tree_utils.tree_set(state, trace=_FlatGradients(velocities, np.float64).arrays)
    updates, state = optimizer.update(grads, state, flat_params.arrays)
    new_velocities = optax.tree_utils.tree_get(state, "trace") if momentum else grads
    return flat_params.unpad(optax.apply_updates(flat_params.arrays, updates)), flat_params.unpad(new_velocities)


# -- LayerNorm: jax.nn.standardize ---------------------------------------------------------------


def _layer_norm(x, gain, bias, eps):
    """g ⊙ standardize(x) + b over the last axis, jax.nn.standardize(algorithm="stable"): the two-pass
    variance mean((x − μ)²).  Its default, algorithm="fast", is mean(x²) − mean(x)² clipped at 0, which
    cancels catastrophically for inputs far from their mean (docs/jax.md measures it against the spec)."""
    return gain * jax.nn.standardize(x, axis=-1, epsilon=eps, algorithm="stable") + bias


@jax.jit
def _layer_norm_forward(x, gain, bias, eps):
    return _layer_norm(x, gain, bias, eps)


@jax.jit
def _layer_norm_backward(x, gain, bias, eps, grad_output):
    _, vjp = jax.vjp(lambda x, g, b: _layer_norm(x, g, b, eps), x, gain, bias)
    return vjp(grad_output)


@jax.jit
def _layer_norm_jacobian(x, gain, bias, eps):
    return jax.jacrev(_layer_norm)(x, gain, bias, eps)


def layer_norm_forward(x, gain, bias, eps=1e-5):
    return _numpy(_layer_norm_forward(_f64(x), _f64(gain), _f64(bias), float(eps)))


def layer_norm_backward(x, gain, bias, eps, grad_output):
    return _numpy(tuple(_layer_norm_backward(_f64(x), _f64(gain), _f64(bias), float(eps), _f64(grad_output))))


def layer_norm_jacobian(x, gain, bias, eps):
    return _numpy(_layer_norm_jacobian(_f64(x), _f64(gain), _f64(bias), float(eps)))


# -- residual MLPs: h_l = h_{l-1} + α_l (σ(h W1ᵀ + b1) W2ᵀ + b2) ---------------------------------


def _residual_block(h, branch, alpha, activation, real=(True, True)):
    """h + α (σ(h W1ᵀ + b1) W2ᵀ + b2); ``real`` masks the real branch units and coordinates (as in
    _mlp_layers, a padded one is 0 whatever reaches it)."""
    W1, b1, W2, b2 = branch
    units, coordinates = real
    z = jnp.where(units, _linear(h, W1, b1), 0.0)
    return h + alpha * jnp.where(coordinates, _linear(_activation(activation)(z), W2, b2), 0.0)


def _residual_blocks(x, branches, alphas, units, coordinates, depth, activation, taps):
    """lax.scan over the blocks (stacked, padded to a common branch width and a power-of-four depth):
    h_l = h_{l-1} + α_l F_l(h_{l-1}) + tap_l (taps as in _mlp_layers); padded blocks hold the state."""
    def block(carry, inputs):
        l, h = carry
        *branch, alpha, real, tap = inputs
        new = _residual_block(h, branch, alpha, activation, (real, coordinates))
        h = jnp.where(l < depth, new, h) + tap
        return (l + 1, h), h
    return jax.lax.scan(block, (0, x), (*branches, alphas, units, taps))[1]


@partial(jax.jit, static_argnums=6)
def _residual_forward(x, branches, alphas, units, coordinates, depth, activation):
    taps = jnp.zeros((len(alphas),) + x.shape)
    return _with_initial(x, _residual_blocks(x, branches, alphas, units, coordinates, depth, activation, taps))


@partial(jax.jit, static_argnums=6)
def _residual_backward(x, branches, alphas, units, coordinates, depth, activation, grad_output):
    def output(x, branches, taps):
        return _residual_blocks(x, branches, alphas, units, coordinates, depth, activation, taps)[-1]
    _, vjp = jax.vjp(output, x, branches, jnp.zeros((len(alphas),) + x.shape))
    grad_x, grad_branches, grad_taps = vjp(grad_output)
    return _with_initial(grad_x, grad_taps), grad_branches


@partial(jax.jit, static_argnums=6)
def _residual_block_jacobians(x, branches, alphas, units, coordinates, depth, activation):
    """jax.jacrev of each block h ↦ h + α F(h) at the state it receives, vectorised over blocks by vmap."""
    taps = jnp.zeros((len(alphas),) + x.shape)
    hidden = _with_initial(x, _residual_blocks(x, branches, alphas, units, coordinates, depth, activation, taps))
    block = lambda h, W1, b1, W2, b2, alpha, real: _residual_block(h, (W1, b1, W2, b2), alpha, activation,
                                                                   (real, coordinates))
    return jax.vmap(jax.jacrev(block))(hidden[:-1], *branches, alphas, units)


class _PaddedResidual:
    """A residual MLP's arguments for _residual_blocks: the width d, every branch width (to their largest)
    and the batch axis padded to powers of four, the depth too; branches stacked as (W1s, b1s, W2s, b2s)."""

    def __init__(self, x, branches, alphas):
        self.lead, self.width = np.shape(x)[:-1], np.shape(x)[-1]
        self.depth = len(branches)
        self.branch_widths = [np.shape(branch[0])[0] for branch in branches]
        self.lead_padded, d = _buckets(self.lead), _bucket(self.width)
        m, L = _bucket(max(self.branch_widths, default=1)), _bucket(self.depth)
        self.x = self.pad_states(x)
        self.branches = (np.zeros((L, m, d)), np.zeros((L, m)), np.zeros((L, d, m)), np.zeros((L, d)))
        self.alphas, self.units = np.zeros(L), np.zeros((L, m), dtype=bool)
        self.coordinates = np.arange(d) < self.width
        for l, (branch, alpha, width) in enumerate(zip(branches, alphas, self.branch_widths)):
            for stacked, p in zip(self.branches, branch):
                stacked[l][tuple(slice(0, n) for n in np.shape(p))] = p
            self.alphas[l], self.units[l, :width] = alpha, True

    def pad_states(self, array):
        return _pad(array, self.lead_padded + (_bucket(self.width),))

    def unpad_states(self, stacked):
        stacked = np.asarray(stacked)
        return [_unpad(stacked[l], self.lead + (self.width,)) for l in range(self.depth + 1)]

    def unpad_branch_grads(self, grads):
        grads, d = [np.asarray(g) for g in grads], self.width
        return [tuple(_unpad(g[l], shape) for g, shape in zip(grads, ((m, d), (m,), (d, m), (d,))))
                for l, m in enumerate(self.branch_widths)]

    def arguments(self):
        return self.x, self.branches, self.alphas, self.units, self.coordinates, self.depth


def residual_forward(x, branches, alphas, activation):
    net = _PaddedResidual(x, branches, alphas)
    return net.unpad_states(_residual_forward(*net.arguments(), activation))


def residual_backward(x, branches, alphas, activation, grad_output):
    net = _PaddedResidual(x, branches, alphas)
    grad_hidden, grad_branches = _residual_backward(*net.arguments(), activation, net.pad_states(grad_output))
    return net.unpad_states(grad_hidden), net.unpad_branch_grads(grad_branches)


def residual_block_jacobians(x, branches, alphas, activation):
    net = _PaddedResidual(x, branches, alphas)
    jacobians = np.asarray(_residual_block_jacobians(*net.arguments(), activation))
    return [_unpad(jacobians[l], (net.width, net.width)) for l in range(net.depth)]


# -- policy gradients: jax.grad of the log-likelihood objective -------------------------------------


def _categorical_log_probs(states, actions, W, b):
    """log π(a_i|s_i) of the softmax policy, by jax.nn.log_softmax."""
    log_probs = jax.nn.log_softmax(_linear(states, W, b), axis=-1)
    return jnp.take_along_axis(log_probs, actions[:, None], axis=-1)[:, 0]


# The batch of N samples is padded to a power of four (the spec draws N up to 300, each N a new compilation):
# padded samples have state 0, action 0 and advantage 0, so each adds an exact 0 to the sum, which is then
# divided by the real N (jnp.mean would divide by the padded one).


@jax.jit
def _softmax_policy_gradient(states, actions, advantages, W, b, n):
    objective = lambda W, b: jnp.sum(advantages * _categorical_log_probs(states, actions, W, b)) / n
    return jax.grad(objective, argnums=(0, 1))(W, b)


@jax.jit
def _gaussian_policy_gradient(states, actions, advantages, W, b, log_std, n):
    def objective(W, b, log_std):
        log_probs = jax.scipy.stats.norm.logpdf(actions, _linear(states, W, b), jnp.exp(log_std)).sum(axis=1)
        return jnp.sum(advantages * log_probs) / n
    return jax.grad(objective, argnums=(0, 1, 2))(W, b, log_std)


@jax.jit
def _normalise_advantages(advantages):
    return (advantages - jnp.mean(advantages)) / jnp.std(advantages)  # ddof = 0: the biased std


@jax.jit
def _ppo_clip_gradient(states, actions, advantages, old_log_probs, W, b, clip_eps, n):
    def objective(W, b):
        ratio = jnp.exp(_categorical_log_probs(states, actions, W, b) - old_log_probs)
        clipped = jnp.clip(ratio, 1 - clip_eps, 1 + clip_eps)
        return jnp.sum(jnp.minimum(ratio * advantages, clipped * advantages)) / n
    return jax.grad(objective, argnums=(0, 1))(W, b)


def _samples(*arrays, dtype=np.float64):
    """Each array with its first axis (the N samples) zero-padded to a power of four."""
    n = _bucket(len(arrays[0]))
    return [_pad(a, (n,) + np.shape(a)[1:], dtype) for a in arrays]


def softmax_policy_gradient(states, actions, advantages, W, b):
    n = float(len(advantages))
    (states, advantages), (actions,) = _samples(states, advantages), _samples(actions, dtype=np.int64)
    return _numpy(_softmax_policy_gradient(states, actions, advantages, _f64(W), _f64(b), n))


def gaussian_policy_gradient(states, actions, advantages, W, b, log_std):
    n = float(len(advantages))
    return _numpy(_gaussian_policy_gradient(*_samples(states, actions, advantages), _f64(W), _f64(b), _f64(log_std), n))


def normalise_advantages(advantages):
    return _numpy(_normalise_advantages(_f64(advantages)))


def ppo_clip_gradient(states, actions, advantages, old_log_probs, W, b, clip_eps):
    n = float(len(advantages))
    states, advantages, old_log_probs = _samples(states, advantages, old_log_probs)
    (actions,) = _samples(actions, dtype=np.int64)
    return _numpy(_ppo_clip_gradient(states, actions, advantages, old_log_probs, _f64(W), _f64(b), float(clip_eps), n))


# -- Transformer encoder layers: PyTorch's TransformerEncoderLayer from jax.nn parts -------------------
# JAX has no TransformerEncoderLayer: it is composed as PyTorch composes it (dropout 0, relu, LayerNorm
# ε = 1e-5), attention by jax.nn.softmax, LayerNorm by _layer_norm, with PyTorch's state_dict names and
# layout; a stack's layers run through lax.scan, everything jit-compiled once per (padded) shape signature.

_LN_EPS = 1e-5


def _self_attention(z, p, nhead):
    batch, seq, d = z.shape
    q, k, v = jnp.split(_linear(z, p["self_attn.in_proj_weight"], p["self_attn.in_proj_bias"]), 3, axis=-1)
    q, k, v = (t.reshape(batch, seq, nhead, d // nhead) for t in (q, k, v))
    # softmax(q kᵀ/√d_head) v per head, by jax.nn.softmax: jax.nn.dot_product_attention computes the same
    # but always softmaxes in float32, even for float64 inputs (docs/jax.md)
    scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(d // nhead)
    attended = jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(scores, axis=-1), v).reshape(batch, seq, d)
    return _linear(attended, p["self_attn.out_proj.weight"], p["self_attn.out_proj.bias"])


def _feedforward(z, p):
    return _linear(jax.nn.relu(_linear(z, p["linear1.weight"], p["linear1.bias"])), p["linear2.weight"],
                   p["linear2.bias"])


def _norm(z, p, name):
    return _layer_norm(z, p[f"{name}.weight"], p[f"{name}.bias"], _LN_EPS)


def _blocks(p, nhead, norm_first):
    """The layer's two residual blocks, x ↦ u and u ↦ y."""
    if norm_first:
        return (lambda z: z + _self_attention(_norm(z, p, "norm1"), p, nhead),
                lambda z: z + _feedforward(_norm(z, p, "norm2"), p))
    return (lambda z: _norm(z + _self_attention(z, p, nhead), p, "norm1"),
            lambda z: _norm(z + _feedforward(z, p), p, "norm2"))


def _encoder_layer(x, p, nhead, norm_first):
    attention, feedforward = _blocks(p, nhead, norm_first)
    return feedforward(attention(x))


def _stack(x, layers, final_norm, depth, nhead, norm_first, taps):
    """lax.scan over the layers, their parameters stacked (a power-of-four depth, padded layers holding
    the state), then the final LayerNorm if any: (h_0 … h_L_padded, output)."""
    def layer(carry, inputs):
        l, h = carry
        params, tap = inputs
        h = jnp.where(l < depth, _encoder_layer(h, params, nhead, norm_first), h) + tap
        return (l + 1, h), h
    hidden = _with_initial(x, jax.lax.scan(layer, (0, x), (layers, taps))[1])
    if final_norm is None:
        return hidden, hidden[-1]
    return hidden, _layer_norm(hidden[-1], final_norm["weight"], final_norm["bias"], _LN_EPS)


@partial(jax.jit, static_argnums=(2, 3))
def _transformer_layer_forward(x, params, nhead, norm_first):
    return _encoder_layer(x, params, nhead, norm_first)


@partial(jax.jit, static_argnums=(2, 3))
def _transformer_layer_backward(x, params, nhead, norm_first, grad_output):
    _, vjp = jax.vjp(lambda x, p: _encoder_layer(x, p, nhead, norm_first), x, params)
    return vjp(grad_output)


@partial(jax.jit, static_argnums=(4, 5))
def _transformer_stack_forward(x, layers, final_norm, depth, nhead, norm_first):
    taps = jnp.zeros((len(layers["linear1.bias"]),) + x.shape)
    return _stack(x, layers, final_norm, depth, nhead, norm_first, taps)


@partial(jax.jit, static_argnums=(4, 5))
def _transformer_stack_backward(x, layers, final_norm, depth, nhead, norm_first, grad_output):
    function = lambda x, layers, final_norm, taps: _stack(x, layers, final_norm, depth, nhead, norm_first, taps)[1]
    _, vjp = jax.vjp(function, x, layers, final_norm, jnp.zeros((len(layers["linear1.bias"]),) + x.shape))
    grad_x, grad_layers, grad_final, grad_taps = vjp(grad_output)
    return _with_initial(grad_x, grad_taps), grad_layers, grad_final


@partial(jax.jit, static_argnums=(2, 3))
def _transformer_block_jacobians(x, params, nhead, norm_first):
    attention, feedforward = _blocks(params, nhead, norm_first)
    n = x.size
    x = x[None]
    return (jax.jacrev(attention)(x).reshape(n, n), jax.jacrev(feedforward)(attention(x)).reshape(n, n))


# Padding (a new feed-forward width f or batch size would be a new compilation): f to a power of four with
# zero units (zero rows of linear1, zero columns of linear2: relu(0) = 0, so each adds an exact 0), and the
# batch with zero sequences, whose zero output gradients add exact zeros to every parameter gradient.  The
# width d (LayerNorm averages over it), the heads and the sequence length (softmax over it) are not padded.

_FEEDFORWARD_AXIS = {"linear1.weight": 0, "linear1.bias": 0, "linear2.weight": 1}


def _params(params, f=None, leading=0):
    """float64 parameters; the feed-forward width padded to f (``leading``: axes before a parameter's own)."""
    out = {name: _f64(value) for name, value in params.items()}
    for name, axis in _FEEDFORWARD_AXIS.items():
        if f is not None and name in out:
            shape = list(out[name].shape)
            shape[leading + axis] = f
            out[name] = _pad(out[name], shape)
    return out


def _unpad_params(grads, f, leading=0):
    """The gradients of the real parameters: the first f feed-forward units."""
    out = {}
    for name, g in grads.items():
        g = np.asarray(g)
        if name in _FEEDFORWARD_AXIS:
            index = [slice(None)] * g.ndim
            index[leading + _FEEDFORWARD_AXIS[name]] = slice(0, f)
            g = g[tuple(index)]
        out[name] = np.array(g)
    return out


def _width(params):
    return int(np.shape(params["linear1.bias"])[0])


def _batch(x):
    x = _f64(x)
    return _pad(x, (_bucket(x.shape[0]),) + x.shape[1:])


def _final(final_norm):
    return None if final_norm is None else _params(final_norm)


def _stacked_layers(layers):
    """Each parameter of the layers stacked, zero layers appended up to a power-of-four depth."""
    depth, f = _bucket(len(layers)), _bucket(_width(layers[0]))
    padded = [_params(p, f) for p in layers]
    return {name: _pad(np.stack([p[name] for p in padded]), (depth,) + padded[0][name].shape) for name in padded[0]}


def transformer_layer_forward(x, params, nhead, norm_first):
    out = _transformer_layer_forward(_batch(x), _params(params, _bucket(_width(params))), int(nhead), bool(norm_first))
    return np.array(out[:len(x)])


def transformer_layer_backward(x, params, nhead, norm_first, grad_output):
    f = _width(params)
    grad_x, grad_params = _transformer_layer_backward(_batch(x), _params(params, _bucket(f)), int(nhead),
                                                      bool(norm_first), _batch(grad_output))
    return np.array(grad_x[:len(x)]), _unpad_params(grad_params, f)


def transformer_stack_forward(x, layers, final_norm, nhead, norm_first):
    hidden, output = _transformer_stack_forward(_batch(x), _stacked_layers(layers), _final(final_norm), len(layers),
                                                int(nhead), bool(norm_first))
    return np.array(hidden[:len(layers) + 1, :len(x)]), np.array(output[:len(x)])


def transformer_stack_backward(x, layers, final_norm, nhead, norm_first, grad_output):
    grad_hidden, grad_layers, grad_final = _transformer_stack_backward(
        _batch(x), _stacked_layers(layers), _final(final_norm), len(layers), int(nhead), bool(norm_first),
        _batch(grad_output))
    grad_layers = _unpad_params(grad_layers, _width(layers[0]), leading=1)
    per_layer = [{name: np.array(g[l]) for name, g in grad_layers.items()} for l in range(len(layers))]
    return np.array(grad_hidden[:len(layers) + 1, :len(x)]), per_layer, _numpy(grad_final)


def transformer_block_jacobians(x, params, nhead, norm_first):
    return _numpy(_transformer_block_jacobians(_f64(x), _params(params, _bucket(_width(params))), int(nhead),
                                               bool(norm_first)))
