"""Correct, computed another way: ∂L/∂h_s = Σ_{t ≥ s} J_{s+1}ᵀ ⋯ J_tᵀ g_t, each output gradient g_t carried
back along its own unrolled path through explicitly formed step Jacobians J_t = diag(σ'(a_t)) W_hh, the
paths summed only at the end (np.sum's pairwise order); weight gradients summed over time with einsum."""

import numpy as np

from reference import rnn_forward
from reference.activations import get_activation

REJECTED_BY = ()  # the exact set of claims whose tests fail on this implementation


def rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, activation, grad_output):
    x, h0, grad_output = (np.asarray(a, dtype=float) for a in (x, h0, grad_output))
    W_ih, W_hh, b_ih, b_hh = (np.asarray(a, dtype=float) for a in (W_ih, W_hh, b_ih, b_hh))
    T, B, H = grad_output.shape
    hidden = rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, activation)
    pre = np.einsum("tbi,hi->tbh", x, W_ih) + np.einsum("tbj,hj->tbh", hidden[:-1], W_hh) + b_ih + b_hh
    slope = get_activation(activation).derivative(pre)  # σ'(a_t): (T, B, H)
    jacobians = slope[..., :, None] * W_hh  # J_t per example: (T, B, H, H)
    # paths[t] carries g_t back; once it has passed step k + 1 it is J_{k+1}ᵀ ⋯ J_tᵀ g_t
    paths = grad_output.copy()
    grad_hidden = np.zeros((T + 1, B, H))
    grad_hidden[T] = grad_output[T - 1]
    for k in range(T - 1, -1, -1):  # move every path that has reached h_{k+1} on to h_k
        paths[k:] = np.einsum("tbi,bij->tbj", paths[k:], jacobians[k])
        grad_hidden[k] = np.sum(paths[k:], axis=0) + (grad_output[k - 1] if k >= 1 else 0.0)
    delta = slope * grad_hidden[1:]
    grad_W_ih = np.einsum("tbh,tbi->hi", delta, x)
    grad_W_hh = np.einsum("tbh,tbj->hj", delta, hidden[:-1])
    grad_b = np.einsum("tbh->h", delta)
    return grad_hidden, np.einsum("tbh,hi->tbi", delta, W_ih), grad_W_ih, grad_W_hh, grad_b, grad_b.copy()
