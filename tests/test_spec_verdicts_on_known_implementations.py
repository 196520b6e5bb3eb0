"""Meta-tests: the spec rejects plausible wrong implementations, claim by claim,
accepts correct ones however they compute, and turns misbehaviour into clear
failures rather than a broken run.

Each spec test is called directly with a chosen implementation in place of the
``impl`` fixture; hypothesis runs it under the active profile as usual.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

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
    marks = [m for m in getattr(test, "pytestmark", []) if m.name == "parametrize"]
    if not marks:
        return [{}]
    (names, values), = [m.args[:2] for m in marks]
    return [{names: value} for value in values]


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def failures_of_claim(claim_id: str, impl) -> list[AssertionError]:
    """Run every test of the claim against impl; return the assertion failures.

    Anything other than an AssertionError escaping a spec test (a crash inside the
    spec) is re-raised: that would be a spec defect, not a verdict."""
    failures = []
    for test in TESTS_BY_CLAIM[claim_id]:
        for kwargs in _calls(test):
            try:
                test(impl=impl, **kwargs)
            except BaseException as error:  # noqa: BLE001 -- sorted below
                leaves = _leaves(error)
                if not all(isinstance(leaf, AssertionError) for leaf in leaves):
                    raise
                failures.extend(leaves)
    return failures


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
    with pytest.raises(pytest.skip.Exception, match=r"not implemented yet: Task \d+: implement (mlp|rnn|lstm|gru)_"):
        failures_of_claim(claim_id, implementation("student_stub"))


def test_an_implementation_missing_a_function_is_skipped_with_the_function_named():
    partial = Implementation("partial", SimpleNamespace(mlp_forward=reference.mlp_forward))
    with pytest.raises(pytest.skip.Exception, match=r"'partial' does not provide mlp_backward\(\)"):
        failures_of_claim("P2", partial)


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
