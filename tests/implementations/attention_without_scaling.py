"""Wrong: attention scores are Q Kᵀ without the 1/√d_k scaling (forward, backward and Jacobians alike)."""

import contextlib

import numpy as np

import reference
from reference import transformer

REJECTED_BY = ("P19", "P20", "P21", "S10a")


def _unscaled(x, p, nhead):
    qkv = x @ p["self_attn.in_proj_weight"].T + p["self_attn.in_proj_bias"]
    q, k, v = (transformer._heads(z, nhead) for z in np.split(qkv, 3, axis=-1))
    A = transformer._softmax(q @ k.transpose(0, 1, 3, 2))  # no 1/√d_k
    concat = transformer._merge(A @ v)
    return concat @ p["self_attn.out_proj.weight"].T + p["self_attn.out_proj.bias"], (x, q, k, v, A, concat, 1.0)


@contextlib.contextmanager
def _patched():
    saved = transformer.self_attention
    transformer.self_attention = _unscaled
    try:
        yield
    finally:
        transformer.self_attention = saved


def _wrap(name):
    def function(*args):
        with _patched():
            return getattr(reference, name)(*args)
    function.__name__ = name
    return function


transformer_layer_forward = _wrap("transformer_layer_forward")
transformer_layer_backward = _wrap("transformer_layer_backward")
transformer_stack_forward = _wrap("transformer_stack_forward")
transformer_stack_backward = _wrap("transformer_stack_backward")
transformer_block_jacobians = _wrap("transformer_block_jacobians")
