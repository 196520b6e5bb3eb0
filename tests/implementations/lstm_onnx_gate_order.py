"""Wrong for PyTorch's layout: reads the stacked LSTM gate blocks in ONNX's order (i, o, f, c)
instead of PyTorch's (i, f, g, o)."""

import numpy as np

import reference

REJECTED_BY = ("P7", "P9", "S16a")  # the exact set of claims whose tests fail on this implementation


def _as_onnx(W_ih, W_hh, b_ih, b_hh):
    H = np.shape(W_hh)[1]
    blocks = lambda a: [np.asarray(a)[k * H:(k + 1) * H] for k in range(4)]
    # ONNX blocks (i, o, f, c) -> reference's (i, f, g, o) = (i, f:=block 2, g:=block 3, o:=block 1)
    reorder = lambda a: np.concatenate([blocks(a)[k] for k in (0, 2, 3, 1)])
    return reorder(W_ih), reorder(W_hh), reorder(b_ih), reorder(b_hh)


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    return reference.lstm_forward(x, h0, c0, *_as_onnx(W_ih, W_hh, b_ih, b_hh))


def lstm_step_jacobians(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    return reference.lstm_step_jacobians(x, h0, c0, *_as_onnx(W_ih, W_hh, b_ih, b_hh))
