"""The spec's own Transformer encoder layer (independent of reference/), its cases and its initialisation.

Definitions accept complex arrays, so the spec differentiates them by the complex step
(definitions.directional_derivative): LayerNorm's mean and variance are polynomials, √ and exp are
analytic, softmax shifts by the real maximum, relu is z·[Re z > 0].  Shapes follow
torch.nn.TransformerEncoderLayer(batch_first=True): x (batch, seq, d); parameters keyed by its
state_dict names.  LayerNorm's ε is 1e-5 (PyTorch's layer_norm_eps default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from .spread import spread_integers, uniform_choice

EPS_LN = 1e-5
NAMES = ("self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
         "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
         "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias")


# -- definitions -------------------------------------------------------------------------------------


def layer_norm(z, gain, bias):
    """g ⊙ (z − μ)/√(var + ε) + b over the last axis, biased variance."""
    centred = z - z.mean(axis=-1, keepdims=True)
    return gain * centred / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + EPS_LN) + bias


def layer_norm_jacobian(z, gain):
    """The closed form at one token z (d,): diag(g)·(P − ẑẑᵀ/d)/s, P = I − 11ᵀ/d, s = √(var + ε)."""
    d = z.shape[-1]
    centred = z - z.mean()
    s = np.sqrt(np.mean(centred * centred) + EPS_LN)
    z_hat = centred / s
    return gain[:, None] * (np.eye(d) - 1.0 / d - np.outer(z_hat, z_hat) / d) / s


def self_attention(x, p, nhead):
    """concat_j softmax(Q_j K_jᵀ/√d_k) V_j · W_Oᵀ + b_O, [W_Q; W_K; W_V] = in_proj_weight."""
    b, s, d = x.shape
    dk = d // nhead
    qkv = x @ p["self_attn.in_proj_weight"].T + p["self_attn.in_proj_bias"]
    q, k, v = (qkv[..., i * d:(i + 1) * d].reshape(b, s, nhead, dk).transpose(0, 2, 1, 3) for i in range(3))
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dk)
    weights = np.exp(scores - np.real(scores).max(axis=-1, keepdims=True))
    weights = weights / weights.sum(axis=-1, keepdims=True)
    heads = (weights @ v).transpose(0, 2, 1, 3).reshape(b, s, d)
    return heads @ p["self_attn.out_proj.weight"].T + p["self_attn.out_proj.bias"]


def feedforward(x, p):
    a = x @ p["linear1.weight"].T + p["linear1.bias"]
    return (a * (np.real(a) > 0)) @ p["linear2.weight"].T + p["linear2.bias"]


def attention_block(x, p, nhead, norm_first):
    """pre-LN x + SA(LN_1 x); post-LN LN_1(x + SA x)."""
    if norm_first:
        return x + self_attention(layer_norm(x, p["norm1.weight"], p["norm1.bias"]), p, nhead)
    return layer_norm(x + self_attention(x, p, nhead), p["norm1.weight"], p["norm1.bias"])


def feedforward_block(u, p, norm_first):
    """pre-LN u + FF(LN_2 u); post-LN LN_2(u + FF u)."""
    if norm_first:
        return u + feedforward(layer_norm(u, p["norm2.weight"], p["norm2.bias"]), p)
    return layer_norm(u + feedforward(u, p), p["norm2.weight"], p["norm2.bias"])


def layer(x, p, nhead, norm_first):
    return feedforward_block(attention_block(x, p, nhead, norm_first), p, norm_first)


def stack(x, layers, final_norm, nhead, norm_first):
    """(h_0 … h_L, output): h_l = layer_l(h_{l−1}); output LN_final(h_L), or h_L without a final norm."""
    hidden = [x]
    for p in layers:
        hidden.append(layer(hidden[-1], p, nhead, norm_first))
    out = hidden[-1] if final_norm is None else layer_norm(hidden[-1], final_norm["weight"], final_norm["bias"])
    return hidden, out


def block_jacobian(block, x):
    """∂block/∂x at one sequence x (seq, d), (seq·d, seq·d) token-major, all columns in one complex-step
    batch: column c is Im block(x + i·h·e_c)/h."""
    s, d = x.shape
    n = s * d
    h = 1e-30
    batch = x[None] + 1j * h * np.eye(n).reshape(n, s, d)
    return (np.imag(block(batch)) / h).reshape(n, n).T


def conditioning(x, layers, final_norm, nhead, norm_first):
    """A: how much a stack may amplify rounding — the product, over the LayerNorms met, of
    max(1, ||g||_∞·||z||_∞/s_min) (a LN's relative input error grows by |z|/s), times Π (1 + ||W||_1) over the
    sublayer weights.  Tolerances of the definitional claims scale with it."""
    A, h = 1.0, x
    for p in layers:
        for blk, norm, weights in ((attention_block, "norm1", ("self_attn.in_proj_weight", "self_attn.out_proj.weight")),
                                   (feedforward_block, "norm2", ("linear1.weight", "linear2.weight"))):
            A *= _norm_amplification(h, p, norm, nhead, norm_first, blk)
            for w in weights:
                A *= 1 + np.abs(p[w]).sum(axis=0).max()
            h = blk(h, p, nhead, norm_first) if blk is attention_block else blk(h, p, norm_first)
    if final_norm is not None:
        A *= _amplification(h, final_norm["weight"])
    return A


def _amplification(z, gain):
    centred = z - z.mean(axis=-1, keepdims=True)
    s = np.sqrt((centred * centred).mean(axis=-1) + EPS_LN)
    return max(1.0, np.abs(gain).max() * np.abs(z).max() / s.min(), np.abs(gain).max() / s.min())


def _norm_amplification(h, p, norm, nhead, norm_first, blk):
    if norm_first:
        return _amplification(h, p[f"{norm}.weight"])
    inner = h + (self_attention(h, p, nhead) if blk is attention_block else feedforward(h, p))
    return _amplification(inner, p[f"{norm}.weight"])


# -- cases -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransformerCase:
    """A random layer (or stack of `depth` layers) of width d with `nhead` heads and feed-forward width f;
    weights N(0, scale²/fan_in), LN gains 1 + N(0, 0.3²) (sign and size vary), biases N(0, 0.3²)."""

    seed: int
    d: int
    nhead: int
    f: int
    seq: int
    batch: int
    norm_first: bool
    scale: float
    depth: int = 1
    final_norm: bool = False

    def build(self):
        rng = np.random.default_rng(self.seed)
        layers = [random_layer(rng, self.d, self.f, self.scale) for _ in range(self.depth)]
        x = rng.standard_normal((self.batch, self.seq, self.d))
        grad_output = rng.standard_normal((self.batch, self.seq, self.d))
        final = ({"weight": 1 + 0.3 * rng.standard_normal(self.d), "bias": 0.3 * rng.standard_normal(self.d)}
                 if self.final_norm else None)
        return x, layers, final, grad_output


def random_layer(rng, d, f, scale):
    p = {"self_attn.in_proj_weight": scale * rng.standard_normal((3 * d, d)) / np.sqrt(d),
         "self_attn.in_proj_bias": 0.3 * rng.standard_normal(3 * d),
         "self_attn.out_proj.weight": scale * rng.standard_normal((d, d)) / np.sqrt(d),
         "self_attn.out_proj.bias": 0.3 * rng.standard_normal(d),
         "linear1.weight": scale * rng.standard_normal((f, d)) / np.sqrt(d),
         "linear1.bias": 0.3 * rng.standard_normal(f),
         "linear2.weight": scale * rng.standard_normal((d, f)) / np.sqrt(f),
         "linear2.bias": 0.3 * rng.standard_normal(d)}
    for norm in ("norm1", "norm2"):
        p[f"{norm}.weight"] = 1 + 0.3 * rng.standard_normal(d)
        p[f"{norm}.bias"] = 0.3 * rng.standard_normal(d)
    return p


@st.composite
def transformer_cases(draw, max_depth=1, max_seq=4, max_batch=2, final_norm=None):
    """Small layers: d ∈ {2, 4, 6, 8} with 1 or 2 heads (d_k ≥ 1), f ∈ 1..16, seq 1..max_seq (shrinking
    towards 2, not 1: one token makes the softmax constant), both norm placements, weight scales 0.5–3 (scale 3
    makes attention nearly one-hot: the softmax's hard region; tests/test_transformer_oracles.py measures it)."""
    d = draw(uniform_choice((2, 4, 6, 8)), label="d")
    depth = draw(spread_integers(1, max_depth), label="depth")
    norm_first = draw(st.booleans(), label="norm_first")
    return TransformerCase(
        seed=draw(st.integers(0, 2**32 - 1), label="seed"),
        d=d, nhead=draw(uniform_choice((1, 2)), label="nhead"), f=draw(spread_integers(1, 16), label="f"),
        seq=draw(uniform_choice(tuple(range(2, max_seq + 1)) + (1,)), label="seq"), batch=draw(spread_integers(1, max_batch), label="batch"),
        norm_first=norm_first, scale=draw(uniform_choice((0.5, 1.0, 2.0, 3.0)), label="scale"), depth=depth,
        final_norm=draw(st.booleans(), label="final_norm") if final_norm is None else final_norm,
    )


# -- Xiong et al. (2020)'s initialisation --------------------------------------------------------------


def xiong_layer(rng, d, f):
    """Xavier-uniform weights (in_proj as one (3d, d) matrix, as torch initialises it), then W_Q = W_K = 0;
    zero biases; LayerNorm gains 1, biases 0: the setting of Xiong et al. (2020), Theorem 1."""
    def xavier(shape):
        a = np.sqrt(6.0 / (shape[0] + shape[1]))
        return rng.uniform(-a, a, shape)

    in_proj = xavier((3 * d, d))
    in_proj[:2 * d] = 0.0
    p = {"self_attn.in_proj_weight": in_proj, "self_attn.in_proj_bias": np.zeros(3 * d),
         "self_attn.out_proj.weight": xavier((d, d)), "self_attn.out_proj.bias": np.zeros(d),
         "linear1.weight": xavier((f, d)), "linear1.bias": np.zeros(f),
         "linear2.weight": xavier((d, f)), "linear2.bias": np.zeros(d)}
    for norm in ("norm1", "norm2"):
        p[f"{norm}.weight"], p[f"{norm}.bias"] = np.ones(d), np.zeros(d)
    return p
