"""Meta-tests: the spec rejects plausible wrong implementations, claim by claim, with
exactly the verdicts each declares; accepts correct ones however they compute; and
turns misbehaviour into clear failures rather than a broken run.

Every file in tests/implementations/ (but the student stub) is an implementation under
test that defines only the protocol functions it changes and takes the rest from the
reference.  Its docstring's first line says what it is ("Wrong: …" or "Correct, computed
another way: …") and ``REJECTED_BY`` lists the exact set of claims that fail on it.  The
meta-tests check both halves of that set: the default run, that every declared claim fails
(and that docs/gallery.md shows the report each failure gives); the slow run (`-m slow`, in
CI), that every other claim whose tests call one of the file's own functions passes — the
claims that call none run only the reference's code, which passes.

Each spec test is called directly with the implementation in place of the ``impl``
fixture, derandomised (so a verdict never depends on a seed), without shrinking.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import reference
from spec_tests.docs import GALLERY_PAGE, gallery_entry, without_numbers
from spec_tests.iut import Implementation, ImplementationError, load_implementation
from spec_tests.networks import RandomNetwork
from spec_tests.verdicts import SPECIFIED, first_failures, own_functions, run_claim, touched_claims

IMPLEMENTATIONS = Path(__file__).parent / "implementations"

KNOWN = sorted(p.stem for p in IMPLEMENTATIONS.glob("*.py") if p.stem not in ("__init__", "student_stub"))


def implementation(name: str, timeout_s: float = 30.0):
    return load_implementation(str(IMPLEMENTATIONS / f"{name}.py"), timeout_s)


def failures_of_claim(claim_id: str, impl) -> list[AssertionError]:
    return run_claim(claim_id, impl)[0]


def declared_and_touched(name: str):
    impl = implementation(name)
    declared, touched = set(impl.module.REJECTED_BY), touched_claims(impl.module)
    assert own_functions(impl.module), f"{name}.py defines no protocol function of its own"
    assert declared <= set(touched), (
        f"{name}.py declares {sorted(declared - set(touched))} in REJECTED_BY, but no test of those claims calls "
        f"its functions {sorted(own_functions(impl.module))}")
    return impl, declared, touched


@pytest.mark.parametrize("name", KNOWN)
def test_each_known_implementation_fails_every_claim_it_declares_as_the_gallery_shows(name):
    impl, declared, _ = declared_and_touched(name)
    first_failure = first_failures(impl, impl.module.REJECTED_BY)
    passed = [f"  {c} passed, but REJECTED_BY says it fails" for c in sorted(declared - set(first_failure))]
    assert not passed, f"{name}.py: the spec does not reject it as declared\n" + "\n".join(passed)
    summary = impl.module.__doc__.strip().splitlines()[0]
    first_lines = {c: str(first_failure[c]).splitlines()[0] for c in impl.module.REJECTED_BY}
    entry = gallery_entry(name, summary, impl.module.REJECTED_BY, first_lines)
    assert without_numbers(entry) in without_numbers(GALLERY_PAGE.read_text()), (
        f"docs/gallery.md is stale for {name}.py: run `python tools/make_docs.py --gallery`; its entry is now\n{entry}")


@pytest.mark.slow  # every claim that calls its functions, at 12 examples per test: about 1 s per implementation
@pytest.mark.parametrize("name", KNOWN)
def test_each_known_implementation_passes_every_other_claim_that_calls_its_functions(name):
    impl, declared, touched = declared_and_touched(name)
    first_failure = first_failures(impl, [c for c in touched if c not in declared])
    surprises = [f"  {c} failed unexpectedly: {str(f).splitlines()[0]}" for c, f in sorted(first_failure.items())]
    assert not surprises, (f"{name}.py fails {sorted(first_failure)} beyond REJECTED_BY {sorted(declared) or '(none)'}\n"
                           + "\n".join(surprises))


def test_the_gallery_lists_exactly_the_known_implementations():
    listed = re.findall(r"^### (\w+)$", GALLERY_PAGE.read_text(), flags=re.MULTILINE)
    assert sorted(listed) == KNOWN, "docs/gallery.md is stale: run `python tools/make_docs.py --gallery`"


@pytest.mark.parametrize("name", KNOWN)
def test_each_known_implementation_says_what_it_is(name):
    module = implementation(name).module
    first_line = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
    assert first_line.startswith(("Wrong", "Correct")), f"{name}.py's docstring must start with 'Wrong…' or 'Correct…'"
    assert isinstance(getattr(module, "REJECTED_BY", None), tuple), f"{name}.py needs REJECTED_BY = (claim IDs, …)"
    assert set(module.REJECTED_BY) <= set(SPECIFIED), f"{name}.py: unknown claims in REJECTED_BY"
    assert first_line.startswith("Correct") == (module.REJECTED_BY == ()), (
        f"{name}.py: a correct implementation fails no claim; a wrong one fails at least one")


def test_every_specified_claim_rejects_at_least_one_wrong_implementation():
    rejecting = {c for name in KNOWN for c in implementation(name).module.REJECTED_BY}
    missing = [c for c in SPECIFIED if c not in rejecting]
    assert not missing, f"claims with no wrong implementation in tests/implementations/ that fails them: {missing}"


@pytest.mark.parametrize("claim_id", SPECIFIED)
def test_an_unimplemented_stub_passes_no_claim_and_its_skip_names_the_task(claim_id):
    failures, skips = run_claim(claim_id, implementation("student_stub"))
    assert not failures, f"a stub must not fail {claim_id}, only skip it: {failures[0]}"
    assert skips, f"{claim_id} ran no test against the stub"
    for reason in skips:
        assert re.search(r"not implemented yet: Task \d+: implement \w+", reason), reason


def test_an_implementation_missing_a_function_is_skipped_with_the_function_named():
    partial = Implementation("partial", SimpleNamespace(mlp_forward=reference.mlp_forward))
    failures, skips = run_claim("P2", partial)
    assert not failures and skips and all("'partial' does not provide mlp_backward()" in r for r in skips), skips


def _raises(*args, **kwargs):
    raise RuntimeError("CUDA error: out of memory (simulated)")


def _nan_gradients(x, weights, biases, activation, grad_output):
    hidden, grad_w, grad_b = reference.mlp_backward(x, weights, biases, activation, grad_output)
    return [np.full_like(h, np.nan) for h in hidden], grad_w, grad_b


def _float32_jacobians(*args):
    return [J.astype(np.float32) for J in reference.mlp_layer_jacobians(*args)]


def _wrong_structure(*args):
    return reference.mlp_forward(*args)._asdict()


MISBEHAVING = {
    "raises": ("P1", dict(mlp_forward=_raises), r"raised RuntimeError: CUDA error: out of memory"),
    "returns_nan": ("S1b", dict(mlp_backward=_nan_gradients), r"returned hidden\[\d+\] with non-finite values"),
    "returns_float32": ("P3", dict(mlp_layer_jacobians=_float32_jacobians), r"layer Jacobians\[0\] of dtype float32; expected float64"),
    "returns_wrong_structure": ("P1", dict(mlp_forward=_wrong_structure), r"expected a tuple of 2 \(pre_activations, hidden_states\)"),
}


@pytest.mark.parametrize("name", MISBEHAVING)
def test_misbehaviour_becomes_a_clear_failed_claim_naming_the_call(name):
    claim_id, overrides, message = MISBEHAVING[name]
    functions = {f: getattr(reference, f) for f in ("mlp_forward", "mlp_backward", "mlp_layer_jacobians")}
    impl = Implementation(name, SimpleNamespace(**{**functions, **overrides}))
    failures = failures_of_claim(claim_id, impl)
    assert failures and all(isinstance(f, ImplementationError) for f in failures)
    first_line = str(failures[0]).splitlines()[0]
    assert re.match(r"mlp_\w+\(\) ", first_line) and re.search(message, first_line), "the problem leads: " + first_line
    assert re.search(rf"in the call {name}\.mlp_\w+\(\n    x = float64 array", str(failures[0])), "the call follows"


def test_a_hanging_implementation_fails_its_claim_after_the_time_limit_and_is_not_waited_for_again():
    def hangs(*args):
        while True:
            pass

    impl = Implementation("hangs", SimpleNamespace(mlp_backward=hangs), timeout_s=0.2)
    net = RandomNetwork(seed=0, widths=(2, 2), activation="tanh").build()
    for _ in range(3):
        start = time.monotonic()
        with pytest.raises(ImplementationError, match=r"did not return within 0.2 s"):
            impl.mlp_backward(net.x, net.weights, net.biases, net.activation, net.grad_output)
    assert time.monotonic() - start < 0.1, "after one time-out, later calls fail at once"
