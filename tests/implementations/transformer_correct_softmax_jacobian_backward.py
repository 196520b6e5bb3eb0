"""Correct, computed another way: the attention backward forms each query's softmax Jacobian diag(a) − a aᵀ as a matrix and multiplies by it, with the value, query and key gradients by einsum, one head at a time."""

import contextlib

import numpy as np

import reference
from reference import transformer

REJECTED_BY = ()


def _explicit_softmax_jacobian_backward(cache, p, nhead, grad):
    x, q, k, v, A, concat, scale = cache
    W_O = p["self_attn.out_proj.weight"]
    grads = {"self_attn.out_proj.weight": np.einsum("bsi,bsj->ij", grad, concat),
             "self_attn.out_proj.bias": np.einsum("bsi->i", grad)}
    grad_concat = np.einsum("bsi,ij->bsj", grad, W_O)
    dk_width = q.shape[-1]
    dq, dk, dv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)
    for j in range(nhead):
        grad_heads = grad_concat[..., j * dk_width:(j + 1) * dk_width]  # (b, s, d_k)
        a = A[:, j]  # (b, queries, keys)
        dv[:, j] = np.einsum("bqk,bqe->bke", a, grad_heads)
        grad_a = np.einsum("bqe,bke->bqk", grad_heads, v[:, j])
        softmax_jacobian = np.einsum("bqk,kl->bqkl", a, np.eye(a.shape[-1])) - np.einsum("bqk,bql->bqkl", a, a)
        grad_scores = np.einsum("bqkl,bql->bqk", softmax_jacobian, grad_a) * scale  # the Jacobian is symmetric
        dq[:, j] = np.einsum("bqk,bke->bqe", grad_scores, k[:, j])
        dk[:, j] = np.einsum("bqk,bqe->bke", grad_scores, q[:, j])
    d_qkv = np.concatenate([transformer._merge(z) for z in (dq, dk, dv)], axis=-1)
    grads["self_attn.in_proj_weight"] = np.einsum("bsi,bsj->ij", d_qkv, x)
    grads["self_attn.in_proj_bias"] = np.einsum("bsi->i", d_qkv)
    return np.einsum("bsi,ij->bsj", d_qkv, p["self_attn.in_proj_weight"]), grads


@contextlib.contextmanager
def _patched():
    saved = transformer.self_attention_backward
    transformer.self_attention_backward = _explicit_softmax_jacobian_backward
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
