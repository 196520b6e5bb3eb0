"""Learning-rate warmup and the SGD step it scales.

Linear warmup over W steps, then constant, with these semantics pinned:

    lr_t = peak · min(1, (t + 1) / W),      t = 0, 1, 2, …

so step 0 already moves (lr_0 = peak / W > 0), lr rises by peak / W a step, reaches the peak
exactly at the last warmup step t = W − 1, and never exceeds it.  Warmup then cosine decay to
`final` at the last step t = N − 1:

    lr_t = final + (peak − final) · ½ (1 + cos(π · (t − W + 1) / (N − W)))   for t ≥ W − 1.

SGD with momentum μ, pinned as torch.optim.SGD's default (dampening 0, nesterov False, no weight decay):

    v_t = μ v_{t-1} + g_t,   θ_t = θ_{t-1} − lr_t · v_t.

Not dampening (v_t = μ v_{t-1} + (1 − μ) g_t, a moving average), not Nesterov
(θ_t = θ_{t-1} − lr_t (g_t + μ v_t)); the velocity is the sum of gradients, not scaled by lr
(so a changing lr_t scales the whole velocity, as in PyTorch).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .validation import (
    check_in_range,
    check_matching_tensors,
    check_non_negative,
    check_positive,
    check_positive_integer,
)


def _check(num_steps, peak_lr, warmup_steps) -> tuple[int, float, int]:
    return (check_positive_integer(num_steps, "num_steps"), check_positive(peak_lr, "peak_lr"),
            check_positive_integer(warmup_steps, "warmup_steps"))


def warmup_schedule(num_steps: int, peak_lr: float, warmup_steps: int) -> np.ndarray:
    """lr_t = peak · min(1, (t + 1)/W) for t = 0..num_steps − 1."""
    num_steps, peak_lr, warmup_steps = _check(num_steps, peak_lr, warmup_steps)
    t = np.arange(num_steps)
    return peak_lr * np.minimum(1.0, (t + 1) / warmup_steps)


def warmup_cosine_schedule(num_steps: int, peak_lr: float, warmup_steps: int, final_lr: float = 0.0) -> np.ndarray:
    """Linear warmup to the peak at t = W − 1, then cosine decay to final_lr at t = num_steps − 1."""
    num_steps, peak_lr, warmup_steps = _check(num_steps, peak_lr, warmup_steps)
    if num_steps <= warmup_steps:
        raise ValueError(f"num_steps ({num_steps}) must exceed warmup_steps ({warmup_steps}) to leave room to decay")
    final_lr = check_in_range(final_lr, "final_lr", 0, peak_lr, high_name="peak_lr")
    schedule = warmup_schedule(num_steps, peak_lr, warmup_steps)
    t = np.arange(warmup_steps - 1, num_steps)
    progress = (t - (warmup_steps - 1)) / (num_steps - warmup_steps)
    schedule[warmup_steps - 1:] = final_lr + (peak_lr - final_lr) * 0.5 * (1 + np.cos(math.pi * progress))
    return schedule


def sgd_step(params: Sequence, grads: Sequence, velocities: Sequence, lr: float, momentum: float = 0.0):
    """One SGD step, every tensor: v ← μ v + g, θ ← θ − lr · v (the new v), as torch.optim.SGD with
    dampening 0 and nesterov False.  `velocities` are used as given (zeros before the first step).
    Returns (new params, new velocities), float64."""
    momentum = check_in_range(momentum, "momentum", 0, 1, high_open=True)
    lr = check_non_negative(lr, "lr")
    params, grads, velocities = check_matching_tensors(params=params, grads=grads, velocities=velocities)
    new_params, new_velocities = [], []
    for p, g, v in zip(params, grads, velocities):
        v = momentum * v + g
        new_velocities.append(v)
        new_params.append(p - lr * v)
    return new_params, new_velocities
