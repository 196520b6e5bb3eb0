"""Wrong: GRU backpropagation treats the reset gate as a constant, dropping the path through r
(∂L/∂a_r = 0), so W_hr, W_ir and the biases of r get no gradient and ∂L/∂h misses a term."""

import numpy as np

import reference

REJECTED_BY = ("P11",)  # the exact set of claims whose tests fail on this implementation


def gru_backward(x, h0, W_ih, W_hh, b_ih, b_hh, grad_output):
    x, h0, W_ih, W_hh, b_ih, b_hh = (np.asarray(a, dtype=float) for a in (x, h0, W_ih, W_hh, b_ih, b_hh))
    T, H = x.shape[0], h0.shape[-1]
    hidden = reference.gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh)
    grad_x = np.empty_like(x)
    grad_W_ih, grad_W_hh = np.zeros_like(W_ih), np.zeros_like(W_hh)
    grad_b_ih, grad_b_hh = np.zeros_like(b_ih), np.zeros_like(b_hh)
    dh = np.array(grad_output[T - 1], dtype=float)
    sigmoid = lambda a: 1 / (1 + np.exp(-a))
    for t in range(T, 0, -1):
        h_prev = hidden[t - 1]
        gi, gh = x[t - 1] @ W_ih.T + b_ih, h_prev @ W_hh.T + b_hh
        r, z = sigmoid(gi[..., :H] + gh[..., :H]), sigmoid(gi[..., H:2 * H] + gh[..., H:2 * H])
        n = np.tanh(gi[..., 2 * H:] + r * gh[..., 2 * H:])
        da_n = dh * (1 - z) * (1 - n**2)
        da_r = np.zeros_like(da_n)  # should be (da_n ⊙ (h W_hnᵀ + b_hn)) ⊙ r(1 − r)
        da_z = dh * (h_prev - n) * z * (1 - z)
        input_side = np.concatenate([da_r, da_z, da_n], axis=-1)
        hidden_side = np.concatenate([da_r, da_z, da_n * r], axis=-1)
        grad_W_ih += input_side.T @ x[t - 1]
        grad_W_hh += hidden_side.T @ h_prev
        grad_b_ih += input_side.sum(axis=0)
        grad_b_hh += hidden_side.sum(axis=0)
        grad_x[t - 1] = input_side @ W_ih
        dh = dh * z + hidden_side @ W_hh + (grad_output[t - 2] if t >= 2 else 0.0)
    return grad_x, dh, grad_W_ih, grad_W_hh, grad_b_ih, grad_b_hh
