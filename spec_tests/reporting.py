"""Results per claim: the specification reporter (``pytest --spec``) and the
conformance table printed by the main job (``python -m spec_tests``).

A claim's verdict, from the outcomes of its tests:

* PASSED: every test passed.
* PARTIAL: some passed, the others were skipped (a function they need is missing).
* FAILED: a test failed.
* BLOCKED (P2): a test failed, and it called a protocol function whose definition
  claim (P1–P12) failed too: fix that definition first; the failure may follow from it.
* DEVIATES: a known deviation listed in spec_tests/expected_failures/ (a strict expected failure).
* SKIPPED: every test was skipped; NOT RUN: deselected; PENDING: not yet specified.
"""

from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field

from .claims import CATALOGUE
from .iut import DEFINITION_CLAIMS

PASSED, PARTIAL, FAILED, BLOCKED, DEVIATES, SKIPPED, NOT_RUN, PENDING = (
    "passed", "partial", "failed", "blocked", "deviates", "skipped", "not run", "pending")
UNSOUND = (FAILED, BLOCKED)  # verdicts that make the main job exit 1

# where a learner reads about each protocol function (the template's tasks name them too)
DOC_PAGES = {
    "mlp": "docs/depth.md", "rnn": "docs/recurrence.md", "lstm": "docs/recurrence.md",
    "gru": "docs/recurrence.md", "clip": "docs/clipping.md", "adaptive": "docs/clipping.md",
    "warmup": "docs/warmup.md", "sgd": "docs/warmup.md", "calculate": "docs/initialisation.md",
    "xavier": "docs/initialisation.md", "kaiming": "docs/initialisation.md",
    "orthogonal": "docs/initialisation.md", "normal": "docs/initialisation.md",
    "residual": "docs/residual.md",
}
TASK = re.compile(r"Task (\d+): implement (\w+)")


@dataclass
class TestOutcome:
    nodeid: str
    outcome: str
    reason: str
    functions: tuple[str, ...] = ()  # protocol functions the test called


@dataclass
class ClaimVerdict:
    claim_id: str
    verdict: str
    tests: list[TestOutcome] = field(default_factory=list)
    blocked_by: tuple[str, ...] = ()  # definition claims whose failure blocks this one

    @property
    def label(self) -> str:
        if self.verdict == BLOCKED:
            return f"BLOCKED ({', '.join(self.blocked_by)})"
        return self.verdict.upper()


def _reason(report) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return report.longrepr[2].removeprefix("Skipped: ")
    crash = getattr(report.longrepr, "reprcrash", None)
    message = crash.message if crash else (report.longreprtext or "").strip()
    lines = [line for line in message.splitlines() if not re.match(r"\[gw\d+\] ", line)]  # pytest-xdist's header
    first = lines[0] if lines else ""
    # "ImplementationError: mlp_backward() returned …": the exception's class adds nothing for a learner
    return re.sub(r"^[\w.]*(ImplementationError|AssertionError): ", "", first)[:300]


class ClaimResults:
    """A pytest plugin that gathers each test's outcome under the claims it asserts.

    Works under pytest-xdist: the claim IDs and the functions called travel in each
    report's user_properties.
    """

    def __init__(self):
        self.outcomes: dict[str, list[TestOutcome]] = defaultdict(list)
        self.warnings: dict[str, None] = {}  # what the implementation warned, in order, once each

    def pytest_runtest_logreport(self, report):
        properties = dict(report.user_properties)
        for warned in properties.get("warnings", ()):
            self.warnings[re.sub(r" \(\d+×\)$", "", warned)] = None
        claims = properties.get("claims")
        if not claims:
            return
        crashed = report.when not in ("setup", "call", "teardown")  # pytest-xdist's report for a dead worker
        if report.when == "call" or crashed or (report.when == "setup" and not report.passed) or (
            report.when == "teardown" and report.failed
        ):
            outcome = FAILED if report.failed else SKIPPED if report.skipped else PASSED
            reason = "" if report.passed else _reason(report)
            if report.skipped and hasattr(report, "wasxfail"):
                outcome, reason = DEVIATES, report.wasxfail
            functions = tuple(properties.get("functions", ()))
            test = properties.get("spec_test", report.nodeid)  # the same wherever the package lies
            for claim_id in claims:
                self.outcomes[claim_id].append(TestOutcome(test, outcome, reason, functions))

    def verdicts(self) -> list[ClaimVerdict]:
        result = []
        for claim_id, entry in CATALOGUE.items():
            tests = self.outcomes.get(claim_id, [])
            outcomes = {t.outcome for t in tests}
            if entry.pending:
                verdict = PENDING
            elif not tests:
                verdict = NOT_RUN  # deselected, e.g. by -k or --claim
            elif FAILED in outcomes:
                verdict = FAILED
            elif DEVIATES in outcomes:
                verdict = DEVIATES
            elif outcomes == {PASSED}:
                verdict = PASSED
            elif PASSED in outcomes:
                verdict = PARTIAL
            else:
                verdict = SKIPPED
            result.append(ClaimVerdict(claim_id, verdict, tests))
        failed_definitions = {v.claim_id for v in result if v.verdict == FAILED and v.claim_id.startswith("P")}
        for v in result:
            if v.verdict == FAILED and not v.claim_id.startswith("P"):
                called = {f for t in v.tests if t.outcome == FAILED for f in t.functions}
                blockers = sorted({DEFINITION_CLAIMS[f] for f in called if f in DEFINITION_CLAIMS} & failed_definitions,
                                  key=lambda c: int(c[1:]))
                if blockers:
                    v.verdict, v.blocked_by = BLOCKED, tuple(blockers)
        return result


def next_step(verdicts: list[ClaimVerdict]) -> str:
    """What a learner should do next: fix the first failed definition, else write the lowest-numbered
    unfinished task of templates/student.py.  Empty when nothing is left."""
    failed = [v for v in verdicts if v.verdict == FAILED and v.claim_id.startswith("P")]
    if failed:
        v = failed[0]
        functions = sorted({f for t in v.tests for f in t.functions if DEFINITION_CLAIMS.get(f) == v.claim_id})
        return f"next: fix {', '.join(functions) or v.claim_id} — claim {v.claim_id} failed ({CATALOGUE[v.claim_id].title})"
    tasks = {}
    for v in verdicts:
        for t in v.tests:
            if t.outcome == SKIPPED and (match := TASK.search(t.reason)):
                tasks[int(match.group(1))] = match.group(2)
    if not tasks:
        return ""
    number = min(tasks)
    page = DOC_PAGES.get(tasks[number].split("_")[0], "docs/protocol.md")
    return f"next: Task {number} — {tasks[number]}, {page}"


def _counts(verdicts: list[ClaimVerdict]) -> str:
    tally = defaultdict(int)
    for v in verdicts:
        tally[v.verdict] += 1
    order = (PASSED, PARTIAL, FAILED, BLOCKED, DEVIATES, SKIPPED, NOT_RUN, PENDING)
    return ", ".join(f"{tally[k]} {k}" for k in order if tally[k])


def specification_lines(verdicts: list[ClaimVerdict], impl_name: str, verbose: bool) -> list[str]:
    """The results read as a specification: each claim's statement and its verdict."""
    lines = [f"Specification of exploding gradients, checked against implementation {impl_name!r}", ""]
    for v in verdicts:
        entry = CATALOGUE[v.claim_id]
        if v.verdict in (PENDING, NOT_RUN) and not verbose:
            continue
        lines.append(f"{v.label:8} {v.claim_id:5} {entry.title}")
        if verbose and entry.statement:
            lines += textwrap.wrap(entry.statement, 96, initial_indent=" " * 15, subsequent_indent=" " * 15)
        for t in v.tests:
            if t.outcome != PASSED or verbose:
                lines.append(f"{'':15}{t.outcome}: {t.nodeid.split('::')[-1]}" + (f" ({t.reason})" if t.reason else ""))
    lines += ["", f"claims: {_counts(verdicts)}"]
    return lines


def conformance_table(verdicts: list[ClaimVerdict], impl_name: str, warned: list[str] = ()) -> list[str]:
    """claim | level | verdict | tests passed | statement, one row per catalogued claim; then the
    failures, each led by its problem; then the counts and the next step."""
    rows = [("claim", "level", "verdict", "tests", "statement")]
    for v in verdicts:
        entry = CATALOGUE[v.claim_id]
        passed = sum(t.outcome == PASSED for t in v.tests)
        tests = f"{passed}/{len(v.tests)}" if v.tests else "-"
        title = entry.title if not entry.pending else f"{entry.title} [pending: {entry.pending}]"
        level = "" if entry.pending else entry.level
        rows.append((v.claim_id, level, v.label, tests, title))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"Conformance of implementation {impl_name!r} to the exploding-gradients specification", ""]
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 9)
    sections = (("Failed claims:", FAILED, FAILED), ("Blocked claims (fix the failed definition first):", BLOCKED, FAILED),
                ("Known deviations (spec_tests/expected_failures/):", DEVIATES, DEVIATES))
    for heading, verdict, outcome in sections:
        chosen = [v for v in verdicts if v.verdict == verdict]
        if chosen:
            lines += ["", heading]
            for v in chosen:
                for t in v.tests:
                    if t.outcome == outcome:
                        lines.append(f"  {v.claim_id} ({CATALOGUE[v.claim_id].level}): {t.reason}\n      {t.nodeid}")
    if warned:
        lines += ["", "Implementation warnings (reported, not failures):"] + [f"  {w}" for w in warned]
    lines += ["", f"claims: {_counts(verdicts)}"]
    step = next_step(verdicts)
    if step:
        lines.append(step)
    return lines
