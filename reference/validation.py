"""Input checks shared by the reference: bad input raises a ValueError naming the problem."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def as_float_array(value, name: str, ndim: int | None = None, dtype=None) -> np.ndarray:
    """Return ``value`` as a finite floating-point array, or raise ValueError saying why."""
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged nested lists and the like
        raise ValueError(f"{name} could not be read as an array: {error}") from None
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
        or array.dtype == np.bool_
    ):
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    array = array.astype(dtype or _float_dtype(array), copy=False)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} holds {bad} non-finite value(s) (NaN or inf)")
    return array


def _float_dtype(array: np.ndarray):
    return array.dtype if np.issubdtype(array.dtype, np.floating) else np.float64


def common_float_dtype(*arrays) -> np.dtype:
    """The floating dtype the computation runs in: float64 unless every input is a narrower float."""
    kinds = [np.asarray(a).dtype for a in arrays]
    floats = [k for k in kinds if np.issubdtype(k, np.floating)]
    if not floats or len(floats) != len(kinds):
        return np.dtype(np.float64)
    return np.result_type(*floats)


def check_network(weights: Sequence, biases: Sequence, dtype) -> tuple[list, list]:
    """Check the layer chain W_l: (d_l, d_{l-1}), b_l: (d_l,) and return float arrays."""
    if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence):
        raise ValueError("weights must be a list of 2-D arrays, one per layer")
    if isinstance(biases, np.ndarray) or not isinstance(biases, Sequence):
        raise ValueError("biases must be a list of 1-D arrays, one per layer")
    if len(weights) == 0:
        raise ValueError("the network is empty: weights must hold at least one layer")
    if len(biases) != len(weights):
        raise ValueError(
            f"got {len(weights)} weight matrices but {len(biases)} bias vectors"
        )
    W = [as_float_array(w, f"weights[{l}]", ndim=2, dtype=dtype) for l, w in enumerate(weights)]
    b = [as_float_array(v, f"biases[{l}]", ndim=1, dtype=dtype) for l, v in enumerate(biases)]
    for l in range(len(W)):
        if 0 in W[l].shape:
            raise ValueError(f"weights[{l}] has an empty dimension: shape {W[l].shape}")
        if b[l].shape != (W[l].shape[0],):
            raise ValueError(
                f"biases[{l}] has shape {b[l].shape}, expected ({W[l].shape[0]},) "
                f"to match weights[{l}] of shape {W[l].shape}"
            )
        if l > 0 and W[l].shape[1] != W[l - 1].shape[0]:
            raise ValueError(
                f"weights[{l}] has shape {W[l].shape} but layer {l - 1} outputs "
                f"{W[l - 1].shape[0]} features: expected ({W[l].shape[0]}, {W[l - 1].shape[0]}) "
                "(weights use PyTorch's (out_features, in_features) layout)"
            )
    return W, b


def check_input(x, weights: list, dtype, batched: bool) -> np.ndarray:
    """x is (batch, d_0) when batched, else (d_0,); d_0 must match the first layer."""
    name = "x"
    x = as_float_array(x, name, ndim=2 if batched else 1, dtype=dtype)
    d0 = weights[0].shape[1]
    if x.shape[-1] != d0:
        raise ValueError(f"x has {x.shape[-1]} features but weights[0] expects {d0}")
    if batched and x.shape[0] == 0:
        raise ValueError("x holds an empty batch")
    return x
