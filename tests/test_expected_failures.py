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
