"""Wrong for this spec's semantics: warmup that starts at 0 and reaches the peak one step late
(lr_t = peak · min(1, t/W), as Hugging Face's linear schedule does)."""

import numpy as np

REJECTED_BY = ("S17b",)  # the exact set of claims whose tests fail on this implementation


def warmup_schedule(num_steps, peak_lr, warmup_steps):
    return peak_lr * np.minimum(1.0, np.arange(num_steps) / warmup_steps)
