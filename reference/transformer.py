"""A Transformer encoder layer in PyTorch's exact conventions, forward and backward, post-LN and pre-LN.

Batch-first x: (batch, seq, d_model), as torch.nn.TransformerEncoderLayer(..., batch_first=True,
dropout=0.0, activation="relu") takes it.  Parameters are a dict keyed by that module's state_dict
names (PARAMETER_SHAPES):

    self_attn.in_proj_weight (3d, d) = [W_Q; W_K; W_V]   self_attn.in_proj_bias (3d,) = [b_Q; b_K; b_V]
    self_attn.out_proj.weight (d, d) = W_O              self_attn.out_proj.bias (d,)
    linear1.weight (f, d), linear1.bias (f,)            linear2.weight (d, f), linear2.bias (d,)
    norm1.weight, norm1.bias, norm2.weight, norm2.bias  (d,) each: LayerNorm gains and biases, ε = 1e-5

Multi-head self-attention with h heads of width d_k = d/h (head j takes columns j·d_k … (j+1)·d_k − 1):

    Q = x W_Qᵀ + b_Q,  K = x W_Kᵀ + b_K,  V = x W_Vᵀ + b_V
    A_j = softmax(Q_j K_jᵀ / √d_k)  (over keys),   O_j = A_j V_j
    SA(x) = concat_j(O_j) W_Oᵀ + b_O
    FF(x) = relu(x W_1ᵀ + b_1) W_2ᵀ + b_2

The layer, post-LN (norm_first=False, PyTorch's default; Vaswani et al. 2017) and pre-LN (norm_first=True):

    post-LN:  u = LN_1(x + SA(x)),     y = LN_2(u + FF(u))
    pre-LN:   u = x + SA(LN_1(x)),     y = u + FF(LN_2(u))

so a pre-LN block's Jacobian is I + J_sublayer·J_LN (an identity path), a post-LN block's
J_LN·(I + J_sublayer) (none).  A stack of L layers maps h_0 = x to h_l = layer_l(h_{l−1}) and returns
h_L, or LN_final(h_L) when a final norm is given (nn.TransformerEncoder(norm=...), usual for pre-LN).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .layernorm import _normalise
from .validation import ArgumentTypeError, as_float_array, check_positive_integer

LAYER_NORM_EPS = 1e-5  # torch.nn.TransformerEncoderLayer's layer_norm_eps default

ATTENTION = ("self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
             "self_attn.out_proj.bias")
FEEDFORWARD = ("linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias")
NORMS = ("norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias")
PARAMETER_NAMES = ATTENTION + FEEDFORWARD + NORMS
FINAL_NORM_NAMES = ("weight", "bias")


def parameter_shapes(d_model: int, dim_feedforward: int) -> dict[str, tuple]:
    """The state_dict shapes of one torch.nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward)."""
    d, f = d_model, dim_feedforward
    return {"self_attn.in_proj_weight": (3 * d, d), "self_attn.in_proj_bias": (3 * d,),
            "self_attn.out_proj.weight": (d, d), "self_attn.out_proj.bias": (d,),
            "linear1.weight": (f, d), "linear1.bias": (f,), "linear2.weight": (d, f), "linear2.bias": (d,),
            "norm1.weight": (d,), "norm1.bias": (d,), "norm2.weight": (d,), "norm2.bias": (d,)}


class StackForward(NamedTuple):
    hidden: np.ndarray  # h_0 … h_L, the layer outputs (h_0 = x): (L + 1, batch, seq, d)
    output: np.ndarray  # LN_final(h_L), or h_L without a final norm: (batch, seq, d)


class LayerGradients(NamedTuple):
    inputs: np.ndarray  # ∂L/∂x: (batch, seq, d)
    params: dict  # ∂L/∂p for every state_dict name, summed over the batch


class StackGradients(NamedTuple):
    hidden: np.ndarray  # ∂L/∂h_0 … ∂L/∂h_L: (L + 1, batch, seq, d)
    layers: list  # per layer, a dict of ∂L/∂p keyed as the parameters
    final_norm: dict | None  # ∂L/∂(weight, bias) of the final norm, or None without one


class BlockJacobians(NamedTuple):
    attention: np.ndarray  # ∂u/∂x of the attention block, (seq·d, seq·d), token-major flattening
    feedforward: np.ndarray  # ∂y/∂u of the feed-forward block, (seq·d, seq·d)


# -- input checks ----------------------------------------------------------------------------------


def _check_layer(params, name: str = "params") -> dict:
    if not isinstance(params, dict):
        raise ArgumentTypeError(f"{name} must be a dict keyed by torch's state_dict names, got "
                                f"{type(params).__name__}")
    missing = [key for key in PARAMETER_NAMES if key not in params]
    if missing:
        raise ValueError(f"{name} lacks {', '.join(missing)} (keys are torch.nn.TransformerEncoderLayer's "
                         f"state_dict names)")
    arrays = {key: as_float_array(params[key], f"{name}[{key!r}]", dtype=np.float64) for key in PARAMETER_NAMES}
    d = arrays["self_attn.out_proj.weight"].shape[0] if arrays["self_attn.out_proj.weight"].ndim == 2 else 0
    f = arrays["linear1.weight"].shape[0] if arrays["linear1.weight"].ndim == 2 else 0
    for key, shape in parameter_shapes(d, f).items():
        if arrays[key].shape != shape or d == 0 or f == 0:
            raise ValueError(f"{name}[{key!r}] has shape {arrays[key].shape}, expected {shape} "
                             f"(d_model = out_proj rows, dim_feedforward = linear1 rows)")
    return arrays


def _check_nhead(nhead, d: int) -> int:
    nhead = check_positive_integer(nhead, "nhead")
    if d % nhead:
        raise ValueError(f"nhead = {nhead} does not divide d_model = {d}")
    return nhead


def _check_norm_first(norm_first) -> bool:
    if not isinstance(norm_first, (bool, np.bool_)):
        raise ArgumentTypeError(f"norm_first must be True (pre-LN) or False (post-LN), got {norm_first!r}")
    return bool(norm_first)


def _check_x(x, d: int, ndim: int = 3) -> np.ndarray:
    what = "(batch, seq, d_model)" if ndim == 3 else "(seq, d_model)"
    x = as_float_array(x, "x", dtype=np.float64)
    if x.ndim != ndim or x.shape[-1] != d or 0 in x.shape:
        raise ValueError(f"x has shape {x.shape}, expected {what} with d_model = {d}")
    return x


def _check_call(x, params, nhead, norm_first, ndim=3):
    params = _check_layer(params)
    d = params["norm1.weight"].shape[0]
    return _check_x(x, d, ndim), params, _check_nhead(nhead, d), _check_norm_first(norm_first)


def _check_stack(x, layers, final_norm, nhead, norm_first):
    if not isinstance(layers, (list, tuple)) or not layers:
        raise ArgumentTypeError(f"layers must be a non-empty list of parameter dicts, got {type(layers).__name__}"
                                + (" (empty)" if isinstance(layers, (list, tuple)) else ""))
    layers = [_check_layer(p, f"layers[{i}]") for i, p in enumerate(layers)]
    d = layers[0]["norm1.weight"].shape[0]
    for i, p in enumerate(layers):
        if p["norm1.weight"].shape[0] != d:
            raise ValueError(f"layers[{i}] has d_model = {p['norm1.weight'].shape[0]}, layers[0] has {d}")
    if final_norm is not None:
        if not isinstance(final_norm, dict) or any(k not in final_norm for k in FINAL_NORM_NAMES):
            raise ArgumentTypeError("final_norm must be None or a dict with 'weight' and 'bias' of shape (d_model,)")
        final_norm = {k: as_float_array(final_norm[k], f"final_norm[{k!r}]", dtype=np.float64)
                      for k in FINAL_NORM_NAMES}
        for k, v in final_norm.items():
            if v.shape != (d,):
                raise ValueError(f"final_norm[{k!r}] has shape {v.shape}, expected ({d},)")
    return _check_x(x, d), layers, final_norm, _check_nhead(nhead, d), _check_norm_first(norm_first)


def _check_grad(grad_output, shape) -> np.ndarray:
    grad_output = as_float_array(grad_output, "grad_output", dtype=np.float64)
    if grad_output.shape != shape:
        raise ValueError(f"grad_output has shape {grad_output.shape}, expected {shape}")
    return grad_output


# -- sublayers -------------------------------------------------------------------------------------


def _heads(z, nhead):
    """(batch, seq, d) → (batch, nhead, seq, d_k)."""
    b, s, d = z.shape
    return z.reshape(b, s, nhead, d // nhead).transpose(0, 2, 1, 3)


def _merge(z):
    """(batch, nhead, seq, d_k) → (batch, seq, d)."""
    b, h, s, dk = z.shape
    return z.transpose(0, 2, 1, 3).reshape(b, s, h * dk)


def _softmax(scores):
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def self_attention(x, p, nhead):
    """SA(x) = concat_j softmax(Q_j K_jᵀ/√d_k) V_j · W_Oᵀ + b_O; returns (SA(x), cache for the backward)."""
    qkv = x @ p["self_attn.in_proj_weight"].T + p["self_attn.in_proj_bias"]
    q, k, v = (_heads(z, nhead) for z in np.split(qkv, 3, axis=-1))
    scale = 1.0 / np.sqrt(q.shape[-1])
    A = _softmax(q @ k.transpose(0, 1, 3, 2) * scale)
    concat = _merge(A @ v)
    return concat @ p["self_attn.out_proj.weight"].T + p["self_attn.out_proj.bias"], (x, q, k, v, A, concat, scale)


def self_attention_backward(cache, p, nhead, grad):
    """Vector–Jacobian product of SA: returns (∂L/∂x, {parameter: ∂L/∂p}).  Through the softmax,
    ∂L/∂S = A ⊙ (∂L/∂A − rowsum(A ⊙ ∂L/∂A)) (A's Jacobian diag(a) − a aᵀ, row by row)."""
    x, q, k, v, A, concat, scale = cache
    grads = {"self_attn.out_proj.weight": np.einsum("bsi,bsj->ij", grad, concat),
             "self_attn.out_proj.bias": grad.sum(axis=(0, 1))}
    d_out = _heads(grad @ p["self_attn.out_proj.weight"], nhead)
    dA = d_out @ v.transpose(0, 1, 3, 2)
    dv = A.transpose(0, 1, 3, 2) @ d_out
    dS = A * (dA - np.sum(dA * A, axis=-1, keepdims=True)) * scale
    dq, dk = dS @ k, dS.transpose(0, 1, 3, 2) @ q
    d_qkv = np.concatenate([_merge(dq), _merge(dk), _merge(dv)], axis=-1)
    grads["self_attn.in_proj_weight"] = np.einsum("bsi,bsj->ij", d_qkv, x)
    grads["self_attn.in_proj_bias"] = d_qkv.sum(axis=(0, 1))
    return d_qkv @ p["self_attn.in_proj_weight"], grads


def feedforward(x, p):
    """FF(x) = relu(x W_1ᵀ + b_1) W_2ᵀ + b_2; returns (FF(x), cache)."""
    a = x @ p["linear1.weight"].T + p["linear1.bias"]
    r = np.maximum(a, 0.0)
    return r @ p["linear2.weight"].T + p["linear2.bias"], (x, a, r)


def feedforward_backward(cache, p, grad):
    """Vector–Jacobian product of FF (relu'(0) = 0, as in PyTorch)."""
    x, a, r = cache
    grads = {"linear2.weight": np.einsum("bsi,bsj->ij", grad, r), "linear2.bias": grad.sum(axis=(0, 1))}
    da = (grad @ p["linear2.weight"]) * (a > 0)
    grads["linear1.weight"] = np.einsum("bsi,bsj->ij", da, x)
    grads["linear1.bias"] = da.sum(axis=(0, 1))
    return da @ p["linear1.weight"], grads


def layer_norm(z, gain, bias):
    """LN(z) = g ⊙ ẑ + b, ẑ = (z − μ)/s, s = √(var + ε) over the last axis (reference/layernorm.py's
    equations, ε = 1e-5); returns (LN(z), (ẑ, s, g)) so that the backward reuses the statistics."""
    z_hat, s = _normalise(z, LAYER_NORM_EPS)
    return gain * z_hat + bias, (z_hat, s, gain)


def layer_norm_backward(cache, grad):
    """ĝ = g ⊙ ∂L/∂y,  ∂L/∂z = (ĝ − mean(ĝ) − ẑ·mean(ĝ ⊙ ẑ))/s;  ∂L/∂g = Σ ∂L/∂y ⊙ ẑ,  ∂L/∂b = Σ ∂L/∂y
    (means over the last axis, sums over every leading axis)."""
    z_hat, s, gain = cache
    grad_z_hat = gain * grad
    grad_z = (grad_z_hat - grad_z_hat.mean(axis=-1, keepdims=True)
              - z_hat * (grad_z_hat * z_hat).mean(axis=-1, keepdims=True)) / s
    return grad_z, _sum_to(grad * z_hat), _sum_to(grad)


def _norm(x, p, which):
    return layer_norm(x, p[f"{which}.weight"], p[f"{which}.bias"])


def _norm_backward(cache, which, grad):
    grad_x, grad_gain, grad_bias = layer_norm_backward(cache, grad)
    return grad_x, {f"{which}.weight": grad_gain, f"{which}.bias": grad_bias}


def _sum_to(grad):
    """A LayerNorm parameter gradient summed over every leading axis, (d,)."""
    grad = np.asarray(grad)
    return grad.reshape(-1, grad.shape[-1]).sum(axis=0)


# -- blocks: (forward, backward) of the two residual blocks of a layer ---------------------------------


def _attention_block(x, p, nhead, norm_first):
    """post-LN: u = LN_1(x + SA(x));  pre-LN: u = x + SA(LN_1(x))."""
    if norm_first:
        n, norm_cache = _norm(x, p, "norm1")
        s, cache = self_attention(n, p, nhead)
        return x + s, ("pre", norm_cache, cache)
    s, cache = self_attention(x, p, nhead)
    u, norm_cache = _norm(x + s, p, "norm1")
    return u, ("post", norm_cache, cache)


def _attention_block_backward(state, p, nhead, grad):
    kind, norm_cache, cache = state
    if kind == "pre":
        grad_n, grads = self_attention_backward(cache, p, nhead, grad)
        grad_x, norm_grads = _norm_backward(norm_cache, "norm1", grad_n)
        return grad + grad_x, {**grads, **norm_grads}  # the identity path carries grad unchanged
    grad_sum, norm_grads = _norm_backward(norm_cache, "norm1", grad)
    grad_x, grads = self_attention_backward(cache, p, nhead, grad_sum)
    return grad_sum + grad_x, {**grads, **norm_grads}


def _feedforward_block(u, p, norm_first):
    """post-LN: y = LN_2(u + FF(u));  pre-LN: y = u + FF(LN_2(u))."""
    if norm_first:
        n, norm_cache = _norm(u, p, "norm2")
        f, cache = feedforward(n, p)
        return u + f, ("pre", norm_cache, cache)
    f, cache = feedforward(u, p)
    y, norm_cache = _norm(u + f, p, "norm2")
    return y, ("post", norm_cache, cache)


def _feedforward_block_backward(state, p, grad):
    kind, norm_cache, cache = state
    if kind == "pre":
        grad_n, grads = feedforward_backward(cache, p, grad)
        grad_u, norm_grads = _norm_backward(norm_cache, "norm2", grad_n)
        return grad + grad_u, {**grads, **norm_grads}
    grad_sum, norm_grads = _norm_backward(norm_cache, "norm2", grad)
    grad_u, grads = feedforward_backward(cache, p, grad_sum)
    return grad_sum + grad_u, {**grads, **norm_grads}


def _layer(x, p, nhead, norm_first):
    u, attention_state = _attention_block(x, p, nhead, norm_first)
    y, feedforward_state = _feedforward_block(u, p, norm_first)
    return y, (attention_state, feedforward_state)


def _layer_backward(states, p, nhead, grad):
    attention_state, feedforward_state = states
    grad_u, ff_grads = _feedforward_block_backward(feedforward_state, p, grad)
    grad_x, attention_grads = _attention_block_backward(attention_state, p, nhead, grad_u)
    grads = {**attention_grads, **ff_grads}
    return grad_x, {key: grads[key] for key in PARAMETER_NAMES}


# -- the protocol ----------------------------------------------------------------------------------


def transformer_layer_forward(x, params, nhead, norm_first):
    """y = layer(x) for x (batch, seq, d): post-LN LN_2(u + FF(u)), u = LN_1(x + SA(x)) when norm_first is
    False; pre-LN u + FF(LN_2(u)), u = x + SA(LN_1(x)) when True (torch.nn.TransformerEncoderLayer)."""
    x, params, nhead, norm_first = _check_call(x, params, nhead, norm_first)
    return _layer(x, params, nhead, norm_first)[0]


def transformer_layer_backward(x, params, nhead, norm_first, grad_output):
    """For L = Σ ⟨grad_output, layer(x)⟩: (∂L/∂x, {name: ∂L/∂p}), parameter gradients summed over the batch."""
    x, params, nhead, norm_first = _check_call(x, params, nhead, norm_first)
    grad_output = _check_grad(grad_output, x.shape)
    _, states = _layer(x, params, nhead, norm_first)
    return LayerGradients(*_layer_backward(states, params, nhead, grad_output))


def transformer_stack_forward(x, layers, final_norm, nhead, norm_first):
    """h_0 = x, h_l = layer_l(h_{l−1}) for l = 1..L; returns (h_0 … h_L stacked, output), the output
    LN_final(h_L) with final_norm = {'weight', 'bias'}, or h_L when final_norm is None."""
    x, layers, final_norm, nhead, norm_first = _check_stack(x, layers, final_norm, nhead, norm_first)
    return StackForward(*_stack(x, layers, final_norm, nhead, norm_first)[:2])


def _stack(x, layers, final_norm, nhead, norm_first):
    hidden, states = [x], []
    for p in layers:
        h, state = _layer(hidden[-1], p, nhead, norm_first)
        hidden.append(h)
        states.append(state)
    if final_norm is None:
        return np.stack(hidden), hidden[-1], states, None
    output, final_cache = layer_norm(hidden[-1], final_norm["weight"], final_norm["bias"])
    return np.stack(hidden), output, states, final_cache


def transformer_stack_backward(x, layers, final_norm, nhead, norm_first, grad_output):
    """For L = Σ ⟨grad_output, output⟩: (∂L/∂h_0 … ∂L/∂h_L stacked, [per layer {name: ∂L/∂p}],
    {'weight', 'bias'} gradients of the final norm or None); g_{l−1} = J_lᵀ g_l, layer by layer."""
    x, layers, final_norm, nhead, norm_first = _check_stack(x, layers, final_norm, nhead, norm_first)
    grad_output = _check_grad(grad_output, x.shape)
    _, _, states, final_cache = _stack(x, layers, final_norm, nhead, norm_first)
    final_grads = None
    grad = grad_output
    if final_norm is not None:
        grad, grad_gain, grad_bias = layer_norm_backward(final_cache, grad_output)
        final_grads = {"weight": grad_gain, "bias": grad_bias}
    grad_hidden, layer_grads = [grad], []
    for p, state in zip(reversed(layers), reversed(states)):
        grad, grads = _layer_backward(state, p, nhead, grad)
        grad_hidden.insert(0, grad)
        layer_grads.insert(0, grads)
    return StackGradients(np.stack(grad_hidden), layer_grads, final_grads)


def transformer_block_jacobians(x, params, nhead, norm_first):
    """For one sequence x (seq, d): the Jacobians of the two residual blocks, (seq·d, seq·d) each, rows and
    columns flattened token-major (index t·d + i): ∂u/∂x of the attention block at x and ∂y/∂u of the
    feed-forward block at u.  Pre-LN: I + J_SA(LN_1 x)·J_LN_1(x); post-LN: J_LN_1(x + SA x)·(I + J_SA(x)).
    Row r is the backward pass of the cotangent e_r (one batch entry per row)."""
    x, params, nhead, norm_first = _check_call(x, params, nhead, norm_first, ndim=2)
    s, d = x.shape
    basis = np.eye(s * d).reshape(s * d, s, d)
    copies = np.broadcast_to(x, (s * d, s, d))
    u, attention_state = _attention_block(copies, params, nhead, norm_first)
    _, feedforward_state = _feedforward_block(u, params, norm_first)
    J_attention = _attention_block_backward(attention_state, params, nhead, basis)[0]
    J_feedforward = _feedforward_block_backward(feedforward_state, params, basis)[0]
    return BlockJacobians(J_attention.reshape(s * d, s * d), J_feedforward.reshape(s * d, s * d))
