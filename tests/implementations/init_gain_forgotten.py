"""Wrong: the recommended gain is forgotten (treated as 1) in Xavier and Kaiming initialisation."""

import reference
from reference import calculate_gain, mlp_backward, mlp_forward, normal, orthogonal  # noqa: F401  (correct ones)

REJECTED_BY = ("S13b", "S13c", "S9c")  # the exact set of claims whose tests fail on this implementation


def xavier_uniform(shape, gain, seed):
    return reference.xavier_uniform(shape, 1.0, seed)


def xavier_normal(shape, gain, seed):
    return reference.xavier_normal(shape, 1.0, seed)


def kaiming_normal(shape, a, mode, nonlinearity, seed):
    return reference.kaiming_normal(shape, a, mode, "linear", seed)


def kaiming_uniform(shape, a, mode, nonlinearity, seed):
    return reference.kaiming_uniform(shape, a, mode, "linear", seed)
