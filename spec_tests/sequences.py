"""Recurrent cases the spec feeds to implementations, and their strategies.

As in spec_tests/networks.py, each case is a frozen dataclass whose repr rebuilds
it; ``build()`` returns the arrays, time-first, in PyTorch's gate-stacked layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st

from spec_tests.networks import ACTIVATION_NAMES, random_orthogonal, seeds

GATES = {"rnn": 1, "gru": 3, "lstm": 4}


class Recurrence(NamedTuple):
    activation: str  # for a vanilla RNN; LSTM and GRU fix their own
    x: np.ndarray  # (T, batch, input)
    h0: np.ndarray  # (batch, hidden)
    c0: np.ndarray | None  # (batch, hidden) for an LSTM
    W_ih: np.ndarray  # (gates·hidden, input)
    W_hh: np.ndarray  # (gates·hidden, hidden)
    b_ih: np.ndarray
    b_hh: np.ndarray
    grad_output: np.ndarray  # ∂L/∂h_t for t = 1..T: (T, batch, hidden)
    grad_cell: np.ndarray | None  # ∂L/∂c_T for an LSTM

    @property
    def steps(self) -> int:
        return self.x.shape[0]

    @property
    def hidden_size(self) -> int:
        return self.W_hh.shape[1]

    def weights(self) -> tuple:
        return self.W_ih, self.W_hh, self.b_ih, self.b_hh

    def single(self, example: int = 0) -> "Recurrence":
        """The same recurrence for one example, unbatched, as the step-Jacobian functions take it."""
        c0 = None if self.c0 is None else self.c0[example]
        return self._replace(x=self.x[:, example], h0=self.h0[example], c0=c0)

    def replicated(self, copies: int) -> "Recurrence":
        """Example 0 repeated `copies` times along the batch."""
        rep = lambda a, axis: None if a is None else np.repeat(a[(slice(None),) * axis + (slice(0, 1),)], copies, axis=axis)
        return self._replace(x=rep(self.x, 1), h0=rep(self.h0, 0), c0=rep(self.c0, 0),
                             grad_output=rep(self.grad_output, 1), grad_cell=rep(self.grad_cell, 0))


@dataclass(frozen=True)
class RandomRecurrence:
    """kind 'rnn', 'lstm' or 'gru'; recurrent weights N(0, recurrent_scale²/hidden), input weights
    N(0, 1/input), biases N(0, bias_scale²), inputs and initial states N(0, 1)."""

    kind: str
    seed: int
    steps: int
    hidden: int
    inputs: int = 2
    batch: int = 1
    recurrent_scale: float = 1.0
    bias_scale: float = 0.5
    activation: str = "tanh"

    def build(self) -> Recurrence:
        rng = np.random.default_rng(self.seed)
        G, H, I, B, T = GATES[self.kind], self.hidden, self.inputs, self.batch, self.steps
        W_ih = rng.standard_normal((G * H, I)) / np.sqrt(I)
        W_hh = self.recurrent_scale / np.sqrt(H) * rng.standard_normal((G * H, H))
        b_ih, b_hh = self.bias_scale * rng.standard_normal((2, G * H))
        x, h0 = rng.standard_normal((T, B, I)), rng.standard_normal((B, H))
        c0 = rng.standard_normal((B, H)) if self.kind == "lstm" else None
        grad_output = rng.standard_normal((T, B, H))
        grad_cell = rng.standard_normal((B, H)) if self.kind == "lstm" else None
        return Recurrence(self.activation, x, h0, c0, W_ih, W_hh, b_ih, b_hh, grad_output, grad_cell)


@dataclass(frozen=True)
class LinearRecurrence:
    """A linear RNN h_t = W h_{t-1} (+ inputs) with a given recurrent matrix W, written as nested tuples."""

    W: tuple
    steps: int
    seed: int = 0
    activation: str = "linear"

    def build(self) -> Recurrence:
        W = np.array(self.W, dtype=float)
        H = W.shape[0]
        rng = np.random.default_rng(self.seed)
        x = rng.standard_normal((self.steps, 1, 1))
        grad_output = np.zeros((self.steps, 1, H))
        grad_output[-1, 0] = rng.standard_normal(H)
        return Recurrence(self.activation, x, rng.standard_normal((1, H)), None, rng.standard_normal((H, 1)), W,
                          rng.standard_normal(H), np.zeros(H), grad_output, None)


def recurrent_matrix(seed: int, hidden: int, radius: float) -> tuple:
    """A random (non-normal, diagonalizable) matrix rescaled to spectral radius `radius`, as nested tuples."""
    W = np.random.default_rng(seed).standard_normal((hidden, hidden))
    W *= radius / np.max(np.abs(np.linalg.eigvals(W)))
    return tuple(map(tuple, W))


def scaled_orthogonal(seed: int, hidden: int, c: float) -> tuple:
    return tuple(map(tuple, c * random_orthogonal(np.random.default_rng(seed), hidden)))


# -- strategies ---------------------------------------------------------------------


@st.composite
def random_recurrences(draw, kind, activations=ACTIVATION_NAMES, max_steps=8, max_hidden=5, max_batch=3,
                       scales=(0.25, 0.5, 1.0, 2.0, 4.0)):
    """Random vanilla RNNs (any activation), LSTMs or GRUs of small sizes."""
    return RandomRecurrence(
        kind=kind,
        seed=draw(seeds, label="seed"),
        steps=draw(st.integers(1, max_steps), label="steps"),
        hidden=draw(st.integers(1, max_hidden), label="hidden"),
        inputs=draw(st.integers(1, 3), label="inputs"),
        batch=draw(st.integers(1, max_batch), label="batch"),
        recurrent_scale=draw(st.sampled_from(scales), label="recurrent_scale"),
        activation=draw(st.sampled_from(activations), label="activation") if kind == "rnn" else "tanh",
    )
