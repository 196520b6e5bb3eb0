"""Figures for the docs pages (depth, recurrence, clipping, initialisation, warmup), computed with the
numpy reference.

    python tools/make_figures.py      (or python tools/make_docs.py for everything)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import reference  # noqa: E402
from spec_tests.networks import GaussianNetwork, SharedBasisNetwork, random_orthogonal  # noqa: E402
from spec_tests.sequences import RandomRecurrence  # noqa: E402

FIGURES = ROOT / "docs" / "figures"
SEEDS = range(8)


def _save(fig, name: str) -> Path:
    path = FIGURES / name
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def per_layer_gradient_norms() -> Path:
    """log10 ||∂L/∂h_l|| against l for Gaussian weights of several scales, ReLU and tanh."""
    width, depth = 64, 32
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    panels = [("relu", np.sqrt(2) * np.array([0.5, 0.8, 1.0, 1.25, 2.0]), "s = √2·{:.3g}", np.sqrt(2)),
              ("tanh", np.array([0.5, 1.0, 2.0, 4.0]), "s = {:.2g}", 1.0)]
    for ax, (activation, scales, label, unit) in zip(axes, panels):
        for s in scales:
            curves = []
            for seed in SEEDS:
                net = GaussianNetwork(seed, width, depth, s, activation).build()
                grads = reference.mlp_backward(net.x, net.weights, net.biases, activation, net.grad_output)
                norms = reference.per_layer_gradient_norms(grads).hidden
                curves.append(np.log10(norms / norms[-1]))
            ax.plot(range(depth + 1), np.mean(curves, axis=0), marker=".", label=label.format(s / unit))
        ax.set_title(f"{activation}, width {width}, weights N(0, s²/n), mean of {len(SEEDS)} seeds")
        ax.set_xlabel("layer l (0 = input)")
        ax.axhline(0, color="grey", lw=0.5)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("log10 ||∂L/∂h_l|| / ||∂L/∂h_L||")
    return _save(fig, "per_layer_gradient_norms.png")


def _resolved(sv: np.ndarray) -> np.ndarray:
    """Singular values above σ_1·1e-13: below that, float64 rounding decides what they are."""
    return sv[sv >= sv[0] * 1e-13]


def end_to_end_singular_values() -> Path:
    """Singular values of J_L ⋯ J_1 (ReLU, width 64) for several weight scales and depths."""
    width = 64
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for s_rel in (0.8, 1.0, 1.25):
        net = GaussianNetwork(0, width, 32, np.sqrt(2) * s_rel, "relu").build()
        J = reference.end_to_end_jacobian(reference.mlp_layer_jacobians(*net.single()))
        axes[0].semilogy(_resolved(reference.singular_values(J)), marker=".", label=f"s = √2·{s_rel}")
    axes[0].set_title("ReLU, depth 32: singular values of ∂h_L/∂h_0")
    axes[0].set_xlabel("index i")
    axes[0].set_ylabel("σ_i (those above σ_1·1e-13)")
    axes[0].legend(fontsize=8)
    for depth in (1, 4, 16, 64):
        net = GaussianNetwork(1, width, depth, 1.0, "linear").build()
        J = reference.end_to_end_jacobian(reference.mlp_layer_jacobians(*net.single()))
        axes[1].semilogy(_resolved(reference.singular_values(J)), marker=".", label=f"L = {depth}")
    axes[1].set_title("linear, s = 1 (Glorot): spread grows with depth")
    axes[1].set_xlabel("index i")
    axes[1].legend(fontsize=8)
    return _save(fig, "end_to_end_singular_values.png")


def straddling_spectrum() -> Path:
    """S3: gradient components along each singular direction against depth, in one network."""
    case = SharedBasisNetwork(seed=0, width=6, depth=30, growing=3)
    net, Q = case.build(), case.basis()
    x = np.repeat(net.x, case.width, axis=0)
    grads = reference.mlp_backward(x, net.weights, net.biases, "linear", Q.T.copy())
    fig, ax = plt.subplots(figsize=(6, 4))
    for i in range(case.width):
        norms = [np.linalg.norm(g[i]) for g in grads.hidden]
        ax.semilogy(range(case.depth + 1), norms, label=f"q_{i} ({'s > 1' if i < case.growing else 's < 1'})")
    ax.set_title("one network, six directions: three explode, three vanish")
    ax.set_xlabel("layer l (0 = input)")
    ax.set_ylabel("||∂L/∂h_l|| for ∂L/∂h_L = q_i")
    ax.legend(fontsize=8)
    return _save(fig, "straddling_spectrum.png")


def rnn_gradient_through_time() -> Path:
    """||∂L/∂h_t|| against t for a loss on h_T, W_hh = s·Q, tanh and linear, small random inputs."""
    T, H = 100, 32
    rng = np.random.default_rng(0)
    Q = random_orthogonal(rng, H)
    x = 0.1 * rng.standard_normal((T, 1, 4))
    W_ih = rng.standard_normal((H, 4)) / 2
    grad_output = np.zeros((T, 1, H))
    grad_output[-1, 0] = rng.standard_normal(H)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, activation in zip(axes, ("linear", "tanh")):
        for s in (0.9, 1.0, 1.05, 1.2):
            grads = reference.rnn_backward(x, np.zeros((1, H)), W_ih, s * Q, np.zeros(H), np.zeros(H), activation,
                                           grad_output)
            ax.semilogy(range(T + 1), [np.linalg.norm(g) for g in grads.hidden], label=f"σ_max(W_hh) = {s}")
        ax.set_title(f"{activation} RNN, W_hh = σ_max·Q, loss on h_T (T = {T})")
        ax.set_xlabel("time step t")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("||∂L/∂h_t||")
    return _save(fig, "rnn_gradient_through_time.png")


def rnn_against_lstm() -> Path:
    """||∂L/∂h_0|| for a loss on the last step, against sequence length: vanilla RNNs vs LSTMs.

    Every length uses a prefix of the same input sequence, so the curves are not re-drawn noise.
    """
    H, lengths = 8, list(range(5, 201, 5))
    rng = np.random.default_rng(1)
    Q = random_orthogonal(rng, H)
    x_all, W_ih = 0.01 * rng.standard_normal((max(lengths), 1, 2)), rng.standard_normal((H, 2))
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for activation, s in (("linear", 1.1), ("tanh", 1.1), ("tanh", 1.3)):
        norms = []
        for T in lengths:
            g = np.zeros((T, 1, H))
            g[-1, 0] = 1 / np.sqrt(H)
            grads = reference.rnn_backward(x_all[:T], np.zeros((1, H)), W_ih, s * Q, np.zeros(H), np.zeros(H),
                                           activation, g)
            norms.append(np.linalg.norm(grads.hidden[0]))
        ax.semilogy(lengths, norms, label=f"{activation} RNN, W_hh = {s}·Q")
    for scale in (0.05, 1.0):
        full = RandomRecurrence("lstm", 1, max(lengths), H, recurrent_scale=scale).build()
        norms = []
        for T in lengths:
            g = np.zeros((T,) + full.h0.shape)
            g[-1] = 1 / np.sqrt(H)
            grads = reference.lstm_backward(full.x[:T], full.h0, full.c0, *full.weights(), g, np.zeros_like(full.h0))
            norms.append(np.linalg.norm(grads.h0))
        ax.semilogy(lengths, norms, label=f"LSTM, recurrent weights N(0, {scale}²/H)")
    ax.set_title("gradient reaching the first step, loss on h_T")
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("||∂L/∂h_0||")
    ax.legend(fontsize=8)
    return _save(fig, "rnn_against_lstm.png")


def lstm_direct_against_full() -> Path:
    """S16b: at the fixed point h = c = 0 the full ∂c_T/∂c_0 explodes while ∏ f_t vanishes."""
    lengths = range(1, 41)
    full, direct = [], []
    for T in lengths:
        zeros = np.zeros
        args = (zeros((T, 1, 1)), zeros((1, 1)), zeros((1, 1)), zeros((4, 1)), np.array([[0.0], [0.0], [10.0], [0.0]]),
                np.array([5.0, 0.0, 0.0, 5.0]), zeros(4))
        full.append(reference.lstm_backward(*args, zeros((T, 1, 1)), np.ones((1, 1))).c0[0, 0])
        jac = reference.lstm_step_jacobians(args[0][:, 0], args[1][0], args[2][0], *args[3:])
        direct.append(np.prod(jac.direct[:, 0, 0]))
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.semilogy(list(lengths), full, label="full ∂c_T/∂c_0 = ½·λ^(T-1), λ ≈ 10.37")
    ax.semilogy(list(lengths), direct, label="direct cell path ∏ f_t = 2^(-T)")
    ax.set_title("one LSTM unit at its fixed point: gates bound only the direct path")
    ax.set_xlabel("T")
    ax.legend(fontsize=8)
    return _save(fig, "lstm_direct_against_full.png")


def clipping_in_training() -> Path:
    """S19a's problem (seed 0): the loss with and without clipping, and the norm before/after clipping."""
    rng = np.random.default_rng(0)
    width, depth = 8, 8
    start = [1.5 * random_orthogonal(rng, width) for _ in range(depth)]
    x = rng.standard_normal((32, width))
    y = x @ random_orthogonal(rng, width).T
    biases = [np.zeros(width)] * depth
    fig, (ax_loss, ax_norm) = plt.subplots(1, 2, figsize=(11, 4))
    for max_norm in (None, 1.0):
        weights, losses, before, after = list(start), [], [], []
        for _ in range(100):
            with np.errstate(all="ignore"):
                out = reference.mlp_forward(x, weights, biases, "linear").hidden_states[-1]
                loss = 0.5 * float(np.mean(np.sum((out - y) ** 2, axis=1)))
            losses.append(loss)
            if not loss < 1e30:
                break
            grads = reference.mlp_backward(x, weights, biases, "linear", (out - y) / len(x)).weights
            total = reference.global_norm(grads)
            if max_norm is not None:
                grads, _ = reference.clip_grad_norm(grads, max_norm)
            before.append(total)
            after.append(reference.global_norm(grads))
            weights = [w - 0.05 * g for w, g in zip(weights, grads)]
        label = "no clipping" if max_norm is None else f"clipped to {max_norm}"
        ax_loss.semilogy(range(len(losses)), losses, marker="." if max_norm is None else None, label=label)
        if max_norm is not None:
            ax_norm.semilogy(before, label="||g|| before clipping")
            ax_norm.semilogy(after, label="||clip(g)||")
    ax_loss.set_title("deep linear net, W_l = 1.5·Q_l, SGD lr 0.05 (S19a, seed 0)")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss")
    ax_loss.legend(fontsize=8)
    ax_norm.set_title("the clipped run: gradient norm per step")
    ax_norm.set_xlabel("step")
    ax_norm.legend(fontsize=8)
    return _save(fig, "clipping_in_training.png")


def initialisation_across_depth() -> Path:
    """log10 ||∂L/∂h_l|| against l for each initialisation (width 64, depth 64, mean of seeds)."""
    width, depth = 64, 64
    schemes = [
        ("He (kaiming_normal) + relu", "relu", lambda s: reference.kaiming_normal((width, width), 0.0, "fan_in", "relu", s)),
        ("Xavier (gain 5/3) + tanh", "tanh", lambda s: reference.xavier_normal((width, width), 5 / 3, s)),
        ("orthogonal + linear", "linear", lambda s: reference.orthogonal((width, width), 1.0, s)),
        ("N(0, 1) + relu", "relu", lambda s: reference.normal((width, width), 1.0, s)),
        ("N(0, 0.01²) + relu", "relu", lambda s: reference.normal((width, width), 0.01, s)),
    ]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, activation, init in schemes:
        curves = []
        for seed in SEEDS:
            weights = [init(seed * 1000 + l) for l in range(depth)]
            rng = np.random.default_rng(seed)
            grads = reference.mlp_backward(rng.standard_normal((1, width)), weights, [np.zeros(width)] * depth,
                                           activation, rng.standard_normal((1, width)))
            norms = reference.per_layer_gradient_norms(grads).hidden
            with np.errstate(divide="ignore"):
                curves.append(np.log10(norms / norms[-1]))
        ax.plot(range(depth + 1), np.mean(curves, axis=0), label=label)
    ax.set_ylim(-60, 60)
    ax.set_title(f"width {width}, depth {depth}: gradient norm by initialisation (mean of {len(SEEDS)} seeds)")
    ax.set_xlabel("layer l (0 = input)")
    ax.set_ylabel("log10 ||∂L/∂h_l|| / ||∂L/∂h_L||")
    ax.legend(fontsize=8)
    return _save(fig, "initialisation_across_depth.png")


def warmup_against_update_norms() -> Path:
    """S17c: f = w₂w₁x from w₁ = w₂ = 3, lr 0.3 from step 0 against 100 warmup steps."""
    fig, (ax_lr, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    for name, rates in (("lr 0.3 from step 0", np.full(200, 0.3)),
                        ("warmup to 0.3 over 100 steps", reference.warmup_schedule(200, 0.3, 100))):
        weights, biases = [np.array([[3.0]]), np.array([[3.0]])], [np.zeros(1)] * 2
        losses, updates = [], []
        for lr in rates:
            out = reference.mlp_forward(np.ones((1, 1)), weights, biases, "linear").hidden_states[-1]
            loss = 0.5 * float((out[0, 0] - 1) ** 2)
            losses.append(loss)
            if not loss < 1e30:
                break
            grads = reference.mlp_backward(np.ones((1, 1)), weights, biases, "linear", out - 1).weights
            new, _ = reference.sgd_step(weights, grads, [np.zeros((1, 1))] * 2, float(lr))
            updates.append(float(np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(new, weights)))))
            weights = new
        ax_lr.semilogy(updates, label=f"||Δθ||, {name}")
        ax_loss.semilogy(np.maximum(losses, 1e-32), label=name)
    ax_lr.semilogy(reference.warmup_schedule(200, 0.3, 100), "k--", lw=0.8, label="warmup lr_t")
    ax_lr.set_title("update norm per step (S17c)")
    ax_lr.set_xlabel("step")
    ax_lr.legend(fontsize=8)
    ax_loss.set_title("loss ½(w₂w₁ − 1)²")
    ax_loss.set_xlabel("step")
    ax_loss.legend(fontsize=8)
    return _save(fig, "warmup_against_update_norms.png")


def layer_norm_singular_values() -> Path:
    """The singular values of LayerNorm's Jacobian (gain 1, d = 8, ε = 1e-5) against the input's spread σ,
    from the reference's layer_norm_jacobian: 1/s (d − 2 of them), ε/s³ (along x̂) and 0 (along 1), with
    s = √(σ² + ε); all of them at most 1/√ε ≈ 316 (S15a, S15c, S15d)."""
    d, eps = 8, 1e-5
    z = np.random.default_rng(0).standard_normal(d)
    z = (z - z.mean()) / z.std()  # spread exactly 1, so x = 3 + σ·z has spread σ
    spreads = np.logspace(-6, 2, 161)
    values = np.array([np.linalg.svd(reference.layer_norm_jacobian(3 + sigma * z, np.ones(d), np.zeros(d), eps),
                                     compute_uv=False) for sigma in spreads])
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.loglog(spreads, values[:, 0], lw=2.5, label="1/s (d − 2 singular values): ‖J‖")
    ax.loglog(spreads, values[:, d - 2], lw=2, label="ε/s³ (along x̂)")
    ax.loglog(spreads, np.maximum(values[:, d - 1], 1e-12), ":", label="0 (along 1; shown at the rounding floor)")
    ax.axhline(1 / np.sqrt(eps), color="k", lw=0.8, ls="--", label="bound max|g|/√ε ≈ 316")
    ax.axvline(np.sqrt(eps), color="grey", lw=0.5)
    ax.text(np.sqrt(eps) * 1.3, 1e-3, "σ = √ε", fontsize=8, color="grey")
    ax.set_ylim(1e-12, 1e3)
    ax.set_xlabel("spread σ of the input (standard deviation of its entries)")
    ax.set_ylabel("singular value of J = ∂LN(x)/∂x")
    ax.set_title(f"LayerNorm Jacobian, gain 1, d = {d}, ε = {eps:g} (reference)")
    ax.legend(fontsize=8, loc="lower left")
    return _save(fig, "layer_norm_singular_values.png")


def policy_gradient_against_advantage_scale() -> Path:
    """S11: the softmax estimate's norm against the advantages' scale (N = 64, K = 4, d = 8, seed 0): raw,
    normalised (P24) and clipped by global norm 1 (S12); and the near-deterministic policy of S11h."""
    rng = np.random.default_rng(0)
    states, W, b = rng.standard_normal((64, 8)), 0.3 * rng.standard_normal((4, 8)), np.zeros(4)
    actions, base = rng.integers(0, 4, 64), rng.standard_normal(64)
    scales = np.logspace(-3, 9, 49)
    sharp = b.copy()
    sharp[0] = 30.0  # a near-deterministic policy, every action 0 taken (S11h)

    def size(grads):
        return float(np.sqrt(sum(np.sum(g**2) for g in grads)))

    raw, normalised, clipped, deterministic = [], [], [], []
    for c in scales:
        grads = reference.softmax_policy_gradient(states, actions, c * base, W, b)
        raw.append(size(grads))
        normalised.append(size(reference.softmax_policy_gradient(
            states, actions, reference.normalise_advantages(c * base + 5.0 * c), W, b)))
        clipped.append(size(reference.clip_grad_norm(list(grads), 1.0)[0]))
        deterministic.append(size(reference.softmax_policy_gradient(states, np.zeros(64, dtype=np.int64), c * base,
                                                                    W, sharp)))
    pi = reference.policy_gradient.softmax_probabilities(states @ W.T + b)
    largest = float(np.max(np.linalg.norm(np.eye(4)[actions] - pi, axis=1) * np.sqrt(np.sum(states**2, axis=1) + 1)))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.loglog(scales, raw, label="raw advantages c·A: linear in c (S11a)")
    ax.loglog(scales, normalised, label="normalised (c·A + 5c − mean)/std (S11e)")
    ax.loglog(scales, clipped, "--", label="raw, then clip_grad_norm to 1 (S12a)")
    ax.loglog(scales, deterministic, ":", label="raw, near-deterministic policy (S11h)")
    ax.axhline(largest, color="k", lw=0.8, label="max_i ||∇log π_i||: the bound of S11f")
    ax.set_xlabel("advantage scale c")
    ax.set_ylabel("||(∂/∂W, ∂/∂b)||")
    ax.set_title("softmax REINFORCE estimate against the advantages' scale")
    ax.legend(fontsize=8)
    return _save(fig, "policy_gradient_against_advantage_scale.png")


def residual_gradient_against_depth() -> Path:
    """S14: log10(||∂L/∂h_0|| / ||∂L/∂h_L||) against depth L for the same He-initialised relu branches (width 16,
    branch width 16, zero biases; mean over seeds 0..3 of the log): stacked without skips, residual with α = 1,
    residual with α/L (α = 1), and ReZero (α = 0); J_F = a·I with a = 0.1 for S14d's (1 + a)^L."""
    width, depths, seeds = 16, [1, 2, 4, 8, 16, 32, 64, 128, 256], range(4)

    def plain_ratio(branches, x, g0):
        """No skip path: h_l = F_l(h_{l-1}); the gradient through J_F_l = J_l − I at the plain stack's own states."""
        states, g = [x], g0
        for branch in branches:
            states.append(reference.residual_forward(states[-1][None, :], [branch], [1.0], "relu")[-1][0] - states[-1])
        for branch, h in zip(reversed(branches), reversed(states[:-1])):
            g = g @ (reference.residual_block_jacobians(h, [branch], [1.0], "relu")[0] - np.eye(width))
        return np.log10(np.linalg.norm(g) / np.linalg.norm(g0))

    curves = {"no skip: h_l = F_l(h_(l-1))": [], "residual, α = 1": [], "residual, α/L (α = 1)": [],
              "ReZero / SkipInit (α = 0)": []}
    for L in depths:
        per_seed = {name: [] for name in curves}
        for seed in seeds:
            branches, _ = reference.residual_init(width, width, L, "plain", seed)
            rng = np.random.default_rng([seed, L])
            x, g0 = rng.standard_normal(width), rng.standard_normal(width)
            per_seed["no skip: h_l = F_l(h_(l-1))"].append(plain_ratio(branches, x, g0))
            for name, alpha in (("residual, α = 1", 1.0), ("residual, α/L (α = 1)", 1.0 / L),
                                ("ReZero / SkipInit (α = 0)", 0.0)):
                g = reference.residual_backward(x[None, :], branches, [alpha] * L, "relu", g0[None, :]).hidden[0]
                per_seed[name].append(np.log10(np.linalg.norm(g) / np.linalg.norm(g0)))
        for name in curves:
            with np.errstate(divide="ignore"):
                curves[name].append(float(np.mean(per_seed[name])))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (name, values), style in zip(curves.items(), ("o-", "s-", "^-", "v-")):
        ax.plot(depths, values, style, label=name)
    ax.plot(depths, [L * np.log10(1.1) for L in depths], "k:", label="J_F = 0.1·I: (1.1)^L (S14d)")
    ax.set_xscale("log", base=2)
    ax.set_ylim(-40, 40)
    ax.set_xlabel("depth L (blocks)")
    ax.set_ylabel("log10 ||∂L/∂h_0|| / ||∂L/∂h_L||")
    ax.set_title(f"the same relu branches (width {width}), mean of {len(seeds)} seeds")
    ax.legend(fontsize=8)
    print("residual_gradient_against_depth:", {name: [round(v, 2) for v in values] for name, values in curves.items()})
    return _save(fig, "residual_gradient_against_depth.png")



def transformer_gradients_across_layers() -> Path:
    """S10b, S10c: ||∂L/∂W_2^(l)|| (linear2.weight) against the layer l, pre-LN (with a final LayerNorm) and
    post-LN, at Xiong et al.'s initialisation (W_Q = W_K = 0, Xavier-uniform, d = 8, 2 heads, f = 16, seq 4,
    batch 4), L = 8 and 32: the geometric mean over seeds 0..7 and the band from the least to the largest seed."""
    from spec_tests.transformer_cases import xiong_layer

    d, f = 8, 16
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, depth in zip(axes, (8, 32)):
        for norm_first, colour, label in ((True, "C0", "pre-LN"), (False, "C3", "post-LN")):
            norms = []
            for seed in SEEDS:
                rng = np.random.default_rng(seed)
                layers = [xiong_layer(rng, d, f) for _ in range(depth)]
                x = rng.standard_normal((4, 4, d))
                c = rng.standard_normal(x.shape)
                final = {"weight": np.ones(d), "bias": np.zeros(d)} if norm_first else None
                grads = reference.transformer_stack_backward(x, layers, final, 2, norm_first, c)
                norms.append([np.linalg.norm(g["linear2.weight"]) for g in grads.layers])
            logs = np.log10(norms)
            l = np.arange(1, depth + 1)
            ax.plot(l, logs.mean(axis=0), color=colour, lw=2, label=f"{label}, geometric mean of 8 seeds")
            ax.fill_between(l, logs.min(axis=0), logs.max(axis=0), color=colour, alpha=0.15,
                            label=f"{label}, least to largest seed")
        ax.set_title(f"L = {depth} layers")
        ax.set_xlabel("layer l (1 = next to the input)")
    axes[0].set_ylabel("log10 ||∂L/∂W_2^(l)||  (linear2.weight)")
    axes[0].legend(fontsize=8)
    fig.suptitle("Transformer encoder at Xiong et al.'s initialisation, d = 8 (reference)")
    return _save(fig, "transformer_gradients_across_layers.png")


# -- S2, S6, S7: the symptoms (docs/symptoms.md), on spec_tests/symptom_cases.py's problems --------------

def _cliff_surface(w, b, T=50):
    """E(w, b) of the cliff problem on a grid, vectorised (the same recurrence as the protocol's RNN)."""
    h = np.full(np.broadcast(w, b).shape, 1 / (1 + np.exp(-0.5)))
    for _ in range(T):
        h = 1 / (1 + np.exp(-(w * h + b)))
    return (h - 0.7) ** 2


def symptoms_cliff() -> Path:
    """S2a: Pascanu's fig. 6 surface, and the loss and gradient norm along b at w = 5 across the cliff."""
    from spec_tests import symptom_cases as cases
    from spec_tests.iut import load_implementation

    impl = load_implementation("reference")
    fig, (ax_surface, ax_loss, ax_grad) = plt.subplots(1, 3, figsize=(15, 4.2))
    ws, bs = np.meshgrid(np.linspace(2, 8, 301), np.linspace(-5, 0, 301))
    image = ax_surface.pcolormesh(ws, bs, _cliff_surface(ws, bs), shading="auto", cmap="viridis")
    fig.colorbar(image, ax=ax_surface, label="E = (h_50 − 0.7)²")
    ax_surface.plot([cases.CLIFF_W], [cases.CLIFF_B], "r*", markersize=10, label="(5, b*): the unstable fixed point")
    ax_surface.set_xlabel("w")
    ax_surface.set_ylabel("b")
    ax_surface.set_title("the loss surface of x_t = w·σ(x_(t−1)) + b, T = 50")
    ax_surface.legend(fontsize=8, loc="lower left")
    b_line = cases.CLIFF_B + np.linspace(-0.1, 0.1, 801)
    values = [cases.cliff_loss_and_gradient(impl, cases.CLIFF_W, b) for b in b_line]
    ax_loss.plot(b_line, [v[0] for v in values])
    ax_grad.semilogy(b_line, [np.linalg.norm(v[1]) for v in values])
    for ax in (ax_loss, ax_grad):
        ax.axvline(cases.CLIFF_B, color="r", lw=0.8, ls="--", label="b*")
        ax.axvline(cases.CLIFF_B - 0.04, color="gray", lw=0.8, ls=":", label="b* − 0.04")
        ax.set_xlabel("b (w = 5)")
        ax.legend(fontsize=8)
    ax_loss.set_title("the loss along w = 5: a cliff at b*")
    ax_grad.set_title("‖∇E‖ along w = 5: 0.22 on the plateau, 779 at b*")
    return _save(fig, "symptoms_cliff.png")


def symptoms_training() -> Path:
    """S2b: the edge problem, seed 0: loss and gradient norm per step, with and without clipping."""
    from spec_tests import symptom_cases as cases
    from spec_tests.iut import load_implementation

    impl = load_implementation("reference")
    fig, (ax_loss, ax_grad, ax_w) = plt.subplots(1, 3, figsize=(15, 4))
    for max_norm, label in ((None, "no clipping"), (10.0, "clipped to 10")):
        run = cases.train_edge(impl, 0, 3e-3, 60, max_norm=max_norm)
        losses = np.asarray(run.losses)
        finite = np.isfinite(losses)
        line, = ax_loss.semilogy(np.nonzero(finite)[0], losses[finite], marker="." if max_norm is None else None,
                                 label=label)
        if not finite.all():
            ax_loss.axvline(int(np.argmin(finite)), color=line.get_color(), ls=":", label="loss = inf")
        ax_grad.semilogy(run.gradient_norms, marker="." if max_norm is None else None, label=label)
        ws = np.array([p[0] for p in run.params])
        ax_w.plot(np.nonzero(np.abs(ws) < 5)[0], ws[np.abs(ws) < 5], marker="." if max_norm is None else None,
                  label=label)
    ax_w.axhline(1, color="k", lw=0.8, ls="--", label="the edge w = 1")
    ax_loss.set_title("edge problem (h_t = w·h_(t−1) + b, T = 50), seed 0, lr 3e-3")
    ax_grad.set_title("‖∇L‖ before clipping")
    ax_w.set_title("the recurrent weight w (|w| < 5 shown)")
    for ax in (ax_loss, ax_grad, ax_w):
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    return _save(fig, "symptoms_training.png")


def symptoms_weight_norms() -> Path:
    """S6: ‖W_l‖_F per layer and step: the diverging deep network, clipped, well initialised; the long RNN."""
    from spec_tests import symptom_cases as cases
    from spec_tests.iut import load_implementation

    impl = load_implementation("reference")
    fig, axes = plt.subplots(1, 4, figsize=(18, 4))
    runs = [("deep net W_l = 1.5·Q_l, no clipping", cases.weight_norms_of_deep_network(impl, 0, 1.5, 0.05, 100)),
            ("deep net W_l = 1.5·Q_l, clipped to 1", cases.weight_norms_of_deep_network(impl, 0, 1.5, 0.05, 40, 1.0)),
            ("deep net W_l = Q_l (well initialised)", cases.weight_norms_of_deep_network(impl, 0, 1.0, 0.05, 40))]
    for ax, (title, (_, norms)) in zip(axes, runs):
        for layer in range(norms.shape[1]):
            ax.semilogy(norms[:, layer], marker=".", label=f"layer {layer + 1}")
        ax.set_title(title, fontsize=9)
    axes[0].legend(fontsize=7, ncol=2)
    for max_norm, style in ((None, "-"), (1.0, "--")):
        _, norms = cases.weight_norms_of_long_rnn(impl, 0, 1.2, 0.05, 100 if max_norm is None else 40, max_norm)
        tag = "no clipping" if max_norm is None else "clipped to 1"
        axes[3].semilogy(norms[:, 0], style, marker=".", label=f"‖W_ih‖, {tag}")
        axes[3].semilogy(norms[:, 1], style, marker=".", label=f"‖W_hh‖, {tag}")
    axes[3].set_title("long linear RNN W_hh = 1.2·Q, T = 40", fontsize=9)
    axes[3].legend(fontsize=7)
    for ax in axes:
        ax.set_xlabel("step")
    axes[0].set_ylabel("‖W‖_F (seed 0, lr 0.05)")
    return _save(fig, "symptoms_weight_norms.png")


def symptoms_small_learning_rates() -> Path:
    """S7: the step off the cliff for lr/10, /100, /1000 against clipping; the spikes at lr 0.1."""
    from spec_tests import symptom_cases as cases
    from spec_tests.iut import load_implementation

    impl = load_implementation("reference")
    fig, (ax_step, ax_spikes) = plt.subplots(1, 2, figsize=(12, 4))
    _, grad = cases.cliff_loss_and_gradient(impl, cases.CLIFF_W, cases.CLIFF_B)
    rates = np.array([0.1, 0.01, 1e-3, 1e-4])
    ax_step.loglog(rates, rates * np.linalg.norm(grad), "o-", label="lr·‖g‖ (no clipping)")
    ax_step.loglog(rates, rates * 1.0, "s--", label="lr·c, clipped to c = 1")
    ax_step.axhline(1e-3, color="r", lw=0.8, label="half-width of the cliff's face, 1e-3")
    ax_step.set_xlabel("learning rate")
    ax_step.set_ylabel("length of the step taken at (5, b*)")
    ax_step.set_title("one step from the cliff: smaller lr, still off the face")
    ax_step.legend(fontsize=8)
    run = cases.train_cliff(impl, 0.1, 100)
    losses = np.asarray(run.losses)
    ax_spikes.semilogy(losses, marker=".", label="loss, lr 0.1")
    spikes = [t for t in range(1, len(losses)) if losses[t] >= 10 * losses[t - 1]]
    ax_spikes.semilogy(spikes, losses[spikes], "rv", label=f"spikes (≥ 10×): {len(spikes)}")
    ax_spikes.set_xlabel("step")
    ax_spikes.set_title("cliff problem from (5, −2.5), lr 0.1: spikes, then thrown into saturation")
    ax_spikes.legend(fontsize=8)
    return _save(fig, "symptoms_small_learning_rates.png")


def symptoms() -> list[Path]:
    return [symptoms_cliff(), symptoms_training(), symptoms_weight_norms(), symptoms_small_learning_rates()]


def main() -> list[Path]:
    FIGURES.mkdir(parents=True, exist_ok=True)
    return [per_layer_gradient_norms(), end_to_end_singular_values(), straddling_spectrum(),
            rnn_gradient_through_time(), rnn_against_lstm(), lstm_direct_against_full(),
            clipping_in_training(), initialisation_across_depth(), warmup_against_update_norms(),
            layer_norm_singular_values(), policy_gradient_against_advantage_scale(),
            residual_gradient_against_depth(), transformer_gradients_across_layers()] + symptoms()


if __name__ == "__main__":
    for written in symptoms() if sys.argv[1:] == ["--symptoms"] else main():
        print(f"wrote {written}")
