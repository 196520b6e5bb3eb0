"""The main job: run the specification against an implementation and print a
conformance table, one row per claim.

    python -m spec_tests                      # the numpy reference
    python -m spec_tests --impl torch         # PyTorch's autograd and modules
    python -m spec_tests --impl my_impl.py    # your own implementation

Exit status: 0 when no claim fails, 1 when one does, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pytest

from .reporting import UNSOUND, ClaimResults, conformance_table

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spec_tests", description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", default=os.environ.get("GRADSPEC_IMPL", "reference"),
                        help="reference (default), torch, a module path, or a .py file")
    parser.add_argument("--profile", choices=["ci", "dev", "thorough"], default=None,
                        help="hypothesis profile (default: $GRADSPEC_PROFILE, else ci)")
    parser.add_argument("--claim", action="append", default=[], metavar="ID",
                        help="only these claims: S1 is S1a, S1b, S1c; S1a only S1a (repeatable, or comma-separated)")
    parser.add_argument("-k", dest="keyword", default=None, help="only tests matching this pytest -k expression")
    parser.add_argument("-n", dest="workers", default=None, help="pytest-xdist workers, e.g. 2 or auto")
    args = parser.parse_args(argv)

    os.environ["GRADSPEC_PROFILE"] = args.profile or os.environ.get("GRADSPEC_PROFILE", "ci")
    if args.impl.endswith(".py"):
        args.impl = str(Path(args.impl).resolve())
    pytest_args = [
        str(ROOT / "spec_tests"), f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"),
        "--impl", args.impl, "-q", "--tb=no", "--no-header", "-rN",
    ]
    for claim_id in args.claim:
        pytest_args += ["--claim", claim_id]
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    if args.workers:
        pytest_args += ["-n", args.workers]
    results = ClaimResults()
    status = pytest.main(pytest_args, plugins=[results])
    if status in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.INTERRUPTED):
        return 2
    verdicts = results.verdicts()
    print()
    print("\n".join(conformance_table(verdicts, args.impl)))
    if not any(v.tests for v in verdicts):
        print("no spec test ran: nothing was checked", file=sys.stderr)
        return 1
    return 1 if any(v.verdict in UNSOUND for v in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
