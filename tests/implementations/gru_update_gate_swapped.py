"""Wrong for PyTorch's GRU: h_t = z ⊙ n + (1 − z) ⊙ h_{t-1}, the convention of Chung et al. (2014),
where PyTorch's z weighs the previous state."""

import numpy as np

import reference

REJECTED_BY = ("P10",)  # the exact set of claims whose tests fail on this implementation


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    # negating the z block's pre-activation turns σ(z) into 1 − σ(z)
    H = np.shape(h0)[-1]
    flip = np.ones(3 * H)
    flip[H:2 * H] = -1
    return reference.gru_forward(x, h0, np.asarray(W_ih) * flip[:, None], np.asarray(W_hh) * flip[:, None],
                                 np.asarray(b_ih) * flip, np.asarray(b_hh) * flip)
