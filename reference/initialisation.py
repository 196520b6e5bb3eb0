"""Weight initialisation in PyTorch's conventions (torch.nn.init), drawn from a seeded numpy RNG.

For a weight of shape (out, in, *kernel): fan_in = in · ∏kernel, fan_out = out · ∏kernel.

    xavier_uniform:  U(−a, a),  a = gain · √(6 / (fan_in + fan_out))         (Glorot & Bengio 2010)
    xavier_normal:   N(0, σ²),  σ = gain · √(2 / (fan_in + fan_out))
    kaiming_uniform: U(−a, a),  a = gain · √(3 / fan)                        (He et al. 2015)
    kaiming_normal:  N(0, σ²),  σ = gain / √fan,   fan = fan_in or fan_out (mode)
    orthogonal:      gain · Q, Q from the QR decomposition of a Gaussian matrix (Saxe et al. 2014)

with PyTorch's gain table: linear, sigmoid 1; tanh 5/3; relu √2; leaky_relu(s) √(2/(1 + s²)); selu 3/4.
Same distributions as torch.nn.init, not the same random numbers.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .validation import check_choice, check_finite, check_non_negative, check_seed, check_shape

GAINS = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0), "selu": 3.0 / 4.0}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain."""
    check_choice(nonlinearity, "nonlinearity", [*GAINS, "leaky_relu"])
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else check_finite(param, "param (the leaky_relu slope)")
        return math.sqrt(2.0 / (1 + slope**2))
    return GAINS[nonlinearity]


def fans(shape: Sequence[int]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    shape = check_shape(shape, min_dims=2)
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(check_seed(seed))


def xavier_uniform(shape, gain: float = 1.0, seed: int = 0) -> np.ndarray:
    fan_in, fan_out = fans(shape)
    a = check_non_negative(gain, "gain") * math.sqrt(6.0 / (fan_in + fan_out))
    return _rng(seed).uniform(-a, a, size=tuple(shape))


def xavier_normal(shape, gain: float = 1.0, seed: int = 0) -> np.ndarray:
    fan_in, fan_out = fans(shape)
    std = check_non_negative(gain, "gain") * math.sqrt(2.0 / (fan_in + fan_out))
    return std * _rng(seed).standard_normal(tuple(shape))


def _kaiming_std(shape, a, mode, nonlinearity) -> float:
    fan_in, fan_out = fans(shape)
    fan = fan_in if check_choice(mode, "mode", ("fan_in", "fan_out")) == "fan_in" else fan_out
    return calculate_gain(nonlinearity, check_finite(a, "a (the leaky_relu slope)")) / math.sqrt(fan)


def kaiming_uniform(shape, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", seed: int = 0):
    bound = math.sqrt(3.0) * _kaiming_std(shape, a, mode, nonlinearity)
    return _rng(seed).uniform(-bound, bound, size=tuple(shape))


def kaiming_normal(shape, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", seed: int = 0):
    return _kaiming_std(shape, a, mode, nonlinearity) * _rng(seed).standard_normal(tuple(shape))


def orthogonal(shape, gain: float = 1.0, seed: int = 0) -> np.ndarray:
    """gain · Q: rows orthonormal if out ≤ in·∏kernel, else columns orthonormal."""
    shape, gain = check_shape(shape, min_dims=2), check_non_negative(gain, "gain")
    rows, cols = shape[0], math.prod(shape[1:])
    A = _rng(seed).standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(A)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return gain * q.reshape(shape)


def normal(shape, std: float = 1.0, seed: int = 0) -> np.ndarray:
    """N(0, std²) regardless of the fans: the naive N(0, 1) that explodes, or a 'too small' scale."""
    return check_non_negative(std, "std") * _rng(seed).standard_normal(check_shape(shape))
