"""Input checks shared by the reference: a bad argument is refused by name, saying what was expected.

A wrong value raises ValueError; a wrong type raises ArgumentTypeError, which is both a TypeError and
a ValueError, so ``except ValueError`` catches every refusal.  Each ``check_*`` returns the argument
cleaned (a float, an int, a tuple, a float array) for the caller to use.
"""

from __future__ import annotations

import math
import numbers
import operator
import reprlib
from typing import Sequence

import numpy as np


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (None, a string for a number, an int for a shape, …)."""


def _describe(value) -> str:
    """'None', an array's shape, or the type and a short repr: "str '0.1'", "list ['relu']"."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"{type(value).__name__} {reprlib.repr(value)}"


# -- scalars -------------------------------------------------------------------------------------


def _number(value, name: str, expected: str) -> float:
    """value as a float if it is a real number (a bool, a string, None or an array is not)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be {expected}, got {_describe(value)}")
    return float(value)


def _number_where(value, name: str, expected: str, holds) -> float:
    number = _number(value, name, expected)
    if not holds(number):
        raise ValueError(f"{name} must be {expected}, got {value if type(value) in (int, float) else number!r}")
    return number


def check_finite(value, name: str) -> float:
    """A finite real number, of either sign."""
    return _number_where(value, name, "a finite number", math.isfinite)


def check_non_negative(value, name: str) -> float:
    """A finite real number ≥ 0 (a gain, a standard deviation, a learning rate)."""
    return _number_where(value, name, "a finite number ≥ 0", lambda v: math.isfinite(v) and v >= 0)


def check_positive(value, name: str) -> float:
    """A finite real number > 0 (a peak learning rate, a clipping threshold)."""
    return _number_where(value, name, "a finite number > 0", lambda v: math.isfinite(v) and v > 0)


def check_in_range(value, name: str, low: float, high: float, high_open: bool = False, high_name: str = "") -> float:
    """A real number in [low, high], or [low, high) if high_open; high_name labels a bound set by another argument."""
    interval = f"[{low}, {high_name or high}{')' if high_open else ']'}"
    inside = (lambda v: low <= v < high) if high_open else (lambda v: low <= v <= high)
    return _number_where(value, name, f"a number in {interval}", inside)


def check_norm_type(value, name: str = "norm_type") -> float:
    """The order p of a norm: a real number ≥ 1, or inf (also the string 'inf', as PyTorch takes)."""
    if isinstance(value, str) and value == "inf":
        return math.inf
    return _number_where(value, name, "a number ≥ 1 or inf (the order of a norm)", lambda v: v >= 1)


def _as_int(value) -> int | None:
    """An int, a numpy integer or a 0-d integer array as an int; None for anything else (1.5, 3.0, '3', True)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _integer(value, name: str, expected: str) -> int:
    number = _as_int(value)
    if number is None:
        raise ArgumentTypeError(f"{name} must be {expected}, got {_describe(value)}")
    return number


def check_positive_integer(value, name: str) -> int:
    """An integer ≥ 1 (a number of steps)."""
    number = _integer(value, name, "a positive integer")
    if number < 1:
        raise ValueError(f"{name} must be a positive integer, got {number}")
    return number


def check_seed(value, name: str = "seed") -> int:
    """A random seed: an integer ≥ 0, as numpy.random.default_rng takes."""
    number = _integer(value, name, "an integer ≥ 0")
    if number < 0:
        raise ValueError(f"{name} must be an integer ≥ 0, got {number}")
    return number


def check_choice(value, name: str, choices) -> str:
    """One of a few names (an activation, a nonlinearity, a fan mode)."""
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{name} must be a string, one of {sorted(choices)}, got {_describe(value)}")
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {sorted(choices)}")
    return value


def check_shape(value, min_dims: int = 0, name: str = "shape") -> tuple[int, ...]:
    """A weight shape: a tuple (or list) of integers ≥ 1, at least min_dims of them."""
    expected = "a tuple of integers, e.g. (out_features, in_features)"
    if (isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray))
            or (isinstance(value, np.ndarray) and value.ndim != 1)
            or any(_as_int(d) is None for d in value)):
        raise ArgumentTypeError(f"{name} must be {expected}, got {_describe(value)}")
    dims = tuple(_as_int(d) for d in value)
    if len(dims) < min_dims:
        raise ValueError(f"{name} must have at least {min_dims} dimensions, got shape {dims}: "
                         "weights are (out_features, in_features, *kernel)")
    if min(dims, default=1) < 0:
        raise ValueError(f"{name} {dims} has a negative dimension; every entry must be ≥ 1")
    if min(dims, default=1) == 0:
        raise ValueError(f"{name} {dims} has an empty dimension; every entry must be ≥ 1")
    return dims


# -- arrays --------------------------------------------------------------------------------------


def read_array(value, name: str) -> np.ndarray:
    """np.asarray(value), refusing by name what numpy cannot read (ragged nested lists and the like)."""
    try:
        return np.asarray(value)
    except Exception as error:
        raise ValueError(f"{name} could not be read as an array (ragged nested lists?): {error}") from None


def as_float_array(value, name: str, ndim: int | None = None, dtype=None) -> np.ndarray:
    """Return ``value`` as a finite floating-point array, or raise ValueError saying why."""
    array = read_array(value, name)
    if array.dtype.kind not in "fiub":  # floating, signed and unsigned integer, boolean
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    array = array.astype(dtype or _float_dtype(array), copy=False)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {array.shape}")
    if not np.isfinite(array).all():
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} holds {bad} non-finite value(s) (NaN or inf)")
    return array


def _float_dtype(array: np.ndarray):
    return array.dtype if array.dtype.kind == "f" else np.float64


def common_float_dtype(*arrays) -> np.dtype:
    """The floating dtype the computation runs in: float64 unless every input is a narrower float."""
    try:
        kinds = [np.asarray(a).dtype for a in arrays]
    except Exception:  # a ragged input: as_float_array refuses it by name
        return np.dtype(np.float64)
    floats = [k for k in kinds if k.kind == "f"]
    if not floats or len(floats) != len(kinds):
        return np.dtype(np.float64)
    return np.result_type(*floats)


def check_array_list(value, name: str, what: str = "arrays, one per parameter tensor") -> list:
    """A list (or tuple) of arrays; a single array is refused, not split into its rows."""
    if isinstance(value, np.ndarray):
        raise ArgumentTypeError(f"{name} must be a list of {what}, got {_describe(value)} "
                                "(a single array is not split into its rows)")
    if not isinstance(value, (list, tuple)):
        raise ArgumentTypeError(f"{name} must be a list of {what}, got {_describe(value)}")
    return list(value)


def check_matching_tensors(**lists) -> list[list[np.ndarray]]:
    """Lists of tensors, one entry per parameter, as finite float64 arrays of matching shapes:
    check_matching_tensors(params=…, grads=…) returns [params, grads]."""
    names = list(lists)
    arrays = [[as_float_array(a, f"{name}[{i}]", dtype=np.float64) for i, a in enumerate(check_array_list(value, name))]
              for name, value in lists.items()]
    if len({len(a) for a in arrays}) > 1:
        raise ValueError("got " + ", ".join(f"{len(a)} {name}" for a, name in zip(arrays, names)))
    for i, tensors in enumerate(zip(*arrays)):
        if len({t.shape for t in tensors}) > 1:
            raise ValueError(f"{', '.join(f'{name}[{i}]' for name in names)} have shapes "
                             f"{', '.join(str(t.shape) for t in tensors)}; they must match")
    return arrays


def check_matrix(value, name: str) -> np.ndarray:
    """A finite 2-D float array with at least one row and one column."""
    matrix = as_float_array(value, name, ndim=2)
    if matrix.size == 0:
        raise ValueError(f"{name} is empty: shape {matrix.shape}; expected at least one row and one column")
    return matrix


def check_matrix_chain(value, name: str = "layer_jacobians") -> list[np.ndarray]:
    """Matrices [J_1, …, J_L] (a list, or an (L, m, n) array) whose product J_L ⋯ J_1 is defined."""
    if isinstance(value, np.ndarray) and value.ndim == 3:
        value = list(value)
    matrices = [check_matrix(J, f"{name}[{l}]") for l, J in enumerate(check_array_list(value, name, "2-D arrays"))]
    if not matrices:
        raise ValueError(f"{name} is empty: need at least one layer Jacobian")
    for l in range(1, len(matrices)):
        outputs = matrices[l - 1].shape[0]
        if matrices[l].shape[1] != outputs:
            raise ValueError(f"{name}[{l}] has shape {matrices[l].shape} and cannot follow one with {outputs} "
                             f"outputs: expected ({matrices[l].shape[0]}, {outputs})")
    return matrices


# -- networks ------------------------------------------------------------------------------------


def check_network(weights: Sequence, biases: Sequence, x) -> tuple[list, list, np.dtype]:
    """Check the layer chain W_l: (d_l, d_{l-1}), b_l: (d_l,); return float arrays and the dtype to compute in."""
    weights = check_array_list(weights, "weights", "2-D arrays, one per layer")
    biases = check_array_list(biases, "biases", "1-D arrays, one per layer")
    if len(weights) == 0:
        raise ValueError("the network is empty: weights must hold at least one layer")
    if len(biases) != len(weights):
        raise ValueError(
            f"got {len(weights)} weight matrices but {len(biases)} bias vectors"
        )
    dtype = common_float_dtype(x, *weights, *biases)
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
    return W, b, dtype


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


def check_recurrent(x, h0, W_ih, W_hh, b_ih, b_hh, gates: int, batched: bool = True):
    """Validate a recurrent layer whose weights stack `gates` blocks of `hidden` rows.

    Returns float arrays (x, h0, W_ih, W_hh, b_ih, b_hh).
    """
    dtype = common_float_dtype(x, h0, W_ih, W_hh, b_ih, b_hh)
    x = as_float_array(x, "x", ndim=3 if batched else 2, dtype=dtype)
    W_hh = as_float_array(W_hh, "W_hh", ndim=2, dtype=dtype)
    W_ih = as_float_array(W_ih, "W_ih", ndim=2, dtype=dtype)
    hidden = W_hh.shape[1]
    rows = gates * hidden
    layout = f"{gates} gate blocks of {hidden} rows" if gates > 1 else f"{hidden} rows"
    if hidden == 0:
        stacked = f"{gates}·H" if gates > 1 else "H"
        raise ValueError(f"W_hh has shape {W_hh.shape}: hidden_size H = 0; expected ({stacked}, H) with H ≥ 1")
    if W_hh.shape != (rows, hidden):
        raise ValueError(f"W_hh has shape {W_hh.shape}, expected ({rows}, {hidden}): {layout} by hidden_size")
    if x.shape[0] == 0:
        raise ValueError("the sequence is empty: x has T = 0 time steps")
    if W_ih.shape != (rows, x.shape[-1]):
        raise ValueError(f"W_ih has shape {W_ih.shape}, expected ({rows}, {x.shape[-1]}) = ({layout}, input_size)")
    b_ih = as_float_array(b_ih, "b_ih", ndim=1, dtype=dtype)
    b_hh = as_float_array(b_hh, "b_hh", ndim=1, dtype=dtype)
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b.shape != (rows,):
            raise ValueError(f"{name} has shape {b.shape}, expected ({rows},)")
    h0 = as_float_array(h0, "h0", ndim=2 if batched else 1, dtype=dtype)
    expected_h0 = (x.shape[1], hidden) if batched else (hidden,)
    if h0.shape != expected_h0:
        raise ValueError(f"h0 has shape {h0.shape}, expected {expected_h0}")
    if batched and x.shape[1] == 0:
        raise ValueError("x holds an empty batch")
    return x, h0, W_ih, W_hh, b_ih, b_hh


def check_shaped_array(value, name: str, shape: tuple, dtype) -> np.ndarray:
    """A finite float array of exactly this shape (an initial state, or a gradient of outputs)."""
    value = as_float_array(value, name, ndim=len(shape), dtype=dtype)
    if value.shape != shape:
        raise ValueError(f"{name} has shape {value.shape}, expected {shape}")
    return value
