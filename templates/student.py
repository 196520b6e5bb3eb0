"""Your implementation of the protocol (docs/protocol.md).  Copy this file, fill in
the functions in task order, and check each claim as you go:

    python -m spec_tests --impl my_impl.py            # the conformance table
    pytest spec_tests --impl my_impl.py -k forward    # one task's tests, with details

Every function takes and returns numpy float64 arrays.  Weights use PyTorch's
(out_features, in_features) layout; a batch is one example per row.  A function
that still raises NotImplementedError makes its claims show as skipped.
"""

import numpy as np

ACTIVATIONS = ("linear", "tanh", "relu", "sigmoid")


def mlp_forward(x, weights, biases, activation):
    """Task 1 — the forward pass (claim P1).

    h_0 = x,   a_l = h_{l-1} W_lᵀ + b_l,   h_l = σ(a_l)   for l = 1..L,
    every layer, the last included, applying σ.

    x: (batch, d_0); weights[l-1] = W_l: (d_l, d_{l-1}); biases[l-1] = b_l: (d_l,).
    Return (pre_activations, hidden_states) = ([a_1..a_L], [h_0..h_L]).
    """
    raise NotImplementedError("Task 1: implement mlp_forward (claim P1)")


def mlp_backward(x, weights, biases, activation, grad_output):
    """Task 2 — the backward pass by vector–Jacobian products (claim P2, then S1, S3, S5, S9).

    With g_L = grad_output = ∂L/∂h_L, for l = L..1:
        δ_l = σ'(a_l) ⊙ g_l,    g_{l-1} = δ_l W_l,
        ∂L/∂W_l = Σ_batch δ_l h_{l-1}ᵀ   (shape of W_l),    ∂L/∂b_l = Σ_batch δ_l.
    relu'(0) = 0.  Never form a Jacobian matrix here: O(L·d²) per example.
    Return (grad_hidden [g_0..g_L], grad_weights, grad_biases).
    """
    raise NotImplementedError("Task 2: implement mlp_backward (claim P2)")


def mlp_layer_jacobians(x, weights, biases, activation):
    """Task 3 — the layer Jacobians at a single example x of shape (d_0,) (claim P3).

    J_l = ∂h_l/∂h_{l-1} = diag(σ'(a_l)) W_l, shape (d_l, d_{l-1}), for l = 1..L.
    """
    raise NotImplementedError("Task 3: implement mlp_layer_jacobians (claim P3)")


# -- recurrences: time-first x of shape (T, batch, input); PyTorch's gate-stacked weights --


def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, activation):
    """Task 4 — unroll a vanilla RNN (claim P4).

    h_t = σ(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), t = 1..T.   h0: (batch, hidden).
    Return h_0..h_T as one array (T + 1, batch, hidden).
    """
    raise NotImplementedError("Task 4: implement rnn_forward (claim P4)")


def rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, activation, grad_output):
    """Task 5 — backpropagation through time (claim P5, then S4, S8, S18).

    L = Σ_t ⟨grad_output_t, h_t⟩.  With ḡ_T = grad_output_T, going back:
        δ_t = σ'(a_t) ⊙ ḡ_t,   ḡ_{t-1} = grad_output_{t-1} + δ_t W_hh   (no output term at t = 0)
        ∂L/∂W_hh = Σ_t δ_tᵀ h_{t-1},  ∂L/∂W_ih = Σ_t δ_tᵀ x_t,  ∂L/∂b_ih = ∂L/∂b_hh = Σ δ_t,  ∂L/∂x_t = δ_t W_ih
    Return (ḡ_0..ḡ_T as (T + 1, batch, hidden), ∂L/∂x, ∂L/∂W_ih, ∂L/∂W_hh, ∂L/∂b_ih, ∂L/∂b_hh).
    """
    raise NotImplementedError("Task 5: implement rnn_backward (claim P5)")


def rnn_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh, activation):
    """Task 6 — J_t = ∂h_t/∂h_{t-1} = diag(σ'(a_t)) W_hh along one sequence x: (T, input), h0: (hidden,).

    Return an array (T, hidden, hidden) (claim P6).
    """
    raise NotImplementedError("Task 6: implement rnn_step_jacobians (claim P6)")


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Task 7 — the LSTM (claim P7).  z = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh, blocks (i, f, g, o):

        i, f, o = σ(z_i), σ(z_f), σ(z_o);  g = tanh(z_g);  c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)
    Return (h_0..h_T, c_0..c_T), each (T + 1, batch, hidden).
    """
    raise NotImplementedError("Task 7: implement lstm_forward (claim P7)")


def lstm_backward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, grad_output, grad_cell):
    """Task 8 — LSTM BPTT for L = Σ_t ⟨grad_output_t, h_t⟩ + ⟨grad_cell, c_T⟩ (claim P8).

    Return (∂L/∂x, ∂L/∂h0, ∂L/∂c0, ∂L/∂W_ih, ∂L/∂W_hh, ∂L/∂b_ih, ∂L/∂b_hh).
    """
    raise NotImplementedError("Task 8: implement lstm_backward (claim P8)")


def lstm_step_jacobians(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Task 9 — along one sequence: the direct path ∂c_t/∂c_{t-1} = diag(f_t) (T, H, H) and the full
    Jacobian of (h_t, c_t) with respect to (h_{t-1}, c_{t-1}) (T, 2H, 2H), rows and columns (h, c).
    (claims P9, S16)
    """
    raise NotImplementedError("Task 9: implement lstm_step_jacobians (claim P9)")


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    """Task 10 — the GRU in PyTorch's form (claim P10), blocks (r, z, n):

        r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr),  z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)
        n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn)),  h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
    Return h_0..h_T: (T + 1, batch, hidden).
    """
    raise NotImplementedError("Task 10: implement gru_forward (claim P10)")


def gru_backward(x, h0, W_ih, W_hh, b_ih, b_hh, grad_output):
    """Task 11 — GRU BPTT for L = Σ_t ⟨grad_output_t, h_t⟩ (claim P11).

    Return (∂L/∂x, ∂L/∂h0, ∂L/∂W_ih, ∂L/∂W_hh, ∂L/∂b_ih, ∂L/∂b_hh).
    """
    raise NotImplementedError("Task 11: implement gru_backward (claim P11)")


def gru_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh):
    """Task 12 — along one sequence: the direct path diag(z_t) and the full ∂h_t/∂h_{t-1}, each (T, H, H)
    (claims P12, S16)."""
    raise NotImplementedError("Task 12: implement gru_step_jacobians (claim P12)")
