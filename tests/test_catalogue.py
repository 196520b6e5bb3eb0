"""The catalogue is complete and its page current; the statistical claims' stated
failure probabilities are what their designs give."""

import math
import re
from pathlib import Path

import pytest

from spec_tests.claims import CATALOGUE, SEED_CLAIMS, TESTS_BY_CLAIM, node_id
from spec_tests.docs import CLAIMS_PAGE, import_spec_test_modules, render_claims_page
from spec_tests.gaussian_drift import (
    S9A_DOWNWARD_WIDTHS,
    S9A_FAILURE_PROBABILITY,
    S9A_MARGIN,
    digamma_half_integer,
    downward_drift_depth,
    linear_gaussian_drift,
    linear_gaussian_failure_probability,
    linear_gaussian_interval_failure_probability,
)

ROOT = Path(__file__).resolve().parent.parent
import_spec_test_modules()


@pytest.mark.parametrize("claim_id", [c for c, e in CATALOGUE.items() if not e.pending])
def test_every_specified_claim_has_a_spec_test(claim_id):
    assert TESTS_BY_CLAIM.get(claim_id), f"claim {claim_id} has no spec test: add @claim({claim_id!r}) to one"


def test_every_seed_claim_is_in_the_catalogue():
    seeds = {c.seed for c in CATALOGUE.values() if c.id.startswith("S")}
    assert seeds == set(SEED_CLAIMS) == {f"S{i}" for i in range(1, 20)}


def test_every_spec_test_asserts_a_catalogued_claim():
    registered = {node_id(t) for tests in TESTS_BY_CLAIM.values() for t in tests}
    for path in sorted((ROOT / "spec_tests").glob("test_*.py")):
        for name in re.findall(r"^def (test_\w+)", path.read_text(), flags=re.M):
            node = f"spec_tests/{path.name}::{name}"
            assert node in registered, f"{node} asserts no claim: decorate it with @claim(...)"


def test_claims_page_is_current():
    assert CLAIMS_PAGE.read_text() == render_claims_page(), (
        "docs/claims.md is stale: run `python tools/make_docs.py --claims` and commit it"
    )


def test_docs_reference_only_figures_that_exist():
    for page in (ROOT / "docs").glob("*.md"):
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text()):
            assert (page.parent / target).is_file(), f"{page.name} shows {target}, which does not exist"


def test_digamma_matches_closed_forms_and_the_recurrence():
    euler = 0.5772156649015329
    assert digamma_half_integer(2) == pytest.approx(-euler, abs=1e-15)
    assert digamma_half_integer(1) == pytest.approx(-euler - 2 * math.log(2), abs=1e-15)
    for k2 in range(1, 80):  # ψ(x + 1) = ψ(x) + 1/x
        assert digamma_half_integer(k2 + 2) == pytest.approx(digamma_half_integer(k2) + 2 / k2, rel=1e-13)


def test_linear_gaussian_drift_tends_to_log_s_minus_one_over_2n():
    # ψ(n/2) − log(n/2) = −1/n − 1/(3n²) + O(n⁻⁴)
    for n in (16, 64, 256):
        assert linear_gaussian_drift(2.0, n) - math.log(2.0) == pytest.approx(-0.5 / n - 1 / (6 * n * n), rel=1e-3)


def test_s9a_failure_probability_is_below_1e_9_over_its_whole_parameter_box():
    worst = max(linear_gaussian_failure_probability(n, 24, S9A_MARGIN) for n in range(16, 49))
    assert worst <= S9A_FAILURE_PROBABILITY, f"the S9a design fails a correct implementation with probability up to {worst:.2g}"
    assert 0 < worst <= 2.25e-12, f"S9a's failure_probability quotes 2.2e-12 for the ±0.3 band; it is {worst:.3g}"


def test_s9a_downward_drift_depths_are_the_least_that_meet_the_stated_probability():
    statement = CATALOGUE["S9a"].statement
    for n in S9A_DOWNWARD_WIDTHS:
        depth, mu = downward_drift_depth(n), linear_gaussian_drift(1.0, n)
        half = abs(mu) / 2
        assert linear_gaussian_interval_failure_probability(n, depth, half, half) <= S9A_FAILURE_PROBABILITY
        assert linear_gaussian_interval_failure_probability(n, depth - 1, half, half) > S9A_FAILURE_PROBABILITY
        assert mu + half < 0, "the band [3μ/2, μ/2] must lie below zero: it is what 'drifts down' means"
        assert -0.5 / n < mu + half and mu - half < -0.5 / n, "the band must contain −1/(2n)"
        assert f"n = {n} over L = {depth}" in statement, f"S9a's statement must give L = {depth} for n = {n}"


def test_s9a_statement_derives_the_scales_that_surely_explode_and_vanish():
    # drift ≥ μ − 0.3 > 0 needs log s > 0.3 + 1/(2n) − … (n ≥ 16); drift ≤ μ + 0.3 < 0 needs log s < −0.3 + 1/(2n)
    assert min(linear_gaussian_drift(1.4, n) for n in range(16, 49)) - S9A_MARGIN > 0
    assert max(linear_gaussian_drift(0.74, n) for n in range(16, 49)) + S9A_MARGIN < 0
    assert "for s ≥ 1.4" in CATALOGUE["S9a"].statement and "for s ≤ 0.74" in CATALOGUE["S9a"].statement


def test_chernoff_interval_bound_covers_a_simulated_failure_rate():
    # n = 4 over 100 layers with the band |μ|/2: the bound (≈ 0.48) must exceed the simulated rate (≈ 0.09);
    # 20,000 draws of the exact law X − log s = ½ log(χ²_n / n), so the rate's standard error is 0.002
    import numpy as np

    n, depth = 4, 100
    mu = linear_gaussian_drift(1.0, n)
    half = abs(mu) / 2
    rng = np.random.default_rng(0)
    means = 0.5 * np.log(rng.chisquare(n, (20_000, depth)) / n).mean(axis=1)
    rate = float(np.mean(np.abs(means - mu) > half))
    bound = linear_gaussian_interval_failure_probability(n, depth, half, half)
    assert 0.01 < rate < bound < 1, (rate, bound)


def test_chernoff_bound_is_not_vacuous_for_a_tight_margin():
    # Var[½ log(χ²_n/n)] = ψ'(n/2)/4 ≈ 1/(2n): with a margin of one standard deviation of the
    # mean, a correct bound must be weak (a true tail probability is about 0.3)
    n, depth = 16, 24
    sd_of_mean = math.sqrt(1 / (2 * n) / depth)
    assert linear_gaussian_failure_probability(n, depth, sd_of_mean) > 0.1
