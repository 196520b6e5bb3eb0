"""Claim verdicts for an implementation, computed in-process: the machinery behind the
meta-tests (tests/test_spec_verdicts_on_known_implementations.py) and the gallery of
wrong implementations (docs/gallery.md).

Each spec test is called directly with the implementation in place of the ``impl``
fixture, derandomised (so a verdict never depends on a seed) and without shrinking (a
verdict needs the first failure, not the minimal one).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import warnings
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, Phase, settings

from .claims import CATALOGUE, TESTS_BY_CLAIM
from .determinism import draw_without_local_constants
from .docs import import_spec_test_modules
from .isolation import STATE_ENV_VAR
from .iut import load_implementation

draw_without_local_constants()  # a verdict must not depend on the modules this process imported

SPECIFIED = [c for c, entry in CATALOGUE.items() if not entry.pending]
PROBE_EXAMPLES = 3  # examples per test when recording which functions a claim calls
VERDICT_EXAMPLES = 12  # examples per test for a verdict, whatever profile is loaded; the main job draws more


def _calls(test):
    """Keyword arguments for each parametrized case of a spec test ({} if none)."""
    calls = [{}]
    for mark in (m for m in getattr(test, "pytestmark", []) if m.name == "parametrize"):
        names, values = mark.args[:2]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        cases = [dict(zip(names, v if len(names) > 1 else (v,))) for v in values]
        calls = [{**call, **case} for call in calls for case in cases]
    return calls


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


@contextlib.contextmanager
def verdict_settings(test, max_examples: int | None = None, case: dict | None = None):
    """Derandomised, no shrinking, no example database, no deadline, and a fixed number of examples,
    for the duration: a verdict that depends on neither the seed nor the loaded profile.  (Swaps the
    settings Hypothesis reads from the wrapped test at call time, and restores them.)

    The derandomised seed is the digest of the test and of its parametrized ``case``.  Hypothesis's
    pytest plugin leaves the node ID of the last parametrized run on the test for that digest, which
    would make a verdict depend on which tests ran earlier in the process; here it is the case's own."""
    current = getattr(test, "_hypothesis_internal_use_settings", None)
    if current is None:
        yield
        return
    inner = test.hypothesis.inner_test
    no_digest = object()
    digest = getattr(inner, "_hypothesis_internal_add_digest", no_digest)
    if case:
        inner._hypothesis_internal_add_digest = repr(sorted(case.items())).encode()
    elif digest is not no_digest:
        del inner._hypothesis_internal_add_digest  # as pytest runs an unparametrized test
    test._hypothesis_internal_use_settings = settings(
        current, phases=[Phase.explicit, Phase.generate], database=None, derandomize=True, deadline=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck), max_examples=max_examples or VERDICT_EXAMPLES)
    try:
        yield
    finally:
        test._hypothesis_internal_use_settings = current
        if digest is no_digest:
            inner.__dict__.pop("_hypothesis_internal_add_digest", None)
        else:
            inner._hypothesis_internal_add_digest = digest


def run_claim(claim_id: str, impl, max_examples: int | None = None,
              stop_at_first_failure: bool = False) -> tuple[list[AssertionError], list[str]]:
    """Run every test of the claim against impl (or only up to the first that fails): (assertion
    failures, skip reasons).

    Anything else escaping a spec test (a crash inside the spec) is re-raised: that would be a
    spec defect, not a verdict."""
    import_spec_test_modules()
    failures, skips = [], []
    for test in TESTS_BY_CLAIM[claim_id]:
        for kwargs in _calls(test):
            try:
                with verdict_settings(test, max_examples, kwargs):
                    test(impl=impl, **kwargs)
            except pytest.skip.Exception as skip:
                skips.append(str(skip))
            except BaseException as error:  # noqa: BLE001 -- sorted below
                leaves = _leaves(error)
                if not all(isinstance(leaf, AssertionError) for leaf in leaves):
                    raise
                failures.extend(leaves)
                if stop_at_first_failure:
                    return failures, skips
    return failures, skips


@functools.cache
def functions_by_claim() -> dict[str, frozenset[str]]:
    """The protocol functions each claim's tests call, recorded on the reference with a few
    derandomised examples per test.  The processes of one run (pytest-xdist workers) record it once
    and share it through the run's state directory."""
    directory = os.environ.get(STATE_ENV_VAR)
    if not directory:
        return _record_functions_by_claim()
    with open(Path(directory) / "functions-by-claim.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first process records; the others wait, then read
        shared = Path(directory) / "functions-by-claim.json"
        if shared.exists():
            return {c: frozenset(f) for c, f in json.loads(shared.read_text()).items()}
        called = _record_functions_by_claim()
        shared.write_text(json.dumps({c: sorted(f) for c, f in called.items()}))
        return called


def _record_functions_by_claim() -> dict[str, frozenset[str]]:
    recorder = load_implementation("reference")
    called = {}
    for claim_id in SPECIFIED:
        recorder.called.clear()
        failures, _ = run_claim(claim_id, recorder, PROBE_EXAMPLES)
        if failures:
            raise AssertionError(f"the reference fails {claim_id}: {failures[0]}")
        called[claim_id] = frozenset(recorder.called)
    return called


def own_functions(module: ModuleType) -> set[str]:
    """The protocol functions a module defines itself (not imported from elsewhere)."""
    protocol = set().union(*functions_by_claim().values())
    return {name for name, value in vars(module).items()
            if name in protocol and callable(value) and getattr(value, "__module__", None) == module.__name__}


def touched_claims(module: ModuleType) -> list[str]:
    """The claims whose tests call one of the module's own functions: the only ones whose verdict
    can differ from the reference's for a module that takes its other functions from it."""
    own = own_functions(module)
    return [c for c in SPECIFIED if functions_by_claim()[c] & own]


def first_failures(impl, claims) -> dict[str, AssertionError]:
    """claim -> the first failure of its tests, for each claim that fails."""
    found = {}
    for claim_id in claims:
        failures, _ = run_claim(claim_id, impl, stop_at_first_failure=True)
        if failures:
            found[claim_id] = failures[0]
    return found


def known_implementation_entry(path) -> tuple[str, str]:
    """(name, its docs/gallery.md entry) for one file of tests/implementations/."""
    from .docs import gallery_entry

    impl = load_implementation(str(path))
    failures = first_failures(impl, impl.module.REJECTED_BY)
    summary = impl.module.__doc__.strip().splitlines()[0]
    first_lines = {c: str(f).splitlines()[0] for c, f in failures.items()}
    return impl.module.__name__, gallery_entry(path.stem, summary, impl.module.REJECTED_BY, first_lines)


def render_gallery_page() -> str:
    from .docs import IMPLEMENTATIONS_DIR, render_gallery

    paths = sorted(p for p in IMPLEMENTATIONS_DIR.glob("*.py") if p.stem not in ("__init__", "student_stub"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as pytest runs the spec (pyproject.toml: filterwarnings = error)
        entries = {p.stem: known_implementation_entry(p)[1] for p in paths}
    wrong = [e for e in entries.values() if "— fails " in e]
    correct = [e for e in entries.values() if "— fails " not in e]
    body = ["## Wrong implementations", ""] + wrong + ["## Correct implementations, computed another way", ""] + correct
    return render_gallery(body, len(wrong), len(correct))
