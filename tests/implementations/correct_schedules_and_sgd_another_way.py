"""Correct, computed another way: schedules updated step by step, SGD with its velocity scaled by lr.

The warmup adds peak/W a step, the cosine is PyTorch's chainable recurrence, and the SGD step works
with u = lr·v (u ← μu + lr·g, θ ← θ − u, v = u/lr).  Each accumulates its own rounding, one or a few
ulps a step; the spec must accept them: its tolerances must not encode the reference's closed forms."""

import math

import numpy as np

from reference import mlp_backward, mlp_forward  # noqa: F401  (correct ones: S17c trains with them)

REJECTED_BY = ()  # the exact set of claims whose tests fail on this implementation


def warmup_schedule(num_steps, peak_lr, warmup_steps):
    rates, lr, increment = [], 0.0, peak_lr / warmup_steps
    for t in range(num_steps):
        if t < warmup_steps:
            lr = lr + increment  # after W additions: the peak, up to W roundings
        rates.append(lr)
    return np.array(rates)


def warmup_cosine_schedule(num_steps, peak_lr, warmup_steps, final_lr):
    rates = list(warmup_schedule(warmup_steps, peak_lr, warmup_steps))
    lr, T = rates[-1], num_steps - warmup_steps
    for s in range(1, T + 1):
        # torch.optim.lr_scheduler.CosineAnnealingLR's chainable form: each rate from the one before
        lr = final_lr + (lr - final_lr) * (1 + math.cos(math.pi * s / T)) / (1 + math.cos(math.pi * (s - 1) / T))
        rates.append(lr)
    return np.array(rates)


def sgd_step(params, grads, velocities, lr, momentum):
    new_params, new_velocities = [], []
    for p, g, v in zip(params, grads, velocities):
        p, g, v = (np.asarray(a, dtype=np.float64) for a in (p, g, v))
        if lr == 0:
            new_params.append(p.copy())
            new_velocities.append(momentum * v + g)
            continue
        scaled = momentum * (lr * v) + lr * g  # u ← μu + lr·g with u = lr·v: the step itself
        new_params.append(p - scaled)
        new_velocities.append(scaled / lr)
    return new_params, new_velocities
