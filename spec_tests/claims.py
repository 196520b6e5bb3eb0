"""The claims catalogue: every claim the specification makes, with its source.

Each spec test names the claims it asserts with ``@claim("S1a")``.  The catalogue
page docs/claims.md is generated from this table and from those decorators
(``python tools/make_docs.py``); tests/test_catalogue.py fails when an entry has
no test, a test names an unknown claim, or the page is stale.

Seed IDs S1–S19 are the source text's claims (../shared/seed/claims.md); one seed
claim may become several precise claims (S1a, S1b, …).  P-claims pin the
implementation protocol itself: what the functions must compute.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    statement: str
    source: str
    kind: str = "theorem"  # theorem | counterexample | statistical | definition
    level: str = "required"  # required | recommended
    pending: str = ""  # non-empty: not yet specified, says where it will be
    failure_probability: str = ""  # statistical claims: what a failing run would mean

    @property
    def seed(self) -> str:
        return self.id.rstrip("abcdefghijklmnopqrstuvwxyz")


PASCANU_2013 = "Pascanu, Mikolov & Bengio (2013), On the difficulty of training recurrent neural networks, sec. 2.1"
PASCANU_2013_CLIFF = "Pascanu, Mikolov & Bengio (2013), On the difficulty of training recurrent neural networks, ICML"
BENGIO_1994 = "Bengio, Simard & Frasconi (1994), Learning long-term dependencies with gradient descent is difficult"
GLOROT_2010 = "Glorot & Bengio (2010), Understanding the difficulty of training deep feedforward neural networks"
HE_2015 = "He, Zhang, Ren & Sun (2015), Delving deep into rectifiers, sec. 2.2"
SAXE_2014 = "Saxe, McClelland & Ganguli (2014), Exact solutions to the nonlinear dynamics of learning in deep linear networks"
HORN_JOHNSON = "Horn & Johnson, Matrix Analysis (2nd ed.), 5.6 (submultiplicativity) and 7.3 (singular values)"
WILLIAMS_1992 = ("Williams (1992), Simple statistical gradient-following algorithms for connectionist "
                 "reinforcement learning")
SUTTON_2000 = ("Sutton, McAllester, Singh & Mansour (2000), Policy gradient methods for reinforcement learning "
               "with function approximation")
SCHULMAN_2017 = "Schulman, Wolski, Dhariwal, Radford & Klimov (2017), Proximal policy optimization algorithms"
ANDRYCHOWICZ_2021 = ("Andrychowicz et al. (2021), What matters in on-policy reinforcement learning? "
                     "A large-scale empirical study")
HE_2016_RESNET = "He, Zhang, Ren & Sun (2016), Deep residual learning for image recognition"
HE_2016_IDENTITY = "He, Zhang, Ren & Sun (2016), Identity mappings in deep residual networks"
ZHANG_2019_FIXUP = "Zhang, Dauphin & Ma (2019), Fixup initialization: residual learning without normalization"
BACHLECHNER_2020 = "Bachlechner, Majumder, Mao, Cottrell & McAuley (2020), ReZero is all you need"
DE_SMITH_2020 = "De & Smith (2020), Batch normalization biases residual blocks towards the identity function (SkipInit)"
BA_2016 = "Ba, Kiros & Hinton (2016), Layer normalization, arXiv:1607.06450"
XIONG_2020 = "Xiong et al. (2020), On layer normalization in the Transformer architecture, ICML"

_CLAIMS = [
    # -- the protocol -------------------------------------------------------------
    Claim(
        "P1",
        "The forward pass is the layer recursion",
        "mlp_forward(x, W, b, σ) returns a_l = h_{l-1} W_lᵀ + b_l and h_l = σ(a_l) for l = 1..L, "
        "with h_0 = x, every layer (the last included) applying σ.",
        "Definition (docs/protocol.md)",
        kind="definition",
    ),
    Claim(
        "P2",
        "The backward pass is the chain rule",
        "For L = Σ_batch ⟨g_L, h_L⟩, mlp_backward returns ∂L/∂h_L = g_L and, with δ_l = σ'(a_l) ⊙ g_l at the "
        "network's own a_l, g_{l-1} = δ_l W_l (that is J_lᵀ g_l per example), ∂L/∂W_l = Σ_batch δ_l h_{l-1}ᵀ and "
        "∂L/∂b_l = Σ_batch δ_l; each within the rounding of some evaluation order (multiplying whole Jacobian "
        "chains is as correct as one layer at a time).",
        "Definition (reverse-mode differentiation; docs/protocol.md)",
        kind="definition",
    ),
    Claim(
        "P3",
        "Layer Jacobians are diag(σ'(a_l)) W_l",
        "mlp_layer_jacobians(x, W, b, σ) returns J_l = ∂h_l/∂h_{l-1} = diag(σ'(a_l)) W_l, of shape "
        "(d_l, d_{l-1}), at the single example x.",
        "Definition (docs/protocol.md)",
        kind="definition",
    ),
    Claim(
        "P4",
        "The RNN forward pass unrolls the recurrence",
        "rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, σ) returns h_0 = h0 and "
        "h_t = σ(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh) for t = 1..T, time-first, as torch.nn.RNN.",
        "Definition (docs/protocol.md); PyTorch's nn.RNN documentation",
        kind="definition",
    ),
    Claim(
        "P5",
        "The RNN backward pass is backpropagation through time",
        "For L = Σ_t ⟨g_t, h_t⟩, rnn_backward returns the total gradients ∂L/∂h_T = g_T and "
        "∂L/∂h_{t-1} = g_{t-1} + δ_t W_hh (no g_0 term), with δ_t = σ'(a_t) ⊙ ∂L/∂h_t, and ∂L/∂x_t = δ_t W_ih, "
        "∂L/∂W_ih = Σ_t δ_tᵀ x_t, ∂L/∂W_hh = Σ_t δ_tᵀ h_{t-1}, ∂L/∂b_ih = ∂L/∂b_hh = Σ_t δ_t (summed over the "
        "batch too); each within the rounding of some evaluation order (summing unrolled step-Jacobian products "
        "is as correct as one step at a time).",
        "Definition (Werbos 1990, backpropagation through time)",
        kind="definition",
    ),
    Claim(
        "P6",
        "RNN step Jacobians are diag(σ'(a_t)) W_hh",
        "rnn_step_jacobians returns J_t = ∂h_t/∂h_{t-1} = diag(σ'(a_t)) W_hh for t = 1..T along one sequence.",
        "Definition (docs/protocol.md)",
        kind="definition",
    ),
    Claim(
        "P7",
        "The LSTM forward pass follows PyTorch's cell equations, gates (i, f, g, o)",
        "With z = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh split into blocks (i, f, g, o): "
        "c_t = σ(z_f) ⊙ c_{t-1} + σ(z_i) ⊙ tanh(z_g) and h_t = σ(z_o) ⊙ tanh(c_t).",
        "Hochreiter & Schmidhuber (1997) with the forget gate of Gers et al. (2000); PyTorch's nn.LSTM",
        kind="definition",
    ),
    Claim(
        "P8",
        "The LSTM backward pass is the vector–Jacobian product of the LSTM",
        "For L = Σ_t ⟨g_t, h_t⟩ + ⟨g_c, c_T⟩, lstm_backward's gradients of x, h0, c0, W_ih, W_hh, b_ih, b_hh "
        "pass the dot-product test against the definition (P7).",
        "Definition; dot-product test as in JAX's check_vjp; complex-step derivatives (Squire & Trapp 1998)",
        kind="definition",
    ),
    Claim(
        "P9",
        "LSTM step Jacobians: the direct cell path is diag(f_t)",
        "lstm_step_jacobians returns, for each step, the direct path ∂c_t/∂c_{t-1} with h_{t-1} held fixed, "
        "which is diag(f_t), and the full Jacobian of (h_t, c_t) with respect to (h_{t-1}, c_{t-1}).",
        "Definition; Hochreiter & Schmidhuber (1997), the constant error carousel",
        kind="definition",
    ),
    Claim(
        "P10",
        "The GRU forward pass follows PyTorch's equations, reset gate after the matmul",
        "Gates (r, z, n): r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr), z likewise, "
        "n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn)), h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}.",
        "Cho et al. (2014), in PyTorch's nn.GRU variant (z weighs the previous state; reset after the matmul)",
        kind="definition",
    ),
    Claim(
        "P11",
        "The GRU backward pass is the vector–Jacobian product of the GRU",
        "For L = Σ_t ⟨g_t, h_t⟩, gru_backward's gradients of x, h0, W_ih, W_hh, b_ih, b_hh pass the "
        "dot-product test against the definition (P10).",
        "Definition; dot-product test as in JAX's check_vjp",
        kind="definition",
    ),
    Claim(
        "P12",
        "GRU step Jacobians: the direct path is diag(z_t)",
        "gru_step_jacobians returns the direct path diag(z_t) (gates held fixed) and the full ∂h_t/∂h_{t-1}.",
        "Definition (docs/protocol.md)",
        kind="definition",
    ),
    # -- S1: products of Jacobians through depth ----------------------------------
    Claim(
        "S1a",
        "The gradient is bounded by the product of the layer norms",
        "For every network, input and output gradient, and every layer l: "
        "||∂L/∂h_l|| ≤ ||∂L/∂h_L|| · ∏_{k=l+1..L} σ_max(J_k).  Holds for any widths and activations.",
        f"Seed S1; submultiplicativity of the operator norm, {HORN_JOHNSON}; {PASCANU_2013}",
    ),
    Claim(
        "S1b",
        "Smallest singular values above c > 1 force growth of at least c^L",
        "If every layer has no more outputs than inputs (d_l ≤ d_{l-1}), then "
        "||∂L/∂h_l|| ≥ ||∂L/∂h_L|| · ∏_{k>l} σ_min(J_k) for every l.  Hence if σ_min(J_k) ≥ c > 1 "
        "for every layer, the gradient reaching the input is at least c^L times the output gradient: "
        "exponential growth in depth.",
        f"Seed S1 (the precise form of 'multipliers > 1 make it grow as c^L'); {HORN_JOHNSON}",
    ),
    Claim(
        "S1c",
        "Counterexample: layer norms above 1 do not make the gradient grow",
        "The informal claim 'if every ||J_l|| > 1 the gradient grows' is false. "
        "Alternating J = diag(c, 1/c) and diag(1/c, c) (each of norm c > 1) multiply to the identity: "
        "the gradient, and so its norm, is unchanged at every even depth counted from the output, whatever the "
        "input.  The nilpotent J = [[0, c], [0, 0]], "
        "also of norm c, used in two consecutive layers gives J² = 0: the gradient is annihilated.",
        "Seed S1 (informal version shown false); counterexamples in Horn & Johnson 5.6",
        kind="counterexample",
    ),
    # -- S3: one mechanism --------------------------------------------------------
    Claim(
        "S3a",
        "With a spectrum straddling 1, some directions explode while others vanish",
        "If every layer is linear with W_l = Q diag(s_l) Qᵀ (one orthogonal Q, singular values s_{l,i}), "
        "a gradient along q_i at the output reaches the input as (∏_l s_{l,i}) q_i exactly: "
        "directions with ∏ s > 1 grow and those with ∏ s < 1 shrink, in the same network at once.",
        f"Seed S3; {BENGIO_1994}; {PASCANU_2013}",
    ),
    # -- S5: the per-layer symptom ------------------------------------------------
    Claim(
        "S5a",
        "Under the growth condition, per-layer gradient norms increase from output to input",
        "If every layer Jacobian is square with σ_min(J_l) ≥ c > 1, then ||∂L/∂h_{l-1}|| ≥ c ||∂L/∂h_l|| "
        "for every l: the norms of the gradients with respect to the hidden states increase "
        "strictly, layer by layer, from the output to the input.",
        "Seed S5; follows from S1b applied one layer at a time",
    ),
    Claim(
        "S5b",
        "Under the mirror condition, they decrease: vanishing is the same mechanism",
        "If every layer has σ_max(J_l) ≤ c < 1, then ||∂L/∂h_{l-1}|| ≤ c ||∂L/∂h_l|| for every l: "
        "the hidden-state gradient norms decrease from output to input (vanishing gradients).",
        "Seed S5 and S3; follows from S1a applied one layer at a time",
    ),
    Claim(
        "S5c",
        "Counterexample: weight-gradient norms need not show the symptom",
        "The symptom concerns ∂L/∂h_l.  The weight gradients `param.grad.norm()` that people print "
        "need not increase: in a linear network with W_l = c·Q_l (Q_l orthogonal, c > 1) and a single "
        "example, ||∂L/∂W_l||_F = c^{L-1} ||x|| ||∂L/∂h_L|| is the same at every layer, while "
        "||∂L/∂h_l|| grows by exactly c per layer towards the input.",
        "Seed S5 (a limit of the informal symptom); ∂L/∂W_l = δ_l h_{l-1}ᵀ has norm ||δ_l|| ||h_{l-1}||",
        kind="counterexample",
    ),
    # -- S9, first part: weight scale sets the drift --------------------------------
    Claim(
        "S9a",
        "Linear networks with Gaussian weights: log gradient norm drifts at rate log s",
        "With W_l i.i.d. N(0, s²/n) entries (n × n, linear activation), the per-layer terms "
        "X_l = log(||∂L/∂h_{l-1}|| / ||∂L/∂h_l||) are i.i.d. with X_l = log s + ½ log(χ²_n / n), mean "
        "μ = log s + ½(ψ(n/2) − log(n/2)) ≈ log s − 1/(2n).  For every s, n ≥ 16 and L ≥ 24, the average drift "
        "(1/L) Σ X_l lies within 0.3 of μ: positive (explosion) for s ≥ 1.4, negative (vanishing) for s ≤ 0.74.  "
        "At s = 1 it drifts down, by about "
        "1/(2n) per layer: for n = 4 over L = 1538 layers and n = 16 over L = 5611, the average lies within |μ|/2 "
        "of μ < 0 (between 3μ/2 and μ/2: below zero).",
        f"Seed S9; {GLOROT_2010}; the law of ||Wᵀv||² for Gaussian W (rotation invariance)",
        kind="statistical",
        failure_probability="≤ 1e-9 per network, by Chernoff bounds computed from the exact moment "
        "generating function of log χ²_n (spec_tests/gaussian_drift.py): at most 2.2e-12 for the ±0.3 band "
        "over n = 16..48, L ≥ 24; at most 1e-9 for the s = 1 band, whose depths are the least that achieve it "
        "(tests/test_catalogue.py recomputes both).  The first test draws its seeds, the second fixes seed 0",
    ),
    Claim(
        "S3b",
        "In an RNN, a spectrum straddling 1 makes some directions explode while others vanish",
        "For a linear RNN with symmetric W_hh = Q diag(s) Qᵀ, a gradient along q_i at step T reaches h_0 as "
        "s_i^T q_i exactly: the directions with s_i > 1 explode and those with s_i < 1 vanish, through the "
        "same recurrence.",
        f"Seed S3; {BENGIO_1994}; {PASCANU_2013}",
    ),
    Claim(
        "S4a",
        "A linear RNN's gradient through T steps lies between ρ(W)^T and σ_max(W)^T",
        "For h_t = W h_{t-1} + U x_t + b: ρ(W)^T ≤ ||∂h_T/∂h_0|| = ||W^T|| ≤ σ_max(W)^T, and for diagonalizable "
        "W = V Λ V⁻¹, ||W^T|| ≤ κ(V) ρ(W)^T, so ||W^T||^(1/T) → ρ(W) (Gelfand's formula) at rate κ(V)^(1/T).",
        f"Seed S4; Gelfand's formula (Horn & Johnson 5.6.14); {PASCANU_2013}",
    ),
    Claim(
        "S4b",
        "Pascanu's bound: ||∂h_T/∂h_0|| ≤ (γ σ_max(W_hh))^T",
        "For h_t = σ(W_hh h_{t-1} + …) with |σ'| ≤ γ (1 for tanh, relu and linear, 1/4 for sigmoid), "
        "||∂h_T/∂h_0|| ≤ (γ σ_max(W_hh))^T for every input.  So σ_max(W_hh) < 1/γ is sufficient for vanishing "
        "and σ_max(W_hh) > 1/γ is necessary (not sufficient) for exploding.",
        f"Seed S4; {PASCANU_2013}, eq. (7)",
    ),
    Claim(
        "S4c",
        "Counterexamples: the gradient does not scale like λ_max(W)^T",
        "The informal '||∂h_T/∂h_0|| ≈ λ_max(W)^T' is false both ways.  The nilpotent W = [[0, 100], [0, 0]] has "
        "σ_max = 100, yet ∂h_T/∂h_0 = W^T = 0 for every T ≥ 2.  The non-normal W = [[0.9, 100], [0, 0.9]] has "
        "ρ = 0.9, yet ||W^10|| ≈ 387 (W^T = [[0.9^T, 100·T·0.9^(T-1)], [0, 0.9^T]]): large transient growth "
        "before the eventual decay.",
        "Seed S4 (informal version shown false); Trefethen & Embree, Spectra and Pseudospectra (2005)",
        kind="counterexample",
    ),
    Claim(
        "S8a",
        "Under the growth condition, the gradient reaching the first step grows with T",
        "For square step Jacobians J_t and a loss on h_T, ||∂L/∂h_0|| ≥ ∏_t σ_min(J_t)·||∂L/∂h_T||.  So if every "
        "σ_min(J_t) ≥ c > 1, then ||∂L/∂h_0|| ≥ c^T ||∂L/∂h_T||, and longer sequences give geometrically larger "
        "gradients at the first step: ||∂h_T'/∂h_0|| ≥ ∏_(T<t≤T') σ_min(J_t)·||∂h_T/∂h_0|| ≥ c^(T'−T) ||∂h_T/∂h_0|| "
        "for T' > T.  At the fixed point h = 0 of a tanh or linear RNN with zero inputs and biases and W_hh = c·Q "
        "(Q orthogonal), the growth is exactly c^T.",
        "Seed S8; submultiplicativity of singular values (Horn & Johnson 7.3)",
    ),
    Claim(
        "S16a",
        "The LSTM's direct cell path and the GRU's direct path have norm ≤ 1",
        "For any weights and inputs, the direct path of step t is diag(f_t) (LSTM: ∂c_t/∂c_{t-1} with h_{t-1} "
        "held fixed) or diag(z_t) (GRU: ∂h_t/∂h_{t-1} with the gates held fixed), the gate σ(·) ∈ [0, 1] of the "
        "forward pass — not the identity.  So ∏_t diag(f_t) and ∏_t diag(z_t) are diagonal with entries in "
        "[0, 1]: their norm is ≤ 1.",
        "Seed S16; Hochreiter & Schmidhuber (1997); Gers, Schmidhuber & Cummins (2000); Cho et al. (2014)",
    ),
    Claim(
        "S16b",
        "Counterexample: gates do not bound the full Jacobian",
        "The informal 'gates bound the gradient' is false for the full Jacobian.  An LSTM (hidden size 1, zero "
        "input) at its fixed point h = c = 0 with b_i = b_o = 5, b_f = 0 and recurrent cell-input weight w = 10 "
        "has a rank-one step Jacobian with eigenvalue λ = σ(5)²·w + ½ ≈ 10.37, so ∂c_T/∂c_0 = ½·λ^(T-1) "
        "explodes while the direct path ∏ f_t = 2^(-T) vanishes.",
        "Seed S16 (informal version shown false); the construction follows from P9's Jacobian",
        kind="counterexample",
    ),
    Claim(
        "S16c",
        "With small recurrent weights, the LSTM's full gradient stays bounded",
        "Let β_t = max(β_t^c, β_t^h) with β_t^c = max f_t + ||diag(c_{t-1} f'_t)|| ||W_hf|| + ||diag(g_t i'_t)|| "
        "||W_hi|| + ||diag(i_t g'_t)|| ||W_hg|| and β_t^h = max|o_t tanh'(c_t)| β_t^c + max|tanh(c_t) o'_t| ||W_ho||.  "
        "Every block of ∂(h_T, c_T)/∂(h_0, c_0) has norm ≤ ∏_t β_t.  So when the recurrent weights are small "
        "enough that every β_t ≤ 1, no block exceeds 1, for every T.",
        "Seed S16; block-norm bound on the one-step Jacobian of P9 (derived in docs/recurrence.md)",
    ),
    Claim(
        "S18a",
        "Linear recurrences vanish for ρ < 1 and explode for ρ > 1",
        "For h_t = W h_{t-1} + …: if ρ(W) < 1, ||∂h_T/∂h_0|| ≤ κ(V) ρ^T → 0 (W = V Λ V⁻¹ diagonalizable); "
        "if ρ(W) > 1, ||∂h_T/∂h_0|| ≥ ρ^T → ∞.  Neither vanishing nor exploding needs ρ(W) = 1 exactly.",
        f"Seed S18; {BENGIO_1994}",
    ),
    Claim(
        "S18b",
        "ρ = 1 is a knife-edge: bounded only on it, and not always there",
        "Orthogonal W keeps ||∂h_T/∂h_0|| = 1 for every T, but (1 + ε)W gives (1 + ε)^T for any ε ≠ 0, "
        "and the Jordan block [[1, 1], [0, 1]] (ρ = 1) grows polynomially: ||J^T|| = (T + √(T² + 4))/2.",
        f"Seed S18; {BENGIO_1994} (the stable set has measure zero)",
    ),
    Claim(
        "S12a",
        "Clipping by global norm bounds the norm",
        "For every finite gradient g = (g_1, …, g_k) and max_norm c > 0: ||clip(g)|| ≤ c, up to three roundings "
        "into the gradients' dtype and the norm's own accumulation error (γ_n of float64 for float64, of float32 "
        "otherwise).",
        f"Seed S12; {PASCANU_2013}, Algorithm 1",
    ),
    Claim(
        "S12b",
        "Above the threshold the clipped norm is exactly max_norm",
        "If ||g|| > c then ||clip(g)|| = c (same tolerance), for every scale of c, small ones included: "
        "clip(g) = g · c / ||g||, the projection onto the ball of radius c.",
        f"Seed S12; {PASCANU_2013}, Algorithm 1",
    ),
    Claim(
        "S12c",
        "Within the threshold the gradient is unchanged",
        "If ||g|| ≤ c then clip(g) = g exactly (within the norm's tolerance of the threshold itself, a coefficient "
        "that far below 1 is accepted).",
        f"Seed S12; {PASCANU_2013}, Algorithm 1",
    ),
    Claim(
        "S12d",
        "One coefficient for the whole gradient: direction kept, split and order irrelevant",
        "clip(g)_i = a·g_i for every tensor i with one a ∈ (0, 1], so the update direction is kept; the total "
        "norm is ||concat(g_1, …, g_k)||, the same however the entries are split into tensors and ordered.",
        f"Seed S12; {PASCANU_2013}",
    ),
    Claim(
        "S12e",
        "Clipping is idempotent",
        "clip(clip(g)) = clip(g): a projection changes nothing the second time.",
        "Seed S12; a property of the projection onto a ball",
        level="recommended",
    ),
    Claim(
        "S12f",
        "Clipping is overflow- and underflow-safe",
        "Finite gradients whose squared norm overflows or underflows the dtype (float32 entries near 1e20, 1e30 "
        "or 1e-25, float16 near 300 or 1e-4, bfloat16 near 1e20 or 1e35, float64 near 1e160 or 1e-170) still "
        "give the right total norm, and for max_norm < ||g|| clip(g) is finite, has norm max_norm (S12a's "
        "tolerance) and is a·g with one a ∈ (0, 1]: a positive multiple of the gradient, never zeros.",
        "Seed S12; the scaled 2-norm of LAPACK's dnrm2 (Blue 1978; Anderson 2017)",
        level="recommended",
    ),
    Claim(
        "S12g",
        "Non-finite gradients are refused",
        "This project's policy: clip_grad_norm raises an error, instead of returning a clipped gradient, for a "
        "gradient holding NaN or ±inf in any entry of any tensor (docs/clipping.md compares PyTorch, optax and "
        "Keras, which do otherwise).",
        "Seed S12; project policy",
        level="recommended",
    ),
    Claim(
        "S12h",
        "Edge values: no gradient and zero gradients",
        "An empty list of gradients has total norm 0 and nothing to clip; a zero gradient stays exactly zero, "
        "never NaN, for every max_norm.",
        "Seed S12",
    ),
    Claim(
        "S12i",
        "A max_norm that is not finite and positive is refused",
        "max_norm ≤ 0, NaN or ±inf raises an error (a negative max_norm would flip the gradient).",
        "Seed S12; project policy",
        level="recommended",
    ),
    Claim(
        "S12j",
        "norm_type p clips by the p-norm of the concatenation",
        "For p ∈ {1, 2, 3, ∞}: the total norm is (Σ_all entries |g|^p)^(1/p) (max |g| for ∞), and "
        "clip(g) = a·g with one a ∈ (0, 1] and ||clip(g)||_p = min(||g||_p, c).",
        "Seed S12; PyTorch's clip_grad_norm_ norm_type",
    ),
    Claim(
        "S12k",
        "Clipping by value bounds every entry and keeps every sign",
        "clip_value(g, c) = min(max(g, −c), c) entrywise: every entry in [−c, c], every sign kept, entries "
        "inside unchanged.",
        "Seed S12; PyTorch's clip_grad_value_",
    ),
    Claim(
        "S12l",
        "Counterexample: value clipping is not norm clipping — it turns the gradient",
        "clip_value([10, 1], 1) = [1, 1], at cosine 11/√202 ≈ 0.774 to the gradient, while norm clipping "
        "keeps cosine 1: value clipping changes the update's direction, norm clipping only its length.",
        f"Seed S12 (why Algorithm 1 clips the norm); {PASCANU_2013}",
        kind="counterexample",
    ),
    Claim(
        "S12m",
        "Adaptive gradient clipping caps each unit relative to its weights",
        "For every unit i (a row in PyTorch's (out, in, …) layout; a vector is one unit), with ||·|| the 2-norm "
        "of the unit's entries: G_i ← G_i · min(1, λ·max(||W_i||, ε)/||G_i||).",
        "Brock, De, Smith & Simonyan (2021), High-performance large-scale image recognition without normalization, "
        "section 4.1",
    ),
    Claim(
        "S9c",
        "He and Xavier initialisation keep the per-layer drift near zero; naive scales explode or vanish",
        "Width 64, zero biases, mean over 16 fixed seeds of (1/L) log(||∂L/∂h_0|| / ||∂L/∂h_L||) at depths 16 "
        "and 64: He (kaiming_normal, fan_in, relu gain) with ReLU within ±0.1; Xavier (xavier_normal, gain 5/3) "
        "with tanh within ±0.15; the naive N(0, 1) with ReLU ≥ 1.5 (it grows like √(n/2) per layer); a too-small "
        "N(0, 0.01²) ≤ −2.5.",
        f"Seed S9, second part; {GLOROT_2010}; {HE_2015}",
        kind="statistical",
        failure_probability="fixed seeds, so the test is deterministic.  Over 200 seeds the per-seed drift "
        "(depth 16) had standard deviation 0.034: every band edge is at least 9 standard errors of a 16-seed mean "
        "away from the measured mean (He −0.023, Xavier-tanh +0.062, naive +1.71, too small −2.90)",
    ),
    Claim(
        "S9d",
        "At finite width the fluctuations grow with depth",
        "Even at He's critical scale the log gradient norm is not depth-independent at finite width: across seeds "
        "its spread grows like √(L/n) (its variance linearly in L, Hanin 2018).  With width 16 and seeds 0..63, "
        "the standard deviation of log(||∂L/∂h_0|| / ||∂L/∂h_L||) at depth 64 is 1.8–4.5 times that at depth 8 "
        "(√8 ≈ 2.83 predicted).",
        "Seed S9 (a caveat); Hanin (2018), Which neural net architectures give rise to exploding and vanishing "
        "gradients?",
        kind="statistical",
        failure_probability="fixed seeds, so deterministic; the ratio of two 64-sample standard deviations has a "
        "relative standard error of about 13%, putting 1.8 and 4.5 about 2.8 and 4.4 standard errors from √8",
    ),
    Claim(
        "S13a",
        "Recommended gains follow PyTorch's table",
        "calculate_gain(nonlinearity, param): linear and sigmoid 1, tanh 5/3, relu √2, selu 3/4; leaky_relu with "
        "any slope s √(2/(1 + s²)) (s = param, or 0.01 when param is None); each within 4·eps relative.",
        f"Seed S13; {HE_2015} (relu, leaky_relu); PyTorch's torch.nn.init.calculate_gain",
    ),
    Claim(
        "S13b",
        "Uniform schemes: exact bound, variance a²/3",
        "xavier_uniform draws U(−a, a) with a = gain·√(6/(fan_in + fan_out)); kaiming_uniform a = gain·√(3/fan) "
        "with fan = fan_in or fan_out as asked; fan_in = shape[1]·∏kernel, fan_out = shape[0]·∏kernel.  Every "
        "entry lies in [−a, a] and the mean of w² is a²/3 within 5% over ≥ 65,536 entries.",
        f"Seed S13; {GLOROT_2010}; {HE_2015}",
        kind="statistical",
        failure_probability="≤ 5e-16 per draw (Hoeffding's inequality on w² ∈ [0, a²])",
    ),
    Claim(
        "S13c",
        "Normal schemes have their variance",
        "xavier_normal has σ = gain·√(2/(fan_in + fan_out)), kaiming_normal σ = gain/√fan, normal σ = std: the "
        "mean of w² is σ² within 5% over ≥ 65,536 entries.",
        f"Seed S13; {GLOROT_2010}; {HE_2015}",
        kind="statistical",
        failure_probability="≤ 2e-13 per draw (Laurent & Massart's χ² tail bound with x = 30)",
    ),
    Claim(
        "S13d",
        "Orthogonal initialisation preserves the gradient norm exactly in a deep linear network",
        "orthogonal(shape, gain) has W Wᵀ = gain²·I (or Wᵀ W when it has more rows than columns; rows = shape[0], "
        "columns = ∏shape[1:]) for every shape and gain; with gain 1 and square layers every singular value of the "
        "end-to-end Jacobian W_L ⋯ W_1 of a linear network is 1 at any depth (checked to 200), so every gradient "
        "norm is preserved exactly.",
        f"Seed S13; {SAXE_2014}",
    ),
    Claim(
        "S17a",
        "SGD is exactly v ← μv + g, θ ← θ − lr·v: PyTorch's, no dampening, no Nesterov",
        "sgd_step(θ, g, v, lr, μ) returns, for every tensor and at every step, the velocity v' = μ·v + g and the "
        "parameters θ' = θ − lr·v' (torch.optim.SGD with dampening 0, nesterov False, no weight decay), within a "
        "few roundings elementwise (4·eps·(|μv| + |g|) and 6·eps·(|θ| + lr·(|μv| + |g|))), for any μ ∈ [0, 1), "
        "lr > 0 and given velocities, zero or not.  Dampening (v' = μv + (1 − μ)g), Nesterov "
        "(θ' = θ − lr·(g + μv')) and θ' = θ + lr·v' are not this update.  It follows that plain SGD moves θ by "
        "exactly lr·||g||, and that with v_0 = 0 and ||g_t|| ≤ G every update is at most lr_t·G/(1 − μ): the "
        "learning rate caps how far one large gradient throws the weights.",
        "Seed S17; Polyak (1964) heavy-ball momentum as in torch.optim.SGD (dampening=0, nesterov=False)",
        kind="definition",
    ),
    Claim(
        "S17b",
        "Linear warmup: peak/W at step 0, the peak exactly at step W − 1, never above it",
        "warmup_schedule(N, peak, W) returns lr_t = peak·min(1, (t + 1)/W) at every step t = 0..N − 1, for any "
        "N ≥ 1, W ≥ 1 and peak > 0, within 4(t + 1)·eps·peak (a few roundings a step, for schedules updated step "
        "by step like PyTorch's chainable schedulers): peak/W at step 0, exactly the peak at t = W − 1 and after, "
        "so non-decreasing and never above the peak up to that rounding.  warmup_cosine_schedule(N, peak, W, "
        "final) follows it to t = W − 1, then returns final + (peak − final)·½(1 + cos(π(t − W + 1)/(N − W))), "
        "reaching final at t = N − 1, within 8(t + 1)·eps·peak, for any N > W and 0 ≤ final ≤ peak.  "
        "(docs/warmup.md tabulates how PyTorch, Hugging Face and optax differ at step 0 and at the end of warmup.)",
        "Seed S17; Goyal et al. (2017), Accurate, large minibatch SGD, section 2.2",
        kind="definition",
    ),
    Claim(
        "S17c",
        "Warmup trains where the full learning rate from step 0 diverges",
        "On f(x) = w₂w₁x with w₁ = w₂ = 3, x = y = 1 and loss ½(f − y)², the sharpness is 26 at the start and 2 at "
        "the solution.  SGD (sgd_step, μ = 0) at lr 0.3 > 2/26 from step 0 diverges (the loss exceeds 1e30 or "
        "becomes non-finite within 200 steps); with 100 warmup steps (warmup_schedule) to the same 0.3 the loss "
        "never rises from one step to the next (beyond a few roundings of f) and reaches 0 (to 1e-10) in 200 "
        "steps: warmup helps when sharpness falls as training proceeds.",
        "Seed S17; Gilmer et al. (2022), A loss curvature perspective on training instability in deep learning",
    ),
    Claim(
        "S19a",
        "Clipping turns a diverging deep network into one that trains",
        "A linear network of 8 layers W_l = 1.5·Q_l (width 8, seeds 0–2) fitted to an orthogonal teacher with SGD "
        "at lr 0.05: without clipping the loss exceeds 1e30 or becomes non-finite within 100 steps; clipping the "
        "global norm to 1 keeps every loss finite and brings it below 1% of its start.",
        f"Seed S19 (on this problem, not as a universal law); {PASCANU_2013}",
    ),
    Claim(
        "S19b",
        "Clipping turns a diverging long RNN into one that trains",
        "A linear RNN over 40 steps with W_hh = 1.2·Q (hidden 8, seeds 0–2), loss on h_T, SGD on W_ih and W_hh at "
        "lr 0.05: without clipping the loss exceeds 1e30 or becomes non-finite within 100 steps; with the global "
        "norm clipped to 1 it stays finite and falls below 1% of its start.",
        f"Seed S19 (on this problem); {PASCANU_2013}, section 3.2",
    ),
    # -- S2, S6, S7: the symptoms, on the spec's own seeded problems (spec_tests/symptom_cases.py) -------------
    Claim(
        "S2a",
        "Pascanu's one-unit recurrence has a cliff: the gradient jumps a thousandfold within 0.04",
        "The cliff problem: x_t = w·σ(x_{t−1}) + b, σ the logistic sigmoid, x_0 = 0.5, T = 50, loss E = (σ(x_T) − 0.7)², "
        "run as the protocol's RNN h_t = σ(w·h_{t−1} + b), h_0 = σ(0.5), hidden size 1, no input.  At w = 5 and "
        "b* = 0.5 − 5σ(0.5) ≈ −2.6123, x_0 is the recurrence's unstable fixed point (multiplier λ = 5σ'(0.5) ≈ 1.175).  "
        "(i) E falls by at least 0.3 from b* − 1e-3 to b* + 1e-3 (measured 0.332: a cliff between the two attractors' "
        "plateaus; by the mean-value theorem |∂E/∂b| ≥ 150 somewhere on it); (ii) at (5, b*) the gradient is the spec's "
        "closed form ∂E/∂b = 2(σ(0.5) − 0.7)·σ'(0.5)·(λ^T − 1)/(λ − 1) ≈ −661.7, ∂E/∂w = σ(0.5)·∂E/∂b ≈ −411.9 (norm "
        "779.4), within 1e-6 relative; (iii) at (5, b* − 0.04), on the plateau, it is the spec's complex-step derivative "
        "of its own recurrence (norm 0.2208) within 1e-6 relative; (iv) so the gradient norm grows at least 1000-fold "
        "(measured 3530) over a distance of 0.04.",
        f"Seed S2; {PASCANU_2013_CLIFF}, section 3.3 and figure 6",
    ),
    Claim(
        "S2b",
        "Training looks normal, then one step past the edge of stability makes the loss infinite, unless clipped",
        "The edge problem: h_t = w·h_{t−1} + b (Pascanu's recurrence with σ the identity), h_0 = 0, T = 50, loss "
        "½(h_T − 10)², plain SGD on (w, b) at lr 3e-3 from w_0 ~ U(−0.05, 0.05), b_0 ~ U(0.2, 0.4) (numpy "
        "default_rng, seeds 0–2).  The loss falls at each of the first 20 steps with |w| < 1 (training looks normal: "
        "measured first rise at steps 23, 21, 24); within 5 steps of its first rise w crosses the edge |w| > 1, the "
        "gradient norm reaches at least 1e8 × the first step's (measured 2.8e10–1.2e55 ×) and the loss is no longer "
        "finite (measured inf at steps 24, 23, 26: 1, 2 and 2 steps after the rise).  With the global norm clipped to "
        "10 (S12a) the same runs keep |w| < 1 and every loss finite for 60 steps, and end below 10% of their start "
        "(measured 1.4–3.5%).",
        f"Seed S2 (on this problem, not as a universal law); {PASCANU_2013_CLIFF}, sections 2.1 and 3.3",
    ),
    Claim(
        "S6a",
        "In the diverging deep network every layer's weight norm grows tenfold before divergence; clipped, it stays in a band",
        "S19a's deep network (8 linear layers W_l = 1.5·Q_l, width 8, batch 32, seeds 0–2), SGD at lr 0.05, ‖W_l‖_F "
        "recorded at every step: without clipping the loss exceeds 1e30 or stops being finite within 100 steps, every "
        "layer's norm at the step before is at least 10 × its initial value (measured 14.5–18.3) and at the diverging "
        "step at least 1e15 × (measured 1.4e21–1.0e23).  With the global norm clipped to 1 (clip_grad_norm of all 8 weight gradients together), every "
        "update of all the parameters together, ‖Δθ‖₂ = ‖lr·clip(g)‖₂ over the concatenation of the 8 layers, is at "
        "most lr·max_norm = 0.05 (within 1e-9 relative); at the first step, where the spec's own bound |D_θE|/‖θ‖ "
        "(the derivative along θ by the complex step through its own linear forward pass) shows ‖∇E‖ > 1 (the bound is ≥ 3330), it "
        "is lr·max_norm, at least 0.05·(1 − 1e-6): clipping rescales, it does not over-clip (the 1e-6 admits "
        "PyTorch's ε = 1e-6 in the denominator; S12b asserts the exact rescale at every step size).  Over 40 steps "
        "every layer stays within [0.5, 1] × its initial norm (measured [0.84, 1]); well initialised (W_l = Q_l, no "
        "clipping) within [0.8, 1.01] (measured [0.91, 1]).",
        f"Seed S6 (the per-layer `param.data.norm()` of the source, on this problem); {PASCANU_2013}",
    ),
    Claim(
        "S6b",
        "In the diverging long RNN the weight norms grow a thousandfold and more; clipped, they stay in a band",
        "S19b's long RNN (linear, W_hh = 1.2·Q, hidden 8, T = 40, seeds 0–2), SGD on W_ih and W_hh at lr 0.05: "
        "without clipping the loss exceeds 1e30 or stops being finite within 100 steps, and at that step ‖W_ih‖_F is "
        "at least 1e4 × its initial value and ‖W_hh‖_F at least 1e6 × (measured 2.1e5–2.7e5 and 9.9e6–2.1e7: one "
        "update did it).  With the global norm clipped to 1 (clip_grad_norm of the gradients of W_ih and W_hh "
        "together), every update ‖Δθ‖₂ = ‖lr·clip(g)‖₂ over both matrices together is at most lr·max_norm = 0.05 "
        "(within 1e-9 relative), and at the first step, where the spec's own bound |D_θE|/‖θ‖ (the complex step "
        "through definitions.rnn_unroll) shows ‖∇E‖ > 1 (the bound is ≥ 3.6e8), at least 0.05·(1 − 1e-6) (no over-clipping; "
        "S12b asserts the exact rescale); over 40 steps both norms stay within [0.5, 1] × their initial values "
        "(measured [0.59, 1]).",
        f"Seed S6 (on this problem); {PASCANU_2013}, section 3.2",
    ),
    Claim(
        "S7a",
        "On the cliff, dividing the learning rate by 1000 still throws the step far off it; clipping bounds it by lr·c",
        "At the cliff of S2a, (w, b) = (5, b*), where ‖∇E‖ ≈ 779.4: for lr = 0.1, 0.01, 0.001 and 0.0001, an SGD step "
        "moves the parameters by lr·‖∇E‖ ≥ 0.03, thirty times the half-width 1e-3 within which the cliff's face lies "
        "(measured 77.9, 7.79, 0.779, 0.078): a smaller learning rate does not keep the step on the face.  Clipped to "
        "max_norm 1 (S12a, S12b), every step is exactly lr·1, since the spec's closed form (S2a) puts ‖∇E‖ ≈ 779.4 "
        "above max_norm: within [lr·(1 − 1e-6), lr·(1 + 1e-9)] (the 1e-6 admits PyTorch's ε = 1e-6 in the "
        "denominator), so clipping neither lets the step through nor over-clips it — inside the face for "
        "lr ≤ 1e-3.",
        f"Seed S7; {PASCANU_2013_CLIFF}, sections 3.3 and 3.2 (clipping), figure 6",
    ),
    Claim(
        "S7b",
        "At a small learning rate training is normal between occasional spikes: sixteen in 50 steps on the cliff problem",
        "The cliff problem (S2a), plain SGD on (w, b) from (5, −2.5), on the high plateau, at lr 0.1 (a step of at "
        "most 0.17 on the plateau, where ‖∇E‖ ≤ 1.7): the loss falls at each of steps 1–6 (0.0241 → 0.0094); over 50 "
        "steps it jumps at least 10-fold (measured ≥ 31.8-fold, to ≈ 0.33, falling off the edge b*) at exactly steps "
        "7, 9, 11, 13, 16, 19, 22, 24, 26, 28, 31, 33, 36, 38, 41 and 44, rises by at most 1.5× at every other step, "
        "and after each spike but the last the loss is back below 0.05 within two steps; ‖∇E‖ stays ≤ 10 (no step "
        "lands on the face).  (Later the iterates become sensitive to rounding; with lr 0.1 the run ends on the face, "
        "thrown into saturation at loss 0.09 with ‖∇E‖ ≈ 3e-5: see docs/symptoms.md.)",
        f"Seed S7 (on this problem); {PASCANU_2013_CLIFF}, section 3.3 and figure 6",
    ),
    Claim(
        "S9b",
        "ReLU networks: drift log(s/√2); He's s = √2 is the critical scale",
        "With W_l i.i.d. N(0, s²/n) entries (ReLU, widths n = 64, depth 32, zero biases), the mean over "
        "16 fixed seeds of the per-layer log growth (1/L) log(||∂L/∂h_0|| / ||∂L/∂h_L||) lies within 0.1 "
        "of log(s/√2): for s = √2·r it explodes when r = 2 and vanishes when r = 1/2.  (ReLU is "
        "positively homogeneous, so with zero biases the drift is exactly log r plus the drift at r = 1, "
        "seed by seed.)",
        f"Seed S9; {HE_2015}",
        kind="statistical",
        failure_probability="fixed seeds 0..15, so the test is deterministic.  Over 2,000 seeds the "
        "per-seed drift was log r − 0.019 on average with standard deviation 0.026: the 16-seed mean "
        "(standard error 0.0064) sits 12 standard errors inside the margin",
    ),
    # -- P16–P18, S15: LayerNorm and its Jacobian ----------------------------------------
    Claim(
        "P16",
        "LayerNorm normalises the last axis: biased variance, ε inside the root",
        "layer_norm_forward(x, g, b, ε) returns y = g ⊙ (x − μ)/√(var + ε) + b over the last axis of x (any "
        "leading shape), with μ = (1/d) Σ x_i and the biased var = (1/d) Σ (x_i − μ)²; ε ≥ 0 (ε = 0 only for "
        "non-constant examples).",
        f"Definition; {BA_2016}; PyTorch's torch.nn.functional.layer_norm",
        kind="definition",
    ),
    Claim(
        "P17",
        "The LayerNorm backward pass is its vector–Jacobian product",
        "layer_norm_backward(x, g, b, ε, ∂L/∂y) returns, with s = √(var + ε), x̂ = (x − μ)/s and ĝ = g ⊙ ∂L/∂y: "
        "∂L/∂x = (1/s)(ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)) (means over the last axis), ∂L/∂g = Σ ∂L/∂y ⊙ x̂ and "
        "∂L/∂b = Σ ∂L/∂y (sums over every leading axis); each within the rounding of some evaluation order "
        "(multiplying by the explicit Jacobian is as correct).",
        f"Definition (reverse-mode differentiation of P16); {BA_2016}",
        kind="definition",
    ),
    Claim(
        "P18",
        "The LayerNorm Jacobian is diag(g)·(1/s)·(P − x̂x̂ᵀ/d)",
        "layer_norm_jacobian(x, g, b, ε) returns, at one example x of shape (d,), J = ∂y/∂x = "
        "diag(g)·(1/s)·(P − x̂x̂ᵀ/d), with s = √(var + ε), x̂ = (x − μ)/s and the centring projection "
        "P = I − 11ᵀ/d.",
        f"Definition (the derivative of P16: ∂μ/∂x = 1ᵀ/d, ∂s/∂x = x̂ᵀ/d); {BA_2016}",
        kind="definition",
    ),
    Claim(
        "S15a",
        "With gain 1, LayerNorm's Jacobian has singular values 0, ε/s³ and 1/s",
        "For g = 1 and every x ∈ R^d, J = (1/s)(P − x̂x̂ᵀ/d) is symmetric with J·1 = 0, J x̂ = (ε/s³) x̂ and "
        "J v = v/s for every v ⊥ 1, x̂: its singular values are exactly 1/s (d − 2 times), ε/s³ and 0.  So "
        "‖J‖₂ = 1/s for d ≥ 3 (ε/s³ for d = 2; J = 0 for d = 1), and ε/s³ ≤ 1/s, with equality iff var = 0.",
        f"Seed S15; {BA_2016}; |x̂|² = d·var/s², so (P − x̂x̂ᵀ/d) x̂ = (1 − var/s²) x̂ = (ε/s²) x̂",
    ),
    Claim(
        "S15b",
        "Scaling the input by c is dividing ε by c² and the Jacobian by |c|",
        "For every x, gain, ε ≥ 0 and c ≠ 0: J(c·x; ε) = J(x; ε/c²)/|c| (|c|, not c: x̂x̂ᵀ is even in c).  "
        "Exact scale invariance J(c·x) = J(x)/|c| holds only for ε = 0 (and var(x) > 0); for ε > 0, J(c·x; ε) "
        "≠ J(x; ε)/|c| in general: as c → 0, J(c·x; ε) → diag(g)·P/√ε, bounded, not J(x; ε)/|c|.  "
        "Checked at c = ±2^k, k = −20..20, where c·x and ε/c² are exact in floating point.",
        f"Seed S15; {BA_2016} (re-scaling invariance of LayerNorm, sec. 5.1); s(c·x; ε) = |c|·s(x; ε/c²)",
    ),
    Claim(
        "S15c",
        "LayerNorm's Jacobian norm is at most max|g|/s ≤ max|g|/√ε",
        "For every d, x, gain g and ε ≥ 0 (var(x) > 0 if ε = 0): ‖J‖₂ ≤ max_i |g_i|/s with s = √(var + ε); "
        "so for ε > 0, ‖J‖₂ ≤ max|g|/√ε whatever the input.  That bound is the only input-independent one and "
        "it is large: 316·max|g| at PyTorch's default ε = 1e-5 (S15d).",
        f"Seed S15; ‖diag(g) A‖ ≤ max|g|·‖A‖ and ‖P − x̂x̂ᵀ/d‖₂ = max(1, ε/s²) = 1 (S15a); {HORN_JOHNSON}",
    ),
    Claim(
        "S15d",
        "Counterexample: LayerNorm does not bound the Jacobian for near-constant inputs",
        "The loose 'LayerNorm (pre-norm) bounds the layer Jacobian' is false without a condition on the input.  "
        "With g = γ·1, d ≥ 3 and ε > 0: a constant input x = c·1 has ‖J‖₂ = |γ|/√ε exactly (the bound of S15c "
        "attained: ≈ 316|γ| at ε = 1e-5), a near-constant one with spread σ ≤ √ε has ‖J‖₂ = |γ|/√(σ² + ε) ≥ "
        "|γ|/√(2ε), and with ε = 0 ‖J‖₂ = |γ|/σ is unbounded as σ → 0.  The precise statement is S15c: "
        "‖J‖₂ ≤ max|g|/√(var + ε), small only where the input's spread is not small.",
        f"Seed S15 (informal version shown false); {BA_2016}; {XIONG_2020} (pre-LN keeps an identity path "
        "I + J_F·J_LN, it does not shrink J_LN)",
        kind="counterexample",
    ),
    # -- residual connections (S14): P13–P15, S14a–S14d ----------------------------------------
    Claim(
        "P13",
        "The residual forward pass adds the scaled branch to the identity",
        "residual_forward(x, branches, alphas, σ) returns h_0 = x and, for l = 1..L, "
        "h_l = h_{l-1} + α_l F_l(h_{l-1}) with the branch F_l(h) = σ(h W_{l,1}ᵀ + b_{l,1}) W_{l,2}ᵀ + b_{l,2} "
        "(branches[l-1] = (W_{l,1} (m_l, d), b_{l,1}, W_{l,2} (d, m_l), b_{l,2}); σ between the two linear maps only).",
        f"Definition (docs/protocol.md); {HE_2016_RESNET}; {HE_2016_IDENTITY}",
        kind="definition",
    ),
    Claim(
        "P14",
        "The residual backward pass is the chain rule through skip and branch",
        "For L = Σ_batch ⟨g_L, h_L⟩, residual_backward returns ∂L/∂h_L = g_L and, with e_l = α_l g_l and "
        "δ_l = σ'(z_l) ⊙ (e_l W_{l,2}) at the network's own z_l = h_{l-1} W_{l,1}ᵀ + b_{l,1}: "
        "g_{l-1} = g_l + δ_l W_{l,1} (that is (I + α_l J_{F_l})ᵀ g_l per example), ∂L/∂W_{l,1} = Σ_batch δ_lᵀ h_{l-1}, "
        "∂L/∂b_{l,1} = Σ_batch δ_l, ∂L/∂W_{l,2} = Σ_batch e_lᵀ σ(z_l), ∂L/∂b_{l,2} = Σ_batch e_l; each within the "
        "rounding of some evaluation order (multiplying explicit block Jacobians is as correct).",
        "Definition (reverse-mode differentiation; docs/protocol.md)",
        kind="definition",
    ),
    Claim(
        "P15",
        "Block Jacobians are I + α_l W_{l,2} diag(σ'(z_l)) W_{l,1}",
        "residual_block_jacobians(x, branches, alphas, σ) returns, at the single example x of shape (d,), "
        "J_l = ∂h_l/∂h_{l-1} = I + α_l J_{F_l} with J_{F_l} = W_{l,2} diag(σ'(z_l)) W_{l,1}, each (d, d).",
        "Definition (docs/protocol.md)",
        kind="definition",
    ),
    Claim(
        "S14a",
        "Through residual blocks the gradient lies between ∏(1 − ||α_l J_F_l||) and ∏(1 + ||α_l J_F_l||)",
        "For every residual network, input and output gradient, with n_k = ||α_k J_{F_k}||₂ computed by the spec from "
        "its own forward pass: ||∏_{k>l} (I + α_k J_{F_k})|| ≤ ∏_{k>l} (1 + n_k) ≤ exp(Σ_{k>l} n_k), so "
        "||∂L/∂h_l|| ≤ ||∂L/∂h_L|| ∏_{k>l} (1 + n_k) for every l; and if every n_k < 1 (k > l), "
        "σ_min(∏_{k>l} (I + α_k J_{F_k})) ≥ ∏_{k>l} (1 − n_k), so ||∂L/∂h_l|| ≥ ||∂L/∂h_L|| ∏_{k>l} (1 − n_k).  "
        "Both bounds are attained (commuting symmetric branches, the gradient along the top eigenvector).",
        f"Seed S14; {HORN_JOHNSON} (submultiplicativity; σ_min(I + A) ≥ 1 − ||A||; 1 + x ≤ eˣ); {HE_2016_IDENTITY}",
    ),
    Claim(
        "S14b",
        "Branches scaled by α/L keep the gradient within depth-independent bounds",
        "If α_l = α/L and every branch Jacobian along the forward pass has ||J_{F_l}||₂ ≤ K, then at every depth L "
        "||∂L/∂h_0|| / ||∂L/∂h_L|| ≤ (1 + αK/L)^L ≤ e^{αK}, and when αK < L it is ≥ (1 − αK/L)^L ≥ e^{−αK/(1 − αK/L)} "
        "(≥ e^{−2αK} for L ≥ 2αK): bounds that do not grow with depth (checked at depths 1–300), while the same "
        "branches unscaled can give (1 + αK)^L (S14d).",
        f"Seed S14; follows from S14a; {ZHANG_2019_FIXUP} (the branch-scaling argument); {DE_SMITH_2020}",
    ),
    Claim(
        "S14c",
        "ReZero/SkipInit and Fixup are the identity at initialisation",
        "With every α_l = 0 (ReZero, SkipInit), or every last branch layer zero, W_{l,2} = 0 and b_{l,2} = 0 (Fixup), "
        "for any other weights, inputs and output gradient: h_l = x, ∂L/∂h_l = ∂L/∂h_L and J_l = I, each exactly, at "
        "every block l; the branch gradients are exactly 0 under ReZero, and ∂L/∂W_{l,1}, ∂L/∂b_{l,1} are exactly 0 "
        "under Fixup (only W_{l,2}, b_{l,2} receive a gradient at the first step).",
        f"Seed S14; {BACHLECHNER_2020}; {DE_SMITH_2020}; {ZHANG_2019_FIXUP}",
    ),
    Claim(
        "S14d",
        "Counterexample: a skip path alone does not prevent exponential growth",
        "The loose 'a skip path prevents exponential growth' is false without a condition on the branch.  Linear "
        "branches with J_{F_l} = a·I (W_{l,1} = I, W_{l,2} = a·I, α_l = 1) give block Jacobians (1 + a)I and "
        "∂L/∂h_0 = (1 + a)^L ∂L/∂h_L exactly: 117.39 at a = 0.1, L = 50, although every branch has norm a < 1.  The "
        "precise statements are S14a (growth at most ∏(1 + ||α_l J_F_l||)) and S14b (α/L scaling).",
        f"Seed S14 (informal version shown false); {HE_2016_IDENTITY}",
        kind="counterexample",
    ),
    # -- policy gradients (S11): REINFORCE, advantage normalisation, PPO -----------------------------
    Claim(
        "P22",
        "The softmax policy gradient is the REINFORCE estimate",
        "softmax_policy_gradient(s, a, A, W, b) returns, for the policy π(·|s_i) = softmax(s_i Wᵀ + b), the "
        "ascent direction of (1/N) Σ_i A_i log π(a_i|s_i): ∂/∂W = (1/N) Σ_i A_i (e_{a_i} − π_i) s_iᵀ and "
        "∂/∂b = (1/N) Σ_i A_i (e_{a_i} − π_i), each within the rounding of a correct float64 evaluation.",
        f"Definition (docs/protocol.md); {WILLIAMS_1992}; {SUTTON_2000}",
        kind="definition",
    ),
    Claim(
        "P23",
        "The Gaussian policy gradient is the REINFORCE estimate",
        "gaussian_policy_gradient(s, a, A, W, b, log_std) returns, for π(·|s_i) = N(μ_i, diag σ²) with "
        "μ_i = s_i Wᵀ + b and σ = exp(log_std), ∂/∂W = (1/N) Σ_i A_i u_i s_iᵀ and ∂/∂b = (1/N) Σ_i A_i u_i with "
        "u_i = (a_i − μ_i)/σ², and ∂/∂log_std = (1/N) Σ_i A_i ((a_i − μ_i)²/σ² − 1), each within the rounding "
        "of a correct float64 evaluation.",
        f"Definition (docs/protocol.md); {WILLIAMS_1992}",
        kind="definition",
    ),
    Claim(
        "P24",
        "Advantage normalisation: mean 0, biased standard deviation 1, no ε",
        "normalise_advantages(A) returns Â_i = (A_i − m)/s with m = (1/N) Σ A_i and the biased standard "
        "deviation s = √((1/N) Σ (A_i − m)²) (numpy's default, not torch.std's N − 1) and ε = 0, for N ≥ 2 "
        "advantages not all equal; so (1/N) Σ Â_i = 0 and (1/N) Σ Â_i² = 1.",
        f"Definition (docs/protocol.md); {ANDRYCHOWICZ_2021}",
        kind="definition",
    ),
    Claim(
        "P25",
        "The PPO gradient is the gradient of the clipped surrogate",
        "ppo_clip_gradient(s, a, A, old_log_probs, W, b, ε) returns, for the softmax policy of P22 and "
        "r_i = exp(log π(a_i|s_i) − old_log_probs_i), the gradient in (W, b) of "
        "L = (1/N) Σ_i min(r_i A_i, clip(r_i, 1 − ε, 1 + ε) A_i): (1/N) Σ_i [active_i] r_i A_i ∇log π(a_i|s_i), "
        "where the unclipped term is active exactly when A_i > 0 and r_i < 1 + ε, or A_i < 0 and r_i > 1 − ε "
        "(checked with every r_i at least 1e-6 relatively from 1 ± ε).",
        f"Definition (docs/protocol.md); {SCHULMAN_2017}, eq. 7",
        kind="definition",
    ),
    Claim(
        "S11a",
        "The REINFORCE estimate is linear in the advantages",
        "For the softmax and the Gaussian policy and fixed (s, a, θ), the estimate g(A) = (1/N) Σ_i A_i ∇log π(a_i|s_i) "
        "satisfies g(cA) = c·g(A) for every real c (|c| from 1e-6 to 1e6, either sign, and 0) and "
        "g(A + A') = g(A) + g(A'): scaling the advantages by c scales the gradient by exactly c.  This is the "
        "precise content of 'large advantages produce large gradients' — for a fixed policy and batch.",
        f"Seed S11; {WILLIAMS_1992}",
    ),
    Claim(
        "S11b",
        "The softmax score is bounded by the probability of the other actions",
        "For every logits z and action a, with π = softmax(z): 1 − π_a ≤ ||e_a − π|| ≤ √2·(1 − π_a) "
        "(||e_a − π||² = (1 − π_a)² + Σ_{j≠a} π_j²).  So the single-sample estimate (A = 1) has "
        "||∂/∂b|| in that interval and ||∂/∂W||_F = ||∂/∂b||·||s||, and for N samples "
        "||∂/∂b|| ≤ (1/N) Σ_i |A_i|·√2·(1 − π_{a_i}|s_i) and ||∂/∂W||_F ≤ (1/N) Σ_i |A_i|·√2·(1 − π_{a_i}|s_i)·||s_i||.",
        f"Seed S11; {SUTTON_2000} (the softmax score)",
    ),
    Claim(
        "S11c",
        "At the uniform policy ||e_a − π|| = √(1 − 1/K), the largest expected score",
        "At the uniform policy of K actions (W = 0, equal biases) ||e_a − π|| = √(1 − 1/K) for every action a, "
        "exactly.  For every π, E_{a∼π} ||e_a − π||² = 1 − ||π||² ≤ 1 − 1/K, with equality only at the uniform "
        "policy: early training has the largest expected score.  The single-sample norm is not largest there: "
        "its supremum √2 is approached when π concentrates on another action (S11b).",
        f"Seed S11; {SUTTON_2000}",
    ),
    Claim(
        "S11d",
        "The Gaussian score grows without bound as σ → 0",
        "For the Gaussian policy, one sample, A = 1: with the action a ≠ μ held fixed, ∂/∂b = (a − μ)/σ² grows "
        "exactly as σ⁻², and ∂/∂log_std = (a − μ)²/σ² − 1 as σ⁻²; for an action sampled from the policy, "
        "a = μ + σz with z fixed, ∂/∂b = z/σ grows as σ⁻¹ while ∂/∂log_std = z² − 1 stays the same.  Checked "
        "over σ = 10⁰ … 10⁻⁸ (log_std = −k·ln 10).",
        f"Seed S11; {WILLIAMS_1992} (the Gaussian unit's eligibility (y − μ)/σ²)",
    ),
    Claim(
        "S11e",
        "Advantage normalisation is invariant to affine rescaling",
        "normalise(cA + b) = normalise(A) for every c > 0 and every real b, and = −normalise(A) for c < 0 "
        "(checked for |c| from 1e-6 to 1e6 and |b| up to 1e6·|c|·std(A)), within the rounding of both "
        "normalisations and of forming cA + b.",
        f"Seed S11; {ANDRYCHOWICZ_2021}",
    ),
    Claim(
        "S11f",
        "With normalised advantages the estimate is bounded by the largest score",
        "With Â = normalise_advantages(A) (P24: mean 0, (1/N) Σ Â_i² = 1), the softmax estimate satisfies "
        "||(∂/∂W, ∂/∂b)|| ≤ (1/N) Σ_i |Â_i|·||∇_θ log π(a_i|s_i)|| ≤ max_i ||∇_θ log π(a_i|s_i)|| = "
        "max_i ||e_{a_i} − π_i||·√(||s_i||² + 1), whatever the scale and offset of A (1e-8 to 1e12), by "
        "Cauchy–Schwarz ((1/N) Σ|Â_i| ≤ √((1/N) Σ Â_i²) = 1).  The bound is attained (N even, Â = ±1, "
        "per-sample gradients ±one vector); torch.std's N − 1 gives (1/N) Σ Â_i² = (N − 1)/N and the bound "
        "still holds.",
        f"Seed S11; {ANDRYCHOWICZ_2021}",
    ),
    Claim(
        "S11g",
        "Counterexample: PPO's ratio clipping is not gradient clipping",
        "In PPO's clipped surrogate a sample with A < 0 and r > 1 + ε keeps its unclipped term: its gradient is "
        "r·A·∇log π(a|s), of norm r·|A|·||e_a − π||·√(||s||² + 1) ≥ r·|A|·(1 − π_a)·√(||s||² + 1), unbounded as "
        "r grows (checked for r up to 1e6·(1 + ε)); only (A > 0, r > 1 + ε) and (A < 0, r < 1 − ε) give exactly 0.  "
        "Global-norm clipping (S12a) bounds the update whatever A and r.",
        f"Seed S11 ('clipping is standard': the two clippings differ); {SCHULMAN_2017}; {ANDRYCHOWICZ_2021}",
        kind="counterexample",
    ),
    Claim(
        "S11h",
        "Counterexample: large advantages on a near-deterministic policy give a tiny gradient",
        "The loose 'large advantage estimates produce enormous gradients' is false: for a softmax policy whose "
        "logit for the taken action exceeds every other by at least 30 (so 1 − π_a ≤ (K − 1)e⁻³⁰ < 4e-13) and "
        "advantages up to |A| = 1e9, ||(∂/∂W, ∂/∂b)|| ≤ max|A|·√2·(1 − π_a)·√(||s||² + 1) (S11b) — below 1e-3 "
        "for ||s|| ≤ 3.  The precise statement is linearity at a fixed policy (S11a).",
        "Seed S11 (informal version shown false); follows from S11b",
        kind="counterexample",
    ),
    # -- Transformer encoder layers, post-LN against pre-LN (seed S10) ------------------------------------
    Claim(
        "P19",
        "The encoder layer's forward pass: post-LN or pre-LN, PyTorch's layout",
        "transformer_layer_forward(x, params, nhead, norm_first) returns, for x (batch, seq, d), with "
        "SA(x) = concat_j softmax(Q_j K_jᵀ/√d_k) V_j W_Oᵀ + b_O ([W_Q; W_K; W_V] = in_proj_weight, head j the "
        "columns j·d_k … (j + 1)·d_k − 1, d_k = d/nhead), FF(u) = relu(u W_1ᵀ + b_1) W_2ᵀ + b_2 and LayerNorm with "
        "biased variance and ε = 1e-5 inside the root: post-LN (norm_first False) u = LN_1(x + SA(x)), "
        "y = LN_2(u + FF(u)); pre-LN (True) u = x + SA(LN_1(x)), y = u + FF(LN_2(u)) — "
        "torch.nn.TransformerEncoderLayer(d, nhead, f, dropout=0, batch_first=True, norm_first=...).  "
        "transformer_stack_forward(x, layers, final_norm, nhead, norm_first) returns h_0 = x, h_l = layer_l(h_{l−1}) "
        "(l = 1..L) and the output LN_final(h_L), or h_L when final_norm is None; each within 2^8·n·eps·A of the "
        "spec's own layer relative to 1 + |y| (n = d + f + seq + 8 per layer, A the case's conditioning).",
        "Definition (docs/protocol.md); Vaswani et al. (2017); Xiong et al. (2020), On layer normalization in the "
        "Transformer architecture, figure 1; PyTorch's nn.TransformerEncoderLayer",
        kind="definition",
    ),
    Claim(
        "P20",
        "The encoder layer's and the stack's backward passes are their vector–Jacobian products",
        "For L = Σ⟨grad_output, output⟩: transformer_layer_backward returns (∂L/∂x, {state_dict name: ∂L/∂p}) and "
        "transformer_stack_backward (∂L/∂h_0 … ∂L/∂h_L, [per-layer dicts], final-norm {'weight', 'bias'} or None), "
        "parameter gradients summed over the batch; checked by the dot-product test ⟨J t, c⟩ = ⟨t, Jᵀc⟩ for random "
        "tangents of every input and parameter at once, J t by the complex step through the spec's definition, "
        "within 2^8·n·eps·A relative to Σ||t_k||·(||g_k|| + ||c||) + |⟨J t, c⟩| (the ||c|| term: a gradient that "
        "cancels, as LayerNorm's does at width 2 after the sum, keeps the absolute rounding error of the terms it "
        "came from).",
        "Definition (reverse-mode differentiation; docs/protocol.md)",
        kind="definition",
    ),
    Claim(
        "P21",
        "Block Jacobians are the derivatives of the two residual blocks",
        "transformer_block_jacobians(x, params, nhead, norm_first), for one sequence x (seq, d), returns "
        "(∂u/∂x, ∂y/∂u) of the attention block and the feed-forward block (u and y as in P19), each (seq·d, seq·d) "
        "with rows and columns flattened token-major (t·d + i); within 2^8·n·eps·A of the complex-step Jacobian "
        "of the spec's blocks relative to 1 + max|J|.",
        "Definition (docs/protocol.md)",
        kind="definition",
    ),
    Claim(
        "S10a",
        "A pre-LN block has an identity path, a post-LN block none",
        "For every layer and input: the pre-LN blocks' Jacobians are I + J_SA(LN_1 x)·J_LN_1(x) and "
        "I + J_FF(LN_2 u)·J_LN_2(u); the post-LN blocks' are J_LN_1(x + SA x)·(I + J_SA(x)) and "
        "J_LN_2(u + FF u)·(I + J_FF(u)), with J_LN(z) = diag(g)(P − ẑẑᵀ/d)/s per token (P = I − 11ᵀ/d, "
        "s = √(var z + ε)) by the spec's closed form, J_FF = W_2 diag(relu'(a)) W_1 per token and J_SA by the "
        "complex step; within 2^8·n·eps·A relative to 1 + max|J|.  So pre-LN passes every gradient through "
        "unchanged plus a correction, while post-LN sends every gradient through a LayerNorm, whose Jacobian "
        "scales by g/s and removes each token's mean direction.",
        "Seed S10; Xiong et al. (2020), section 3 and figure 1",
    ),
    Claim(
        "S10b",
        "At Xiong's initialisation the last layer's gradient is flat in depth for post-LN, falls like 1/√L for pre-LN",
        "With Xavier-uniform weights, W_Q = W_K = 0, zero biases, LN gains 1 (pre-LN with a final LayerNorm), "
        "d = 8, 2 heads, f = 16, seq 4, batch 4, x and the cotangent c ~ N(0, 1), seeds 0..7: the geometric mean "
        "of ||∂L/∂W_2|| (linear2.weight of the last layer, L = Σ⟨c, output⟩) at L = 1 over that at L = 32 lies in "
        "[3, 12] for pre-LN (Theorem 1: ∝ 1/√L, √32 ≈ 5.7), and at L = 32 over L = 1 in [0.5, 1.6] for post-LN "
        "(Theorem 1: independent of L).",
        "Seed S10; Xiong et al. (2020), Theorem 1",
        kind="statistical",
        failure_probability="fixed seeds, so deterministic.  Measured with the reference: pre-LN 5.08 (per seed 2.7–6.7; a little below √32 at this small width: the law is asymptotic), post-LN 0.78 (per seed 0.51–1.17); per-seed log-ratios have standard deviation 0.30 (pre) and 0.27 (post), so the 8-seed means have standard errors 0.11 and 0.095 in log, and each mean is ≥ 4.7 standard errors inside its band",
    ),
    Claim(
        "S10c",
        "Counterexample: pre-LN does not equalise per-layer gradient norms at initialisation",
        "The loose 'pre-norm stabilises gradient magnitudes across layers' fails at Xiong's initialisation (as in "
        "S10b): averaged over seeds 0..7 layer by layer, the pre-LN stack's ||∂L/∂W_2^(1)|| over ||∂L/∂W_2^(L)|| "
        "lies in [4, 30] at L = 32, and at L = 8 in [1.5, that ratio/1.5]: the gradient grows towards the input, "
        "polynomially in L (each identity-path block adds a correction of relative size ~1/√l; the product "
        "∏(1 + c/l) grows like L^c), not exponentially.  Per seed the profile is noisier still.",
        "Seed S10 (informal version shown false); Xiong et al. (2020), Lemma 2; Shleifer, Weston & Ott (2021), "
        "NormFormer, section 2",
        kind="counterexample",
        failure_probability="fixed seeds, so deterministic.  Measured with the reference: first/last 8.9 at L = 32 (per seed 3.3–16.8) and 2.5 at L = 8 (per seed 1.6–4.0); the post-LN stack's seed-averaged spread at L = 32 is 2.3, so here pre-LN's spread even exceeds post-LN's",
    ),
    Claim(
        "S10d",
        "Post-LN needs warmup where pre-LN trains without",
        "A 5-layer stack (d = 8, 2 heads, f = 16, seq 4, batch 4, Xiong's initialisation) fitted by Adam "
        "(β = 0.9, 0.999, ε = 1e-8) at lr 0.05 for 40 steps to a standardised linear map of the reversed sequence, "
        "with seed 0: pre-LN without warmup ends (the least of the last five losses) at ≤ 0.15 of its first loss, "
        "post-LN from step 0 at ≥ 0.3 (it stalls), post-LN with a 20-step linear warmup to the same lr at ≤ 0.15.  "
        "Over seeds 0..7 (tests/test_transformer_oracles.py, slow) the medians meet the same bounds, post-LN stalls "
        "on at least 6 seeds, post-LN with warmup trains on at least 7, pre-LN on all 8.",
        "Seed S10; Xiong et al. (2020), section 3 and figure 2; Liu et al. (2020), Understanding the difficulty of "
        "training Transformers",
        kind="statistical",
        failure_probability="fixed seeds, so deterministic.  Measured with the reference, final/first, seed 0: pre-LN 0.025, post-LN 0.43, post-LN with warmup 0.094.  Seeds 0..7: post-LN 0.17–0.54 (median 0.41; seeds 3 and 4 at 0.24 and 0.17 miss 0.3), with warmup 0.091–0.26 (median 0.099; seed 7 misses 0.15), pre-LN 0.025–0.12 (median 0.038).  Per seed the stall is not a law",
    ),
]


# The source text's claims, as this project paraphrases them (../shared/seed/claims.md).
SEED_CLAIMS = {
    "S1": "Backward through L layers the gradient is multiplied by each layer Jacobian; multipliers above 1 make it grow like c^L.",
    "S2": "Exploding gradients cause sudden death: the loss jumps to inf or the weights become NaN.",
    "S3": "Vanishing and exploding are one mechanism: with a spectrum straddling 1, some paths explode while others vanish.",
    "S4": "In an RNN the same W acts at every step; the gradient through T steps scales like σ_max(W)^T.",
    "S5": "Symptom: per-layer gradient norms increase from the output to the input.",
    "S6": "Symptom: weight norms grow very large during training.",
    "S7": "Symptom: training is unstable even with small learning rates.",
    "S8": "Symptom: in RNNs, instability worsens with longer sequences.",
    "S9": "Large initialisation (or no normalisation) makes MLPs explode; this motivates He and Xavier initialisation.",
    "S10": "Post-norm Transformers are more prone to exploding gradients than pre-norm ones.",
    "S11": "Policy gradients: large advantage estimates produce enormous gradients; clipping is standard.",
    "S12": "Gradient clipping caps the gradient norm before the optimiser step.",
    "S13": "Initialisation sets the weight scale so that signal magnitudes are preserved.",
    "S14": "Residual connections give the gradient a skip path that prevents exponential growth.",
    "S15": "Pre-norm (LayerNorm before each sublayer) bounds the layer Jacobian.",
    "S16": "LSTM and GRU gates bound the gradient flow through time.",
    "S17": "Learning-rate warmup keeps early large gradients from destroying the weights.",
    "S18": "Bengio, Simard & Frasconi 1994: RNN gradients vanish or explode; the stable middle ground has measure zero.",
    "S19": "Gradient clipping turns runs that diverge into runs that train.",
}

_PENDING: dict[str, tuple[str, str]] = {}

CATALOGUE: dict[str, Claim] = {c.id: c for c in _CLAIMS}
for _id, (_title, _where) in _PENDING.items():
    CATALOGUE[_id] = Claim(_id, _title, "", "Seed " + _id.rstrip("abc"), pending=_where)

def _order(claim_id: str) -> tuple:
    """P-claims first, then seed claims by number: S2 before S10, S9a before S9b."""
    number = claim_id[1:].rstrip("abcdefghijklmnopqrstuvwxyz")
    return (claim_id[0] != "P", int(number), claim_id)


CATALOGUE = dict(sorted(CATALOGUE.items(), key=lambda item: _order(item[0])))

# claim ID -> the spec test functions asserting it, filled in as test modules are imported
TESTS_BY_CLAIM: dict[str, list] = {}


def node_id(test) -> str:
    """'spec_tests/test_depth.py::test_name' for a spec test function."""
    return f"{test.__module__.replace('.', '/')}.py::{test.__name__}"


def claim(*ids: str):
    """Mark a spec test as asserting the catalogued claims ``ids``."""
    for claim_id in ids:
        if claim_id not in CATALOGUE:
            raise KeyError(f"claim {claim_id!r} is not in spec_tests/claims.py's catalogue")
        if CATALOGUE[claim_id].pending:
            raise KeyError(f"claim {claim_id!r} is marked pending in the catalogue")

    def mark(test):
        test = pytest.mark.claim(*ids)(test)
        for claim_id in ids:
            TESTS_BY_CLAIM.setdefault(claim_id, []).append(test)
        return test

    return mark


def claims_of(item) -> tuple[str, ...]:
    """The claim IDs a collected pytest item asserts (empty for project tests)."""
    marker = item.get_closest_marker("claim")
    return tuple(marker.args) if marker else ()


def select_claims(requested: list[str]) -> set[str] | None:
    """The claim IDs that --claim options select, exactly: 'S1' is S1a, S1b, S1c (not S10–S19),
    'S1a' is S1a alone; None when nothing was requested.  An unknown ID is a usage error."""
    wanted = [part.strip() for option in requested for part in option.split(",") if part.strip()]
    if not wanted:
        return None
    chosen = set()
    for claim_id in wanted:
        matches = {c for c, entry in CATALOGUE.items() if c == claim_id or entry.seed == claim_id}
        if not matches:
            raise pytest.UsageError(
                f"--claim {claim_id}: no such claim; give an ID of docs/claims.md (P1, S1, S1a, ...)")
        chosen |= matches
    return chosen
