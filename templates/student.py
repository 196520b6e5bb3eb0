"""Your implementation of the protocol (docs/protocol.md).  Copy this file, fill in
the functions in task order, and check each claim as you go:

    python -m spec_tests --impl my_impl.py            # the conformance table
    pytest spec_tests --impl my_impl.py -k forward    # one task's tests, with details

Every function takes and returns numpy float64 arrays.  Weights use PyTorch's
(out_features, in_features) layout; a batch is one example per row.  A function
that still raises NotImplementedError makes its claims show as skipped.
"""

import numpy as np  # noqa: F401  (for your implementation)


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


# -- remedies: clipping, initialisation, warmup --------------------------------------------------


def clip_grad_norm(grads, max_norm, norm_type):
    """Task 13 — clip by global norm (claims S12a–S12j).

    ||g|| = ||concat(g_1, …, g_k)||_p (p = inf: max |g|);  clip(g)_i = g_i · min(1, max_norm / ||g||),
    one coefficient for every tensor.  Keep each tensor's dtype (float16, bfloat16, float32, float64);
    compute the norm without overflow (scale by max |g|); raise ValueError for NaN/inf gradients or a
    max_norm that is not finite and positive.  Return (clipped list, ||g|| before clipping).
    """
    raise NotImplementedError("Task 13: implement clip_grad_norm (claim S12)")


def clip_grad_value(grads, clip_value):
    """Task 14 — entrywise clip to [−c, c], keeping dtypes (claim S12k).  Return the clipped list."""
    raise NotImplementedError("Task 14: implement clip_grad_value (claim S12k)")


def adaptive_clip_grad(params, grads, clipping, eps):
    """Task 15 — adaptive gradient clipping (claim S12m), unit by unit (rows in (out, in, …) layout;
    a vector is one unit):  G_i ← G_i · min(1, clipping · max(||W_i||, eps) / ||G_i||)."""
    raise NotImplementedError("Task 15: implement adaptive_clip_grad (claim S12m)")


def calculate_gain(nonlinearity, param):
    """Task 16 — PyTorch's gain table (claim S13a): linear, sigmoid 1; tanh 5/3; relu √2; selu 3/4;
    leaky_relu √(2/(1 + s²)) — the slope squared — with s = param, or 0.01 when param is None."""
    raise NotImplementedError("Task 16: implement calculate_gain (claim S13a)")


def xavier_uniform(shape, gain, seed):
    """Task 17 — U(−a, a), a = gain·√(6/(fan_in + fan_out)); fan_in = shape[1]·∏shape[2:],
    fan_out = shape[0]·∏shape[2:] (claim S13b).  Return a float64 array of `shape`."""
    raise NotImplementedError("Task 17: implement xavier_uniform (claim S13b)")


def xavier_normal(shape, gain, seed):
    """Task 18 — N(0, σ²), σ = gain·√(2/(fan_in + fan_out)) (claim S13c)."""
    raise NotImplementedError("Task 18: implement xavier_normal (claim S13c)")


def kaiming_uniform(shape, a, mode, nonlinearity, seed):
    """Task 19 — U(−b, b), b = gain·√(3/fan), gain = calculate_gain(nonlinearity, a),
    fan = fan_in or fan_out per mode (claim S13b)."""
    raise NotImplementedError("Task 19: implement kaiming_uniform (claim S13b)")


def kaiming_normal(shape, a, mode, nonlinearity, seed):
    """Task 20 — N(0, σ²), σ = gain/√fan (claims S13c, S9c)."""
    raise NotImplementedError("Task 20: implement kaiming_normal (claim S13c)")


def orthogonal(shape, gain, seed):
    """Task 21 — gain·Q with orthonormal rows (or columns, when rows > columns) (claim S13d);
    rows = shape[0], columns = ∏shape[1:].  QR of a tall Gaussian gives orthonormal columns: for a
    wide weight transpose Q (a reshape has the right shape but is not orthogonal)."""
    raise NotImplementedError("Task 21: implement orthogonal (claim S13d)")


def normal(shape, std, seed):
    """Task 22 — N(0, std²) whatever the fans: the naive scale (claim S9c)."""
    raise NotImplementedError("Task 22: implement normal (claim S9c)")


def warmup_schedule(num_steps, peak_lr, warmup_steps):
    """Task 23 — lr_t = peak · min(1, (t + 1)/W) for t = 0..num_steps − 1 (claim S17b)."""
    raise NotImplementedError("Task 23: implement warmup_schedule (claim S17b)")


def warmup_cosine_schedule(num_steps, peak_lr, warmup_steps, final_lr):
    """Task 24 — linear warmup to the peak at t = W − 1, then
    final + (peak − final)·½(1 + cos(π(t − W + 1)/(N − W))) (claim S17b)."""
    raise NotImplementedError("Task 24: implement warmup_cosine_schedule (claim S17b)")


def sgd_step(params, grads, velocities, lr, momentum):
    """Task 25 — one SGD step, every tensor: v ← μ v + g, then θ ← θ − lr · v with the new v (claim S17a).

    Exactly torch.optim.SGD's default: no dampening (not v ← μ v + (1 − μ) g), no Nesterov (not
    θ ← θ − lr (g + μ v)), and subtract.  Use the velocities you are given (zeros before the first step).
    Return (new params, new velocities), lists of float64 arrays shaped like params."""
    raise NotImplementedError("Task 25: implement sgd_step (claim S17a)")


# -- residual MLPs (S14): branches [(W1 (m, d), b1 (m,), W2 (d, m), b2 (d,))], one α_l per block ----------


def residual_forward(x, branches, alphas, activation):
    """Task 26 — the residual forward pass (claim P13).  h_0 = x and, for every block l,

        z_l = h_{l-1} W1ᵀ + b1,    F_l = σ(z_l) W2ᵀ + b2,    h_l = h_{l-1} + α_l F_l

    (σ between the branch's two linear maps only; no activation after the sum).  Return [h_0 … h_L],
    each (batch, d).  The initialisations are the spec's: α/L scaling passes α_l = α/L, ReZero α_l = 0,
    Fixup W2 = 0 and b2 = 0 (docs/residual.md).
    """
    raise NotImplementedError("Task 26: implement residual_forward (claim P13)")


def residual_backward(x, branches, alphas, activation, grad_output):
    """Task 27 — the residual backward pass for L = Σ_batch ⟨grad_output, h_L⟩ (claim P14, then S14a–S14d).

        e_l = α_l g_l,   δ_l = σ'(z_l) ⊙ (e_l W2),   g_{l-1} = g_l + δ_l W1   (keep the skip path's g_l!)
        ∂L/∂W1 = Σ_batch δ_lᵀ h_{l-1},  ∂L/∂b1 = Σ_batch δ_l,  ∂L/∂W2 = Σ_batch e_lᵀ σ(z_l),  ∂L/∂b2 = Σ_batch e_l

    Return ([g_0 … g_L], [(∂W1, ∂b1, ∂W2, ∂b2) for each block]); g_L is grad_output.
    """
    raise NotImplementedError("Task 27: implement residual_backward (claim P14)")


def residual_block_jacobians(x, branches, alphas, activation):
    """Task 28 — the block Jacobians at one example x of shape (d,) (claims P15, S14c):
    J_l = I + α_l W2 diag(σ'(z_l)) W1, each (d, d)."""
    raise NotImplementedError("Task 28: implement residual_block_jacobians (claim P15)")


def layer_norm_forward(x, gain, bias, eps):
    """Task 29 — LayerNorm over the last axis of x (claim P16), as torch.nn.functional.layer_norm:

        μ = mean(x),   var = mean((x − μ)²)   (biased: divide by d, not d − 1),
        s = √(var + ε) (ε inside the root),   x̂ = (x − μ)/s,   y = g ⊙ x̂ + b.

    x: (…, d), any leading shape; gain, bias: (d,).  Return y, shaped like x."""
    raise NotImplementedError("Task 29: implement layer_norm_forward (claim P16)")


def layer_norm_backward(x, gain, bias, eps, grad_output):
    """Task 30 — the LayerNorm backward pass (claim P17).  With ĝ = g ⊙ grad_output, means over the last axis:

        ∂L/∂x = (1/s)(ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)),
        ∂L/∂g = Σ grad_output ⊙ x̂,   ∂L/∂b = Σ grad_output   (sums over every leading axis).

    The mean term comes from μ depending on x, the x̂ term from s depending on x.
    Return (grad_x, grad_gain, grad_bias)."""
    raise NotImplementedError("Task 30: implement layer_norm_backward (claim P17)")


def layer_norm_jacobian(x, gain, bias, eps):
    """Task 31 — the Jacobian at one example x of shape (d,) (claims P18, S15):

        J = ∂y/∂x = diag(g) · (1/s) · (P − x̂ x̂ᵀ/d),   P = I − 11ᵀ/d,

    row i is output i, so the gain scales rows.  With g = 1 its singular values are 1/s, ε/s³ and 0:
    ‖J‖ can reach max|g|/√ε (316 at ε = 1e-5) for a near-constant x.  Return a (d, d) array."""
    raise NotImplementedError("Task 31: implement layer_norm_jacobian (claim P18)")


# -- policy gradients (S11) --------------------------------------------------------------------------


def softmax_policy_gradient(states, actions, advantages, W, b):
    """Task 35 — the REINFORCE estimate for a softmax policy (claim P22, then S11a–S11c, S11f, S11h).

    logits z_i = s_i Wᵀ + b,  π_i = softmax(z_i),  score ∇_z log π(a_i|s_i) = e_{a_i} − π_i:
        ∂/∂W = (1/N) Σ_i A_i (e_{a_i} − π_i) s_iᵀ,    ∂/∂b = (1/N) Σ_i A_i (e_{a_i} − π_i)
    (the ascent direction of (1/N) Σ A_i log π, not the gradient of a loss).  states (N, d), actions (N,)
    integers, advantages (N,), W (K, d), b (K,).  Return (grad_W, grad_b).
    """
    raise NotImplementedError("Task 35: implement softmax_policy_gradient (claim P22)")


def gaussian_policy_gradient(states, actions, advantages, W, b, log_std):
    """Task 36 — the REINFORCE estimate for a diagonal Gaussian policy (claim P23, then S11a, S11d).

    μ_i = s_i Wᵀ + b, σ = exp(log_std),  u_i = (a_i − μ_i)/σ²  (σ², not σ):
        ∂/∂W = (1/N) Σ A_i u_i s_iᵀ,  ∂/∂b = (1/N) Σ A_i u_i,  ∂/∂log_std = (1/N) Σ A_i ((a_i − μ_i)²/σ² − 1).
    actions (N, m), W (m, d), b (m,), log_std (m,).  Return (grad_W, grad_b, grad_log_std).
    """
    raise NotImplementedError("Task 36: implement gaussian_policy_gradient (claim P23)")


def normalise_advantages(advantages):
    """Task 37 — Â = (A − mean(A)) / std(A), the biased std √((1/N) Σ (A_i − mean)²), no ε
    (claim P24, then S11e, S11f).  Subtract the mean before squaring: E[A²] − E[A]² cancels.
    """
    raise NotImplementedError("Task 37: implement normalise_advantages (claim P24)")


def ppo_clip_gradient(states, actions, advantages, old_log_probs, W, b, clip_eps):
    """Task 38 — the gradient of PPO's clipped surrogate for the softmax policy of Task 35 (claim P25, then S11g).

    r_i = exp(log π(a_i|s_i) − old_log_probs_i),  L = (1/N) Σ min(r_i A_i, clip(r_i, 1 − ε, 1 + ε) A_i),
    ∇L = (1/N) Σ [unclipped term picked] r_i A_i (e_{a_i} − π_i) (s_i, 1): picked when A > 0 and r < 1 + ε,
    or A < 0 and r > 1 − ε.  Return (grad_W, grad_b).
    """
    raise NotImplementedError("Task 38: implement ppo_clip_gradient (claim P25)")


# -- Transformer encoder layers, post-LN and pre-LN (S10) ---------------------------------------------


def transformer_layer_forward(x, params, nhead, norm_first):
    """Task 32 — torch.nn.TransformerEncoderLayer(d, nhead, f, dropout=0, batch_first=True) (claim P19, then S10).

    x (batch, seq, d); params keyed by state_dict names.  SA(x) = concat_j softmax(Q_j K_jᵀ/√d_k) V_j W_Oᵀ + b_O
    with [W_Q; W_K; W_V] = self_attn.in_proj_weight, d_k = d/nhead; FF(u) = relu(u W_1ᵀ + b_1) W_2ᵀ + b_2;
    LN(z) = g ⊙ (z − μ)/√(var + 1e-5) + b (biased variance).
        post-LN (norm_first False): u = LN_1(x + SA(x)),  y = LN_2(u + FF(u))
        pre-LN  (norm_first True):  u = x + SA(LN_1(x)),  y = u + FF(LN_2(u))
    """
    raise NotImplementedError("Task 32: implement transformer_layer_forward (claim P19)")


def transformer_stack_forward(x, layers, final_norm, nhead, norm_first):
    """Task 32 — h_0 = x, h_l = layer_l(h_{l−1}); return (h_0 … h_L stacked (L + 1, batch, seq, d), output) with
    output = LN_final(h_L) when final_norm = {'weight', 'bias'}, h_L when it is None (claim P19)."""
    raise NotImplementedError("Task 32: implement transformer_stack_forward (claim P19)")


def transformer_layer_backward(x, params, nhead, norm_first, grad_output):
    """Task 33 — for L = Σ⟨grad_output, y⟩ return (∂L/∂x, {name: ∂L/∂p}) (claim P20, then S10).

    Through the softmax, ∂L/∂S = A ⊙ (∂L/∂A − rowsum(A ⊙ ∂L/∂A)); through LN,
    ∂L/∂z = (ĝ − mean(ĝ) − ẑ·mean(ĝ ⊙ ẑ))/s with ĝ = g ⊙ ∂L/∂y; a residual adds the incoming gradient.
    """
    raise NotImplementedError("Task 33: implement transformer_layer_backward (claim P20)")


def transformer_stack_backward(x, layers, final_norm, nhead, norm_first, grad_output):
    """Task 33 — (∂L/∂h_0 … ∂L/∂h_L stacked, [per-layer {name: ∂L/∂p}], final-norm gradients or None) (claim P20)."""
    raise NotImplementedError("Task 33: implement transformer_stack_backward (claim P20)")


def transformer_block_jacobians(x, params, nhead, norm_first):
    """Task 34 — for one sequence x (seq, d): (∂u/∂x, ∂y/∂u), each (seq·d, seq·d), token-major (claim P21, S10a).

    pre-LN: I + J_sublayer(LN z)·J_LN(z) (an identity path); post-LN: J_LN(z + sublayer z)·(I + J_sublayer(z)).
    """
    raise NotImplementedError("Task 34: implement transformer_block_jacobians (claim P21)")
