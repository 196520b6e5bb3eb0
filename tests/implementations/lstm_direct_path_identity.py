"""Wrong: the LSTM's direct cell path ∂c_t/∂c_{t−1} is given as the identity — the constant error carousel of the 1997 LSTM, which had no forget gate — instead of diag(f_t)."""

import numpy as np

import reference
from reference import lstm_backward, lstm_forward  # noqa: F401  (correct ones)

REJECTED_BY = ("P9", "S16a", "S16b")  # the exact set of claims whose tests fail on this implementation


def lstm_step_jacobians(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    direct, full = reference.lstm_step_jacobians(x, h0, c0, W_ih, W_hh, b_ih, b_hh)
    return np.broadcast_to(np.eye(np.shape(h0)[-1]), np.shape(direct)).copy(), full
