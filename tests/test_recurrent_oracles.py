"""Independent oracles for the reference's recurrent layers: torch.nn.RNN / LSTM / GRU with the
same weights copied in (float64), and central finite differences.

Tolerances
----------
* torch: both sides are backward-stable recurrences; each entry may differ by
  32·T·(n + 4)·eps times its magnitude plus the normwise scale
  (1 + ||c||)·(1 + ||W_hh||)^T·(1 + ||W_ih||)·(1 + |state|) that bounds the rounding where saturated
  gates make σ' known only to a few eps absolutely (maths.recurrent_normwise_scale, the spec's
  own dot-product tolerance).
* finite differences: as for the MLP (tests/test_reference_oracles.py): Richardson-extrapolated
  central differences, 1e4·eps^(2/3) relative to the terms, plus 24·eps/ε·|L| for the rounding
  of the loss itself, plus the two steps' disagreement.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference
from spec_tests import maths
from spec_tests.sequences import random_recurrences
from tests.finite_differences import FD_RTOL, FD_STEP

torch_autograd = pytest.importorskip("spec_tests.adapters.torch_autograd")

CALLS = {
    "rnn": lambda m, r: (m.rnn_forward(r.x, r.h0, *r.weights(), r.activation),
                         m.rnn_backward(r.x, r.h0, *r.weights(), r.activation, r.grad_output),
                         m.rnn_step_jacobians(r.x[:, 0], r.h0[0], *r.weights(), r.activation)),
    "lstm": lambda m, r: (m.lstm_forward(r.x, r.h0, r.c0, *r.weights()),
                          m.lstm_backward(r.x, r.h0, r.c0, *r.weights(), r.grad_output, r.grad_cell),
                          m.lstm_step_jacobians(r.x[:, 0], r.h0[0], r.c0[0], *r.weights())),
    "gru": lambda m, r: (m.gru_forward(r.x, r.h0, *r.weights()),
                         m.gru_backward(r.x, r.h0, *r.weights(), r.grad_output),
                         m.gru_step_jacobians(r.x[:, 0], r.h0[0], *r.weights())),
}


def _flatten(result):
    if isinstance(result, np.ndarray):
        return [result]
    return [a for part in result for a in _flatten(part)]


def _normwise(r):
    cotangent = np.linalg.norm(r.grad_output) + (0 if r.grad_cell is None else np.linalg.norm(r.grad_cell))
    return maths.recurrent_normwise_scale(r.x, r.h0, r.c0, r.W_ih, r.W_hh, 1 + cotangent)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@given(data=st.data())
def test_reference_recurrences_agree_with_torch_nn_modules_in_float64(kind, data):
    r = data.draw(random_recurrences(kind, max_steps=10, max_hidden=5, max_batch=3), label="case").build()
    ours, theirs = _flatten(CALLS[kind](reference, r)), _flatten(CALLS[kind](torch_autograd, r))
    width = (4 if kind == "lstm" else 3 if kind == "gru" else 1) * r.hidden_size + r.x.shape[-1]
    factor = 32 * r.steps * (width + 4) * maths.EPS
    scale = _normwise(r)
    assert len(ours) == len(theirs)
    for index, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape, f"output {index}: shapes {a.shape} and {b.shape}"
        np.testing.assert_array_less(np.abs(a - b), factor * (np.abs(a) + np.abs(b) + scale) + maths.TINY,
                                     err_msg=f"output {index} of {kind}")


def _loss(kind, r, params):
    x, h0, c0, W_ih, W_hh, b_ih, b_hh = params
    if kind == "rnn":
        return np.sum(r.grad_output * reference.rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, r.activation)[1:])
    if kind == "gru":
        return np.sum(r.grad_output * reference.gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh)[1:])
    hidden, cells = reference.lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh)
    return np.sum(r.grad_output * hidden[1:]) + np.sum(r.grad_cell * cells[-1])


def _gradients(kind, r):
    if kind == "rnn":
        g = reference.rnn_backward(r.x, r.h0, *r.weights(), r.activation, r.grad_output)
        return [g.inputs, g.hidden[0], None, g.W_ih, g.W_hh, g.b_ih, g.b_hh]
    if kind == "gru":
        g = reference.gru_backward(r.x, r.h0, *r.weights(), r.grad_output)
        return [g.inputs, g.h0, None, g.W_ih, g.W_hh, g.b_ih, g.b_hh]
    return list(reference.lstm_backward(r.x, r.h0, r.c0, *r.weights(), r.grad_output, r.grad_cell))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_reference_bptt_passes_the_dot_product_test_against_finite_differences(kind, data, seed):
    activations = ("tanh", "sigmoid", "linear")  # relu's kink defeats central differences
    r = data.draw(random_recurrences(kind, activations=activations, max_steps=6, max_hidden=4, max_batch=2,
                                     scales=(0.25, 0.5, 1.0, 2.0)), label="case").build()
    params = [r.x, r.h0, r.c0, *r.weights()]
    rng = np.random.default_rng(seed)
    tangent = [None if p is None else rng.standard_normal(p.shape) for p in params]
    shifted = lambda step: [None if p is None else p + step * t for p, t in zip(params, tangent)]
    central = lambda step: (_loss(kind, r, shifted(step)) - _loss(kind, r, shifted(-step))) / (2 * step)
    coarse, fine = central(FD_STEP), central(FD_STEP / 2)
    lhs = (4 * fine - coarse) / 3  # Richardson extrapolation; |fine − coarse| estimates what is left
    grads = _gradients(kind, r)
    pairs = [(t, g) for t, g in zip(tangent, grads) if t is not None]
    rhs = sum(np.sum(t * g) for t, g in pairs)
    scale = sum(np.linalg.norm(t) * np.linalg.norm(g) for t, g in pairs) + abs(lhs)
    rounding = 24 * maths.EPS / FD_STEP * (abs(_loss(kind, r, params)) + np.linalg.norm(r.grad_output))
    assert abs(lhs - rhs) <= FD_RTOL * scale + rounding + abs(fine - coarse), f"{kind}: ⟨J t, c⟩ = {lhs!r} (differences), ⟨t, Jᵀc⟩ = {rhs!r}"
