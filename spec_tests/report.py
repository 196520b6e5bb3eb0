"""Machine-readable and human-readable reports of a run: ``--report-json PATH`` and ``--report-md PATH``
(pytest, with the spec's plugin, or the main job ``gradspec``).

The JSON follows spec_tests/report.schema.json: the implementation and where it came from, the
versions (Python, numpy, hypothesis, pytest, the framework the implementation loaded, this package and
its git commit when known), the hypothesis profile and seed, and per catalogued claim its verdict,
level, tests passed of total, failing test IDs, the problem (the first failure's first line), a rerun
command, and the reason of each known deviation.  The Markdown report says the same for people.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from .claims import CATALOGUE
from .iut import BUILTIN_IMPLEMENTATIONS, resolve_implementation_path
from .reporting import DEVIATES, FAILED, PASSED, UNSOUND, ClaimVerdict

SCHEMA_PATH = Path(__file__).resolve().parent / "report.schema.json"
SCHEMA_VERSION = 1
DISTRIBUTION = "exploding-gradients-spec"
FRAMEWORKS = ("torch", "jax", "jaxlib", "optax")  # reported when the implementation has imported them


def implementation_origin(name: str, module) -> dict:
    """Where the implementation under test came from: a built-in name, an importable module, or a file."""
    if name in BUILTIN_IMPLEMENTATIONS:
        return {"name": name, "kind": "built-in", "module": BUILTIN_IMPLEMENTATIONS[name], "file": None}
    if name.endswith(".py"):
        return {"name": name, "kind": "file", "module": module.__name__, "file": str(module.__file__)}
    return {"name": name, "kind": "module", "module": module.__name__, "file": getattr(module, "__file__", None)}


def package_commit() -> str | None:
    """The git commit of the clone this package runs from; None when installed (or git is missing)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def versions() -> dict:
    def version(distribution: str) -> str | None:
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        "numpy": version("numpy"),
        "hypothesis": version("hypothesis"),
        "pytest": version("pytest"),
        "frameworks": {name: version(name) for name in FRAMEWORKS if name in sys.modules and version(name)},
        "package": version(DISTRIBUTION),
        "commit": package_commit(),
    }


def claim_entry(v: ClaimVerdict, rerun) -> dict:
    entry = CATALOGUE[v.claim_id]
    failing = [t for t in v.tests if t.outcome == FAILED]
    deviating = [t for t in v.tests if t.outcome == DEVIATES]
    return {
        "id": v.claim_id,
        "title": entry.title,
        "level": entry.level if not entry.pending else None,
        "verdict": v.verdict,
        "blocked_by": list(v.blocked_by),
        "tests": {"passed": sum(t.outcome == PASSED for t in v.tests), "total": len(v.tests)},
        "failing_tests": [t.nodeid for t in failing],
        "problem": failing[0].reason if failing else None,
        "rerun": rerun(failing[0].nodeid) if failing else None,
        "deviations": [{"test": t.nodeid, "reason": t.reason} for t in deviating],
        "pending": entry.pending or None,
    }


def build_report(verdicts: list[ClaimVerdict], implementation: dict, run: dict, rerun) -> dict:
    """The report as a JSON-ready dict (spec_tests/report.schema.json); rerun(test id) gives a command."""
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    return {
        "schema_version": SCHEMA_VERSION,
        "implementation": implementation,
        "versions": versions(),
        "run": run,
        "conforms": not any(v.verdict in UNSOUND for v in verdicts),
        "counts": counts,
        "claims": [claim_entry(v, rerun) for v in verdicts],
    }


def markdown(report: dict) -> str:
    impl, ver, run = report["implementation"], report["versions"], report["run"]
    origin = impl["file"] or impl["module"]
    frameworks = ", ".join(f"{k} {v}" for k, v in ver["frameworks"].items()) or "none"
    lines = [
        f"# Conformance of `{impl['name']}` to the exploding-gradients specification", "",
        f"- implementation: `{impl['name']}` ({impl['kind']}: `{origin}`)",
        f"- verdict: {'conforms (no claim failed)' if report['conforms'] else 'does not conform (a claim failed)'}",
        f"- counts: {', '.join(f'{n} {k}' for k, n in report['counts'].items())}",
        f"- versions: Python {ver['python']}, numpy {ver['numpy']}, hypothesis {ver['hypothesis']}, "
        f"pytest {ver['pytest']}, frameworks: {frameworks}; package {ver['package'] or 'not installed'}"
        + (f" (commit {ver['commit'][:12]})" if ver["commit"] else ""),
        f"- hypothesis profile: {run['profile']}, seed: "
        + ("derandomised" if run["derandomize"] else str(run["seed"]) if run["seed"] is not None else "random"),
        "", "| claim | level | verdict | tests | note |", "|---|---|---|---|---|",
    ]
    for c in report["claims"]:
        note = c["problem"] or "; ".join(sorted({d["reason"] for d in c["deviations"]})) or c["pending"] or ""
        tests = f"{c['tests']['passed']}/{c['tests']['total']}" if c["tests"]["total"] else "-"
        lines.append(f"| {c['id']} | {c['level'] or ''} | {c['verdict'].upper()} | {tests} | {_cell(note)} |")
    failed = [c for c in report["claims"] if c["failing_tests"]]
    if failed:
        lines += ["", "## Failures", ""]
        for c in failed:
            lines += [f"### {c['id']}: {c['title']}", "", f"{c['problem']}", "",
                      *[f"- `{t}`" for t in c["failing_tests"]], "", f"rerun: `{c['rerun']}`", ""]
    return "\n".join(lines).rstrip() + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_reports(config, verdicts: list[ClaimVerdict], impl, chosen: set[str] | None, rerun_command) -> None:
    """Write --report-json / --report-md, when given (a relative path is from the caller's folder)."""
    targets = {kind: config.getoption(f"report_{kind}") for kind in ("json", "md")}
    if not any(targets.values()):
        return
    from hypothesis import settings

    profile = settings.get_profile(settings._current_profile)
    run = {
        "profile": settings._current_profile,
        "derandomize": bool(profile.derandomize),
        "seed": config.getoption("hypothesis_seed", None),
        "max_examples": profile.max_examples,
        "claims_selected": sorted(chosen) if chosen is not None else None,
        "expected_failures": config.getoption("expected_failures"),
    }
    report = build_report(verdicts, implementation_origin(impl.name, impl.module), run,
                          lambda test: rerun_command(config, test))
    if targets["json"]:
        _write(targets["json"], json.dumps(report, indent=2) + "\n")
    if targets["md"]:
        _write(targets["md"], markdown(report))


def _write(given: str, text: str) -> None:
    path = resolve_implementation_path(given)  # relative: from the caller's folder, as --impl file.py
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


LIBRARY_ORDER = ("reference", "torch", "jax")  # then any other report, by name


def render_libraries_page(reports: dict[str, dict]) -> str:
    """docs/libraries.md: the claims × implementations matrix, from one --report-json file per implementation
    (docs/reports/NAME.json), with every deviation's reason."""
    names = sorted(reports, key=lambda n: (LIBRARY_ORDER.index(n) if n in LIBRARY_ORDER else len(LIBRARY_ORDER), n))
    lines = [
        "# Libraries against the specification", "",
        "<!-- generated by tools/make_docs.py --libraries from docs/reports/*.json: do not edit -->", "",
        "Each column is one implementation's run of the whole specification (`gradspec --impl NAME "
        "--report-json docs/reports/NAME.json`, hypothesis profile `ci`); each cell is the claim's verdict. "
        "DEVIATES is a known, documented deviation (`spec_tests/expected_failures/NAME.toml`): its reason follows "
        "the table. Refresh a column by rerunning its command, then `python tools/make_docs.py --libraries`.", "",
        "| implementation | versions | verdict | counts |", "|---|---|---|---|",
    ]
    for name in names:
        r = reports[name]
        ver = r["versions"]
        frameworks = ", ".join(f"{k} {v}" for k, v in sorted(ver["frameworks"].items()))
        versions_cell = f"Python {ver['python']}, numpy {ver['numpy']}" + (f", {frameworks}" if frameworks else "")
        counts = ", ".join(f"{n} {k}" for k, n in r["counts"].items())
        lines.append(f"| `{name}` | {versions_cell} | {'conforms' if r['conforms'] else 'FAILS'} | {counts} |")
    lines += ["", "| claim | level | title | " + " | ".join(f"`{n}`" for n in names) + " |",
              "|---|---|---|" + "---|" * len(names)]
    by_claim = {name: {c["id"]: c for c in reports[name]["claims"]} for name in names}
    claim_ids = list(dict.fromkeys(c["id"] for name in names for c in reports[name]["claims"]))
    for claim_id in claim_ids:
        first = next(by_claim[n][claim_id] for n in names if claim_id in by_claim[n])
        cells = []
        for name in names:
            c = by_claim[name].get(claim_id)
            if c is None:
                cells.append("–")
                continue
            tests = f" {c['tests']['passed']}/{c['tests']['total']}" if c["tests"]["total"] else ""
            cells.append(f"{c['verdict'].upper()}{tests}")
        lines.append(f"| {claim_id} | {first['level'] or ''} | {_cell(first['title'])} | " + " | ".join(cells) + " |")
    deviations = [(name, c) for name in names for c in reports[name]["claims"] if c["deviations"] or c["problem"]]
    if deviations:
        lines += ["", "## Deviations and failures", ""]
        for name, c in deviations:
            reasons = sorted({d["reason"] for d in c["deviations"]} | ({c["problem"]} if c["problem"] else set()))
            for reason in reasons:
                lines.append(f"- `{name}` {c['id']} ({c['verdict']}): {_cell(reason)}")
    return "\n".join(lines) + "\n"
