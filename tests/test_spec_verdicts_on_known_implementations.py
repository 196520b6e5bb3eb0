"""Meta-tests: the spec rejects plausible wrong implementations, claim by claim,
accepts correct ones however they compute, and turns misbehaviour into clear
failures rather than a broken run.

Each spec test is called directly with a chosen implementation in place of the
``impl`` fixture; hypothesis runs it under the active profile as usual.
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import Phase, settings

import reference

from spec_tests.claims import CATALOGUE, TESTS_BY_CLAIM
from spec_tests.docs import import_spec_test_modules
from spec_tests.iut import Implementation, ImplementationError, load_implementation
from spec_tests.networks import RandomNetwork

IMPLEMENTATIONS = Path(__file__).parent / "implementations"
import_spec_test_modules()  # so that every claim's tests are registered


def implementation(name: str, timeout_s: float = 30.0):
    return load_implementation(str(IMPLEMENTATIONS / f"{name}.py"), timeout_s)


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
def first_failure_only(test):
    """Run a hypothesis test without shrinking: a meta-test needs the verdict, not the minimal example.
    (Swaps the settings Hypothesis reads from the wrapped test at call time, and restores them.)"""
    current = getattr(test, "_hypothesis_internal_use_settings", None)
    if current is None:
        yield
        return
    test._hypothesis_internal_use_settings = settings(current, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                                                      database=None)
    try:
        yield
    finally:
        test._hypothesis_internal_use_settings = current


def run_claim(claim_id: str, impl) -> tuple[list[AssertionError], list[str]]:
    """Run every test of the claim against impl: (assertion failures, skip reasons).

    Anything else escaping a spec test (a crash inside the spec) is re-raised: that would be a
    spec defect, not a verdict."""
    failures, skips = [], []
    for test in TESTS_BY_CLAIM[claim_id]:
        for kwargs in _calls(test):
            try:
                with first_failure_only(test):
                    test(impl=impl, **kwargs)
            except pytest.skip.Exception as skip:
                skips.append(str(skip))
            except BaseException as error:  # noqa: BLE001 -- sorted below
                leaves = _leaves(error)
                if not all(isinstance(leaf, AssertionError) for leaf in leaves):
                    raise
                failures.extend(leaves)
    return failures, skips


def failures_of_claim(claim_id: str, impl) -> list[AssertionError]:
    return run_claim(claim_id, impl)[0]


SPECIFIED = [c for c, entry in CATALOGUE.items() if not entry.pending]

# wrong implementation -> the claims that must reject it
WRONG = {
    "backward_forgets_sigma_prime": ["P2", "S1a"],
    "backward_transposes_weights": ["P2", "S1a"],
    "forward_skips_last_activation": ["P1"],
    "jacobian_forgets_sigma_prime": ["P3"],
    "weight_gradient_in_wrong_layout": ["P2"],
    "bias_gradient_averaged": ["P2"],
    "bptt_forgets_sigma_prime": ["P5", "S4b"],
    "truncated_bptt": ["P5", "S4a", "S18b"],
    "lstm_onnx_gate_order": ["P7", "P9"],
    "lstm_backward_cell_path_only": ["P8", "S16b"],
    "gru_reset_before_matmul": ["P10"],
    "gru_update_gate_swapped": ["P10"],
    "clip_per_tensor": ["S12a", "S12d"],
    "clip_value_named_norm": ["S12a", "S12b", "S12d"],
    "clip_sum_of_squares_in_dtype": ["S12f", "S12b"],
    "clip_always_rescales": ["S12c", "S12b"],
    "clip_ignores_norm_type": ["S12j"],
    "kaiming_fans_swapped": ["S13b", "S13c"],
    "init_gain_forgotten": ["S13b", "S13c", "S9c"],
    "warmup_from_zero": ["S17b"],
}


@pytest.mark.parametrize(
    "name, claim_id", [(name, c) for name, claims in WRONG.items() for c in claims],
    ids=[f"{name}-is-rejected-by-{c}" for name, claims in WRONG.items() for c in claims],
)
def test_spec_rejects_wrong_implementation(name, claim_id):
    failures = failures_of_claim(claim_id, implementation(name))
    assert failures, f"claim {claim_id} did not catch the wrong implementation {name}.py"


# claims on the functions correct_via_jacobians.py provides (the MLP); for the recurrent claims
# the second correct implementation is PyTorch, which CI checks against the whole spec
MLP_CLAIMS = [c for c in SPECIFIED if c in ("P1", "P2", "P3", "S3a") or CATALOGUE[c].seed in ("S1", "S5", "S9")]


@pytest.mark.parametrize("name", ["correct_via_jacobians"])
@pytest.mark.parametrize("claim_id", MLP_CLAIMS)
def test_spec_accepts_a_correct_implementation_computed_another_way(name, claim_id):
    failures = failures_of_claim(claim_id, implementation(name))
    assert not failures, f"claim {claim_id} flagged the correct implementation {name}.py:\n{failures[0]}"


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
    assert re.search(message, str(failures[0])), str(failures[0])
    assert re.search(rf"{name}\.mlp_\w+\(\n    x = float64 array", str(failures[0])), "the call is named"


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
