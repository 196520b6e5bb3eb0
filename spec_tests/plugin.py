"""The specification's pytest plugin: all of the spec's test configuration, in one place.

Installed with the package, it is loaded through its ``pytest11`` entry point (named
``spec_tests.plugin``) by any pytest run in that environment, so ``pytest --pyargs spec_tests``
works from any folder without the project's pyproject.toml: the markers, the strict warnings
filter for spec tests and the strict expected failures are set here, not in an ini file.
In a clone, the root conftest.py loads it when the package is not installed.

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
* ``spec_tests/expected_failures/NAME.toml`` (or ``--expected-failures FILE``) lists an
  implementation's known deviations: those tests become strict expected
  failures, shown as DEVIATES, and an entry that starts passing fails the run.
* A failing spec test's report carries the claim it asserts and a command that
  reruns it.
* ``--report-json PATH`` / ``--report-md PATH`` write the verdicts per claim for tools
  and people (spec_tests/report.py; the JSON's schema is spec_tests/report.schema.json).
* Each spec test's claim IDs are pytest user properties (``claim``), so ``--junitxml``
  carries them as ``<property name="claim" value="S1a"/>``.
"""

from __future__ import annotations

import faulthandler
import os
import shlex
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from spec_tests.claims import CATALOGUE, claims_of, select_claims
from spec_tests.determinism import draw_without_local_constants
from spec_tests.deviations import load_deviations
from spec_tests.isolation import STATE_ENV_VAR, RunState, describe_death
from spec_tests.iut import DEFAULT_TIMEOUT_S, IMPL_ENV_VAR, load_implementation, parse_timeout
from spec_tests.report import write_reports
from spec_tests.reporting import ClaimResults, next_step, specification_lines

PROFILE_ENV_VAR = "GRADSPEC_PROFILE"

draw_without_local_constants()  # the same draws in every process, whatever it has imported

# report_multiple_bugs off: a learner reads one failure, not "Hypothesis found 2 distinct failures"
_common = dict(deadline=None, print_blob=True, report_multiple_bugs=False, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", derandomize=True, database=None, max_examples=60, **_common)
settings.register_profile("dev", max_examples=60, **_common)
settings.register_profile("thorough", max_examples=1000, **_common)
PROFILES = {"ci": "derandomised, 60 examples", "dev": "60 random examples", "thorough": "1000 random examples"}
_default_profile = "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev"


def _is_profile(name: str) -> bool:
    try:
        settings.get_profile(name)
    except Exception:
        return False
    return True


if _is_profile(os.environ.get(PROFILE_ENV_VAR) or _default_profile):  # an empty GRADSPEC_PROFILE is unset
    settings.load_profile(os.environ.get(PROFILE_ENV_VAR) or _default_profile)
# else pytest_cmdline_main refuses it by name (here it would be a traceback "while loading conftest")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """An unknown profile is a usage error that names the option or variable that gave it, before
    hypothesis's plugin fails on it with a traceback."""
    option = config.getoption("--hypothesis-profile", None)
    given = ("--hypothesis-profile", option) if option else (PROFILE_ENV_VAR, os.environ.get(PROFILE_ENV_VAR))
    if given[1] and not _is_profile(given[1]):
        known = "; ".join(f"{name} ({what})" for name, what in PROFILES.items())
        raise pytest.UsageError(f"{given[0]}={given[1]}: no such hypothesis profile. The profiles are {known}.")


def pytest_addoption(parser):
    group = parser.getgroup("gradspec", "exploding-gradients specification")
    group.addoption(
        "--impl",
        default=os.environ.get(IMPL_ENV_VAR, "reference"),
        help=f"implementation under test: reference (default), torch, a module path or a .py file "
        f"[env {IMPL_ENV_VAR}]",
    )
    group.addoption(
        "--impl-timeout", type=parse_timeout, default=DEFAULT_TIMEOUT_S,
        help="seconds one call into the implementation may take before its claim fails (0: no limit)",
    )
    group.addoption("--spec", action="store_true", help="print the results as a specification")
    group.addoption(
        "--claim", action="append", default=[], metavar="ID",
        help="only the tests of these claims: S1 selects S1a, S1b, S1c; S1a only S1a (repeatable, or comma-separated)",
    )
    group.addoption(
        "--expected-failures", default=None,
        help="a TOML file of the implementation's known deviations (default: spec_tests/expected_failures/NAME.toml "
        "for a built-in implementation NAME, when it exists)",
    )
    group.addoption("--report-json", default=None, metavar="PATH",
                    help="write the verdict of every claim, the versions and the run's settings as JSON "
                    "(schema: spec_tests/report.schema.json)")
    group.addoption("--report-md", default=None, metavar="PATH", help="write the same report as Markdown")


def pytest_configure(config):
    # registered here, not in an ini file: pytest --pyargs spec_tests runs without the project's pyproject.toml
    config.addinivalue_line("markers", "claim(*ids): the catalogued claims this spec test asserts")
    config.addinivalue_line("markers", "slow: an end-to-end check through subprocesses that a quicker test also "
                            "covers; deselected by default in the project, run by .ci/run (bin/test -m slow)")
    _RUN[0] = config
    if not hasattr(config, "workerinput") and STATE_ENV_VAR not in os.environ:
        # shared by the pytest-xdist workers started after this (they inherit the environment)
        config.stash[_STATE_DIR] = tempfile.TemporaryDirectory(prefix="gradspec-run-")
        os.environ[STATE_ENV_VAR] = config.stash[_STATE_DIR].name
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
_STATE_DIR = pytest.StashKey()
_RUN: list = [None]  # this process's config, for pytest-xdist's crash hook (which is not given it)
_FAULTS = pytest.StashKey()
_EXIT_STATUS = pytest.StashKey()
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
            item.user_properties.append(("spec_test", spec_test_id(item.path, item.nodeid)))
            item.user_properties += [("claim", claim_id) for claim_id in claims]  # JUnit XML properties
            item.extra_keyword_matches.update(claims)  # pytest -k S1a selects a claim's tests
        if is_spec_test(item.path):
            # the spec's own code is strict about warnings wherever it runs (the implementation's are caught
            # and reported by the boundary); first in the item's marks, so a test's own filters win
            item.add_marker(pytest.mark.filterwarnings("error"), append=False)
        deviation = deviations.matching(spec_test_id(item.path, item.nodeid))
        if deviation is not None:
            item.add_marker(pytest.mark.xfail(
                reason=f"known deviation ({deviation.claim}): {deviation.reason}", strict=True, raises=AssertionError))
            _without_shrinking(item.obj)


def _without_shrinking(test) -> None:
    """A known deviation is expected to fail: its first failing example confirms it, and shrinking that
    example (most of a deviating test's time, for JAX half a minute and more) would only be discarded.
    Set on the test function, so for every parametrization of it; a new failure of a sibling is still
    found and reported, with the example as drawn."""
    current = getattr(test, "_hypothesis_internal_use_settings", None)
    if current is not None and Phase.shrink in current.phases:
        test._hypothesis_internal_use_settings = settings(
            current, phases=[phase for phase in current.phases if phase is not Phase.shrink])


@pytest.fixture(scope="session")
def impl(pytestconfig):
    """The implementation under test; spec tests reach it only through this."""
    return pytestconfig.stash[_IMPL]


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session):
    faults = RunState(session.config.stash[_IMPL].name).faulthandler_file()
    if faults is not None:
        session.config.stash[_FAULTS] = faults
        faulthandler.enable(file=faults, all_threads=False)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if _STATE_DIR in config.stash:
        os.environ.pop(STATE_ENV_VAR, None)
        config.stash[_STATE_DIR].cleanup()
    left = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if left:
        # threads the implementation started and left running would keep the interpreter from ending
        sys.stderr.write(f"gradspec: the implementation left {len(left)} thread(s) running "
                         f"({', '.join(t.name for t in left[:3])}); ending the process\n")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(config.stash.get(_EXIT_STATUS, 0))


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem, report, sched):
    """pytest-xdist replaced a worker that died running crashitem: fail its claims with the reason."""
    state = RunState(_RUN[0].stash[_IMPL].name)
    function, fault = state.last_words(report.node.gateway.id)
    reason = describe_death(function, fault, state.broken(function) if function else None,
                            _RUN[0].getoption("impl_timeout"))
    if function and state.broken(function) is None:
        state.mark_broken(function, reason.removeprefix(f"{function}() "))
    report.longrepr = reason
    test = spec_test_id(_RUN[0].rootpath / crashitem.split("::", 1)[0], crashitem)
    report.user_properties = [("claims", claims_of_nodeid(test)), ("spec_test", test),
                              ("functions", [function] if function else [])]


def claims_of_nodeid(nodeid: str) -> tuple[str, ...]:
    from spec_tests.claims import TESTS_BY_CLAIM, node_id
    from spec_tests.docs import import_spec_test_modules

    import_spec_test_modules()
    test = nodeid.split("[", 1)[0]
    return tuple(c for c, tests in TESTS_BY_CLAIM.items() if any(node_id(t) == test for t in tests))


PACKAGE_DIR = Path(__file__).resolve().parent


def is_spec_test(path) -> bool:
    return Path(path).resolve().parent == PACKAGE_DIR


def spec_test_id(path, nodeid: str) -> str:
    """'spec_tests/test_depth.py::test_name[...]' for a spec test, wherever the package lies and whatever
    pytest's rootdir (pytest --pyargs spec_tests from another folder gives other node IDs); the node ID
    itself for any other test.  Expected failures and reports use this form."""
    if not is_spec_test(path):
        return nodeid
    rest = nodeid.split("::", 1)[1] if "::" in nodeid else ""
    return f"{PACKAGE_DIR.name}/{Path(path).name}" + (f"::{rest}" if rest else "")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    impl = item.config.stash[_IMPL]
    impl.called.clear()
    impl.warnings.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    if call.excinfo is not None and isinstance(call.excinfo.value, pytest.skip.Exception):
        # hypothesis notes the explicit example on a skip as if it had failed: a skip is not a failure
        vars(call.excinfo.value).pop("__notes__", None)
    report = yield
    claims = claims_of(item)
    impl = item.config.stash[_IMPL]
    if claims and call.when == "call":
        report.user_properties.append(("functions", sorted(impl.called)))
        if impl.warnings:  # reported, not failures: the spec's own code stays strict
            warned = [f"{key} ({count}×)" for key, count in impl.warnings.items()]
            report.user_properties.append(("warnings", warned))
            report.sections.append(("implementation warnings (not failures)", "\n".join(warned)))
    if report.failed and claims:
        lines = []
        for claim_id in claims:
            entry = CATALOGUE[claim_id]
            lines += [f"{claim_id}: {entry.title}", f"  {entry.statement}", f"  source: {entry.source}"]
        lines.append("rerun: " + rerun_command(item.config, spec_test_id(item.path, item.nodeid)))
        report.sections.append(("claim violated", "\n".join(lines)))
    return report


# the exit status of a run whose every test was skipped (pytest's own codes are 0–5)
NOTHING_CHECKED = 6


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    session.config.stash[_EXIT_STATUS] = int(exitstatus)
    if not hasattr(session.config, "workerinput") and _RESULTS in session.config.stash:
        write_reports(session.config, session.config.stash[_RESULTS].verdicts(), session.config.stash[_IMPL],
                      session.config.stash[_CLAIMS], rerun_command)
    if hasattr(session.config, "workerinput") or exitstatus != 0 or not session.config.stash.get(_SUMMARY, False):
        return  # a worker, a failed run, or the main job (which judges its own run)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    stats = reporter.stats if reporter else {}
    if stats.get("skipped") and not any(stats.get(k) for k in ("passed", "failed", "xfailed", "xpassed", "error")):
        session.exitstatus = NOTHING_CHECKED
        session.config.stash[_EXIT_STATUS] = NOTHING_CHECKED
        reporter.write_line(f"no test was checked: every one was skipped (exit status {NOTHING_CHECKED})", red=True)


def rerun_command(config, nodeid: str) -> str:
    """A command that reruns one test (its spec_test_id) with every option that changes its outcome: by its path when the
    spec lies under the folder pytest was run in (a clone), else by module (an installed package)."""
    words = [f"{PROFILE_ENV_VAR}={settings._current_profile}", "pytest", "--impl", config.stash[_IMPL].name]
    if config.getoption("impl_timeout") != DEFAULT_TIMEOUT_S:
        words += ["--impl-timeout", f"{config.getoption('impl_timeout'):g}"]
    if config.getoption("expected_failures"):
        words += ["--expected-failures", config.getoption("expected_failures")]
    path, _, rest = nodeid.partition("::")
    test = PACKAGE_DIR.parent / path  # nodeid is spec_test_id's
    if is_spec_test(test):
        try:
            nodeid = f"{test.resolve().relative_to(Path(config.invocation_params.dir).resolve())}::{rest}"
        except ValueError:
            words.append("--pyargs")
            nodeid = f"{PACKAGE_DIR.name}.{Path(path).stem}::{rest}"
    return " ".join(shlex.quote(w) if i else w for i, w in enumerate(words + [nodeid]))


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
