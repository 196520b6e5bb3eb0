"""Wrong for PyTorch's GRU: the reset gate multiplies h before the hidden matmul,
n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn) (Cho et al. 2014; Keras with reset_after=False)."""

import numpy as np

from reference.activations import ACTIVATIONS

REJECTED_BY = ("P10",)  # the exact set of claims whose tests fail on this implementation

sigmoid = ACTIVATIONS["sigmoid"].function


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    H = np.shape(h0)[-1]
    hidden = [np.asarray(h0, dtype=float)]
    for x_t in x:
        h = hidden[-1]
        gi = x_t @ np.asarray(W_ih).T + b_ih
        r = sigmoid(gi[..., :H] + h @ W_hh[:H].T + b_hh[:H])
        z = sigmoid(gi[..., H:2 * H] + h @ W_hh[H:2 * H].T + b_hh[H:2 * H])
        n = np.tanh(gi[..., 2 * H:] + (r * h) @ W_hh[2 * H:].T + b_hh[2 * H:])
        hidden.append((1 - z) * n + z * h)
    return np.stack(hidden)
