"""The main job, run as a user runs it: a conformance table and an exit status."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WRONG = ROOT / "tests" / "implementations" / "backward_forgets_sigma_prime.py"


def run_main_job(*args):
    return subprocess.run(
        [sys.executable, "-m", "spec_tests", "-n", "1", *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "GRADSPEC_PROFILE": "ci", "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.slow
def test_main_job_prints_the_table_and_exits_0_when_every_claim_holds():
    done = run_main_job("--impl", "reference", "--claim", "S1c,P1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Conformance of implementation 'reference'" in done.stdout
    rows = {line.split()[0]: line.split()[2] for line in done.stdout.splitlines()
            if line[:1] in "PS" and len(line.split()) > 3 and line.split()[1] in ("required", "recommended")}
    assert rows["S1c"] == rows["P1"] == "PASSED", done.stdout
    assert rows["P2"] == "NOT", done.stdout  # NOT RUN: deselected by --claim, not skipped


@pytest.mark.slow
def test_main_job_exits_1_and_names_the_failed_claim_for_a_wrong_implementation():
    done = run_main_job("--impl", str(WRONG), "-k", "P2")
    assert done.returncode == 1, done.stdout + done.stderr
    assert any(line.startswith("P2 ") and "FAILED" in line for line in done.stdout.splitlines()), done.stdout
    assert "Failed claims:" in done.stdout and "∂L/∂h_" in done.stdout


def test_main_job_exits_2_with_a_clear_message_for_an_unknown_implementation():
    done = run_main_job("--impl", "no_such_module_xyz")
    assert done.returncode == 2
    assert "cannot import 'no_such_module_xyz'" in done.stdout + done.stderr


def test_pytest_spec_option_prints_claims_and_verdicts_also_under_xdist():
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "spec_tests", "--spec", "-k", "S1c or S5b", "-n", "2", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "GRADSPEC_PROFILE": "ci", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASSED   S1c   Counterexample: layer norms above 1 do not make the gradient grow" in done.stdout
    assert "PASSED   S5b" in done.stdout and "claims: 2 passed" in done.stdout
