"""Wrong: leaky_relu's gain as √(2/(1 + s)), the slope not squared, and Kaiming initialisation using it.

Plausible: He et al. write the variance factor as 2/((1 + a²)·n); dropping the square is an easy slip,
and at the default slope 0.01 it changes the gain by only 0.5%.  At a = √5 (PyTorch's default for
kaiming_uniform in nn.Linear) it is off by 36%."""

import math

import numpy as np

import reference
from reference import mlp_backward, mlp_forward  # noqa: F401  (correct ones)

REJECTED_BY = ("S13a", "S13b")  # the exact set of claims whose tests fail on this implementation


def calculate_gain(nonlinearity, param):
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope))
    return reference.calculate_gain(nonlinearity, param)


def _std(shape, a, mode, nonlinearity):
    fan_in, fan_out = reference.fans(shape)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_uniform(shape, a, mode, nonlinearity, seed):
    bound = math.sqrt(3.0) * _std(shape, a, mode, nonlinearity)
    return np.random.default_rng(seed).uniform(-bound, bound, size=tuple(shape))


def kaiming_normal(shape, a, mode, nonlinearity, seed):
    return _std(shape, a, mode, nonlinearity) * np.random.default_rng(seed).standard_normal(tuple(shape))
