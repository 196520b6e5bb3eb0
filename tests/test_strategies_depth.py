"""The depth claims' strategies reach the hard region, and their constructions are what they say.

A bound is tested hardest where it is nearly attained: these tests measure, on the reference, the
share of drawn networks whose S1a/S1b bound is within 1.5× of the measured gradient norm (at the
input layer, the whole chain), check that no drawn parameter piles up on one value, and find, with
hypothesis's own search, a near-tight case of every kind.  Shares are measured over derandomised
draws, so these tests are deterministic.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st

import reference
from spec_tests import maths
from spec_tests.networks import (
    AlignedNetwork,
    aligned_networks,
    growth_networks,
    random_networks,
)
from spec_tests.spread import uniform, uniform_choice
from tests.strategy_draws import draws as sample

NEAR = np.log(1.5)  # near-tight: the bound within a factor 1.5 of the measured norm
DRAWS = 100
# the first case found is enough (no shrinking): reach, not a minimal example
SEARCH = settings(database=None, derandomize=True, max_examples=500, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))

S1A = st.one_of(random_networks(max_batch=1, max_depth=8), aligned_networks("top"))
S1B = aligned_networks("bottom", narrowing=True)
S1B_GROWTH = st.one_of(growth_networks(square=True), growth_networks(narrowing=True))


def draws(strategy, n: int = DRAWS) -> list:
    return sample(strategy, n)


def log_norms(net) -> np.ndarray:
    grads = reference.mlp_backward(net.x, net.weights, net.biases, net.activation, net.grad_output)
    return np.array([maths.log_norm(g) for g in grads.hidden])


def _gap(log_big: float, log_small: float) -> float:
    """log_big − log_small, inf where log_small is −inf (a zero gradient, or a vacuous lower bound)."""
    return np.inf if log_small == -np.inf else log_big - log_small


def upper_gap(case) -> float:
    """log(bound / measured) for S1a at the input layer (inf where the gradient is zero)."""
    net = case.build()
    return _gap(maths.mlp_state_bounds(net)[0].log_upper, log_norms(net)[0])


def lower_gap(case) -> float:
    """log(measured / bound) for S1b at the input layer (inf where the bound is vacuous, σ_min = 0)."""
    net = case.build()
    return _gap(log_norms(net)[0], maths.mlp_state_bounds(net)[0].log_lower)


def growth_gap(case) -> float:
    """log(measured / c^L) for S1b's second test."""
    net = case.build()
    g = log_norms(net)
    return g[0] - g[-1] - net.depth * np.log(case.low)


# -- near-tight shares (before this change: S1a 8%, S1b 7% with 20% vacuous, S1b's c^L test 12%) ---------


_GAPS: dict[str, tuple[list, np.ndarray]] = {}


def drawn_gaps(name: str):
    """(draws, their gaps) of one of the three strategies, computed once per session."""
    if name not in _GAPS:
        strategy, gap = {"S1a": (S1A, upper_gap), "S1b": (S1B, lower_gap), "S1b_c_to_the_L": (S1B_GROWTH, growth_gap)}[name]
        cases = draws(strategy)
        _GAPS[name] = cases, np.array([gap(case) for case in cases])
    return _GAPS[name]


@pytest.mark.parametrize(("name", "least_share"), [("S1a", 0.3), ("S1b", 0.5), ("S1b_c_to_the_L", 0.5)])
def test_a_good_share_of_draws_is_near_tight_and_some_are_not(name, least_share):
    _, gaps = drawn_gaps(name)
    assert np.all(gaps >= -1e-9), "a bound is violated on the reference: the bounds themselves are wrong"
    near = float(np.mean(gaps <= NEAR))
    assert near >= least_share, f"only {near:.0%} of the draws are within 1.5× of their bound (need {least_share:.0%})"
    loose = float(np.mean(np.isfinite(gaps) & (gaps > NEAR)))
    assert loose >= 0.05, f"only {loose:.0%} of the draws are loose: the strategy has lost the general case"


@pytest.mark.parametrize("name", ["S1b", "S1b_c_to_the_L"])
def test_no_lower_bound_is_vacuous(name):
    cases, gaps = drawn_gaps(name)
    vacuous = [case for case, gap in zip(cases, gaps) if not np.isfinite(gap)]
    assert not vacuous, f"{len(vacuous)} draws have σ_min = 0 somewhere (a bound of 0 tests nothing): {vacuous[0]!r}"


# -- reach: hypothesis's own search finds a near-tight case of each kind ---------------------------------


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_find_reaches_a_deep_near_tight_upper_bound_through_saturating_activations(activation):
    case = find(S1A, lambda c: c.activation == activation and len(c.widths) >= 5 and min(c.widths) >= 3
                and upper_gap(c) <= NEAR, settings=SEARCH)
    assert upper_gap(case) <= NEAR


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_find_reaches_a_deep_near_tight_lower_bound_through_nonlinear_activations(activation):
    case = find(S1B, lambda c: c.activation == activation and len(c.widths) >= 5 and c.widths[-1] >= 2
                and lower_gap(c) <= NEAR, settings=SEARCH)
    assert lower_gap(case) <= NEAR


def test_find_reaches_growth_within_1_5x_of_c_to_the_L_at_depth_30():
    case = find(S1B_GROWTH, lambda c: len(c.widths) > 30 and c.widths[-1] >= 2 and growth_gap(c) <= NEAR,
                settings=SEARCH)
    assert growth_gap(case) <= NEAR


# -- no pile-up on one value -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "fields"),
    [
        (aligned_networks("top"), ("activation", "angle", "spread", "widths")),
        (S1B, ("activation", "angle", "spread", "widths")),
        (growth_networks(square=True), ("angle", "spread", "low", "widths")),
        (aligned_networks("top", activations=("linear",), max_depth=40, c=uniform(0.05, 1.0)),
         ("angle", "spread", "low", "widths")),
    ],
    ids=["S1a_aligned", "S1b", "S1b_S5a_growth", "S5b"],
)
def test_no_drawn_value_takes_more_than_its_share(strategy, fields):
    cases = draws(strategy)
    for field in fields:
        counts = collections.Counter(getattr(case, field) for case in cases)
        value, count = counts.most_common(1)[0]
        # activations: 4 values, so 25% each on average; continuous values: none should repeat beyond the
        # first draw (hypothesis starts from the simplest value)
        limit = 0.4 if field == "activation" else 0.1
        assert count / len(cases) <= limit, f"{field} = {value!r} in {count} of {len(cases)} draws"
    # 8 or 40 depths: an even spread gives 12.5% or 2.5% each; hypothesis's mutations repeat some choices, so
    # allow 30% (a clamp at an end of the range would put far more there)
    depths = collections.Counter(len(case.widths) - 1 for case in cases)
    assert depths.most_common(1)[0][1] / len(cases) <= 0.3, f"depths pile up: {depths.most_common(3)}"


def test_uniform_helpers_spread_their_draws_evenly():
    values = draws(uniform(0.0, 1.0), 200)
    counts, _ = np.histogram(values, bins=4, range=(0, 1))
    assert counts.min() >= 0.15 * len(values), counts
    choices = collections.Counter(draws(uniform_choice("abcd"), 200))
    assert set(choices) == set("abcd") and max(choices.values()) <= 0.4 * 200, choices


# -- the constructions ------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["linear", "tanh", "sigmoid", "relu"])
@pytest.mark.parametrize(("path", "widths"), [("top", (3, 5, 2, 4)), ("bottom", (6, 4, 4, 2))])
def test_aligned_network_realises_its_designed_jacobians_and_attains_its_bound(activation, path, widths):
    case = AlignedNetwork(seed=7, widths=widths, activation=activation, path=path, angle=0.0, low=0.5, high=2.0)
    net = case.build()
    forward = maths.mlp_forward_bounds(net.x, net.weights, net.biases, activation)
    for a, W, designed in zip(forward.pre, net.weights, case.jacobians()):
        J = maths.sigma_prime(activation, a[0])[:, None] * W
        np.testing.assert_allclose(J, designed, rtol=0, atol=1e-13)
        s = np.linalg.svd(designed, compute_uv=False)
        low, high = (case.low / (1 + case.spread), case.high) if path == "top" else (case.low, case.high * (1 + case.spread))
        assert low * (1 - 1e-12) <= s[-1] and s[0] <= high * (1 + 1e-12), "singular values outside the designed range"
    gap = upper_gap(case) if path == "top" else lower_gap(case)
    # attained to rounding: the spec's bounds are widened by the SVD's accuracy and by B_l (≈ 1e-12 here)
    assert 0 <= gap < 1e-10, "at angle 0 the gradient meets the path's singular value at every layer"


def test_aligned_network_at_an_angle_is_within_one_over_cos_of_the_upper_bound():
    for angle in (0.3, 0.8, 1.2):
        case = AlignedNetwork(seed=3, widths=(4, 4, 4, 4), activation="tanh", path="top", angle=angle, low=0.5, high=2.0)
        assert 0 < upper_gap(case) <= -np.log(np.cos(angle)) + 1e-12


def test_aligned_network_refuses_a_bottom_path_through_a_widening_layer():
    with pytest.raises(ValueError, match="never increase"):
        AlignedNetwork(seed=0, widths=(2, 3), activation="linear", path="bottom").build()


def test_s1c_constructions_have_layer_norm_c_and_multiply_to_identity_and_zero():
    for c in (1.5, 7.0, 1e3):
        up, down, nilpotent = np.diag([c, 1 / c]), np.diag([1 / c, c]), np.array([[0.0, c], [0.0, 0.0]])
        for J in (up, down, nilpotent):  # linear layers: J = W
            assert np.linalg.norm(J, 2) == pytest.approx(c, rel=4 * maths.EPS)
        np.testing.assert_allclose(down @ up, np.eye(2), rtol=0, atol=2 * maths.EPS)
        assert not np.any(nilpotent @ nilpotent)
