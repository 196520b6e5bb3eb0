"""Wrong: the attention backward drops the softmax Jacobian's diagonal term, ∂L/∂S = −A ⊙ rowsum(A ⊙ ∂L/∂A)
instead of A ⊙ (∂L/∂A − rowsum(A ⊙ ∂L/∂A)): diag(a) − a aᵀ taken as −a aᵀ."""

import contextlib

import numpy as np

import reference
from reference import transformer

REJECTED_BY = ("P20", "P21", "S10a")


def _without_diagonal(cache, p, nhead, grad):
    x, q, k, v, A, concat, scale = cache
    grads = {"self_attn.out_proj.weight": np.einsum("bsi,bsj->ij", grad, concat),
             "self_attn.out_proj.bias": grad.sum(axis=(0, 1))}
    d_out = transformer._heads(grad @ p["self_attn.out_proj.weight"], nhead)
    dA = d_out @ v.transpose(0, 1, 3, 2)
    dv = A.transpose(0, 1, 3, 2) @ d_out
    dS = -A * np.sum(dA * A, axis=-1, keepdims=True) * scale  # the diagonal term A ⊙ ∂L/∂A is missing
    dq, dk = dS @ k, dS.transpose(0, 1, 3, 2) @ q
    d_qkv = np.concatenate([transformer._merge(dq), transformer._merge(dk), transformer._merge(dv)], axis=-1)
    grads["self_attn.in_proj_weight"] = np.einsum("bsi,bsj->ij", d_qkv, x)
    grads["self_attn.in_proj_bias"] = d_qkv.sum(axis=(0, 1))
    return d_qkv @ p["self_attn.in_proj_weight"], grads


@contextlib.contextmanager
def _patched():
    saved = transformer.self_attention_backward
    transformer.self_attention_backward = _without_diagonal
    try:
        yield
    finally:
        transformer.self_attention_backward = saved


def transformer_layer_backward(*args):
    with _patched():
        return reference.transformer_layer_backward(*args)


def transformer_stack_backward(*args):
    with _patched():
        return reference.transformer_stack_backward(*args)


def transformer_block_jacobians(*args):
    with _patched():
        return reference.transformer_block_jacobians(*args)
