"""Hostile implementations through the main job: whatever one call does — crash the
interpreter, exit, hang in C, swallow or cancel the timer, raise KeyboardInterrupt,
warn, leave threads running, change numpy's error state — its claim gets a verdict with
the reason, the other claims still run, and the job ends with the right exit status."""

import argparse
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from spec_tests.iut import NOT_IMPLEMENTED_TRIES, Implementation, ImplementationError, parse_timeout
from tests.conformance_table import verdicts_in

ROOT = Path(__file__).resolve().parent.parent

# one function per misbehaviour, each the only implementation of its definition claim
HOSTILE = '''
import ctypes, itertools, os, signal, sys, threading, time, warnings
import numpy as np
import reference
from reference import calculate_gain, kaiming_uniform  # noqa: F401

np.seterr(all="raise")  # at import: must not leak into the spec's own arithmetic


def mlp_forward(x, weights, biases, activation):
    ctypes.string_at(0)  # segmentation fault


def mlp_backward(x, weights, biases, activation, grad_output):
    np.log(np.zeros(1))  # a RuntimeWarning, and a FutureWarning: reported, not failures
    warnings.warn("this API will change", FutureWarning)
    threading.Thread(target=time.sleep, args=(3600,)).start()  # a non-daemon thread left running
    return reference.mlp_backward(x, weights, biases, activation, grad_output)


def mlp_layer_jacobians(x, weights, biases, activation):
    os._exit(3)


def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, activation):
    return sum(itertools.repeat(0))  # a loop in C that holds the GIL and never checks signals


def rnn_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh, activation):
    while True:
        try:
            time.sleep(0.01)
        except BaseException:  # swallows the spec's timer
            pass


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    signal.setitimer(signal.ITIMER_REAL, 0)  # cancels the spec's timer
    while True:
        pass


def lstm_step_jacobians(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    raise KeyboardInterrupt


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    sys.exit(3)


def gru_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh):
    while True:
        time.sleep(0.01)


def clip_grad_value(grads, clip_value):
    if any(np.asarray(g).dtype == np.float16 for g in grads):
        raise NotImplementedError("float16 is next week")
    return [np.asarray(g).copy() for g in grads]  # and wrong: nothing is clipped


def xavier_uniform(shape, gain, seed):
    return reference.xavier_uniform(shape + (), gain, seed)  # needs the shape to stay a tuple
'''

# claim -> (verdict, what its reason must say)
EXPECTED = {
    "P1": ("FAILED", r"mlp_forward\(\) crashed the interpreter \(Segmentation fault\)"),
    "P2": ("PASSED", None),
    "P3": ("FAILED", r"mlp_layer_jacobians\(\) ended the interpreter without an error"),
    "P4": ("FAILED", r"rnn_forward\(\) did not return within 0.5 s, and went on after the interrupt"),
    "P6": ("FAILED", r"rnn_step_jacobians\(\) did not return within 0.5 s, and went on after the interrupt"),
    "P7": ("FAILED", r"lstm_forward\(\) did not return within 0.5 s, and went on after the interrupt"),
    "P9": ("FAILED", r"lstm_step_jacobians\(\) raised KeyboardInterrupt"),
    "P10": ("FAILED", r"gru_forward\(\) raised SystemExit: 3"),
    "P12": ("FAILED", r"gru_step_jacobians\(\) did not return within 0.5 s"),
    "S12k": ("FAILED", r"every entry clipped to"),
    "S13a": ("PASSED", None),
    "S13b": ("PASSED", None),
}


def main_job(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "spec_tests", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
        timeout=timeout, env={"PATH": "/usr/bin:/bin", "GRADSPEC_PROFILE": "ci", "PYTHONPATH": str(ROOT)},
    )


def test_every_misbehaviour_fails_only_its_own_claim_with_the_reason_and_the_job_ends(tmp_path):
    impl = tmp_path / "hostile.py"
    impl.write_text(HOSTILE)
    done = main_job("--impl", impl, "--impl-timeout", "0.5", "-n", "2", "--claim", ",".join(EXPECTED))
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    verdicts = verdicts_in(done.stdout)
    for claim_id, (verdict, reason) in EXPECTED.items():
        assert verdicts.get(claim_id) == verdict, f"{claim_id}: {verdicts.get(claim_id)}, expected {verdict}\n{output}"
        if reason:
            reasons = [line for line in done.stdout.splitlines() if line.startswith(f"  {claim_id} (")]
            assert reasons and re.search(reason, reasons[0]), f"{claim_id}'s reason: {reasons}\n{output}"
    assert "mlp_backward() warned RuntimeWarning: divide by zero encountered in log" in done.stdout
    assert "mlp_backward() warned FutureWarning: this API will change" in done.stdout


def test_a_function_that_raises_not_implemented_for_some_inputs_only_fails_instead_of_skipping():
    def partial(grads, clip_value):
        if grads[0].dtype == np.float16:
            raise NotImplementedError("float16 is next week")
        return grads

    impl = Implementation("partial", SimpleNamespace(clip_grad_value=partial))
    with pytest.raises(pytest.skip.Exception, match="not implemented yet: float16 is next week"):
        impl.clip_grad_value([np.ones(2, dtype=np.float16)], 1.0)  # so far, simply not implemented
    with pytest.raises(ImplementationError, match=r"returned for this input, but raised NotImplementedError for an "
                       r"earlier one \(float16 is next week\): a function is either implemented"):
        impl.clip_grad_value([np.ones(2)], 1.0)
    other = Implementation("partial", SimpleNamespace(clip_grad_value=partial))
    other.clip_grad_value([np.ones(2)], 1.0)
    with pytest.raises(ImplementationError, match=r"raised NotImplementedError \(float16 is next week\) for this "
                       r"input after returning for others"):
        other.clip_grad_value([np.ones(2, dtype=np.float16)], 1.0)


def test_a_first_drawn_input_that_is_not_implemented_cannot_hide_a_wrong_result_for_the_next():
    calls = []

    def implemented_after_the_first_call(grads, clip_value):
        calls.append(clip_value)
        if len(calls) == 1:
            raise NotImplementedError("not for this one")
        return [g * 0 for g in grads]  # and wrong

    impl = Implementation("partial", SimpleNamespace(clip_grad_value=implemented_after_the_first_call))

    @settings(database=None, derandomize=True, max_examples=10, phases=[Phase.generate])
    @given(st.floats(0.5, 2.0))
    def spec_test(clip_value):
        impl.clip_grad_value([np.ones(2)], clip_value)

    with pytest.raises(ImplementationError, match=r"returned for this input, but raised NotImplementedError for an "
                       r"earlier one \(not for this one\)"):
        try:
            spec_test()
        except pytest.skip.Exception as skip:
            pytest.fail(f"the test was skipped ({skip}): a wrong result for the next input stays hidden")
    assert len(calls) >= 2 and calls[1] != calls[0], "the test goes on to another input instead of skipping at the first"


def test_a_function_not_implemented_for_any_input_skips_its_test_after_a_few_tries():
    calls = []

    def stub(grads, clip_value):
        calls.append(clip_value)
        raise NotImplementedError("Task 9: implement clip_grad_value")

    impl = Implementation("stub", SimpleNamespace(clip_grad_value=stub))

    @settings(database=None, derandomize=True, max_examples=10, phases=[Phase.generate])
    @given(st.floats(0.5, 2.0))
    def spec_test(clip_value):
        impl.clip_grad_value([np.ones(2)], clip_value)

    with pytest.raises(pytest.skip.Exception, match="not implemented yet: Task 9: implement clip_grad_value"):
        spec_test()
    assert len(calls) == NOT_IMPLEMENTED_TRIES
    with pytest.raises(pytest.skip.Exception):
        spec_test()
    assert len(calls) == NOT_IMPLEMENTED_TRIES + 1, "a function known to be unimplemented is skipped at once"


def test_arguments_are_copied_keeping_their_types():
    seen = []
    impl = Implementation("x", SimpleNamespace(xavier_uniform=lambda shape, gain, seed: seen.append(shape) or
                                               np.zeros(shape)))
    impl.initialise("xavier_uniform", (2, 3), gain=1.0, seed=0)
    assert seen == [(2, 3)] and type(seen[0]) is tuple


def test_a_run_in_which_every_test_skipped_is_not_green():
    done = main_job("--impl", "os", "-n", "1", "--claim", "P1,S1")
    assert done.returncode == 6, done.stdout + done.stderr
    assert "no claim was checked: every spec test was skipped" in done.stderr


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "1e12", "soon"])
def test_a_time_limit_that_is_not_one_is_refused_naming_what_to_give(value):
    with pytest.raises(argparse.ArgumentTypeError, match=rf"'{re.escape(value)}' is not a time limit: give the seconds"):
        parse_timeout(value)
    assert parse_timeout("0") == 0 and parse_timeout("2.5") == 2.5 and parse_timeout("86400") == 86400


@pytest.mark.parametrize("value", ["-1", pytest.param("nan", marks=pytest.mark.slow)])
def test_a_time_limit_that_is_not_one_is_a_usage_error_naming_the_option(value):
    for command in (["-m", "spec_tests"], ["-m", "pytest", "spec_tests", "-p", "no:xdist"]):
        done = subprocess.run([sys.executable, *command, f"--impl-timeout={value}"], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
        assert done.returncode in (2, 4), done.stdout + done.stderr  # 2: the main job; 4: pytest's usage error
        assert f"argument --impl-timeout: '{value}' is not a time limit" in done.stderr, done.stderr


def test_a_timed_out_call_gives_one_stable_failure_and_a_rerun_command_with_the_time_limit(tmp_path):
    impl = tmp_path / "slow.py"
    impl.write_text("import time\n\ndef mlp_forward(x, weights, biases, activation):\n    while True:\n"
                    "        time.sleep(0.01)\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "spec_tests", "--impl", str(impl), "--impl-timeout", "0.5", "--claim", "P1",
         "-n", "0"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "GRADSPEC_PROFILE": "ci", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Flaky" not in done.stdout and "Inconsistent results" not in done.stdout, done.stdout
    assert "mlp_forward() did not return within 0.5 s" in done.stdout
    assert re.search(r"rerun: GRADSPEC_PROFILE=ci pytest --impl \S+slow\.py --impl-timeout 0\.5 spec_tests/", done.stdout)
