"""Wrong: clips every tensor by its own norm instead of the norm of the whole gradient."""

import reference

REJECTED_BY = ("S12a", "S12d")  # the exact set of claims whose tests fail on this implementation


def clip_grad_norm(grads, max_norm, norm_type):
    clipped = [reference.clip_grad_norm([g], max_norm, norm_type)[0][0] for g in grads]
    return clipped, reference.global_norm(grads, norm_type)
