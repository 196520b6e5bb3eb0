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


def _check(num_steps, peak_lr, warmup_steps):
    if int(num_steps) != num_steps or num_steps < 1:
        raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
    if int(warmup_steps) != warmup_steps or warmup_steps < 1:
        raise ValueError(f"warmup_steps must be a positive integer, got {warmup_steps!r}")
    if not (math.isfinite(peak_lr) and peak_lr > 0):
        raise ValueError(f"peak_lr must be finite and > 0, got {peak_lr!r}")


def warmup_schedule(num_steps: int, peak_lr: float, warmup_steps: int) -> np.ndarray:
    """lr_t = peak · min(1, (t + 1)/W) for t = 0..num_steps − 1."""
    _check(num_steps, peak_lr, warmup_steps)
    t = np.arange(num_steps)
    return peak_lr * np.minimum(1.0, (t + 1) / warmup_steps)


def warmup_cosine_schedule(num_steps: int, peak_lr: float, warmup_steps: int, final_lr: float = 0.0) -> np.ndarray:
    """Linear warmup to the peak at t = W − 1, then cosine decay to final_lr at t = num_steps − 1."""
    _check(num_steps, peak_lr, warmup_steps)
    if num_steps <= warmup_steps:
        raise ValueError(f"num_steps ({num_steps}) must exceed warmup_steps ({warmup_steps}) to leave room to decay")
    if not (0 <= final_lr <= peak_lr):
        raise ValueError(f"final_lr must lie in [0, peak_lr], got {final_lr!r}")
    schedule = warmup_schedule(num_steps, peak_lr, warmup_steps)
    t = np.arange(warmup_steps - 1, num_steps)
    progress = (t - (warmup_steps - 1)) / (num_steps - warmup_steps)
    schedule[warmup_steps - 1:] = final_lr + (peak_lr - final_lr) * 0.5 * (1 + np.cos(math.pi * progress))
    return schedule


def sgd_step(params: Sequence, grads: Sequence, velocities: Sequence, lr: float, momentum: float = 0.0):
    """One SGD step, every tensor: v ← μ v + g, θ ← θ − lr · v (the new v), as torch.optim.SGD with
    dampening 0 and nesterov False.  `velocities` are used as given (zeros before the first step).
    Returns (new params, new velocities), float64."""
    if not (0 <= momentum < 1):
        raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
    if not (math.isfinite(lr) and lr >= 0):
        raise ValueError(f"lr must be finite and ≥ 0, got {lr!r}")
    if not (len(params) == len(grads) == len(velocities)):
        raise ValueError(f"got {len(params)} params, {len(grads)} grads and {len(velocities)} velocities")
    new_params, new_velocities = [], []
    for index, (p, g, v) in enumerate(zip(params, grads, velocities)):
        p, g, v = (np.asarray(a, dtype=np.float64) for a in (p, g, v))
        if not (p.shape == g.shape == v.shape):
            raise ValueError(f"params[{index}], grads[{index}] and velocities[{index}] have shapes "
                             f"{p.shape}, {g.shape}, {v.shape}")
        v = momentum * v + g
        new_velocities.append(v)
        new_params.append(p - lr * v)
    return new_params, new_velocities
