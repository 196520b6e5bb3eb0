"""LSTM and GRU layers in PyTorch's exact conventions, forward and BPTT.

Time-first x: (T, batch, input).  Weights stack the gate blocks row-wise, as
torch.nn.LSTM / torch.nn.GRU store weight_ih_l0 and weight_hh_l0, with two
biases b_ih and b_hh.

LSTM, gate blocks (i, f, g, o), each z = x_t W_·ᵀ + b_i· + h_{t-1} W_h·ᵀ + b_h·:

    i = σ(z_i),  f = σ(z_f),  g = tanh(z_g),  o = σ(z_o)
    c_t = f ⊙ c_{t-1} + i ⊙ g,      h_t = o ⊙ tanh(c_t)

GRU, gate blocks (r, z, n), the reset gate applied *after* the hidden matmul:

    r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr),   z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)
    n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))
    h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}

The direct paths are ∂c_t/∂c_{t-1} = diag(f_t) (h_{t-1} held fixed) and, for the
GRU, ∂h_t/∂h_{t-1} = diag(z_t) with the gates held fixed: both have norm ≤ 1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .activations import ACTIVATIONS
from .validation import check_recurrent, check_shaped_array

_sigmoid = ACTIVATIONS["sigmoid"].function


class LSTMForward(NamedTuple):
    hidden: np.ndarray  # h_0..h_T: (T + 1, batch, hidden)
    cells: np.ndarray  # c_0..c_T: (T + 1, batch, hidden)


class LSTMGradients(NamedTuple):
    inputs: np.ndarray  # ∂L/∂x_t: (T, batch, input)
    h0: np.ndarray
    c0: np.ndarray
    W_ih: np.ndarray
    W_hh: np.ndarray
    b_ih: np.ndarray
    b_hh: np.ndarray


class GRUGradients(NamedTuple):
    inputs: np.ndarray
    h0: np.ndarray
    W_ih: np.ndarray
    W_hh: np.ndarray
    b_ih: np.ndarray
    b_hh: np.ndarray


class StepJacobians(NamedTuple):
    direct: np.ndarray  # the gated direct path: diag(f_t) or diag(z_t), (T, hidden, hidden)
    full: np.ndarray  # the whole one-step Jacobian: (T, 2·hidden, 2·hidden) for (h, c); (T, hidden, hidden) GRU


# -- LSTM -------------------------------------------------------------------------------


def _lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """(h_0..h_T, c_0..c_T, gates) with gates (i, f, g, o) after their activations: (T, batch, 4H)."""
    T, H = x.shape[0], h0.shape[-1]
    hidden = np.empty((T + 1,) + h0.shape, dtype=x.dtype)
    cells = np.empty_like(hidden)
    gates = np.empty((T,) + h0.shape[:-1] + (4 * H,), dtype=x.dtype)
    hidden[0], cells[0] = h0, c0
    for t in range(T):
        z = x[t] @ W_ih.T + b_ih + hidden[t] @ W_hh.T + b_hh
        i, f, g, o = _sigmoid(z[..., :H]), _sigmoid(z[..., H:2 * H]), np.tanh(z[..., 2 * H:3 * H]), _sigmoid(z[..., 3 * H:])
        gates[t] = np.concatenate([i, f, g, o], axis=-1)
        cells[t + 1] = f * cells[t] + i * g
        hidden[t + 1] = o * np.tanh(cells[t + 1])
    return hidden, cells, gates


def _check_lstm(x, h0, c0, W_ih, W_hh, b_ih, b_hh, batched=True):
    x, h0, W_ih, W_hh, b_ih, b_hh = check_recurrent(x, h0, W_ih, W_hh, b_ih, b_hh, gates=4, batched=batched)
    c0 = check_shaped_array(c0, "c0", h0.shape, x.dtype)
    return x, h0, c0, W_ih, W_hh, b_ih, b_hh


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh) -> LSTMForward:
    """c_t = f ⊙ c_{t-1} + i ⊙ g,  h_t = o ⊙ tanh(c_t), gates (i, f, g, o) as in torch.nn.LSTM.

    x: (T, batch, input); h0, c0: (batch, hidden); W_ih: (4H, input); W_hh: (4H, H).
    Returns (h_0..h_T, c_0..c_T), each (T + 1, batch, hidden).
    """
    hidden, cells, _ = _lstm_forward(*_check_lstm(x, h0, c0, W_ih, W_hh, b_ih, b_hh))
    return LSTMForward(hidden, cells)


def lstm_backward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, grad_output, grad_cell) -> LSTMGradients:
    """BPTT for L = Σ_t ⟨grad_output_t, h_t⟩ + ⟨grad_cell, c_T⟩ (nn.LSTM's output and c_n).

    Going back one step, with dh, dc the total gradients reaching h_t and c_t:
        dc ← dc + dh ⊙ o ⊙ (1 − tanh²(c_t))
        d(i, f, g, o) = (dc ⊙ g, dc ⊙ c_{t-1}, dc ⊙ i, dh ⊙ tanh(c_t))
        dz = d(i, f, g, o) ⊙ (i(1−i), f(1−f), 1−g², o(1−o))        (pre-activations)
        ∂L/∂c_{t-1} = dc ⊙ f,    ∂L/∂h_{t-1} = dz W_hh (+ grad_output_{t-1}),    ∂L/∂x_t = dz W_ih
        ∂L/∂W_ih += dzᵀ x_t,  ∂L/∂W_hh += dzᵀ h_{t-1},  ∂L/∂b_ih = ∂L/∂b_hh = Σ dz
    grad_output: (T, batch, hidden); grad_cell: (batch, hidden).
    """
    x, h0, c0, W_ih, W_hh, b_ih, b_hh = _check_lstm(x, h0, c0, W_ih, W_hh, b_ih, b_hh)
    T, H = x.shape[0], h0.shape[-1]
    grad_output = check_shaped_array(grad_output, "grad_output", (T,) + h0.shape, x.dtype)
    grad_cell = check_shaped_array(grad_cell, "grad_cell", h0.shape, x.dtype)
    hidden, cells, gates = _lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh)
    grad_x = np.empty_like(x)
    grad_W_ih, grad_W_hh, grad_b = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros_like(b_ih)
    dh, dc = grad_output[T - 1].copy(), grad_cell.copy()
    for t in range(T, 0, -1):
        i, f, g, o = (gates[t - 1][..., k * H:(k + 1) * H] for k in range(4))
        tanh_c = np.tanh(cells[t])
        dc = dc + dh * o * (1 - tanh_c**2)
        dz = np.concatenate(
            [dc * g * i * (1 - i), dc * cells[t - 1] * f * (1 - f), dc * i * (1 - g**2), dh * tanh_c * o * (1 - o)],
            axis=-1,
        )
        grad_W_ih += dz.T @ x[t - 1]
        grad_W_hh += dz.T @ hidden[t - 1]
        grad_b += dz.sum(axis=0)
        grad_x[t - 1] = dz @ W_ih
        dc = dc * f
        dh = dz @ W_hh + (grad_output[t - 2] if t >= 2 else 0.0)
    return LSTMGradients(grad_x, dh, dc, grad_W_ih, grad_W_hh, grad_b, grad_b.copy())


def lstm_step_jacobians(x, h0, c0, W_ih, W_hh, b_ih, b_hh) -> StepJacobians:
    """One sequence (x: (T, input), h0, c0: (hidden,)); the state is s_t = (h_t, c_t).

        A = ∂c_t/∂c_{t-1} = diag(f)                                      (the direct path)
        B = ∂c_t/∂h_{t-1} = diag(c_{t-1} f(1−f)) W_hf + diag(g i(1−i)) W_hi + diag(i (1−g²)) W_hg
        D = diag(o (1 − tanh²(c_t))),   E = diag(tanh(c_t) o(1−o)) W_ho
        ∂s_t/∂s_{t-1} = [[D B + E, D A], [B, A]]        (rows h_t, c_t; columns h_{t-1}, c_{t-1})
    """
    x, h0, c0, W_ih, W_hh, b_ih, b_hh = _check_lstm(x, h0, c0, W_ih, W_hh, b_ih, b_hh, batched=False)
    H = h0.shape[0]
    hidden, cells, gates = _lstm_forward(x[:, None], h0[None], c0[None], W_ih, W_hh, b_ih, b_hh)
    W_hi, W_hf, W_hg, W_ho = (W_hh[k * H:(k + 1) * H] for k in range(4))
    direct, full = [], []
    for t in range(x.shape[0]):
        i, f, g, o = (gates[t, 0, k * H:(k + 1) * H] for k in range(4))
        c_prev, tanh_c = cells[t, 0], np.tanh(cells[t + 1, 0])
        A = np.diag(f)
        B = (c_prev * f * (1 - f))[:, None] * W_hf + (g * i * (1 - i))[:, None] * W_hi + (i * (1 - g**2))[:, None] * W_hg
        D = o * (1 - tanh_c**2)
        E = (tanh_c * o * (1 - o))[:, None] * W_ho
        direct.append(A)
        full.append(np.block([[D[:, None] * B + E, D[:, None] * A], [B, A]]))
    return StepJacobians(np.stack(direct), np.stack(full))


# -- GRU --------------------------------------------------------------------------------


def _gru_parts(x_t, h, W_ih, W_hh, b_ih, b_hh, H):
    gi = x_t @ W_ih.T + b_ih
    gh = h @ W_hh.T + b_hh
    r = _sigmoid(gi[..., :H] + gh[..., :H])
    z = _sigmoid(gi[..., H:2 * H] + gh[..., H:2 * H])
    hn = gh[..., 2 * H:]
    n = np.tanh(gi[..., 2 * H:] + r * hn)
    return r, z, n, hn


def _gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    """(h_0..h_T, gates) with gates (r, z, n): (T, batch, 3H)."""
    T, H = x.shape[0], h0.shape[-1]
    hidden = np.empty((T + 1,) + h0.shape, dtype=x.dtype)
    gates = np.empty((T,) + h0.shape[:-1] + (3 * H,), dtype=x.dtype)
    hidden[0] = h0
    for t in range(T):
        r, z, n, _ = _gru_parts(x[t], hidden[t], W_ih, W_hh, b_ih, b_hh, H)
        gates[t] = np.concatenate([r, z, n], axis=-1)
        hidden[t + 1] = (1 - z) * n + z * hidden[t]
    return hidden, gates


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh) -> np.ndarray:
    """h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}, gates (r, z, n) as in torch.nn.GRU.

    x: (T, batch, input); h0: (batch, hidden); W_ih: (3H, input); W_hh: (3H, H).
    Returns h_0..h_T: (T + 1, batch, hidden).
    """
    return _gru_forward(*check_recurrent(x, h0, W_ih, W_hh, b_ih, b_hh, gates=3))[0]


def gru_backward(x, h0, W_ih, W_hh, b_ih, b_hh, grad_output) -> GRUGradients:
    """BPTT for L = Σ_t ⟨grad_output_t, h_t⟩.  One step back, with dh the total gradient at h_t:

        dn = dh ⊙ (1 − z),   dz = dh ⊙ (h_{t-1} − n)
        da_n = dn ⊙ (1 − n²),   da_r = (da_n ⊙ hn) ⊙ r(1−r),   da_z = dz ⊙ z(1−z)
        input side (W_ih, b_ih): (da_r, da_z, da_n);   hidden side (W_hh, b_hh): (da_r, da_z, da_n ⊙ r)
        ∂L/∂h_{t-1} = dh ⊙ z + (hidden side) W_hh (+ grad_output_{t-1}),   ∂L/∂x_t = (input side) W_ih
    where hn = h_{t-1} W_hnᵀ + b_hn.
    """
    x, h0, W_ih, W_hh, b_ih, b_hh = check_recurrent(x, h0, W_ih, W_hh, b_ih, b_hh, gates=3)
    T, H = x.shape[0], h0.shape[-1]
    grad_output = check_shaped_array(grad_output, "grad_output", (T,) + h0.shape, x.dtype)
    hidden, _ = _gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh)
    grad_x = np.empty_like(x)
    grad_W_ih, grad_W_hh = np.zeros_like(W_ih), np.zeros_like(W_hh)
    grad_b_ih, grad_b_hh = np.zeros_like(b_ih), np.zeros_like(b_hh)
    dh = grad_output[T - 1].copy()
    for t in range(T, 0, -1):
        h_prev = hidden[t - 1]
        r, z, n, hn = _gru_parts(x[t - 1], h_prev, W_ih, W_hh, b_ih, b_hh, H)
        da_n = dh * (1 - z) * (1 - n**2)
        da_r = da_n * hn * r * (1 - r)
        da_z = dh * (h_prev - n) * z * (1 - z)
        input_side = np.concatenate([da_r, da_z, da_n], axis=-1)
        hidden_side = np.concatenate([da_r, da_z, da_n * r], axis=-1)
        grad_W_ih += input_side.T @ x[t - 1]
        grad_W_hh += hidden_side.T @ h_prev
        grad_b_ih += input_side.sum(axis=0)
        grad_b_hh += hidden_side.sum(axis=0)
        grad_x[t - 1] = input_side @ W_ih
        dh = dh * z + hidden_side @ W_hh + (grad_output[t - 2] if t >= 2 else 0.0)
    return GRUGradients(grad_x, dh, grad_W_ih, grad_W_hh, grad_b_ih, grad_b_hh)


def gru_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh) -> StepJacobians:
    """One sequence (x: (T, input), h0: (hidden,)):

        direct = diag(z_t)      (∂h_t/∂h_{t-1} with r, z, n held fixed)
        full = diag(z) + diag((h_{t-1} − n) z(1−z)) W_hz
               + diag((1 − z)(1 − n²)) [diag(hn r(1−r)) W_hr + diag(r) W_hn]
    """
    x, h0, W_ih, W_hh, b_ih, b_hh = check_recurrent(x, h0, W_ih, W_hh, b_ih, b_hh, gates=3, batched=False)
    H = h0.shape[0]
    hidden, _ = _gru_forward(x[:, None], h0[None], W_ih, W_hh, b_ih, b_hh)
    W_hr, W_hz, W_hn = (W_hh[k * H:(k + 1) * H] for k in range(3))
    direct, full = [], []
    for t in range(x.shape[0]):
        h_prev = hidden[t, 0]
        r, z, n, hn = _gru_parts(x[t], h_prev, W_ih, W_hh, b_ih, b_hh, H)
        through_n = ((1 - z) * (1 - n**2))[:, None] * ((hn * r * (1 - r))[:, None] * W_hr + r[:, None] * W_hn)
        direct.append(np.diag(z))
        full.append(np.diag(z) + ((h_prev - n) * z * (1 - z))[:, None] * W_hz + through_n)
    return StepJacobians(np.stack(direct), np.stack(full))
