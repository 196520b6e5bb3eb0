"""Reading the main job's conformance table in the project's own tests."""

import re

ROW = re.compile(r"^(P\d+|S\d+[a-z]?)\s+(required|recommended)\s+(BLOCKED \([^)]*\)|[A-Z]+(?: RUN)?)\s")


def verdicts_in(stdout: str) -> dict[str, str]:
    """claim -> verdict, from the conformance table the main job printed."""
    return {match.group(1): match.group(3) for match in map(ROW.match, stdout.splitlines()) if match}
