"""The protocol implemented with PyTorch's own machinery: ``--impl torch``.

Forward passes use torch.nn.functional and torch's activations; gradients come
from torch.autograd (``Tensor.backward`` with retained hidden-state gradients),
layer Jacobians from torch.autograd.functional.jacobian.  Nothing here computes
a derivative by hand, so the spec checks PyTorch, not this file's algebra.
All arrays cross the boundary as float64 numpy arrays.
"""

from __future__ import annotations

import numpy as np
import torch

_ACTIVATIONS = {
    "linear": lambda a: a,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
}


def _activation(name: str):
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)}") from None


def _tensor(array, requires_grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(array), dtype=torch.float64, requires_grad=requires_grad)


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().numpy().copy()


def _layers(x, weights, biases, activation):
    sigma = _activation(activation)
    h = x
    pre, hidden = [], [h]
    for W, b in zip(weights, biases):
        a = torch.nn.functional.linear(h, W, b)
        h = sigma(a)
        pre.append(a)
        hidden.append(h)
    return pre, hidden


def mlp_forward(x, weights, biases, activation):
    with torch.no_grad():
        pre, hidden = _layers(_tensor(x), [_tensor(W) for W in weights], [_tensor(b) for b in biases], activation)
    return [_numpy(a) for a in pre], [_numpy(h) for h in hidden]


def mlp_backward(x, weights, biases, activation, grad_output):
    x_t = _tensor(x, requires_grad=True)
    W_t = [_tensor(W, requires_grad=True) for W in weights]
    b_t = [_tensor(b, requires_grad=True) for b in biases]
    _, hidden = _layers(x_t, W_t, b_t, activation)
    for h in hidden[1:]:
        h.retain_grad()
    hidden[-1].backward(_tensor(grad_output))
    grad_hidden = [x_t.grad] + [h.grad for h in hidden[1:]]
    return (
        [_numpy(g) for g in grad_hidden],
        [_numpy(W.grad) for W in W_t],
        [_numpy(b.grad) for b in b_t],
    )


def mlp_layer_jacobians(x, weights, biases, activation):
    sigma = _activation(activation)
    h = _tensor(x)
    jacobians = []
    for W, b in zip(weights, biases):
        W, b = _tensor(W), _tensor(b)
        layer = lambda v, W=W, b=b: sigma(torch.nn.functional.linear(v, W, b))
        jacobians.append(_numpy(torch.autograd.functional.jacobian(layer, h)))
        with torch.no_grad():
            h = layer(h)
    return jacobians
