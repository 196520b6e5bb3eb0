"""Correct, computed another way: σ(z) = ½(1 + tanh(z/2)), the gate sums added in another order, BPTT carried
by the explicitly formed step Jacobians ∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}) per example (reversed accumulation of
the state gradient, one matrix–vector product a step), and the weight gradients summed over time and batch
at once (einsum) instead of step by step."""

import numpy as np

REJECTED_BY = ()  # the exact set of claims whose tests fail on this implementation


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _run(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """States and gates: hidden, cells (T + 1, B, H); gates i, f, g, o (T, B, H) each."""
    x, h0, c0, W_ih, W_hh, b_ih, b_hh = (np.asarray(a, dtype=float) for a in (x, h0, c0, W_ih, W_hh, b_ih, b_hh))
    T, H = x.shape[0], h0.shape[-1]
    hidden, cells = [h0], [c0]
    gates = {k: [] for k in "ifgo"}
    inputs = np.einsum("tbi,gi->tbg", x, W_ih) + (b_hh + b_ih)
    for t in range(T):
        z = hidden[-1] @ W_hh.T + inputs[t]
        i, f, o = _sigmoid(z[..., :H]), _sigmoid(z[..., H:2 * H]), _sigmoid(z[..., 3 * H:])
        g = np.tanh(z[..., 2 * H:3 * H])
        cells.append(i * g + f * cells[-1])
        hidden.append(np.tanh(cells[-1]) * o)
        for k, v in zip("ifgo", (i, f, g, o)):
            gates[k].append(v)
    return np.stack(hidden), np.stack(cells), {k: np.stack(v) for k, v in gates.items()}


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    hidden, cells, _ = _run(x, h0, c0, W_ih, W_hh, b_ih, b_hh)
    return hidden, cells


def _step_parts(W_hh, c_prev, c, i, f, g, o):
    """∂z/∂h_{t−1} is W_hh; the partial derivatives of (h_t, c_t) with respect to the gate pre-activations
    and c_{t−1}, for one example: returns (dc_dz (H, 4H), dh_dz (H, 4H), dc_dcprev, dh_dc) as vectors."""
    H = c.shape[-1]
    tanh_c = np.tanh(c)
    dc_dz = np.zeros((H, 4 * H))
    dc_dz[:, :H] = np.diag(g * i * (1 - i))
    dc_dz[:, H:2 * H] = np.diag(c_prev * f * (1 - f))
    dc_dz[:, 2 * H:3 * H] = np.diag(i * (1 - g * g))
    dh_dc = o / np.cosh(c) ** 2
    dh_dz = dh_dc[:, None] * dc_dz
    dh_dz[:, 3 * H:] += np.diag(tanh_c * o * (1 - o))
    return dc_dz, dh_dz, f, dh_dc


def _full_jacobian(W_hh, c_prev, c, i, f, g, o):
    dc_dz, dh_dz, dc_dcprev, dh_dc = _step_parts(W_hh, c_prev, c, i, f, g, o)
    top = np.concatenate([dh_dz @ W_hh, np.diag(dh_dc * dc_dcprev)], axis=1)
    bottom = np.concatenate([dc_dz @ W_hh, np.diag(dc_dcprev)], axis=1)
    return np.concatenate([top, bottom], axis=0)


def lstm_step_jacobians(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    _, cells, gates = _run(np.asarray(x)[:, None], np.asarray(h0)[None], np.asarray(c0)[None], W_ih, W_hh, b_ih, b_hh)
    W_hh = np.asarray(W_hh, dtype=float)
    full = np.stack([_full_jacobian(W_hh, cells[t, 0], cells[t + 1, 0], *(gates[k][t, 0] for k in "ifgo"))
                     for t in range(len(x))])
    direct = np.stack([np.diag(f) for f in gates["f"][:, 0]])
    return direct, full


def lstm_backward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, grad_output, grad_cell):
    x, W_ih, W_hh = (np.asarray(a, dtype=float) for a in (x, W_ih, W_hh))
    grad_output, grad_cell = np.asarray(grad_output, dtype=float), np.asarray(grad_cell, dtype=float)
    hidden, cells, gates = _run(x, h0, c0, W_ih, W_hh, b_ih, b_hh)
    T, B, H = grad_output.shape
    state = np.concatenate([grad_output[T - 1], grad_cell], axis=-1)  # ∂L/∂(h_T, c_T): (B, 2H)
    dz = np.zeros((T, B, 4 * H))
    for t in range(T, 0, -1):
        for b in range(B):
            parts = (cells[t - 1, b], cells[t, b], *(gates[k][t - 1, b] for k in "ifgo"))
            dc_dz, dh_dz, _, _ = _step_parts(W_hh, *parts)
            dz[t - 1, b] = dh_dz.T @ state[b, :H] + dc_dz.T @ state[b, H:]
            state[b] = _full_jacobian(W_hh, *parts).T @ state[b]
        if t >= 2:
            state[:, :H] += grad_output[t - 2]
    grad_W_ih = np.einsum("tbg,tbi->gi", dz, x)
    grad_W_hh = np.einsum("tbg,tbj->gj", dz, hidden[:-1])
    grad_b = np.einsum("tbg->g", dz)
    return (np.einsum("tbg,gi->tbi", dz, W_ih), state[:, :H], state[:, H:], grad_W_ih, grad_W_hh, grad_b,
            grad_b.copy())
