"""The expected-failures files are well-formed: every entry names a collected spec test whose
claims include the entry's claim, and gives its reason and evidence."""

import subprocess
import sys
from pathlib import Path

import pytest

from spec_tests.claims import CATALOGUE, TESTS_BY_CLAIM, node_id
from spec_tests.deviations import DEVIATIONS_DIR, read_deviations
from spec_tests.docs import import_spec_test_modules

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(DEVIATIONS_DIR.glob("*.toml"))
import_spec_test_modules()


@pytest.fixture(scope="module")
def collected_spec_tests():
    done = subprocess.run([sys.executable, "-m", "pytest", "spec_tests", "--collect-only", "-q", "-p", "no:randomly"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return {line.strip() for line in done.stdout.splitlines() if "::" in line}


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_expected_failure_names_a_collected_test_of_its_claim(path, collected_spec_tests):
    entries = read_deviations(path)
    assert entries, f"{path.name} lists no deviation: delete it"
    for entry in entries:
        assert entry.claim in CATALOGUE, f"{path.name}: unknown claim {entry.claim}"
        function = entry.test.split("[", 1)[0]
        assert function in {node_id(t) for t in TESTS_BY_CLAIM.get(entry.claim, [])}, (
            f"{path.name}: {function} does not assert claim {entry.claim}"
        )
        if "[" in entry.test:
            assert entry.test in collected_spec_tests, f"{path.name}: no collected test {entry.test}"
        assert len(entry.reason) > 20 and len(entry.evidence) > 20, f"{path.name}: {entry.test} needs reason and evidence"


def test_a_stale_entry_that_now_passes_fails_the_run(tmp_path):
    stale = tmp_path / "stale.toml"
    stale.write_text(
        '[[deviation]]\nclaim = "S1c"\n'
        'test = "spec_tests/test_depth.py::test_layer_norms_above_one_do_not_imply_growth_nilpotent_layers_annihilate"\n'
        'reason = "pretends the reference deviates here, to show a stale entry is caught"\n'
        'evidence = "none: the reference passes this claim"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "spec_tests/test_depth.py", "-k", "nilpotent", "-q",
         "--expected-failures", str(stale)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "GRADSPEC_PROFILE": "ci", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "XPASS(strict)" in done.stdout and "pretends the reference deviates" in done.stdout


def test_a_known_deviation_is_confirmed_by_its_first_failing_example_without_shrinking(tmp_path):
    """Shrinking a deviation's counterexample is work thrown away (for JAX, a new compilation per call):
    the plugin drops Hypothesis's shrink phase for the tests an expected-failures file lists, and only those."""
    known = tmp_path / "known.toml"
    known.write_text(
        '[[deviation]]\nclaim = "S12d"\n'
        'test = "spec_tests/test_clipping.py::test_every_tensor_is_scaled_by_one_coefficient_so_the_direction_is_kept"\n'
        'reason = "this wrong implementation clips each tensor on its own"\nevidence = "tests/implementations"\n'
    )

    def run(*options):
        return subprocess.run(
            [sys.executable, "-m", "pytest", "spec_tests/test_clipping.py", "-k", "test_every_tensor_is_scaled", "-q",
             "-n", "0", "-p", "no:cacheprovider", "--impl", "tests/implementations/clip_per_tensor.py",
             "--hypothesis-show-statistics", *options],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
            env={"PATH": "/usr/bin:/bin", "GRADSPEC_PROFILE": "ci", "PYTHONPATH": str(ROOT)},
        ).stdout

    listed, unlisted = run("--expected-failures", str(known)), run()
    assert "1 xfailed" in listed and "during generate phase" in listed and "shrink phase" not in listed, listed
    assert "1 failed" in unlisted and "during shrink phase" in unlisted, unlisted
