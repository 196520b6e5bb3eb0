"""Recurrent cases the spec feeds to implementations, and their strategies.

As in spec_tests/networks.py, each case is a frozen dataclass whose repr rebuilds
it; ``build()`` returns the arrays, time-first, in PyTorch's gate-stacked layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st

from spec_tests.definitions import ANALYTIC
from spec_tests.maths import DERIVATIVES
from spec_tests.networks import ACTIVATION_NAMES, random_orthogonal, seeds
from spec_tests.spread import log_uniform, uniform

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


# -- cases that reach the bounds of the recurrence theorems (S4b, S8a, S16c) ----------


def _fixed_point_offset(activation: str, center: float, rng: np.random.Generator, hidden: int) -> np.ndarray:
    """The pre-activation a* of the fixed point: ±center per unit, except relu's, which sits at 1 + center
    so that every unit is active there."""
    if activation == "relu":
        return np.full(hidden, 1.0 + center)
    return center * rng.choice([-1.0, 1.0], hidden)


@dataclass(frozen=True)
class SpectralRecurrence:
    """A vanilla RNN driven gently around a fixed point, with a chosen singular spectrum of W_hh.

    W_hh = U diag(s) Vᵀ with s_1 = top ≥ s_i ≥ s_H = top·(1 − spread) (U, V Haar; V = U when `normal`,
    so W_hh is symmetric and ||W_hh^T|| = top^T).  The biases put the fixed point at the pre-activation
    a* (±center per unit; 1 + center for relu), h* = σ(a*): b_hh = a* − W_hh h*, b_ih = 0.  The initial
    state is h* + drive·N(0, 1) and the inputs are drive·N(0, 1), so a small drive keeps every step
    Jacobian near diag(σ'(a*)) W_hh — where Pascanu's bound (S4b) and the σ_min bound (S8a) are tight —
    and a large one saturates it.
    """

    seed: int
    steps: int
    hidden: int
    activation: str
    top: float
    spread: float = 0.0
    normal: bool = True
    drive: float = 1e-6
    center: float = 0.0
    inputs: int = 1

    def build(self) -> Recurrence:
        rng = np.random.default_rng(self.seed)
        H, T, I = self.hidden, self.steps, self.inputs
        U = random_orthogonal(rng, H)
        V = U if self.normal else random_orthogonal(rng, H)
        position = np.concatenate([[0.0], np.sort(rng.uniform(0, 1, H - 2)), [1.0]])[:H] if H > 1 else np.zeros(1)
        s = self.top * (1 - self.spread * position)
        W_hh = (U * s) @ V.T
        a_star = _fixed_point_offset(self.activation, self.center, rng, H)
        h_star = np.real(ANALYTIC[self.activation](a_star))
        W_ih = rng.standard_normal((H, I)) / np.sqrt(I)
        x = self.drive * rng.standard_normal((T, 1, I))
        h0 = h_star[None] + self.drive * rng.standard_normal((1, H))
        grad_output = rng.standard_normal((T, 1, H))
        return Recurrence(self.activation, x, h0, None, W_ih, W_hh, np.zeros(H), a_star - W_hh @ h_star,
                          grad_output, None)


@dataclass(frozen=True)
class ForgetfulLSTM:
    """An LSTM with recurrent weights N(0, recurrent_scale²/hidden), forget-gate biases forget_bias (+ N(0, 0.1²)),
    the other biases N(0, 0.5²), input weights N(0, 1/input) and inputs input_scale·N(0, 1); h0, c0 ~ N(0, 1).

    Small recurrent weights make every β_t of S16c at most 1; a small input_scale makes the forget gates
    nearly equal across units and steps, where ∏ β_t is nearly reached by ∂c_T/∂c_0."""

    seed: int
    steps: int
    hidden: int
    recurrent_scale: float
    forget_bias: float = 0.0
    input_scale: float = 1.0
    inputs: int = 2

    def build(self) -> Recurrence:
        rng = np.random.default_rng(self.seed)
        H, T, I = self.hidden, self.steps, self.inputs
        W_ih = rng.standard_normal((4 * H, I)) / np.sqrt(I)
        W_hh = self.recurrent_scale / np.sqrt(H) * rng.standard_normal((4 * H, H))
        b_ih = 0.5 * rng.standard_normal(4 * H)
        b_ih[H:2 * H] = self.forget_bias + 0.1 * rng.standard_normal(H)
        b_hh = np.zeros(4 * H)
        x = self.input_scale * rng.standard_normal((T, 1, I))
        h0, c0 = rng.standard_normal((2, 1, H))
        grad_output = rng.standard_normal((T, 1, H))
        grad_cell = rng.standard_normal((1, H))
        return Recurrence("tanh", x, h0, c0, W_ih, W_hh, b_ih, b_hh, grad_output, grad_cell)


GAMMA = {name: derivative.bound for name, derivative in DERIVATIVES.items()}  # γ = sup |σ'|, from maths


@st.composite
def spectral_recurrences(draw, activations=ACTIVATION_NAMES, max_steps=30, max_hidden=6, gain=(0.5, 2.0),
                         max_spread=0.9, drive=(1e-10, 1.0), max_center=3.0):
    """SpectralRecurrence cases: γ·σ_max(W_hh) uniform in `gain`, spread = max_spread·u³ and
    center = max_center·u⁴ (leaning towards 0, where the bounds are tight), drive log-uniform in `drive`."""
    activation = draw(st.sampled_from(activations), label="activation")
    return SpectralRecurrence(
        seed=draw(seeds, label="seed"),
        steps=draw(st.integers(1, max_steps), label="steps"),
        hidden=draw(st.integers(1, max_hidden), label="hidden"),
        activation=activation,
        top=draw(uniform(*gain), label="gain") / GAMMA[activation],
        spread=draw(uniform(0.0, max_spread, power=3), label="spread"),
        normal=draw(st.booleans(), label="normal"),
        drive=draw(log_uniform(*drive), label="drive"),
        center=draw(uniform(0.0, max_center, power=4), label="center"),
    )


def saturating_center(activation: str, top: float, contraction: float) -> float:
    """The |a*| at which γ-scaled σ'(a*)·top = contraction < 1: tanh' = sech², sigmoid' = σ(1 − σ)."""
    y = contraction / top  # the σ'(a*) wanted
    if activation == "tanh":
        return float(np.arccosh(np.sqrt(1 / y)))
    p = (1 + np.sqrt(1 - 4 * y)) / 2  # σ(a*) with σ(a*)(1 − σ(a*)) = y
    return float(np.log(p / (1 - p)))


@st.composite
def saturated_recurrences(draw, max_steps=30, max_hidden=5):
    """tanh and sigmoid RNNs with σ_max(W_hh) = k/γ, k ∈ [1.05, 3] (above Pascanu's threshold), held by
    their biases near a saturated fixed point where σ'(a*)·σ_max(W_hh) = q ∈ [0.1, 0.9]: gradients vanish."""
    activation = draw(st.sampled_from(("tanh", "sigmoid")), label="activation")
    top = draw(uniform(1.05, 3.0), label="gain") / GAMMA[activation]
    contraction = draw(uniform(0.1, 0.9), label="contraction")
    return SpectralRecurrence(
        seed=draw(seeds, label="seed"),
        steps=draw(st.integers(1, max_steps), label="steps"),
        hidden=draw(st.integers(1, max_hidden), label="hidden"),
        activation=activation,
        top=top,
        spread=draw(uniform(0.0, 0.9, power=3), label="spread"),
        normal=draw(st.booleans(), label="normal"),
        drive=draw(log_uniform(1e-10, 1e-2), label="drive"),
        center=saturating_center(activation, top, contraction),
    )


@st.composite
def forgetful_lstms(draw, min_steps=10, max_steps=80, max_hidden=4):
    """ForgetfulLSTM cases: recurrent scales log-uniform in [10⁻⁴, 0.03], forget biases in [−1, 4],
    input scales log-uniform in [10⁻³, 1]."""
    return ForgetfulLSTM(
        seed=draw(seeds, label="seed"),
        steps=draw(st.integers(min_steps, max_steps), label="steps"),
        hidden=draw(st.integers(1, max_hidden), label="hidden"),
        recurrent_scale=draw(log_uniform(1e-4, 0.03), label="recurrent_scale"),
        forget_bias=draw(uniform(-1.0, 4.0), label="forget_bias"),
        input_scale=draw(log_uniform(1e-3, 1.0), label="input_scale"),
    )


def pascanu_recurrences():
    """S4b's cases: random RNNs of every activation (dead relu units and saturation included) and, as often,
    SpectralRecurrence cases, where (γ σ_max)^T is nearly reached."""
    return st.one_of(
        random_recurrences("rnn", activations=("tanh", "sigmoid", "relu", "linear"), max_steps=30, max_hidden=6,
                           max_batch=1),
        spectral_recurrences(),
    )


def expanding_recurrences():
    """S8a's cases: σ_min(W_hh) ≥ 1/γ near a fixed point, so that in most draws every step Jacobian has
    σ_min(J_t) > 1 (larger drives and centres saturate some of them; relu may lose units)."""
    return spectral_recurrences(max_steps=20, max_hidden=5, gain=(1.0, 2.5), max_spread=0.5, max_center=1.0,
                                drive=(1e-12, 1e-1))


def knife_edge_offsets():
    """S18b's ε: 0 (the knife edge itself: about a quarter of the draws) or ±10^U(−6, −1)."""
    magnitude = log_uniform(1e-6, 1e-1)
    return st.one_of(st.just(0.0), magnitude, magnitude.map(lambda e: -e))
