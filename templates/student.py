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
