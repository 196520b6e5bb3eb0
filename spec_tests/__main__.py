"""The main job: run the specification against an implementation and print a
conformance table, one row per claim.

    python -m spec_tests                      # the numpy reference
    python -m spec_tests --impl torch         # PyTorch's autograd and modules
    python -m spec_tests --impl my_impl.py    # your own implementation

Exit status: 0 when no claim fails, 1 when one fails (or is blocked), 2 on a usage
error, 6 when nothing was checked (every test skipped: no function implemented).

The implementation runs in pytest-xdist worker processes, so that one that crashes the
interpreter or hangs in C code fails the claim it was running, and the run goes on
(spec_tests/isolation.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pytest

from .iut import DEFAULT_TIMEOUT_S, parse_timeout, resolve_implementation_path
from .reporting import SKIPPED, UNSOUND, ClaimResults, conformance_table

NOTHING_CHECKED = 6  # as plugin.py's: pytest's own exit codes are 0–5

PACKAGE_DIR = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spec_tests", description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", default=os.environ.get("GRADSPEC_IMPL", "reference"),
                        help="reference (default), torch, a module path, or a .py file")
    parser.add_argument("--profile", choices=["ci", "dev", "thorough"], default=None,
                        help="hypothesis profile (default: $GRADSPEC_PROFILE, else ci)")
    parser.add_argument("--claim", action="append", default=[], metavar="ID",
                        help="only these claims: S1 is S1a, S1b, S1c; S1a only S1a (repeatable, or comma-separated)")
    parser.add_argument("-k", dest="keyword", default=None, help="only tests matching this pytest -k expression")
    parser.add_argument("-n", dest="workers", default="auto",
                        help="worker processes the implementation runs in: a number ≥ 1 or auto (default)")
    parser.add_argument("--impl-timeout", type=parse_timeout, default=DEFAULT_TIMEOUT_S,
                        help=f"seconds one call may take before its claim fails (default {DEFAULT_TIMEOUT_S:g}; 0: no limit)")
    parser.add_argument("--report-json", default=None, metavar="PATH",
                        help="also write the verdicts, versions and settings as JSON (spec_tests/report.schema.json)")
    parser.add_argument("--report-md", default=None, metavar="PATH", help="also write the report as Markdown")
    args = parser.parse_args(argv)

    os.environ["GRADSPEC_PROFILE"] = args.profile or os.environ.get("GRADSPEC_PROFILE") or "ci"  # empty: unset
    if args.impl.endswith(".py"):  # from the caller's folder ($GRADSPEC_CALLER_DIR)
        if resolve_implementation_path(args.impl).is_file():  # else loading names the path as given
            args.impl = str(resolve_implementation_path(args.impl))
    # the installed package's own tests, whatever the folder: no ini file (the plugin sets what the spec needs),
    # no conftest.py from the folders above the package, no cache written next to it
    pytest_args = [
        str(PACKAGE_DIR), f"--rootdir={PACKAGE_DIR.parent}", "-c", os.devnull, f"--confcutdir={PACKAGE_DIR}",
        "-p", "spec_tests.plugin", "-p", "no:cacheprovider",
        "--impl", args.impl, "-q", "--tb=no", "--no-header", "-rN",
        # this job runs from inside the spec_tests package, imported before pytest could mark it for assertion
        # rewriting; its test modules are still rewritten, and its own assertions carry their messages
        "-W", "ignore::pytest.PytestAssertRewriteWarning",
    ]
    for option, value in (("--report-json", args.report_json), ("--report-md", args.report_md)):
        if value:
            pytest_args += [option, str(resolve_implementation_path(value))]  # from the caller's folder
    for claim_id in args.claim:
        pytest_args += ["--claim", claim_id]
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    if args.workers != "auto" and not (args.workers.isdigit() and int(args.workers) >= 1):
        parser.error(f"-n {args.workers}: give a number of worker processes ≥ 1, or auto; the main job always runs "
                     "the implementation in workers, so that a crash fails one claim instead of the run")
    # a replaced worker costs a second or two; a hostile implementation may need one per test
    pytest_args += ["-n", args.workers, "--max-worker-restart", "10000", "--impl-timeout", f"{args.impl_timeout!r}"]
    results = ClaimResults()
    status = pytest.main(pytest_args, plugins=[results])
    if status in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.INTERRUPTED):
        return 2
    verdicts = results.verdicts()
    print()
    print("\n".join(conformance_table(verdicts, args.impl, list(results.warnings))))
    if any(v.verdict in UNSOUND for v in verdicts):
        return 1
    if not any(t.outcome != SKIPPED for v in verdicts for t in v.tests):
        print("\nno claim was checked: every spec test was skipped or deselected (exit status 6)", file=sys.stderr)
        return NOTHING_CHECKED
    return 0


def run() -> None:
    """main(), then exit at once: an implementation may leave non-daemon threads running, and they must
    not keep the job from ending."""
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    run()
