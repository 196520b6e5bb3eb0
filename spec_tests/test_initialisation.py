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
from spec_tests.spread import log_uniform, spread_integers

MOMENT_MARGIN = 0.05
SHAPES = [(256, 512), (512, 256), (128, 64, 3, 3)]  # each ≥ 65,536 entries; fans differ


def fans(shape):
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


TABLE = [("linear", 1.0), ("sigmoid", 1.0), ("tanh", 5 / 3), ("relu", math.sqrt(2)), ("selu", 0.75)]


def gain_tolerance(gain: float) -> float:
    """A gain is a constant or √(2/(1 + s²)): a few roundings, each halved or kept by the square root, so two
    correct evaluations differ by at most a few u·gain; 4·eps·gain (8 roundings) covers them."""
    return 4 * maths.EPS * gain


@claim("S13a")
@pytest.mark.parametrize("nonlinearity, gain", TABLE, ids=[n for n, _ in TABLE])
def test_recommended_gains_follow_the_table(impl, nonlinearity, gain):
    assert_within(impl.calculate_gain(nonlinearity, None), gain, gain_tolerance(gain),
                  f"calculate_gain({nonlinearity!r}, None)", hint="PyTorch's table: linear, sigmoid 1; tanh 5/3; "
                  "relu √2; selu 3/4")


# slopes of either sign from 1e-3 to 10 in magnitude, where a missing square shows (s² ≠ s unless s is 0 or 1),
# and the special values: None (the default 0.01), 0, 1, PyTorch's √5
slopes = st.one_of(
    st.tuples(st.booleans(), log_uniform(1e-3, 10.0)).map(lambda d: -d[1] if d[0] else d[1]),
    st.sampled_from([None, 0.0, 0.01, 0.2, 1.0, math.sqrt(5)]),
)


@claim("S13a")
@given(slope=slopes)
def test_the_leaky_relu_gain_is_root_two_over_one_plus_the_slope_squared(impl, slope):
    s = 0.01 if slope is None else slope
    gain = math.sqrt(2 / (1 + s * s))
    assert_within(impl.calculate_gain("leaky_relu", slope), gain, gain_tolerance(gain),
                  f"calculate_gain('leaky_relu', {slope!r}) = √(2/(1 + s²)), s = {s!r}",
                  hint="the slope is squared; param None means the default slope 0.01")


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


@st.composite
def orthogonal_shapes(draw):
    """(out, in) or (out, in, k): wide, square and tall, with and without a kernel dimension."""
    shape = (draw(spread_integers(1, 12)), draw(spread_integers(1, 12)))
    return shape + ((draw(spread_integers(1, 3)),) if draw(st.booleans()) else ())


@claim("S13d")
@given(shape=orthogonal_shapes(), seed=seeds,
       gain=st.one_of(st.sampled_from([1.0, 5 / 3, math.sqrt(2)]), st.floats(0.1, 4.0)))
def test_orthogonal_weights_have_orthonormal_rows_or_columns_times_the_gain(impl, shape, seed, gain):
    W = impl.initialise("orthogonal", shape, gain=gain, seed=seed).reshape(shape[0], -1)
    rows, cols = W.shape
    gram = W @ W.T if rows <= cols else W.T @ W
    n = max(rows, cols)
    # Householder QR gives ||QᵀQ − I|| ≤ c·n·u, and the spec's Gram product adds γ_n: 16·n·eps·gain² covers both
    assert_within(gram, gain**2 * np.eye(min(rows, cols)), 16 * n * maths.EPS * gain**2,
                  f"{'W Wᵀ' if rows <= cols else 'Wᵀ W'} = gain² I for a {shape} orthogonal weight, gain = {gain!r}",
                  hint="Q has orthonormal columns: for a wide weight (out < in·∏kernel) transpose it, do not reshape")


@claim("S13d")
@given(seed=seeds, width=spread_integers(1, 12), depth=spread_integers(1, 200))
def test_a_deep_linear_orthogonal_network_preserves_every_gradient_norm_exactly(impl, seed, width, depth):
    """The end-to-end Jacobian of a linear network is W_L ⋯ W_1, formed here by the spec; a gradient g at the
    output comes back as (W_L ⋯ W_1)ᵀ g, so every gradient norm is kept iff every singular value is 1.

    The layers cycle through four weights the implementation draws (seeds seed … seed + 3): a product of
    orthogonal matrices is orthogonal whichever they are, and one call to torch.nn.init.orthogonal_ takes
    milliseconds, too slow for 200 calls an example."""
    distinct = [impl.initialise("orthogonal", (width, width), gain=1.0, seed=seed + l) for l in range(min(depth, 4))]
    jacobian = np.eye(width)
    for l in range(depth):
        jacobian = distinct[l % len(distinct)] @ jacobian
    singular = np.linalg.svd(jacobian, compute_uv=False)
    # each factor is orthogonal to c·n·u and each product adds γ_n; the SVD adds a few n·u
    slack = 16 * depth * (width + 2) * maths.EPS
    assert_in_interval(float(singular.min()), 1 - slack, 1 + slack,
                       f"smallest singular value of W_L ⋯ W_1 through {depth} orthogonal {width}×{width} layers")
    assert_in_interval(float(singular.max()), 1 - slack, 1 + slack,
                       f"largest singular value of W_L ⋯ W_1 through {depth} orthogonal {width}×{width} layers")


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
