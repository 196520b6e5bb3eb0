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

from spec_tests.spread import uniform, uniform_choice  # noqa: F401  (uniform_choice: re-exported for the depth tests)

from . import maths  # the spec's own σ and σ' (AlignedNetwork)

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
        # listed so that shrinking ends at scale 1, where a formula error is as large as it looks,
        # rather than at tiny scales where every error shrinks towards the rounding floor
        weight_scale=draw(st.sampled_from([1.0, 0.5, 2.0, 0.25, 4.0]), label="weight_scale"),
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
        weight_scale=draw(st.sampled_from([1.0, 0.5, 2.0]), label="weight_scale"),
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


# -- networks whose bounds are attained (the hard region of S1, S5) -------------------------


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal(n)
    return v / np.linalg.norm(v)


def orthogonal_with_columns(rng: np.random.Generator, columns) -> list[np.ndarray]:
    """For each (unit vector v, index k): a random orthogonal matrix whose column k is v.  (QR of a Gaussian
    matrix whose first column is v, with the signs fixed, then that column moved to k; one batched QR per size.)"""
    matrices = []
    for v, _ in columns:
        M = rng.standard_normal((v.size, v.size))
        M[:, 0] = v
        matrices.append(M)
    out = [None] * len(matrices)
    for n in {M.shape[0] for M in matrices}:
        index = [i for i, M in enumerate(matrices) if M.shape[0] == n]
        q, r = np.linalg.qr(np.stack([matrices[i] for i in index]))
        q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[:, None, :]  # now q[:, 0] = v
        for i, qi in zip(index, q):
            order = list(range(1, n))
            order.insert(columns[i][1], 0)
            out[i] = qi[:, order]
    return out


PRE_ACTIVATION_TARGETS = {"linear": None, "relu": (0.5, 2.0), "tanh": (-2.0, 2.0), "sigmoid": (-2.0, 2.0)}


@dataclass(frozen=True)
class AlignedNetwork:
    """Networks whose layer Jacobians J_l = diag(σ'(a_l)) W_l are designed so that a singular-value
    bound through depth is attained.

    J_l = U_l diag(s_l) V_lᵀ shares one singular pair with a path of unit vectors
    p_L → p_(L−1) → … → p_0: J_lᵀ p_l = s_(l,path) p_(l−1).  That singular value is the largest of the
    layer (path='top': S1a's upper bound) or the smallest (path='bottom': S1b's lower bound; widths
    must never increase).  The output gradient is cos(angle)·p_L + sin(angle)·r with a unit r ⊥ p_L;
    the other singular directions never map onto the path, so at angle 0 the gradient meets the path
    singular value at every layer and the bound is attained, and at any angle it is attained within
    a factor 1/cos(angle) (top).

    Each layer's path singular value is drawn log-uniformly in [low, high] (low = high: exactly that
    value); the others lie within a factor 1 + spread of it, above it for 'bottom' and below for 'top'.
    The biases place every pre-activation a_l at a target where σ' is bounded away from 0 (|a| ≤ 2
    for tanh and sigmoid, a in [0.5, 2] for relu: every unit active), and W_l = diag(σ'(a_l))⁻¹ J_l.
    """

    seed: int
    widths: tuple[int, ...]
    activation: str
    path: str = "top"
    angle: float = 0.0
    low: float = 1.0
    high: float = 1.0
    spread: float = 1.0

    def _singular_values(self, rng, r: int) -> np.ndarray:
        s_path = float(np.exp(rng.uniform(np.log(self.low), np.log(self.high))))
        others = 1 + self.spread * rng.uniform(0.0, 1.0, r - 1)
        if self.path == "top":
            return np.concatenate([[s_path], np.sort(s_path / others)[::-1]])
        return np.concatenate([np.sort(s_path * others)[::-1], [s_path]])

    def jacobians(self) -> list[np.ndarray]:
        """The designed J_l (the network realises them up to rounding)."""
        if self.path not in ("top", "bottom"):
            raise ValueError(f"path must be 'top' or 'bottom', not {self.path!r}")
        rng = np.random.default_rng([self.seed, 1])
        p = [_unit(rng, d) for d in self.widths]
        ranks, spectra, columns = [], [], []
        for l in range(1, len(self.widths)):
            d_out, d_in = self.widths[l], self.widths[l - 1]
            if self.path == "bottom" and d_out > d_in:
                raise ValueError(f"path='bottom' needs widths that never increase; got {self.widths}")
            r = min(d_out, d_in)
            k = 0 if self.path == "top" else r - 1
            ranks.append(r)
            spectra.append(self._singular_values(rng, r))
            columns += [(p[l], k), (p[l - 1], k)]
        Q = orthogonal_with_columns(rng, columns)
        return [U[:, :r] * s @ V[:, :r].T for r, s, U, V in zip(ranks, spectra, Q[0::2], Q[1::2])]

    def output_direction(self) -> np.ndarray:
        """p_L, the path's direction at the output."""
        rng = np.random.default_rng([self.seed, 1])
        return [_unit(rng, d) for d in self.widths][-1]

    def build(self) -> Network:
        jacobians = self.jacobians()
        rng = np.random.default_rng([self.seed, 2])
        x = rng.standard_normal(self.widths[0])
        h, weights, biases = x, [], []
        targets = PRE_ACTIVATION_TARGETS[self.activation]
        for J in jacobians:
            if targets is None:
                W, b = J, rng.standard_normal(J.shape[0])
            else:
                a = rng.uniform(*targets, J.shape[0])
                W = J / maths.sigma_prime(self.activation, a)[:, None]
                b = a - W @ h
            weights.append(W)
            biases.append(b)
            h = maths.sigma(self.activation, W @ h + b)
        p_out = self.output_direction()
        g = p_out
        if p_out.size > 1:
            r = rng.standard_normal(p_out.size)
            r -= (r @ p_out) * p_out
            g = np.cos(self.angle) * p_out + np.sin(self.angle) * r / np.linalg.norm(r)
        return Network(x[None, :], weights, biases, self.activation, g[None, :])


# tan(angle) log-uniform in [1e-8, 1e2]: half of the draws within 1e-3 rad of the path, a fifth of them further
# than 45° from it
angles = uniform(-8.0, 2.0).map(lambda t: float(np.arctan(10.0**t)))


@st.composite
def aligned_networks(draw, path, max_depth=8, max_width=8, activations=ACTIVATION_NAMES, narrowing=False,
                     square=False, c=None, low=0.25, high=4.0, max_spread=3.0):
    """AlignedNetwork families.  c: a strategy for the path singular value shared by every layer
    (then low = high = c), else each layer's is drawn in [low, high]."""
    depth = draw(uniform_choice(range(1, max_depth + 1)), label="depth")
    if square:
        widths = (draw(st.integers(1, max_width), label="width"),) * (depth + 1)
    else:
        widths = draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1), label="widths")
        widths = tuple(sorted(widths, reverse=True)) if narrowing else tuple(widths)
    if c is not None:
        low = high = draw(c, label="c")
    return AlignedNetwork(
        seed=draw(seeds, label="seed"),
        widths=widths,
        activation=draw(uniform_choice(activations), label="activation"),
        path=path,
        angle=draw(angles, label="angle"),
        low=low,
        high=high,
        spread=draw(uniform(0.0, max_spread), label="spread"),
    )


def growth_networks(**shape):
    """Linear AlignedNetworks, depth ≤ 40, whose every σ_min(J_k) is one c in (1, 3], attained along a
    path (S1b's c^L test, S5a with square=True)."""
    return aligned_networks("bottom", activations=("linear",), max_depth=40, c=uniform(3.0, 1.0), **shape)
