"""Wrong for PyTorch's RNN: the forward pass adds b_ih only, h_t = σ(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ), the
one-bias recurrence of the textbooks, where nn.RNN adds both b_ih and b_hh."""

import numpy as np

import reference

REJECTED_BY = ("P4", "S2a")  # the exact set of claims whose tests fail on this implementation


def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, activation):
    return reference.rnn_forward(x, h0, W_ih, W_hh, b_ih, np.zeros_like(np.asarray(b_hh, dtype=float)), activation)
