"""The catalogue is complete and its page current; the statistical claims' stated
failure probabilities are what their designs give."""

import math
import re
from pathlib import Path

import pytest

from spec_tests.claims import CATALOGUE, SEED_CLAIMS, TESTS_BY_CLAIM, node_id
from spec_tests.docs import CLAIMS_PAGE, import_spec_test_modules, render_claims_page
from spec_tests.gaussian_drift import S9A_MARGIN, digamma_half_integer, linear_gaussian_drift, linear_gaussian_failure_probability

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
    assert worst <= 1e-9, f"the S9a design fails a correct implementation with probability up to {worst:.2g}"
    assert worst > 0


def test_chernoff_bound_is_not_vacuous_for_a_tight_margin():
    # Var[½ log(χ²_n/n)] = ψ'(n/2)/4 ≈ 1/(2n): with a margin of one standard deviation of the
    # mean, a correct bound must be weak (a true tail probability is about 0.3)
    n, depth = 16, 24
    sd_of_mean = math.sqrt(1 / (2 * n) / depth)
    assert linear_gaussian_failure_probability(n, depth, sd_of_mean) > 0.1
