"""The spec's own definitions of the recurrent steps (independent of reference/).

They accept complex arrays, so the spec differentiates them by the complex step
(Squire & Trapp 1998): for an analytic f and a tiny h,

    J t = Im f(p + i·h·t) / h

to full float64 precision, with no cancellation and no step-size trade-off.
relu is not analytic at 0; z ⊙ [Re z > 0] gives its derivative away from 0.
That is the oracle the backward claims (P5, P8, P11) compare against: the
dot-product test ⟨J t, c⟩ = ⟨t, Jᵀc⟩ of JAX's check_vjp.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

COMPLEX_STEP = 1e-30


def sigmoid(z):
    """σ(z) = 1/(1 + e^{-z}), without overflow for either sign of Re z; complex-safe."""
    positive = np.real(z) >= 0
    e = np.exp(np.where(positive, -z, z))
    return np.where(positive, 1 / (1 + e), e / (1 + e))


ANALYTIC = {
    "linear": lambda z: z,
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "relu": lambda z: z * (np.real(z) > 0),
}


def rnn_step(x_t, h, W_ih, W_hh, b_ih, b_hh, activation):
    """h_t = σ(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)."""
    return ANALYTIC[activation](x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh)


def lstm_step(x_t, h, c, W_ih, W_hh, b_ih, b_hh):
    """Gates (i, f, g, o) in PyTorch's order; returns (h_t, c_t, (i, f, g, o))."""
    H = h.shape[-1]
    z = x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = sigmoid(z[..., :H]), sigmoid(z[..., H:2 * H]), np.tanh(z[..., 2 * H:3 * H]), sigmoid(z[..., 3 * H:])
    c_new = f * c + i * g
    return o * np.tanh(c_new), c_new, (i, f, g, o)


def gru_step(x_t, h, W_ih, W_hh, b_ih, b_hh):
    """Gates (r, z, n) in PyTorch's order, reset applied after the hidden matmul; returns (h_t, (r, z, n))."""
    H = h.shape[-1]
    gi, gh = x_t @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    r = sigmoid(gi[..., :H] + gh[..., :H])
    z = sigmoid(gi[..., H:2 * H] + gh[..., H:2 * H])
    n = np.tanh(gi[..., 2 * H:] + r * gh[..., 2 * H:])
    return (1 - z) * n + z * h, (r, z, n)


def rnn_unroll(x, h0, W_ih, W_hh, b_ih, b_hh, activation):
    hidden = [h0]
    for x_t in x:
        hidden.append(rnn_step(x_t, hidden[-1], W_ih, W_hh, b_ih, b_hh, activation))
    return np.stack(hidden)


def lstm_unroll(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    hidden, cells = [h0], [c0]
    for x_t in x:
        h, c, _ = lstm_step(x_t, hidden[-1], cells[-1], W_ih, W_hh, b_ih, b_hh)
        hidden.append(h)
        cells.append(c)
    return np.stack(hidden), np.stack(cells)


def gru_unroll(x, h0, W_ih, W_hh, b_ih, b_hh):
    hidden = [h0]
    for x_t in x:
        hidden.append(gru_step(x_t, hidden[-1], W_ih, W_hh, b_ih, b_hh)[0])
    return np.stack(hidden)


def directional_derivative(f: Callable, point: Sequence[np.ndarray], tangent: Sequence[np.ndarray]):
    """J t for f at point along tangent, by the complex step; f returns an array or a tuple of arrays."""
    perturbed = [p + 1j * COMPLEX_STEP * t for p, t in zip(point, tangent)]
    value = f(*perturbed)
    if isinstance(value, tuple):
        return tuple(np.imag(v) / COMPLEX_STEP for v in value)
    return np.imag(value) / COMPLEX_STEP


def jacobian(f: Callable, point: np.ndarray) -> np.ndarray:
    """The full Jacobian of an array-to-array f at point (1-D), column by column."""
    columns = [directional_derivative(f, [point], [e]) for e in np.eye(point.size)]
    return np.stack(columns, axis=-1)


# -- S16c: the one-step bound β_t of an LSTM ----------------------------------------------

LSTM_MAGNITUDES = ("f", "c_df", "g_di", "i_dg", "o_dtanh", "tanh_do")


def lstm_block_norms(W_hh) -> np.ndarray:
    """(||W_hi||, ||W_hf||, ||W_hg||, ||W_ho||): spectral norms of the recurrent gate blocks."""
    H = W_hh.shape[1]
    return np.array([np.linalg.norm(W_hh[k * H:(k + 1) * H], 2) for k in range(4)])


def lstm_step_bound(magnitudes: dict, block_norms):
    """β_t = max(β^c, β^h) of S16c from per-unit magnitudes (or upper bounds of them) named as in
    LSTM_MAGNITUDES — f, |c_{t-1} f'|, |g i'|, |i g'|, |o tanh'(c_t)|, |tanh(c_t) o'| with f' = f(1 − f),
    i' = i(1 − i), g' = 1 − g², o' = o(1 − o) — and the norms of the blocks W_hi, W_hf, W_hg, W_ho:

        β^c = max f + max|c f'|·||W_hf|| + max|g i'|·||W_hi|| + max|i g'|·||W_hg||
        β^h = max|o tanh'(c_t)|·β^c + max|tanh(c_t) o'|·||W_ho||

    One step ∂(h_t, c_t)/∂(h_{t-1}, c_{t-1}) = [[D B + E, D A], [B, A]] (A = diag f, B = ∂c_t/∂h_{t-1},
    D = diag(o tanh'(c_t)), E = diag(tanh(c_t) o') W_ho) has max-row-block-sum norm ≤ β_t (docs/recurrence.md).
    Magnitudes of shape (hidden,) give one β_t; of shape (T, hidden), the T of them.
    """
    n_i, n_f, n_g, n_o = block_norms
    m = {name: np.max(np.abs(magnitudes[name]), axis=-1) for name in LSTM_MAGNITUDES}
    beta_c = m["f"] + m["c_df"] * n_f + m["g_di"] * n_i + m["i_dg"] * n_g
    beta_h = m["o_dtanh"] * beta_c + m["tanh_do"] * n_o
    return np.maximum(beta_c, beta_h)


def lstm_step_magnitudes(x_t, h, c, W_ih, W_hh, b_ih, b_hh) -> dict:
    """The magnitudes lstm_step_bound takes, at one state (h_{t-1}, c_{t-1}) = (h, c)."""
    _, c_new, (i, f, g, o) = lstm_step(x_t, h, c, W_ih, W_hh, b_ih, b_hh)
    t = np.tanh(c_new)
    return {"f": f, "c_df": c * f * (1 - f), "g_di": g * i * (1 - i), "i_dg": i * (1 - g**2),
            "o_dtanh": o * (1 - t**2), "tanh_do": t * o * (1 - o)}
