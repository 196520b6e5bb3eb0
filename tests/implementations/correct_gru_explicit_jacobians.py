"""Correct, computed another way: h_t = n + z ⊙ (h_{t−1} − n) (PyTorch's fused-kernel form of
(1 − z) ⊙ n + z ⊙ h_{t−1}), σ(z) = ½(1 + tanh(z/2)), BPTT carried by explicitly formed step Jacobians
∂h_t/∂h_{t−1} per example (reversed accumulation, one matrix–vector product a step), and the weight
gradients summed over time and batch at once (einsum)."""

import numpy as np

REJECTED_BY = ()  # the exact set of claims whose tests fail on this implementation


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _run(x, h0, W_ih, W_hh, b_ih, b_hh):
    """hidden (T + 1, B, H) and per step r, z, n, hn = h_{t−1} W_hnᵀ + b_hn (T, B, H) each."""
    x, h0, W_ih, W_hh, b_ih, b_hh = (np.asarray(a, dtype=float) for a in (x, h0, W_ih, W_hh, b_ih, b_hh))
    H = h0.shape[-1]
    inputs = np.einsum("tbi,gi->tbg", x, W_ih) + b_ih
    hidden, parts = [h0], {k: [] for k in ("r", "z", "n", "hn")}
    for gi in inputs:
        gh = hidden[-1] @ W_hh.T + b_hh
        r = _sigmoid(gh[..., :H] + gi[..., :H])
        z = _sigmoid(gh[..., H:2 * H] + gi[..., H:2 * H])
        n = np.tanh(r * gh[..., 2 * H:] + gi[..., 2 * H:])
        hidden.append(n + z * (hidden[-1] - n))
        for k, v in zip(("r", "z", "n", "hn"), (r, z, n, gh[..., 2 * H:])):
            parts[k].append(v)
    return np.stack(hidden), {k: np.stack(v) for k, v in parts.items()}


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    return _run(x, h0, W_ih, W_hh, b_ih, b_hh)[0]


def _partials(h_prev, r, z, n, hn):
    """∂h_t/∂(pre-activations): the input side (H, 3H) and the hidden side (H, 3H), whose r and z blocks agree
    and whose n block carries the reset gate r; and the direct path z."""
    H = h_prev.shape[-1]
    dn = (1 - z) * (1 - n * n)
    input_side = np.zeros((H, 3 * H))
    input_side[:, :H] = np.diag(dn * hn * r * (1 - r))
    input_side[:, H:2 * H] = np.diag((h_prev - n) * z * (1 - z))
    input_side[:, 2 * H:] = np.diag(dn)
    hidden_side = input_side.copy()
    hidden_side[:, 2 * H:] = np.diag(dn * r)
    return input_side, hidden_side, z


def gru_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh):
    hidden, parts = _run(np.asarray(x)[:, None], np.asarray(h0)[None], W_ih, W_hh, b_ih, b_hh)
    W_hh = np.asarray(W_hh, dtype=float)
    direct, full = [], []
    for t in range(len(x)):
        _, hidden_side, z = _partials(hidden[t, 0], *(parts[k][t, 0] for k in ("r", "z", "n", "hn")))
        direct.append(np.diag(z))
        full.append(hidden_side @ W_hh + np.diag(z))
    return np.stack(direct), np.stack(full)


def gru_backward(x, h0, W_ih, W_hh, b_ih, b_hh, grad_output):
    x, W_ih, W_hh = (np.asarray(a, dtype=float) for a in (x, W_ih, W_hh))
    grad_output = np.asarray(grad_output, dtype=float)
    hidden, parts = _run(x, h0, W_ih, W_hh, b_ih, b_hh)
    T, B, H = grad_output.shape
    dh = grad_output[T - 1].copy()
    d_input, d_hidden = np.zeros((T, B, 3 * H)), np.zeros((T, B, 3 * H))
    for t in range(T, 0, -1):
        for b in range(B):
            input_side, hidden_side, z = _partials(hidden[t - 1, b], *(parts[k][t - 1, b] for k in ("r", "z", "n", "hn")))
            d_input[t - 1, b] = input_side.T @ dh[b]
            d_hidden[t - 1, b] = hidden_side.T @ dh[b]
            dh[b] = (hidden_side @ W_hh + np.diag(z)).T @ dh[b]  # J_tᵀ ∂L/∂h_t
        if t >= 2:
            dh += grad_output[t - 2]
    return (np.einsum("tbg,gi->tbi", d_input, W_ih), dh, np.einsum("tbg,tbi->gi", d_input, x),
            np.einsum("tbg,tbj->gj", d_hidden, hidden[:-1]), np.einsum("tbg->g", d_input), np.einsum("tbg->g", d_hidden))
