"""Wrong: LayerNorm backward without the mean term: ∂L/∂x = (1/s)(ĝ − x̂·mean(ĝ ⊙ x̂)), μ taken as constant.
Without the − mean(ĝ) term the gradient is no longer orthogonal to 1 (shifting x would seem to change the loss)."""

from reference.layernorm import _check, _normalise

REJECTED_BY = ("P17",)  # the exact set of claims whose tests fail on this implementation


def layer_norm_backward(x, gain, bias, eps, grad_output):
    x, gain, bias, eps = _check(x, gain, bias, eps)
    x_hat, s = _normalise(x, eps)
    grad_x_hat = gain * grad_output
    grad_x = (grad_x_hat - x_hat * (grad_x_hat * x_hat).mean(axis=-1, keepdims=True)) / s
    leading = tuple(range(x.ndim - 1))
    return grad_x, (grad_output * x_hat).sum(axis=leading), grad_output.sum(axis=leading)
