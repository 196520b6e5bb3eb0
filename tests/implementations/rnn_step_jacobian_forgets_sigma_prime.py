"""Wrong: the RNN step Jacobian is W_hh alone, J_t = ∂h_t/∂h_{t−1} without diag(σ'(a_t))."""

import numpy as np

REJECTED_BY = ("P6",)  # the exact set of claims whose tests fail on this implementation


def rnn_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh, activation):
    return np.repeat(np.asarray(W_hh, dtype=float)[None], len(x), axis=0)
