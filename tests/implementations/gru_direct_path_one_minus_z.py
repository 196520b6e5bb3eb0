"""Wrong for PyTorch's GRU: the direct path ∂h_t/∂h_{t−1} (gates held fixed) is given as diag(1 − z_t), the
weight of the candidate n in PyTorch's h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}, instead of diag(z_t)."""

import numpy as np

import reference

REJECTED_BY = ("P12", "S16a")  # the exact set of claims whose tests fail on this implementation


def gru_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh):
    direct, full = reference.gru_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh)
    H = np.shape(h0)[-1]
    return np.eye(H) - direct, full
