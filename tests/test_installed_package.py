"""The wheel holds the spec as an installable package: only `reference` and `spec_tests` at the top
level, the expected failures and the report schema as package data, the pytest plugin's entry point and
the `gradspec` command.  (.ci/run installs it into a fresh environment and runs it from another folder.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    folder = tmp_path_factory.mktemp("wheel")
    # from a copy without build/: setuptools would put a stale build/lib (an old layout's files) into the wheel
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__", "site"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--disable-pip-version-check",
         "-q", "-w", str(folder), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = folder.glob("*.whl")
    return zipfile.ZipFile(path)


@pytest.mark.slow
def test_the_wheel_installs_only_the_reference_and_the_spec(wheel):
    top = {name.split("/")[0] for name in wheel.namelist() if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"reference", "spec_tests"}


@pytest.mark.slow
def test_the_wheel_ships_the_expected_failures_the_schema_and_the_adapters(wheel):
    names = set(wheel.namelist())
    for path in sorted((ROOT / "spec_tests" / "expected_failures").glob("*.toml")):
        assert f"spec_tests/expected_failures/{path.name}" in names
    assert {"spec_tests/report.schema.json", "spec_tests/plugin.py", "spec_tests/protocol.py",
            "spec_tests/adapters/torch_autograd.py"} <= names
    assert not any(name.startswith("spec_tests/") and name.endswith("conftest.py") for name in names)


@pytest.mark.slow
def test_the_wheel_declares_the_pytest_plugin_and_the_command(wheel):
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "[pytest11]\nspec_tests.plugin = spec_tests.plugin" in text
    assert "gradspec = spec_tests.__main__:run" in text
