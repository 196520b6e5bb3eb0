"""Wrong: Nesterov momentum, θ ← θ − lr·(g + μv) after v ← μv + g, not the heavy-ball θ ← θ − lr·v.

Plausible: it is torch.optim.SGD(nesterov=True), and often recommended.  The velocities it returns are
right and with μ = 0 it is plain SGD, so only the parameters of a step with momentum show it."""

import numpy as np

from reference import mlp_backward, mlp_forward, warmup_schedule  # noqa: F401  (correct ones)

REJECTED_BY = ("S17a",)  # the exact set of claims whose tests fail on this implementation


def sgd_step(params, grads, velocities, lr, momentum):
    new_params, new_velocities = [], []
    for p, g, v in zip(params, grads, velocities):
        g = np.asarray(g, dtype=float)
        v = momentum * np.asarray(v, dtype=float) + g
        new_velocities.append(v)
        new_params.append(np.asarray(p, dtype=float) - lr * (g + momentum * v))
    return new_params, new_velocities
