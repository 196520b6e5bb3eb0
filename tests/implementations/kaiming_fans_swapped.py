"""Wrong: Kaiming initialisation with fan_in and fan_out swapped (weights read as (in, out))."""

import reference

REJECTED_BY = ("S13b", "S13c")  # the exact set of claims whose tests fail on this implementation


def _swap(mode):
    return {"fan_in": "fan_out", "fan_out": "fan_in"}[mode]


def kaiming_uniform(shape, a, mode, nonlinearity, seed):
    return reference.kaiming_uniform(shape, a, _swap(mode), nonlinearity, seed)


def kaiming_normal(shape, a, mode, nonlinearity, seed):
    return reference.kaiming_normal(shape, a, _swap(mode), nonlinearity, seed)
