"""Wrong: SGD with dampening 1 − μ, v ← μv + (1 − μ)g (a moving average), not v ← μv + g.

Plausible: "momentum is a running average of the gradients" is a common reading, and it is what
torch.optim.SGD(dampening=momentum) or Adam's first moment compute.  With μ = 0 it is plain SGD, so
only a test with momentum sees it."""

import numpy as np

from reference import mlp_backward, mlp_forward, warmup_schedule  # noqa: F401  (correct ones)

REJECTED_BY = ("S17a",)  # the exact set of claims whose tests fail on this implementation


def sgd_step(params, grads, velocities, lr, momentum):
    new_params, new_velocities = [], []
    for p, g, v in zip(params, grads, velocities):
        v = momentum * np.asarray(v, dtype=float) + (1 - momentum) * np.asarray(g, dtype=float)
        new_velocities.append(v)
        new_params.append(np.asarray(p, dtype=float) - lr * v)
    return new_params, new_velocities
