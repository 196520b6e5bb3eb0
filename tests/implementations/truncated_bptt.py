"""Wrong for the protocol: truncated BPTT, backpropagating through the last 3 steps only."""

import numpy as np

import reference
from reference import rnn_forward, rnn_step_jacobians  # noqa: F401

REJECTED_BY = ("P5", "S2a", "S2b", "S3b", "S4a", "S4c", "S6b", "S7a", "S7b", "S8a", "S18a", "S18b")  # the exact set of claims whose tests fail on this implementation

WINDOW = 3


def rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, activation, grad_output):
    x = np.asarray(x, dtype=float)
    T = len(x)
    start = max(0, T - WINDOW)
    hidden = rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, activation)
    window = reference.rnn_backward(x[start:], hidden[start], W_ih, W_hh, b_ih, b_hh, activation, grad_output[start:])
    g = np.zeros_like(hidden)
    g[start:] = window.hidden
    grad_x = np.zeros_like(x)
    grad_x[start:] = window.inputs
    return g, grad_x, window.W_ih, window.W_hh, window.b_ih, window.b_hh
