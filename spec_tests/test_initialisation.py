"""S13, S9 (second part): initialisation schemes and what they do to gradients through depth.

Moment checks draw one large weight (≥ 65,536 entries) per case, so their failure
probabilities are explicit:

* uniform U(−a, a): w² ∈ [0, a²], so by Hoeffding P(|mean w² − a²/3| ≥ 0.05·a²/3) ≤ 2·exp(−2n(0.05/3)²)
  ≤ 2·e^(−36) ≈ 5e-16 for n ≥ 65,536;
* normal N(0, σ²): Σw²/σ² ~ χ²_n, and by Laurent & Massart (2000) P(|χ²_n/n − 1| ≥ 2√(x/n) + 2x/n)
  ≤ 2e^(−x); x = 30 gives a margin of 0.044 < 0.05 with probability ≤ 2e^(−30) ≈ 2e-13.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec_tests import maths
from spec_tests.assertions import assert_in_interval, assert_within
from spec_tests.claims import claim
from spec_tests.networks import seeds

MOMENT_MARGIN = 0.05
SHAPES = [(256, 512), (512, 256), (128, 64, 3, 3)]  # each ≥ 65,536 entries; fans differ


def fans(shape):
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


GAINS = [("linear", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3), ("relu", None, math.sqrt(2)),
         ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))), ("leaky_relu", 0.2, math.sqrt(2 / 1.04)),
         ("selu", None, 0.75)]


@claim("S13a")
@pytest.mark.parametrize("nonlinearity, param, gain", GAINS, ids=[f"{n}-{p}" for n, p, _ in GAINS])
def test_recommended_gains_follow_the_table(impl, nonlinearity, param, gain):
    assert_in_interval(impl.calculate_gain(nonlinearity, param), gain * (1 - 4 * maths.EPS), gain * (1 + 4 * maths.EPS),
                       f"calculate_gain({nonlinearity!r}, {param})")


def mean_square(W):
    return float(np.mean(np.asarray(W, dtype=np.float64) ** 2))


UNIFORM = [
    ("xavier_uniform", dict(gain=1.0), lambda fi, fo: math.sqrt(6 / (fi + fo))),
    ("xavier_uniform", dict(gain=5 / 3), lambda fi, fo: 5 / 3 * math.sqrt(6 / (fi + fo))),
    ("kaiming_uniform", dict(a=0.0, mode="fan_in", nonlinearity="relu"), lambda fi, fo: math.sqrt(6 / fi)),
    ("kaiming_uniform", dict(a=0.0, mode="fan_out", nonlinearity="relu"), lambda fi, fo: math.sqrt(6 / fo)),
    ("kaiming_uniform", dict(a=math.sqrt(5), mode="fan_in", nonlinearity="leaky_relu"), lambda fi, fo: math.sqrt(1 / fi)),
]


@claim("S13b")
@pytest.mark.parametrize("shape", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
@pytest.mark.parametrize("scheme, options, bound", UNIFORM,
                         ids=[f"{s}-{'-'.join(str(v) for v in o.values())}" for s, o, _ in UNIFORM])
@settings(max_examples=5)  # each draw is 65,536 samples; more seeds add little
@given(seed=seeds)
def test_uniform_schemes_stay_within_their_bound_and_have_its_variance(impl, scheme, options, bound, shape, seed):
    W = impl.initialise(scheme, shape, **options, seed=seed)
    a = bound(*fans(shape))
    assert_in_interval(float(np.max(np.abs(W))), 0.0, a * (1 + 2 * maths.EPS),
                       f"{scheme}{options}: every entry lies in [−a, a], a = {a:.6g} for shape {shape}",
                       hint="fan_in = shape[1]·∏kernel, fan_out = shape[0]·∏kernel; the gain multiplies the bound")
    assert_in_interval(mean_square(W), a * a / 3 * (1 - MOMENT_MARGIN), a * a / 3 * (1 + MOMENT_MARGIN),
                       f"{scheme}{options}: mean of w² is a²/3 = {a * a / 3:.6g} within 5% "
                       "(Hoeffding: a correct implementation misses with probability ≤ 5e-16)")


NORMAL = [
    ("xavier_normal", dict(gain=1.0), lambda fi, fo: math.sqrt(2 / (fi + fo))),
    ("xavier_normal", dict(gain=5 / 3), lambda fi, fo: 5 / 3 * math.sqrt(2 / (fi + fo))),
    ("kaiming_normal", dict(a=0.0, mode="fan_in", nonlinearity="relu"), lambda fi, fo: math.sqrt(2 / fi)),
    ("kaiming_normal", dict(a=0.0, mode="fan_out", nonlinearity="relu"), lambda fi, fo: math.sqrt(2 / fo)),
    ("kaiming_normal", dict(a=0.0, mode="fan_in", nonlinearity="tanh"), lambda fi, fo: 5 / 3 / math.sqrt(fi)),
    ("normal", dict(std=1.0), lambda fi, fo: 1.0),
    ("normal", dict(std=0.01), lambda fi, fo: 0.01),
]


@claim("S13c")
@pytest.mark.parametrize("shape", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
@pytest.mark.parametrize("scheme, options, std", NORMAL,
                         ids=[f"{s}-{'-'.join(str(v) for v in o.values())}" for s, o, _ in NORMAL])
@settings(max_examples=5)
@given(seed=seeds)
def test_normal_schemes_have_their_variance(impl, scheme, options, std, shape, seed):
    W = impl.initialise(scheme, shape, **options, seed=seed)
    s = std(*fans(shape))
    assert_in_interval(mean_square(W), s * s * (1 - MOMENT_MARGIN), s * s * (1 + MOMENT_MARGIN),
                       f"{scheme}{options}: mean of w² is σ² = {s * s:.6g} within 5% for shape {shape} "
                       "(Laurent–Massart: a correct implementation misses with probability ≤ 2e-13)",
                       hint="Kaiming: σ = gain/√fan with fan_in or fan_out as asked; Xavier: gain·√(2/(fan_in + fan_out))")


ORTHOGONAL_SHAPES = [(8, 8), (5, 9), (9, 5), (4, 3, 2)]


@claim("S13d")
@pytest.mark.parametrize("shape", ORTHOGONAL_SHAPES, ids=["x".join(map(str, s)) for s in ORTHOGONAL_SHAPES])
@given(seed=seeds, gain=st.sampled_from([1.0, 5 / 3, math.sqrt(2)]))
def test_orthogonal_weights_have_orthonormal_rows_or_columns_times_the_gain(impl, shape, seed, gain):
    W = impl.initialise("orthogonal", shape, gain=gain, seed=seed).reshape(shape[0], -1)
    rows, cols = W.shape
    gram = W @ W.T if rows <= cols else W.T @ W
    n = max(rows, cols)
    assert_within(gram, gain**2 * np.eye(min(rows, cols)), 16 * n * maths.EPS * gain**2,
                  f"{'W Wᵀ' if rows <= cols else 'Wᵀ W'} = gain² I for a {shape} orthogonal weight, gain = {gain:.4g}")


@claim("S13d")
@given(seed=seeds, width=st.integers(1, 12), depth=st.integers(1, 200))
def test_a_deep_linear_orthogonal_network_preserves_every_gradient_norm_exactly(impl, seed, width, depth):
    weights = [impl.initialise("orthogonal", (width, width), gain=1.0, seed=seed + l) for l in range(depth)]
    biases = [np.zeros(width)] * depth
    x = np.zeros((width, width))
    grads = impl.mlp_backward(x, weights, biases, "linear", np.eye(width))
    singular = np.linalg.svd(grads.hidden[0], compute_uv=False)  # rows: (∂h_L/∂h_0)ᵀ e_i
    slack = 16 * depth * (width + 2) * maths.EPS
    assert_in_interval(float(singular.min()), 1 - slack, 1 + slack,
                       f"smallest singular value of ∂h_L/∂h_0 through {depth} orthogonal layers")
    assert_in_interval(float(singular.max()), 1 - slack, 1 + slack,
                       f"largest singular value of ∂h_L/∂h_0 through {depth} orthogonal layers")


# -- S9, second part: the scale sets the drift; He and Xavier keep it near zero -----------------

WIDTH = 64
SEEDS = range(16)


def per_layer_drift(impl, scheme, options, activation, depth, seed, width=WIDTH):
    """(1/L) log(||∂L/∂h_0|| / ||∂L/∂h_L||) for one network whose layers the implementation initialises."""
    weights = [impl.initialise(scheme, (width, width), **options, seed=seed * 1000 + l) for l in range(depth)]
    rng = np.random.default_rng(seed)
    x, g = rng.standard_normal((1, width)), rng.standard_normal((1, width))
    grads = impl.mlp_backward(x, weights, [np.zeros(width)] * depth, activation, g)
    return (maths.log_norm(grads.hidden[0]) - maths.log_norm(g)) / depth


SCHEMES = [
    # scheme, options, activation, [low, high] for the 16-seed mean of the per-layer drift
    ("kaiming_normal", dict(a=0.0, mode="fan_in", nonlinearity="relu"), "relu", (-0.1, 0.1)),
    ("xavier_normal", dict(gain=5 / 3), "tanh", (-0.15, 0.15)),
    ("normal", dict(std=1.0), "relu", (1.5, math.inf)),
    ("normal", dict(std=0.01), "relu", (-math.inf, -2.5)),
]


@claim("S9c")
@pytest.mark.parametrize("depth", [16, 64])
@pytest.mark.parametrize("scheme, options, activation, band", SCHEMES,
                         ids=["He-relu", "Xavier-tanh", "naive-N(0,1)-relu", "too-small-N(0,1e-4)-relu"])
def test_he_and_xavier_keep_the_per_layer_drift_near_zero_while_naive_scales_explode_or_vanish(
        impl, scheme, options, activation, band, depth):
    drift = float(np.mean([per_layer_drift(impl, scheme, options, activation, depth, seed) for seed in SEEDS]))
    assert_in_interval(drift, *band,
                       f"{scheme}{options} with {activation}, width {WIDTH}, depth {depth}: mean over seeds 0..15 "
                       "of (1/L) log(||∂L/∂h_0|| / ||∂L/∂h_L||)",
                       hint="He: Var w = 2/fan_in for ReLU; Xavier: Var w = gain²·2/(fan_in + fan_out)")


@claim("S9d")
def test_at_finite_width_the_spread_of_the_log_gradient_norm_grows_with_depth(impl):
    options = dict(a=0.0, mode="fan_in", nonlinearity="relu")
    spread = {}
    for depth in (8, 64):
        logs = [depth * per_layer_drift(impl, "kaiming_normal", options, "relu", depth, seed, width=16)
                for seed in range(64)]
        spread[depth] = float(np.std(logs))
    assert_in_interval(spread[64] / spread[8], 1.8, 4.5,
                       "std over seeds 0..63 of log(||∂L/∂h_0|| / ||∂L/∂h_L||), depth 64 over depth 8, He + ReLU, "
                       f"width 16 (theory: √8 ≈ 2.83; got {spread[64]:.3f} / {spread[8]:.3f})")
