"""All of the test configuration, in one place.

* ``--impl NAME`` (or the GRADSPEC_IMPL environment variable) picks the
  implementation under test: ``reference`` (default), ``torch``, an importable
  module path, or a .py file.  Spec tests receive it as the ``impl`` fixture.
* Hypothesis profiles ``ci`` (derandomised, no example database), ``dev`` (the
  default) and ``thorough``; chosen by ``--hypothesis-profile`` or the
  GRADSPEC_PROFILE environment variable (``ci`` when CI=true).
* ``--claim ID`` selects claims exactly: ``--claim S1`` runs S1a, S1b and S1c,
  ``--claim S1a`` only S1a (``-k S1`` would also match S10–S19); repeat it or
  separate IDs by commas.
* ``--spec`` prints the results as a specification: each claim and its verdict.
* ``expected_failures/NAME.toml`` (or ``--expected-failures FILE``) lists an
  implementation's known deviations: those tests become strict expected
  failures, shown as DEVIATES, and an entry that starts passing fails the run.
* A failing spec test's report carries the claim it asserts and a command that
  reruns it.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from spec_tests.claims import CATALOGUE, claims_of, select_claims
from spec_tests.deviations import load_deviations
from spec_tests.iut import DEFAULT_TIMEOUT_S, IMPL_ENV_VAR, load_implementation
from spec_tests.reporting import ClaimResults, next_step, specification_lines

PROFILE_ENV_VAR = "GRADSPEC_PROFILE"

_common = dict(deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", derandomize=True, database=None, max_examples=60, **_common)
settings.register_profile("dev", max_examples=60, **_common)
settings.register_profile("thorough", max_examples=1000, **_common)
_default_profile = "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev"
settings.load_profile(os.environ.get(PROFILE_ENV_VAR, _default_profile))


def pytest_addoption(parser):
    group = parser.getgroup("gradspec", "exploding-gradients specification")
    group.addoption(
        "--impl",
        default=os.environ.get(IMPL_ENV_VAR, "reference"),
        help=f"implementation under test: reference (default), torch, a module path or a .py file "
        f"[env {IMPL_ENV_VAR}]",
    )
    group.addoption(
        "--impl-timeout", type=float, default=DEFAULT_TIMEOUT_S,
        help="seconds one call into the implementation may take before its claim fails",
    )
    group.addoption("--spec", action="store_true", help="print the results as a specification")
    group.addoption(
        "--claim", action="append", default=[], metavar="ID",
        help="only the tests of these claims: S1 selects S1a, S1b, S1c; S1a only S1a (repeatable, or comma-separated)",
    )
    group.addoption(
        "--expected-failures", default=None,
        help="a TOML file of the implementation's known deviations (default: expected_failures/NAME.toml "
        "for a built-in implementation NAME, when it exists)",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "claim(*ids): the catalogued claims this spec test asserts")
    config.stash[_IMPL] = load_implementation(config.getoption("impl"), config.getoption("impl_timeout"))
    config.stash[_CLAIMS] = select_claims(config.getoption("claim"))
    if not hasattr(config, "workerinput"):
        # the main job (python -m spec_tests) brings its own and prints the table itself
        main_job = [p for p in config.pluginmanager.get_plugins() if isinstance(p, ClaimResults)]
        config.stash[_RESULTS] = main_job[0] if main_job else ClaimResults()
        config.stash[_SUMMARY] = not main_job
        if not main_job:
            config.pluginmanager.register(config.stash[_RESULTS], "gradspec-claim-results")


_IMPL = pytest.StashKey()
_RESULTS = pytest.StashKey()
_CLAIMS = pytest.StashKey()
_SUMMARY = pytest.StashKey()


def pytest_report_header(config):
    impl = config.stash[_IMPL]
    origin = getattr(impl.module, "__file__", None) or impl.module.__name__
    return [
        f"implementation under test: {impl.name} ({origin})",
        f"hypothesis profile: {settings._current_profile}",
    ]


def pytest_collection_modifyitems(config, items):
    deviations = load_deviations(config.getoption("expected_failures"), config.stash[_IMPL].name)
    chosen = config.stash[_CLAIMS]
    if chosen is not None:
        keep = [item for item in items if set(claims_of(item)) & chosen]
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep
    for item in items:
        claims = claims_of(item)
        if claims:
            item.user_properties.append(("claims", claims))
            item.extra_keyword_matches.update(claims)  # pytest -k S1a selects a claim's tests
        deviation = deviations.matching(item.nodeid)
        if deviation is not None:
            item.add_marker(pytest.mark.xfail(
                reason=f"known deviation ({deviation.claim}): {deviation.reason}", strict=True, raises=AssertionError))


@pytest.fixture(scope="session")
def impl(pytestconfig):
    """The implementation under test; spec tests reach it only through this."""
    return pytestconfig.stash[_IMPL]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.config.stash[_IMPL].called.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    if call.excinfo is not None and isinstance(call.excinfo.value, pytest.skip.Exception):
        # hypothesis notes the explicit example on a skip as if it had failed: a skip is not a failure
        vars(call.excinfo.value).pop("__notes__", None)
    report = yield
    claims = claims_of(item)
    if claims and call.when == "call":
        report.user_properties.append(("functions", sorted(item.config.stash[_IMPL].called)))
    if report.failed and claims:
        lines = []
        for claim_id in claims:
            entry = CATALOGUE[claim_id]
            lines += [f"{claim_id}: {entry.title}", f"  {entry.statement}", f"  source: {entry.source}"]
        impl = item.config.stash[_IMPL].name
        lines.append(f"rerun: pytest --impl {impl} '{item.nodeid}'")
        report.sections.append(("claim violated", "\n".join(lines)))
    return report


def pytest_terminal_summary(terminalreporter, config):
    results = config.stash.get(_RESULTS, None)
    if results is None or not config.stash[_SUMMARY]:
        return
    verdicts = results.verdicts()
    if config.getoption("spec"):
        terminalreporter.section("specification")
        for line in specification_lines(verdicts, config.stash[_IMPL].name, config.option.verbose > 0):
            terminalreporter.write_line(line)
    step = next_step(verdicts)
    if step:
        terminalreporter.write_line(step, bold=True)
