"""The reports: --report-json (valid against spec_tests/report.schema.json), --report-md, JUnit XML
with each test's claims as properties, and docs/libraries.md current with the committed reports.
The runs in a subprocess are `slow` (.ci/run runs them); the committed reports, real gradspec output,
are validated in the default run."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from spec_tests.report import SCHEMA_PATH, render_libraries_page

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parent.parent
WRONG = ROOT / "tests" / "implementations" / "backward_forgets_sigma_prime.py"
REPORTS = ROOT / "docs" / "reports"
S1A_TEST = "spec_tests/test_depth.py::test_gradient_norm_at_every_layer_is_at_most_output_norm_times_product_of_layer_norms"


def validate(report: dict) -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(report), key=str)
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One pytest run of a wrong implementation (P2 fails, P1 passes, S1a's failing test declared a known
    deviation), writing all three reports, from a folder that is not the project's."""
    folder = tmp_path_factory.mktemp("reports")
    deviations = folder / "wrong.toml"
    deviations.write_text(f'[[deviation]]\nclaim = "S1a"\ntest = "{S1A_TEST}"\nreason = "declared by the test"\n'
                          'evidence = "none"\n')
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "spec_tests", "-n", "0", "-q", "-p", "no:cacheprovider",
         "--impl", str(WRONG), "--claim", "P1,P2,S1a", "--expected-failures", str(deviations),
         "--report-json", "r.json", "--report-md", "r.md", "--junitxml", "junit.xml"],
        cwd=folder, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "GRADSPEC_PROFILE": "ci", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    return folder, done


@pytest.mark.slow  # a pytest run in a subprocess (~3 s); the committed reports are checked by default
def test_the_json_report_follows_its_schema_and_says_what_failed_and_how_to_rerun_it(run):
    folder, _ = run
    report = json.loads((folder / "r.json").read_text())
    validate(report)
    claims = {c["id"]: c for c in report["claims"]}
    assert report["implementation"] == {"name": str(WRONG), "kind": "file", "module": f"gradspec_iut_{WRONG.stem}",
                                        "file": str(WRONG)}
    assert report["run"]["profile"] == "ci" and report["run"]["derandomize"] is True
    assert report["run"]["claims_selected"] == ["P1", "P2", "S1a"]
    assert not report["conforms"]
    assert claims["P1"]["verdict"] == "passed" and claims["P1"]["tests"]["passed"] == claims["P1"]["tests"]["total"]
    p2 = claims["P2"]
    assert p2["verdict"] == "failed" and p2["level"] == "required"
    assert p2["failing_tests"] and all(t.startswith("spec_tests/test_") for t in p2["failing_tests"])
    assert p2["problem"] and p2["rerun"].startswith("GRADSPEC_PROFILE=ci pytest --impl ")
    assert "--pyargs spec_tests." in p2["rerun"]  # run from a folder without the spec in it
    assert claims["S1a"]["verdict"] == "deviates"
    assert claims["S1a"]["deviations"] == [{"test": S1A_TEST, "reason": "known deviation (S1a): declared by the test"}]
    assert claims["S1b"]["verdict"] == "not run"
    for key in ("python", "numpy", "hypothesis", "pytest"):
        assert report["versions"][key]


@pytest.mark.slow  # a pytest run in a subprocess (~3 s); the committed reports are checked by default
def test_the_markdown_report_has_a_row_per_claim_and_the_failure_with_its_rerun_command(run):
    folder, _ = run
    text = (folder / "r.md").read_text()
    assert text.startswith(f"# Conformance of `{WRONG}`")
    assert "| P2 | required | FAILED |" in text and "| P1 | required | PASSED | " in text
    assert "## Failures" in text and "rerun: `GRADSPEC_PROFILE=ci pytest" in text


@pytest.mark.slow  # a pytest run in a subprocess (~3 s); the committed reports are checked by default
def test_junit_xml_carries_each_tests_claims_as_properties(run):
    folder, _ = run
    cases = ET.parse(folder / "junit.xml").getroot().iter("testcase")
    claims = {case.get("name"): [p.get("value") for p in case.iter("property") if p.get("name") == "claim"]
              for case in cases}
    assert claims and all(claims.values()), claims
    assert {"P1", "P2"} <= {c for values in claims.values() for c in values}


def test_the_committed_reports_follow_the_schema():
    reports = sorted(REPORTS.glob("*.json"))
    assert {"reference", "torch"} <= {p.stem for p in reports}
    for path in reports:
        validate(json.loads(path.read_text()))


def test_the_libraries_page_is_current_with_the_committed_reports():
    reports = {p.stem: json.loads(p.read_text()) for p in sorted(REPORTS.glob("*.json"))}
    assert (ROOT / "docs" / "libraries.md").read_text() == render_libraries_page(reports), (
        "docs/libraries.md is stale: run `python tools/make_docs.py --libraries` and commit it")
