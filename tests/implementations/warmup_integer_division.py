"""Wrong: warmup with integer division, lr_t = peak · min(1, (t + 1) // W): 0, then the peak at once.

The rate is 0 for the first W − 1 steps and jumps to the peak at step W − 1.  Plausible: `//` typed for
`/`, or integer step counters in a language where `/` truncates.  The schedule still ends at the peak and
never exceeds it; it just never warms up."""

import numpy as np

from reference import mlp_backward, mlp_forward, sgd_step  # noqa: F401  (correct ones)

REJECTED_BY = ("S17b", "S17c")  # the exact set of claims whose tests fail on this implementation


def warmup_schedule(num_steps, peak_lr, warmup_steps):
    return peak_lr * np.minimum(1, (np.arange(num_steps) + 1) // warmup_steps)
