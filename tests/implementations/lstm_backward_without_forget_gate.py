"""Wrong: LSTM backpropagation carries the cell gradient back unchanged, ∂L/∂c_{t−1} = ∂L/∂c_t (the 1997 LSTM's constant error carousel), forgetting the factor f_t of c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t."""

import numpy as np

from reference import lstm_forward, lstm_step_jacobians  # noqa: F401  (correct ones)

REJECTED_BY = ("P8", "S16b", "S16c")  # the exact set of claims whose tests fail on this implementation


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(z / 2))


def lstm_backward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, grad_output, grad_cell):
    x, h0, c0, W_ih, W_hh, b_ih, b_hh = (np.asarray(a, dtype=float) for a in (x, h0, c0, W_ih, W_hh, b_ih, b_hh))
    grad_output, grad_cell = np.asarray(grad_output, dtype=float), np.asarray(grad_cell, dtype=float)
    T, H = x.shape[0], h0.shape[-1]
    hidden, cells = lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh)
    grad_x = np.empty_like(x)
    grad_W_ih, grad_W_hh, grad_b = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros_like(b_ih)
    dh, dc = grad_output[T - 1].copy(), grad_cell.copy()
    for t in range(T, 0, -1):
        z = x[t - 1] @ W_ih.T + b_ih + hidden[t - 1] @ W_hh.T + b_hh
        i, f, g, o = _sigmoid(z[..., :H]), _sigmoid(z[..., H:2 * H]), np.tanh(z[..., 2 * H:3 * H]), _sigmoid(z[..., 3 * H:])
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
        # should be dc = dc * f
        dh = dz @ W_hh + (grad_output[t - 2] if t >= 2 else 0.0)
    return grad_x, dh, dc, grad_W_ih, grad_W_hh, grad_b, grad_b.copy()
