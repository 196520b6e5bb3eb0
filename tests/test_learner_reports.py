"""The reports a learner reads, from the student template as a learner fills it in: the
problem leads, a definition's failure blocks the theorems that use it, a claim with
unwritten functions is partial, and the run ends with the next task."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from spec_tests.claims import select_claims
from tests.conformance_table import verdicts_in

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = (ROOT / "templates" / "student.py").read_text()


def learner(tmp_path, **bodies) -> Path:
    """The template with some tasks written: function name -> the body that replaces its raise."""
    source = TEMPLATE
    for function, body in bodies.items():
        stub = re.search(rf'raise NotImplementedError\("Task \d+: implement {function}\b[^\n]*\n', source)
        source = source[:stub.start()] + body.strip() + "\n" + source[stub.end():]
    path = tmp_path / "my_impl.py"
    path.write_text(source)
    return path


FORWARD = "import reference\n    return reference.mlp_forward(x, weights, biases, activation)"
BIAS_SHAPE_BUG = ("import reference\n    g, w, b = reference.mlp_backward(x, weights, biases, activation, grad_output)\n"
                  "    return g, w, [b_l[None, :] for b_l in b]  # (1, d) instead of (d,)")
WARMUP = "import reference\n    return reference.warmup_schedule(num_steps, peak_lr, warmup_steps)"
FORGETS_SIGMA_PRIME = (ROOT / "tests" / "implementations" / "backward_forgets_sigma_prime.py")


def main_job(*args):
    return subprocess.run(
        [sys.executable, "-m", "spec_tests", "-n", "1", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "GRADSPEC_PROFILE": "ci", "PYTHONPATH": str(ROOT)},
    )


def test_with_only_the_first_task_written_the_run_names_the_next_task_without_skip_noise(tmp_path):
    impl = learner(tmp_path, mlp_forward=FORWARD)
    done = main_job("--impl", impl)
    assert done.returncode == 0, done.stdout + done.stderr
    assert verdicts_in(done.stdout)["P1"] == "PASSED"
    assert done.stdout.rstrip().endswith("next: Task 2 — mlp_backward, docs/depth.md"), done.stdout[-500:]
    pytest_run = subprocess.run(
        [sys.executable, "-m", "pytest", "spec_tests", "--impl", str(impl), "-q"], cwd=ROOT, capture_output=True,
        text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "GRADSPEC_PROFILE": "ci", "PYTHONPATH": str(ROOT)})
    assert "Failing explicit example" not in pytest_run.stdout, "a skipped test is not a failing example"
    assert "SKIPPED [" not in pytest_run.stdout, "one line per skipped test is noise; the next task says it"
    assert "next: Task 2 — mlp_backward, docs/depth.md" in pytest_run.stdout


def test_a_malformed_output_leads_with_the_problem_fails_its_definition_and_only_the_tests_that_use_it(tmp_path):
    impl = learner(tmp_path, mlp_forward=FORWARD, mlp_backward=BIAS_SHAPE_BUG, warmup_schedule=WARMUP)
    done = main_job("--impl", impl, "--claim", "P2,S5a,S17b")
    assert done.returncode == 1, done.stdout + done.stderr
    verdicts = verdicts_in(done.stdout)
    assert verdicts["P2"] == "FAILED", done.stdout
    assert verdicts["S5a"] == "PASSED", "S5a reads only the hidden-state gradients: a bias shape cannot fail it"
    assert verdicts["S17b"] == "PARTIAL", "one S17b test needs warmup_cosine_schedule, not written yet"
    assert "  P2 (required): mlp_backward() returned biases[0] of shape (1, 1); expected (1,)" in done.stdout
    assert "next: fix mlp_backward — claim P2 failed" in done.stdout


def test_a_theorem_that_fails_with_its_definition_is_reported_as_blocked_by_it():
    done = main_job("--impl", FORGETS_SIGMA_PRIME, "--claim", "P2,S1a")
    assert done.returncode == 1, done.stdout + done.stderr
    verdicts = verdicts_in(done.stdout)
    assert verdicts["P2"] == "FAILED" and verdicts["S1a"] == "BLOCKED (P2)", done.stdout
    assert "Blocked claims (fix the failed definition first):" in done.stdout


def test_claim_selection_is_exact():
    assert select_claims(["S1"]) == {"S1a", "S1b", "S1c"}
    assert select_claims(["S1a"]) == {"S1a"}
    assert select_claims(["P1"]) == {"P1"}
    assert select_claims(["P1, S12k", "S4"]) == {"P1", "S12k", "S4a", "S4b", "S4c"}
    assert select_claims([]) is None
    with pytest.raises(pytest.UsageError, match="--claim S99: no such claim"):
        select_claims(["S99"])


@pytest.mark.slow
def test_the_main_job_runs_only_the_selected_claims():
    done = main_job("--claim", "S1c")
    assert done.returncode == 0, done.stdout + done.stderr
    verdicts = verdicts_in(done.stdout)
    assert verdicts["S1c"] == "PASSED"
    assert {c for c, v in verdicts.items() if v != "NOT RUN" and c != "S1c"} == set(), done.stdout


def test_the_readme_sample_is_the_real_output_of_its_command():
    from spec_tests.docs import without_numbers

    readme = (ROOT / "README.md").read_text()
    sample = re.search(r"```\n\$ bin/conform (.*?)\n(.*?)```", readme, flags=re.DOTALL)
    assert sample, "README.md has no sample run of bin/conform"
    args = sample.group(1).split()
    done = main_job(*args)
    shown = [line for line in sample.group(2).splitlines() if line and not line.startswith("...")]
    real = without_numbers(done.stdout)
    stale = [line for line in shown if without_numbers(line) not in real]
    assert not stale, f"README.md's sample is stale; `bin/conform {sample.group(1)}` no longer prints:\n" + "\n".join(stale)
