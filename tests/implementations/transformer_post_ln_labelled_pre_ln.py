"""Wrong: norm_first is ignored — every layer is post-LN, LN(x + sublayer(x)), also when pre-LN is asked for."""

import reference

REJECTED_BY = ("P19", "P20", "P21", "S10a", "S10b", "S10c", "S10d")


def transformer_layer_forward(x, params, nhead, norm_first):
    return reference.transformer_layer_forward(x, params, nhead, False)


def transformer_layer_backward(x, params, nhead, norm_first, grad_output):
    return reference.transformer_layer_backward(x, params, nhead, False, grad_output)


def transformer_stack_forward(x, layers, final_norm, nhead, norm_first):
    return reference.transformer_stack_forward(x, layers, final_norm, nhead, False)


def transformer_stack_backward(x, layers, final_norm, nhead, norm_first, grad_output):
    return reference.transformer_stack_backward(x, layers, final_norm, nhead, False, grad_output)


def transformer_block_jacobians(x, params, nhead, norm_first):
    return reference.transformer_block_jacobians(x, params, nhead, False)
