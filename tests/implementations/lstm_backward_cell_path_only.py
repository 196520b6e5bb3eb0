"""Wrong: the gradient reaching c_0 follows the direct cell path ∏ diag(f_t) only, as if the
gates bounded the whole gradient (the path c → h → gates → c is dropped)."""

import numpy as np

import reference
from reference import lstm_forward, lstm_step_jacobians  # noqa: F401

REJECTED_BY = ("P8", "S16b")  # the exact set of claims whose tests fail on this implementation


def lstm_backward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, grad_output, grad_cell):
    grads = reference.lstm_backward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, grad_output, grad_cell)
    H = np.shape(h0)[-1]
    forget = []
    for example in range(np.shape(x)[1]):
        direct = reference.lstm_step_jacobians(np.asarray(x)[:, example], np.asarray(h0)[example],
                                               np.asarray(c0)[example], W_ih, W_hh, b_ih, b_hh).direct
        forget.append(np.prod(np.diagonal(direct, axis1=1, axis2=2), axis=0))
    return grads._replace(c0=np.asarray(grad_cell) * np.array(forget).reshape(-1, H))
