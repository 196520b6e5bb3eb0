"""Known deviations of an implementation from the spec: spec_tests/expected_failures/NAME.toml.

Each [[deviation]] names a spec test (optionally one parametrization, in brackets), the claim it
asserts, the reason and the evidence.  The pytest plugin (spec_tests/plugin.py) turns them into strict expected failures.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

DEVIATIONS_DIR = Path(__file__).resolve().parent / "expected_failures"  # package data, shipped in the wheel


@dataclass(frozen=True)
class Deviation:
    claim: str
    test: str
    reason: str
    evidence: str


class Deviations:
    def __init__(self, entries: list[Deviation], source: Path | None):
        self.entries, self.source = entries, source

    def matching(self, nodeid: str) -> Deviation | None:
        for entry in self.entries:
            if nodeid == entry.test or ("[" not in entry.test and nodeid.split("[", 1)[0] == entry.test):
                return entry
        return None


def read_deviations(path: Path) -> list[Deviation]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise pytest.UsageError(f"cannot read the expected failures in {path}: {error}") from None
    entries = []
    for index, raw in enumerate(data.get("deviation", [])):
        missing = {"claim", "test", "reason", "evidence"} - set(raw)
        if missing:
            raise pytest.UsageError(f"{path}: deviation #{index + 1} lacks {sorted(missing)}")
        entries.append(Deviation(raw["claim"], raw["test"], raw["reason"], raw["evidence"]))
    return entries


def load_deviations(option: str | None, impl_name: str) -> Deviations:
    if option:
        path = Path(option)
        if not path.is_file():
            raise pytest.UsageError(f"--expected-failures: no such file {path.resolve()}")
    else:
        path = DEVIATIONS_DIR / f"{impl_name}.toml"
        if not path.is_file():
            return Deviations([], None)
    return Deviations(read_deviations(path), path)
