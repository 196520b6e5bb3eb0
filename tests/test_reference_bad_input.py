"""Bad input to the reference raises a ValueError that names the argument and what was expected.

An argument of the wrong type raises reference.validation.ArgumentTypeError: a TypeError that is
also a ValueError, so `except ValueError` still catches every refusal.
"""

import math

import numpy as np
import pytest

import reference
from reference.validation import ArgumentTypeError

NAN, INF = math.nan, math.inf

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
    "weights None": (dict(weights=None), r"weights must be a list of 2-D arrays, one per layer, got None"),
    "weights an int": (dict(weights=5), r"weights must be a list of 2-D arrays, one per layer, got int 5"),
    "biases None": (dict(biases=None), r"biases must be a list of 1-D arrays, one per layer, got None"),
    "ragged x": (dict(x=[[1.0, 2.0], [3.0]]), r"x could not be read as an array \(ragged nested lists\?\)"),
    "ragged grad_output": (dict(grad_output=[[1.0], [1.0], [1.0], [1.0, 2.0]]),
                           r"grad_output could not be read as an array \(ragged nested lists\?\)"),
}
WRONG_TYPES = {"weights as one array", "weights None", "weights an int", "biases None"}


@pytest.mark.parametrize("case", CASES)
def test_mlp_backward_rejects(case):
    overrides, message = CASES[case]
    args = dict(x=X, weights=W2, biases=B2, activation="tanh", grad_output=G) | overrides
    with pytest.raises(ArgumentTypeError if case in WRONG_TYPES else ValueError, match=message):
        reference.mlp_backward(**args)


@pytest.mark.parametrize("case", [c for c in CASES if "grad_output" not in c])
def test_mlp_forward_rejects(case):
    overrides, message = CASES[case]
    args = dict(x=X, weights=W2, biases=B2, activation="tanh") | {k: v for k, v in overrides.items() if k != "grad_output"}
    with pytest.raises(ArgumentTypeError if case in WRONG_TYPES else ValueError, match=message):
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
        (lambda: reference.singular_values(np.ones((0, 3))), r"M is empty: shape \(0, 3\)"),
        (lambda: reference.largest_singular_value(np.ones((0, 3))), r"M is empty: shape \(0, 3\)"),
        (lambda: reference.smallest_singular_value(np.ones((3, 0))), r"M is empty: shape \(3, 0\)"),
        (lambda: reference.spectral_radius(np.ones((0, 0))), r"M is empty: shape \(0, 0\)"),
        (lambda: reference.end_to_end_jacobian([np.ones(3)]), r"layer_jacobians\[0\] must be 2-D, got shape \(3,\)"),
        (lambda: reference.end_to_end_jacobian([np.ones((3, 2)), np.ones(3)]), r"layer_jacobians\[1\] must be 2-D"),
        (lambda: reference.end_to_end_jacobian([np.eye(2), np.full((2, 2), np.nan)]),
         r"layer_jacobians\[1\] holds 4 non-finite value\(s\)"),
        (lambda: reference.end_to_end_jacobian(None), r"layer_jacobians must be a list of 2-D arrays, got None"),
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
    "ragged x": (dict(x=[[[1.0] * I] * B] * (T - 1) + [[[1.0] * I]]), r"x could not be read as an array \(ragged"),
}


@pytest.mark.parametrize("case", RECURRENT_CASES)
def test_rnn_forward_rejects(case):
    overrides, message = RECURRENT_CASES[case]
    with pytest.raises(ValueError, match=message):
        reference.rnn_forward(**_recurrent_args(1, **overrides), activation="tanh")


@pytest.mark.parametrize("kind, gates", [("rnn", 1), ("gru", 3), ("lstm", 4)])
def test_a_hidden_size_of_zero_is_refused(kind, gates):
    args = _recurrent_args(gates, h0=np.zeros((B, 0)), W_ih=np.ones((0, I)), W_hh=np.ones((0, 0)),
                           b_ih=np.zeros(0), b_hh=np.zeros(0))
    extra = {"rnn": {"activation": "tanh"}, "gru": {}, "lstm": {"c0": np.zeros((B, 0))}}[kind]
    stacked = {1: "H", 3: "3·H", 4: "4·H"}[gates]
    with pytest.raises(ValueError, match=rf"W_hh has shape \(0, 0\): hidden_size H = 0; expected \({stacked}, H\) with H ≥ 1"):
        getattr(reference, f"{kind}_forward")(**args, **extra)


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
        (lambda: reference.clip_grad_norm([np.ones(2)], 0.0), r"max_norm must be a finite number > 0, got 0.0"),
        (lambda: reference.clip_grad_norm([np.ones(2)], float("nan")), r"max_norm must be a finite number > 0, got nan"),
        (lambda: reference.clip_grad_norm([np.ones(2)], 1.0, 0.5),
         r"norm_type must be a number ≥ 1 or inf \(the order of a norm\), got 0.5"),
        (lambda: reference.clip_grad_norm(np.ones(2), 1.0), r"grads must be a list of arrays"),
        (lambda: reference.clip_grad_norm([np.ones(2, dtype=int)], 1.0), r"grads\[0\] must be a floating-point array"),
        (lambda: reference.clip_grad_norm([np.ones(2), np.array([1.0, np.inf])], 1.0),
         r"grads\[1\] holds 1 non-finite value\(s\) \(NaN or inf\); nothing was clipped"),
        (lambda: reference.clip_grad_value([np.ones(2)], -1.0), r"clip_value must be a finite number > 0, got -1.0"),
        (lambda: reference.adaptive_clip_grad([np.ones((2, 2))], [np.ones(2)]), r"grads\[0\] has shape \(2,\) but params\[0\]"),
        (lambda: reference.adaptive_clip_grad([np.ones(2)], []), r"got 1 parameter tensors but 0 gradients"),
        (lambda: reference.calculate_gain("gelu"), r"unknown nonlinearity 'gelu'"),
        (lambda: reference.xavier_uniform((3,)), r"at least 2 dimensions, got shape \(3,\)"),
        (lambda: reference.kaiming_normal((3, 0)), r"shape \(3, 0\) has an empty dimension"),
        (lambda: reference.kaiming_normal((3, 3), mode="fan_avg"),
         r"unknown mode 'fan_avg'; expected one of \['fan_in', 'fan_out'\]"),
        (lambda: reference.orthogonal((4,)), r"at least 2 dimensions"),
        (lambda: reference.warmup_schedule(10, 0.1, 0), r"warmup_steps must be a positive integer"),
        (lambda: reference.warmup_schedule(0, 0.1, 1), r"num_steps must be a positive integer"),
        (lambda: reference.warmup_schedule(10, -0.1, 2), r"peak_lr must be a finite number > 0, got -0.1"),
        (lambda: reference.warmup_cosine_schedule(5, 0.1, 5), r"num_steps \(5\) must exceed warmup_steps \(5\)"),
        (lambda: reference.warmup_cosine_schedule(10, 0.1, 2, 0.5), r"final_lr must be a number in \[0, peak_lr\], got 0.5"),
        (lambda: reference.sgd_step([np.ones(2)], [np.ones(2)], [np.ones(2)], 0.1, 1.0),
         r"momentum must be a number in \[0, 1\), got 1.0"),
        (lambda: reference.sgd_step([np.ones(2)], [np.ones(3)], [np.ones(2)], 0.1), r"have shapes \(2,\), \(3,\), \(2,\)"),
        (lambda: reference.calculate_gain("leaky_relu", NAN), r"param \(the leaky_relu slope\) must be a finite number, got nan"),
        (lambda: reference.warmup_cosine_schedule(10, 0.1, 2, -0.01), r"final_lr must be a number in \[0, peak_lr\], got -0.01"),
        (lambda: reference.sgd_step([np.ones(2)], [np.array([NAN, 1.0])], [np.zeros(2)], 0.1),
         r"grads\[0\] holds 1 non-finite value\(s\) \(NaN or inf\)"),
        (lambda: reference.sgd_step([np.array([INF, 1.0])], [np.ones(2)], [np.zeros(2)], 0.1),
         r"params\[0\] holds 1 non-finite value\(s\)"),
        (lambda: reference.sgd_step([np.ones(2)], [np.ones(2)], [np.full(2, NAN)], 0.1), r"velocities\[0\] holds 2 non-finite"),
        (lambda: reference.sgd_step([np.ones(2)], [np.ones(2) * 1j], [np.zeros(2)], 0.1),
         r"grads\[0\] must hold real numbers, got dtype complex128"),
        (lambda: reference.sgd_step([np.ones(2)], [np.ones(2)], [np.zeros(2)], -0.1),
         r"lr must be a finite number ≥ 0, got -0.1"),
        (lambda: reference.sgd_step([np.ones(2)], [np.ones(2)], [np.zeros(2), np.zeros(1)], 0.1),
         r"got 1 params, 1 grads, 2 velocities"),
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


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: reference.clip_grad_norm([np.ones(2)], 1.0, "fro"), r"norm_type must be a number ≥ 1 or inf .*, got str 'fro'"),
        (lambda: reference.clip_grad_norm([np.ones(2)], 1.0, None), r"norm_type must be a number ≥ 1 or inf .*, got None"),
        (lambda: reference.clip_grad_norm([np.ones(2)], "1"), r"max_norm must be a finite number > 0, got str '1'"),
        (lambda: reference.calculate_gain(["relu"]),
         r"nonlinearity must be a string, one of \[.*'relu'.*\], got list \['relu'\]"),
        (lambda: reference.calculate_gain("leaky_relu", "abc"),
         r"param \(the leaky_relu slope\) must be a finite number, got str 'abc'"),
        (lambda: reference.calculate_gain("leaky_relu", True),
         r"param \(the leaky_relu slope\) must be a finite number, got bool"),
        (lambda: reference.kaiming_normal((3, 3), mode=None), r"mode must be a string, one of \['fan_in', 'fan_out'\], got None"),
        (lambda: reference.warmup_schedule(NAN, 0.1, 2), r"num_steps must be a positive integer, got float nan"),
        (lambda: reference.warmup_schedule(INF, 0.1, 2), r"num_steps must be a positive integer, got float inf"),
        (lambda: reference.warmup_schedule(None, 0.1, 2), r"num_steps must be a positive integer, got None"),
        (lambda: reference.warmup_schedule(10, 0.1, 2.5), r"warmup_steps must be a positive integer, got float 2.5"),
        (lambda: reference.warmup_schedule(10, "0.1", 2), r"peak_lr must be a finite number > 0, got str '0.1'"),
        (lambda: reference.warmup_schedule(10, None, 2), r"peak_lr must be a finite number > 0, got None"),
        (lambda: reference.warmup_schedule(10, np.array([0.1, 0.2]), 2),
         r"peak_lr must be a finite number > 0, got an array of shape \(2,\)"),
        (lambda: reference.warmup_cosine_schedule(10, 0.1, 2, None), r"final_lr must be a number in \[0, peak_lr\], got None"),
        (lambda: reference.sgd_step([np.ones(2)], [np.ones(2)], [np.zeros(2)], 0.1, None),
         r"momentum must be a number in \[0, 1\), got None"),
        (lambda: reference.sgd_step([np.ones(2)], [np.ones(2)], [np.zeros(2)], "0.1"),
         r"lr must be a finite number ≥ 0, got str '0.1'"),
        (lambda: reference.sgd_step(None, [np.ones(2)], [np.zeros(2)], 0.1),
         r"params must be a list of arrays, one per parameter tensor, got None"),
        (lambda: reference.sgd_step(np.ones((2, 2)), [np.ones(2)] * 2, [np.zeros(2)] * 2, 0.1),
         r"params must be a list of arrays, .* got an array of shape \(2, 2\) \(a single array is not split into its rows\)"),
    ],
)
def test_remedies_reject_arguments_of_the_wrong_type(call, message):
    with pytest.raises(TypeError, match=message) as refused:
        call()
    assert isinstance(refused.value, ValueError), "a wrong type is also a ValueError, so `except ValueError` catches it"


# -- initialisers: every scheme refuses the same bad shapes, seeds and scales ------------------------

INITIALISERS = ["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "normal"]

INITIALISER_CASES = {
    "seed -1": (dict(seed=-1), ValueError, r"seed must be an integer ≥ 0, got -1"),
    "seed 1.5": (dict(seed=1.5), ArgumentTypeError, r"seed must be an integer ≥ 0, got float 1.5"),
    "seed 'a'": (dict(seed="a"), ArgumentTypeError, r"seed must be an integer ≥ 0, got str 'a'"),
    "seed None": (dict(seed=None), ArgumentTypeError, r"seed must be an integer ≥ 0, got None"),
    "negative dimension": (dict(shape=(3, -2)), ValueError, r"shape \(3, -2\) has a negative dimension; every entry must be ≥ 1"),
    "empty dimension": (dict(shape=(3, 0)), ValueError, r"shape \(3, 0\) has an empty dimension; every entry must be ≥ 1"),
    "float shape": (dict(shape=(3.5, 2)), ArgumentTypeError, r"shape must be a tuple of integers, .* got tuple \(3.5, 2\)"),
    "shape an int": (dict(shape=3), ArgumentTypeError, r"shape must be a tuple of integers, .* got int 3"),
}


@pytest.mark.parametrize("case", INITIALISER_CASES)
@pytest.mark.parametrize("scheme", INITIALISERS)
def test_initialisers_reject_bad_shapes_and_seeds(scheme, case):
    overrides, error, message = INITIALISER_CASES[case]
    args = dict(shape=(3, 4)) | overrides
    with pytest.raises(error, match=message):
        getattr(reference, scheme)(**args)


@pytest.mark.parametrize("value", [NAN, INF, -INF, -1.0])
@pytest.mark.parametrize("scheme, scale", [("xavier_uniform", "gain"), ("xavier_normal", "gain"), ("orthogonal", "gain"),
                                           ("normal", "std")])
def test_initialisers_reject_a_scale_that_is_not_finite_and_non_negative(scheme, scale, value):
    with pytest.raises(ValueError, match=rf"{scale} must be a finite number ≥ 0, got {value!r}"):
        getattr(reference, scheme)((3, 4), **{scale: value})


@pytest.mark.parametrize("value", [NAN, INF, -INF])
@pytest.mark.parametrize("scheme", ["kaiming_uniform", "kaiming_normal"])
@pytest.mark.parametrize("nonlinearity", ["leaky_relu", "relu"])
def test_kaiming_rejects_a_slope_that_is_not_finite(scheme, nonlinearity, value):
    with pytest.raises(ValueError, match=rf"a \(the leaky_relu slope\) must be a finite number, got {value!r}"):
        getattr(reference, scheme)((3, 4), a=value, nonlinearity=nonlinearity)


def test_initialisers_refuse_a_shape_with_fewer_than_two_dimensions_except_normal():
    for scheme in INITIALISERS[:-1]:
        with pytest.raises(ValueError, match=r"shape must have at least 2 dimensions, got shape \(3,\)"):
            getattr(reference, scheme)((3,))
    assert reference.normal((3,)).shape == (3,)


def test_accepted_spellings_still_work():
    """What PyTorch and numpy accept and the reference always took: the string 'inf' as norm_type, numpy
    integers and lists as shapes and seeds, numpy scalars as rates, a zero gain or learning rate."""
    grads = [np.array([3.0, 4.0])]
    assert reference.clip_grad_norm(grads, 1.0, "inf")[1] == reference.clip_grad_norm(grads, 1.0, INF)[1] == 4.0
    np.testing.assert_array_equal(reference.xavier_uniform([np.int64(3), 4], seed=np.int64(7)),
                                  reference.xavier_uniform((3, 4), seed=7))
    np.testing.assert_array_equal(reference.normal((2, 2), std=0.0), np.zeros((2, 2)))
    np.testing.assert_array_equal(reference.warmup_schedule(np.int64(4), np.float32(0.5), 2),
                                  reference.warmup_schedule(4, float(np.float32(0.5)), 2))
    params, _ = reference.sgd_step([np.ones(2)], [np.ones(2)], [np.zeros(2)], 0, 0)
    np.testing.assert_array_equal(params[0], np.ones(2))
    assert reference.calculate_gain("leaky_relu", -0.2) == pytest.approx(math.sqrt(2 / 1.04))
