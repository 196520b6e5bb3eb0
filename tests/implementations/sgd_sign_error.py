"""Wrong: the SGD step adds the velocity (θ ← θ + lr·v): gradient ascent.

Plausible: a sign slip when writing the update from v ← μv − lr·g, θ ← θ + v (Sutskever's form) while
keeping PyTorch's velocity v ← μv + g."""

import numpy as np

from reference import mlp_backward, mlp_forward, warmup_schedule  # noqa: F401  (correct ones)

REJECTED_BY = ("S17a", "S17c")  # the exact set of claims whose tests fail on this implementation


def sgd_step(params, grads, velocities, lr, momentum):
    new_params, new_velocities = [], []
    for p, g, v in zip(params, grads, velocities):
        v = momentum * np.asarray(v, dtype=float) + np.asarray(g, dtype=float)
        new_velocities.append(v)
        new_params.append(np.asarray(p, dtype=float) + lr * v)
    return new_params, new_velocities
