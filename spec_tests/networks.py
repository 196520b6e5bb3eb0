"""Networks the spec feeds to implementations, and the hypothesis strategies that draw them.

Each family is a small frozen dataclass of sizes, scales and a seed; ``build()``
turns it into arrays deterministically.  Its repr is the Python expression that
rebuilds it, so a falsifying example printed by hypothesis is a copy-pasteable
reproduction:

    >>> from spec_tests.networks import RandomNetwork
    >>> RandomNetwork(seed=3, widths=(4, 4, 2), activation='tanh').build()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st

ACTIVATION_NAMES = ("linear", "tanh", "relu", "sigmoid")


class Network(NamedTuple):
    x: np.ndarray  # (batch, d_0)
    weights: list[np.ndarray]  # W_l: (d_l, d_{l-1})
    biases: list[np.ndarray]  # b_l: (d_l,)
    activation: str
    grad_output: np.ndarray  # ∂L/∂h_L: (batch, d_L)

    @property
    def depth(self) -> int:
        return len(self.weights)

    def single(self, example: int = 0) -> tuple:
        """(x, weights, biases, activation) for one example, as mlp_layer_jacobians takes it."""
        return self.x[example], self.weights, self.biases, self.activation


def random_orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    """A Haar-distributed orthogonal matrix: QR of a Gaussian matrix with the signs fixed."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _inputs(rng, widths, batch, input_scale=1.0):
    x = input_scale * rng.standard_normal((batch, widths[0]))
    grad_output = rng.standard_normal((batch, widths[-1]))
    return x, grad_output


@dataclass(frozen=True)
class RandomNetwork:
    """Gaussian weights N(0, weight_scale²/fan_in), Gaussian biases and inputs: any widths."""

    seed: int
    widths: tuple[int, ...]
    activation: str
    weight_scale: float = 1.0
    bias_scale: float = 0.5
    batch: int = 1

    def build(self) -> Network:
        rng = np.random.default_rng(self.seed)
        pairs = list(zip(self.widths[:-1], self.widths[1:]))
        weights = [self.weight_scale / np.sqrt(n_in) * rng.standard_normal((n_out, n_in)) for n_in, n_out in pairs]
        biases = [self.bias_scale * rng.standard_normal(n_out) for _, n_out in pairs]
        x, grad_output = _inputs(rng, self.widths, self.batch)
        return Network(x, weights, biases, self.activation, grad_output)


@dataclass(frozen=True)
class SpectralNetwork:
    """Linear layers W_l = U_l diag(s_l) V_lᵀ with every singular value s drawn in [low, high]."""

    seed: int
    width: int
    depth: int
    low: float
    high: float

    def build(self) -> Network:
        rng = np.random.default_rng(self.seed)
        weights = []
        for _ in range(self.depth):
            s = rng.uniform(self.low, self.high, self.width)
            weights.append(random_orthogonal(rng, self.width) * s @ random_orthogonal(rng, self.width).T)
        biases = [rng.standard_normal(self.width) for _ in range(self.depth)]
        x, grad_output = _inputs(rng, [self.width] * 2, 1)
        return Network(x, weights, biases, "linear", grad_output)


@dataclass(frozen=True)
class SharedBasisNetwork:
    """Linear layers W_l = Q diag(s_l) Qᵀ sharing one orthogonal Q (symmetric weights).

    Directions q_i with i < growing have every s_{l,i} in [1.1, 2]; the others in [0.5, 0.9].
    """

    seed: int
    width: int
    depth: int
    growing: int

    def spectra(self) -> np.ndarray:
        """s_{l,i}: shape (depth, width)."""
        rng = np.random.default_rng([self.seed, 1])
        grow = rng.uniform(1.1, 2.0, (self.depth, self.growing))
        shrink = rng.uniform(0.5, 0.9, (self.depth, self.width - self.growing))
        return np.concatenate([grow, shrink], axis=1)

    def basis(self) -> np.ndarray:
        return random_orthogonal(np.random.default_rng([self.seed, 2]), self.width)

    def build(self) -> Network:
        Q = self.basis()
        weights = [Q * s @ Q.T for s in self.spectra()]
        biases = [np.zeros(self.width) for _ in range(self.depth)]
        x, grad_output = _inputs(np.random.default_rng([self.seed, 3]), [self.width] * 2, 1)
        return Network(x, weights, biases, "linear", grad_output)


@dataclass(frozen=True)
class ScaledOrthogonalNetwork:
    """Linear layers W_l = c·Q_l with Q_l orthogonal and zero biases: every singular value is c."""

    seed: int
    width: int
    depth: int
    c: float

    def build(self) -> Network:
        rng = np.random.default_rng(self.seed)
        weights = [self.c * random_orthogonal(rng, self.width) for _ in range(self.depth)]
        biases = [np.zeros(self.width) for _ in range(self.depth)]
        x, grad_output = _inputs(rng, [self.width] * 2, 1)
        return Network(x, weights, biases, "linear", grad_output)


@dataclass(frozen=True)
class GaussianNetwork:
    """Square layers with i.i.d. N(0, s²/n) weights and zero biases (Glorot/He-style scaling)."""

    seed: int
    width: int
    depth: int
    s: float
    activation: str = "linear"

    def build(self) -> Network:
        rng = np.random.default_rng(self.seed)
        n = self.width
        weights = [self.s / np.sqrt(n) * rng.standard_normal((n, n)) for _ in range(self.depth)]
        biases = [np.zeros(n) for _ in range(self.depth)]
        x, grad_output = _inputs(rng, [n] * 2, 1)
        return Network(x, weights, biases, self.activation, grad_output)


# -- strategies ---------------------------------------------------------------------

seeds = st.integers(0, 2**32 - 1)


@st.composite
def random_networks(draw, activations=ACTIVATION_NAMES, max_depth=6, max_width=8, max_batch=3, equal_widths=False):
    """Any widths 1..max_width, depth 1..max_depth, every activation, weight scales 0.25..4."""
    depth = draw(st.integers(1, max_depth), label="depth")
    if equal_widths:
        widths = (draw(st.integers(1, max_width), label="width"),) * (depth + 1)
    else:
        widths = tuple(draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1), label="widths"))
    return RandomNetwork(
        seed=draw(seeds, label="seed"),
        widths=widths,
        activation=draw(st.sampled_from(activations), label="activation"),
        weight_scale=draw(st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0]), label="weight_scale"),
        batch=draw(st.integers(1, max_batch), label="batch"),
    )


@st.composite
def narrowing_networks(draw, max_depth=6, max_width=8):
    """Widths that never increase from input to output (d_l ≤ d_{l-1}), any activation."""
    depth = draw(st.integers(1, max_depth), label="depth")
    widths = sorted(draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1), label="widths"), reverse=True)
    return RandomNetwork(
        seed=draw(seeds, label="seed"),
        widths=tuple(widths),
        activation=draw(st.sampled_from(ACTIVATION_NAMES), label="activation"),
        weight_scale=draw(st.sampled_from([0.5, 1.0, 2.0]), label="weight_scale"),
    )


@st.composite
def spectral_networks(draw, low, high, max_depth=60, max_width=8):
    """Linear networks whose every layer has singular values in [low, high]."""
    return SpectralNetwork(
        seed=draw(seeds, label="seed"),
        width=draw(st.integers(1, max_width), label="width"),
        depth=draw(st.integers(1, max_depth), label="depth"),
        low=low,
        high=high,
    )
