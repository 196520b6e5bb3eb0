"""Wrong: the initialisers ignore their seed (always default_rng(0)): every layer gets the same matrix.

Plausible: a seed hard-coded "for reproducibility".  Each single weight still has the right
distribution and moments, and orthogonal weights stay orthogonal; only a network of many layers shows
that its layers are one matrix repeated."""

import reference
from reference import calculate_gain, mlp_backward, mlp_forward  # noqa: F401  (correct ones)

REJECTED_BY = ("S9c", "S9d")  # the exact set of claims whose tests fail on this implementation


def xavier_uniform(shape, gain, seed):
    return reference.xavier_uniform(shape, gain, 0)


def xavier_normal(shape, gain, seed):
    return reference.xavier_normal(shape, gain, 0)


def kaiming_uniform(shape, a, mode, nonlinearity, seed):
    return reference.kaiming_uniform(shape, a, mode, nonlinearity, 0)


def kaiming_normal(shape, a, mode, nonlinearity, seed):
    return reference.kaiming_normal(shape, a, mode, nonlinearity, 0)


def orthogonal(shape, gain, seed):
    return reference.orthogonal(shape, gain, 0)


def normal(shape, std, seed):
    return reference.normal(shape, std, 0)
