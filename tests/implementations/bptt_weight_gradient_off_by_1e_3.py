"""Wrong: ∂L/∂W_hh, the recurrent weight gradient, is 1 + 1e-3 times its value (everything else is right)."""

from reference import rnn_backward as _correct_backward

REJECTED_BY = ("P5",)  # the exact set of claims whose tests fail on this implementation


def rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, activation, grad_output):
    g, grad_x, grad_W_ih, grad_W_hh, grad_b_ih, grad_b_hh = _correct_backward(
        x, h0, W_ih, W_hh, b_ih, b_hh, activation, grad_output)
    return g, grad_x, grad_W_ih, grad_W_hh * (1 + 1e-3), grad_b_ih, grad_b_hh
