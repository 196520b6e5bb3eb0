"""Bad input to the reference raises a ValueError that names the problem."""

import numpy as np
import pytest

import reference

W2 = [np.ones((3, 2)), np.ones((1, 3))]
B2 = [np.zeros(3), np.zeros(1)]
X = np.ones((4, 2))
G = np.ones((4, 1))

CASES = {
    "empty network": (dict(weights=[], biases=[]), r"network is empty"),
    "mismatched chain": (dict(weights=[np.ones((3, 2)), np.ones((1, 4))], biases=[np.zeros(3), np.zeros(1)]),
                         r"weights\[1\] has shape \(1, 4\) but layer 0 outputs 3 features"),
    "bias of wrong length": (dict(biases=[np.zeros(2), np.zeros(1)]), r"biases\[0\] has shape \(2,\), expected \(3,\)"),
    "fewer biases than layers": (dict(biases=[np.zeros(3)]), r"2 weight matrices but 1 bias vectors"),
    "1-D weight": (dict(weights=[np.ones(3), np.ones((1, 3))]), r"weights\[0\] must be 2-D"),
    "unknown activation": (dict(activation="gelu"), r"unknown activation 'gelu'; expected one of"),
    "NaN in input": (dict(x=np.array([[np.nan, 1.0]] * 4)), r"x holds 4 non-finite value"),
    "inf in weights": (dict(weights=[np.full((3, 2), np.inf), np.ones((1, 3))]), r"weights\[0\] holds 6 non-finite"),
    "input of wrong width": (dict(x=np.ones((4, 5))), r"x has 5 features but weights\[0\] expects 2"),
    "unbatched input": (dict(x=np.ones(2)), r"x must be 2-D"),
    "empty batch": (dict(x=np.ones((0, 2)), grad_output=np.ones((0, 1))), r"empty batch"),
    "complex input": (dict(x=np.ones((4, 2), dtype=complex)), r"x must hold real numbers"),
    "weights as one array": (dict(weights=np.ones((2, 2, 2))), r"weights must be a list"),
    "grad_output of wrong shape": (dict(grad_output=np.ones((4, 3))), r"grad_output has shape \(4, 3\), expected \(4, 1\)"),
    "NaN in grad_output": (dict(grad_output=np.full((4, 1), np.nan)), r"grad_output holds 4 non-finite"),
}


@pytest.mark.parametrize("case", CASES)
def test_mlp_backward_rejects(case):
    overrides, message = CASES[case]
    args = dict(x=X, weights=W2, biases=B2, activation="tanh", grad_output=G) | overrides
    with pytest.raises(ValueError, match=message):
        reference.mlp_backward(**args)


@pytest.mark.parametrize("case", [c for c in CASES if "grad_output" not in c])
def test_mlp_forward_rejects(case):
    overrides, message = CASES[case]
    args = dict(x=X, weights=W2, biases=B2, activation="tanh") | {k: v for k, v in overrides.items() if k != "grad_output"}
    with pytest.raises(ValueError, match=message):
        reference.mlp_forward(**args)


def test_layer_jacobians_take_a_single_example():
    with pytest.raises(ValueError, match=r"x must be 1-D"):
        reference.mlp_layer_jacobians(X, W2, B2, "tanh")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: reference.spectral_radius(np.ones((2, 3))), r"needs a square matrix"),
        (lambda: reference.singular_values(np.ones(3)), r"M must be 2-D"),
        (lambda: reference.end_to_end_jacobian([]), r"at least one layer Jacobian"),
        (lambda: reference.end_to_end_jacobian([np.ones((3, 2)), np.ones((1, 2))]), r"cannot follow one with 3 outputs"),
    ],
)
def test_spectral_helpers_reject_bad_matrices(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_integer_input_is_computed_in_float64_and_float32_stays_float32():
    out = reference.mlp_forward(np.ones((1, 2), dtype=int), [np.ones((1, 2), dtype=int)], [np.zeros(1, dtype=int)], "linear")
    assert out.hidden_states[-1].dtype == np.float64 and out.hidden_states[-1][0, 0] == 2.0
    out32 = reference.mlp_forward(np.ones((1, 2), np.float32), [np.ones((1, 2), np.float32)], [np.zeros(1, np.float32)], "tanh")
    assert out32.hidden_states[-1].dtype == np.float32


# -- recurrences ----------------------------------------------------------------------------

T, B, I, H = 3, 2, 4, 5


def _recurrent_args(gates, **overrides):
    args = dict(x=np.ones((T, B, I)), h0=np.zeros((B, H)), W_ih=np.ones((gates * H, I)), W_hh=np.ones((gates * H, H)),
                b_ih=np.zeros(gates * H), b_hh=np.zeros(gates * H))
    return args | overrides


RECURRENT_CASES = {
    "empty sequence": (dict(x=np.ones((0, B, I))), r"sequence is empty: x has T = 0"),
    "unbatched x": (dict(x=np.ones((T, I))), r"x must be 3-D"),
    "input size mismatch": (dict(x=np.ones((T, B, I + 1))), r"W_ih has shape \(\d+, 4\), expected \(\d+, 5\)"),
    "h0 of wrong shape": (dict(h0=np.zeros((B + 1, H))), r"h0 has shape \(3, 5\), expected \(2, 5\)"),
    "bias of wrong length": (dict(b_hh=np.zeros(7)), r"b_hh has shape \(7,\), expected"),
    "NaN in x": (dict(x=np.full((T, B, I), np.nan)), r"x holds 24 non-finite"),
}


@pytest.mark.parametrize("case", RECURRENT_CASES)
def test_rnn_forward_rejects(case):
    overrides, message = RECURRENT_CASES[case]
    with pytest.raises(ValueError, match=message):
        reference.rnn_forward(**_recurrent_args(1, **overrides), activation="tanh")


def test_rnn_rejects_an_unknown_nonlinearity():
    with pytest.raises(ValueError, match=r"unknown activation 'gelu'"):
        reference.rnn_forward(**_recurrent_args(1), activation="gelu")


@pytest.mark.parametrize("kind, gates", [("lstm", 4), ("gru", 3)])
def test_gated_layers_reject_weights_not_stacked_by_their_gate_count(kind, gates):
    args = _recurrent_args(gates, W_hh=np.ones(((gates - 1) * H, H)))
    if kind == "lstm":
        args["c0"] = np.zeros((B, H))
    with pytest.raises(ValueError, match=rf"W_hh has shape \({(gates - 1) * H}, {H}\), expected \({gates * H}, {H}\): "
                                         rf"{gates} gate blocks of {H} rows"):
        getattr(reference, f"{kind}_forward")(**args)


@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_backward_rejects_a_grad_output_of_the_wrong_shape(kind):
    gates = {"rnn": 1, "gru": 3}[kind]
    extra = {"activation": "tanh"} if kind == "rnn" else {}
    with pytest.raises(ValueError, match=r"grad_output has shape \(2, 2, 5\), expected \(3, 2, 5\)"):
        getattr(reference, f"{kind}_backward")(**_recurrent_args(gates), **extra, grad_output=np.ones((2, B, H)))


def test_lstm_backward_rejects_a_grad_cell_of_the_wrong_shape_and_c0_mismatch():
    args = _recurrent_args(4, c0=np.zeros((B, H)))
    with pytest.raises(ValueError, match=r"grad_cell must be 2-D, got shape \(5,\)"):
        reference.lstm_backward(**args, grad_output=np.ones((T, B, H)), grad_cell=np.ones(H))
    with pytest.raises(ValueError, match=r"c0 has shape \(2, 4\), expected \(2, 5\)"):
        reference.lstm_forward(**(args | {"c0": np.zeros((B, H - 1))}))


def test_step_jacobians_take_a_single_sequence():
    with pytest.raises(ValueError, match=r"x must be 2-D"):
        reference.rnn_step_jacobians(**_recurrent_args(1), activation="tanh")


# -- remedies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: reference.clip_grad_norm([np.ones(2)], 0.0), r"max_norm must be finite and > 0, got 0.0"),
        (lambda: reference.clip_grad_norm([np.ones(2)], float("nan")), r"max_norm must be finite and > 0"),
        (lambda: reference.clip_grad_norm([np.ones(2)], 1.0, 0.5), r"norm_type must be ≥ 1 or inf"),
        (lambda: reference.clip_grad_norm(np.ones(2), 1.0), r"grads must be a list of arrays"),
        (lambda: reference.clip_grad_norm([np.ones(2, dtype=int)], 1.0), r"grads\[0\] must be a floating-point array"),
        (lambda: reference.clip_grad_norm([np.ones(2), np.array([1.0, np.inf])], 1.0),
         r"grads\[1\] holds 1 non-finite value\(s\) \(NaN or inf\); nothing was clipped"),
        (lambda: reference.clip_grad_value([np.ones(2)], -1.0), r"clip_value must be finite and > 0"),
        (lambda: reference.adaptive_clip_grad([np.ones((2, 2))], [np.ones(2)]), r"grads\[0\] has shape \(2,\) but params\[0\]"),
        (lambda: reference.adaptive_clip_grad([np.ones(2)], []), r"got 1 parameter tensors but 0 gradients"),
        (lambda: reference.calculate_gain("gelu"), r"unknown nonlinearity 'gelu'"),
        (lambda: reference.xavier_uniform((3,)), r"at least 2 dimensions, got shape \(3,\)"),
        (lambda: reference.kaiming_normal((3, 0)), r"shape \(3, 0\) has an empty dimension"),
        (lambda: reference.kaiming_normal((3, 3), mode="fan_avg"), r"mode must be 'fan_in' or 'fan_out'"),
        (lambda: reference.orthogonal((4,)), r"at least 2 dimensions"),
        (lambda: reference.warmup_schedule(10, 0.1, 0), r"warmup_steps must be a positive integer"),
        (lambda: reference.warmup_schedule(0, 0.1, 1), r"num_steps must be a positive integer"),
        (lambda: reference.warmup_schedule(10, -0.1, 2), r"peak_lr must be finite and > 0"),
        (lambda: reference.warmup_cosine_schedule(5, 0.1, 5), r"num_steps \(5\) must exceed warmup_steps \(5\)"),
        (lambda: reference.warmup_cosine_schedule(10, 0.1, 2, 0.5), r"final_lr must lie in \[0, peak_lr\]"),
        (lambda: reference.sgd_step([np.ones(2)], [np.ones(2)], [np.ones(2)], 0.1, 1.0), r"momentum must lie in \[0, 1\)"),
        (lambda: reference.sgd_step([np.ones(2)], [np.ones(3)], [np.ones(2)], 0.1), r"have shapes \(2,\), \(3,\), \(2,\)"),
    ],
)
def test_remedies_reject_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_clipping_refuses_non_finite_gradients_without_touching_them():
    grads = [np.array([3.0, 4.0]), np.array([np.nan])]
    with pytest.raises(ValueError):
        reference.clip_grad_norm_(grads, 1.0)
    np.testing.assert_array_equal(grads[0], [3.0, 4.0])
