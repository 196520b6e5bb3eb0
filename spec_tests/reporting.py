"""Results per claim: the specification reporter (``pytest --spec``) and the
conformance table printed by the main job (``python -m spec_tests``)."""

from __future__ import annotations

import textwrap
from collections import defaultdict
from dataclasses import dataclass, field

from .claims import CATALOGUE

PASSED, FAILED, DEVIATES, SKIPPED, NOT_RUN, PENDING = "passed", "failed", "deviates", "skipped", "not run", "pending"


@dataclass
class ClaimVerdict:
    claim_id: str
    verdict: str
    tests: list[tuple[str, str, str]] = field(default_factory=list)  # (nodeid, outcome, reason)


class ClaimResults:
    """A pytest plugin that gathers each test's outcome under the claims it asserts.

    Works under pytest-xdist: the claim IDs travel in each report's user_properties.
    """

    def __init__(self):
        self.outcomes: dict[str, list[tuple[str, str, str]]] = defaultdict(list)

    def pytest_runtest_logreport(self, report):
        claims = dict(report.user_properties).get("claims")
        if not claims:
            return
        if report.when == "call" or (report.when == "setup" and not report.passed) or (
            report.when == "teardown" and report.failed
        ):
            outcome = FAILED if report.failed else SKIPPED if report.skipped else PASSED
            reason = ""
            if report.skipped and hasattr(report, "wasxfail"):
                outcome, reason = DEVIATES, report.wasxfail
            elif report.skipped and isinstance(report.longrepr, tuple):
                reason = report.longrepr[2].removeprefix("Skipped: ")
            elif report.failed:
                crash = getattr(report.longrepr, "reprcrash", None)
                reason = crash.message.splitlines()[0] if crash else (report.longreprtext or "").strip()[:200]
            for claim_id in claims:
                self.outcomes[claim_id].append((report.nodeid, outcome, reason))

    def verdicts(self) -> list[ClaimVerdict]:
        result = []
        for claim_id, entry in CATALOGUE.items():
            tests = self.outcomes.get(claim_id, [])
            if entry.pending:
                verdict = PENDING
            elif not tests:
                verdict = NOT_RUN  # deselected, e.g. by -k
            elif any(o == FAILED for _, o, _ in tests):
                verdict = FAILED
            elif any(o == DEVIATES for _, o, _ in tests):
                verdict = DEVIATES
            elif any(o == PASSED for _, o, _ in tests):
                verdict = PASSED
            else:
                verdict = SKIPPED
            result.append(ClaimVerdict(claim_id, verdict, tests))
        return result


def _counts(verdicts: list[ClaimVerdict]) -> str:
    tally = defaultdict(int)
    for v in verdicts:
        tally[v.verdict] += 1
    return ", ".join(f"{tally[k]} {k}" for k in (PASSED, FAILED, DEVIATES, SKIPPED, NOT_RUN, PENDING) if tally[k])


def specification_lines(verdicts: list[ClaimVerdict], impl_name: str, verbose: bool) -> list[str]:
    """The results read as a specification: each claim's statement and its verdict."""
    lines = [f"Specification of exploding gradients, checked against implementation {impl_name!r}", ""]
    for v in verdicts:
        entry = CATALOGUE[v.claim_id]
        if v.verdict in (PENDING, NOT_RUN) and not verbose:
            continue
        lines.append(f"{v.verdict.upper():8} {v.claim_id:5} {entry.title}")
        if verbose and entry.statement:
            lines += textwrap.wrap(entry.statement, 96, initial_indent=" " * 15, subsequent_indent=" " * 15)
        for nodeid, outcome, reason in v.tests:
            if outcome != PASSED or verbose:
                lines.append(f"{'':15}{outcome}: {nodeid.split('::')[-1]}" + (f" ({reason})" if reason else ""))
    lines += ["", f"claims: {_counts(verdicts)}"]
    return lines


def conformance_table(verdicts: list[ClaimVerdict], impl_name: str) -> list[str]:
    """ID | verdict | tests | claim, one row per catalogued claim, then the counts."""
    rows = [("claim", "level", "verdict", "tests", "statement")]
    for v in verdicts:
        entry = CATALOGUE[v.claim_id]
        passed = sum(o == PASSED for _, o, _ in v.tests)
        tests = f"{passed}/{len(v.tests)}" if v.tests else "-"
        title = entry.title if not entry.pending else f"{entry.title} [pending: {entry.pending}]"
        level = "" if entry.pending else entry.level
        rows.append((v.claim_id, level, v.verdict.upper(), tests, title))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"Conformance of implementation {impl_name!r} to the exploding-gradients specification", ""]
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 9)
    for heading, verdict in (("Failed claims:", FAILED), ("Known deviations (expected_failures/):", DEVIATES)):
        chosen = [v for v in verdicts if v.verdict == verdict]
        if chosen:
            lines += ["", heading]
            for v in chosen:
                for nodeid, outcome, reason in v.tests:
                    if outcome == verdict:
                        lines.append(f"  {v.claim_id} ({CATALOGUE[v.claim_id].level}): {nodeid}\n      {reason}")
    lines += ["", f"claims: {_counts(verdicts)}"]
    return lines
