"""Loading an implementation, as a new user gets it wrong: each problem is a usage error that leads with
the implementation's own (the main job exits 2, pytest with its usage-error status 4), never pytest's
INTERNALERROR; a relative .py path is taken from the caller's folder; a file may import its siblings; an
unknown hypothesis profile is refused by name; what an implementation prints is capped."""

import hashlib
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from spec_tests.iut import (
    CALLER_DIR_ENV_VAR,
    OUTPUT_LIMIT_CHARS,
    _capped_output,
    load_implementation,
    resolve_implementation_path,
)

ROOT = Path(__file__).resolve().parent.parent
ENV = {"PATH": "/usr/bin:/bin", "GRADSPEC_PROFILE": "ci", "PYTHONPATH": str(ROOT)}


def run(*args, cwd=ROOT, **env):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**ENV, **env})


def main_job(*args, **kwargs):
    return run("-m", "spec_tests", "-n", "1", *args, **kwargs)


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


HOSTILE = {  # file text, the first line of the error after "--impl PATH: ", the implementation's line shown
    "syntax_error": ("x = 1\n\ndef f(:\n", "importing it raised SyntaxError: invalid syntax", "def f(:"),
    "raises": ("import numpy\n\n1 / 0\n", "importing it raised ZeroDivisionError: division by zero", "1 / 0"),
    "exits": ("import sys\nsys.exit(3)\n", "importing it called sys.exit(3)", "sys.exit(3)"),
    "missing_dependency": ("import no_such_package_xyz\n",
                           "importing it raised ModuleNotFoundError: No module named 'no_such_package_xyz'",
                           "import no_such_package_xyz"),
}


@pytest.mark.parametrize("case", [pytest.param(c, marks=[] if c == "raises" else pytest.mark.slow) for c in sorted(HOSTILE)])
def test_an_implementation_that_fails_to_import_is_a_usage_error_that_leads_with_its_traceback(tmp_path, case):
    source, problem, line = HOSTILE[case]
    path = write(tmp_path, f"{case}.py", source)
    for done, status in ((main_job("--impl", str(path)), 2),
                         (run("-m", "pytest", "spec_tests", "--impl", str(path), "-q"), pytest.ExitCode.USAGE_ERROR)):
        output = done.stdout + done.stderr
        assert done.returncode == status, output
        assert done.stderr.splitlines()[0].startswith(f"ERROR: --impl {path}: {problem}"), output
        assert f'File "{path}", line' in output and line in output, output
        for machinery in ("INTERNALERROR", "importlib", "_pytest", "pluggy", "iut.py", "Traceback"):
            assert machinery not in output, output


def test_a_failure_inside_a_module_path_shows_the_module_s_frames(tmp_path):
    write(tmp_path, "hostile_pkg/__init__.py", "")
    write(tmp_path, "hostile_pkg/impl.py", "def f():\n    raise RuntimeError('no GPU')\n\nf()\n")
    done = main_job("--impl", "hostile_pkg.impl", PYTHONPATH=f"{ROOT}{os.pathsep}{tmp_path}")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "ERROR: --impl hostile_pkg.impl: importing it raised RuntimeError: no GPU", done.stderr
    assert "in <module>" in lines[1] and "in f" in lines[3] and "importlib" not in done.stderr, done.stderr


def test_an_empty_impl_is_a_usage_error_that_says_what_to_give():
    for done in (main_job("--impl", ""), main_job(GRADSPEC_IMPL="")):
        assert done.returncode == 2, done.stderr
        first = done.stderr.splitlines()[0]
        assert first.startswith("ERROR: --impl is empty") and "'reference'" in first and ".py" in first, first


def test_a_missing_file_names_the_path_given_and_where_it_looked(tmp_path):
    done = main_job("--impl", "sub/nope.py", GRADSPEC_CALLER_DIR=str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.splitlines()[0].startswith(f"ERROR: --impl sub/nope.py: no such file {tmp_path}/sub/nope.py")


def test_a_py_implementation_can_import_a_module_next_to_it_also_from_inside_a_function(tmp_path):
    write(tmp_path, "helpers.py", "from reference import *\n")
    write(tmp_path, "later.py", "from reference import mlp_forward\n")
    write(tmp_path, "my_impl.py", """
        from helpers import *

        def mlp_forward(*args):
            import later  # imported when called, after loading
            return later.mlp_forward(*args)
    """)
    done = main_job("--impl", str(tmp_path / "my_impl.py"), "--claim", "P1,P2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split()[2] for line in done.stdout.splitlines() if line.split()[:1] in (["P1"], ["P2"])] \
        == ["PASSED", "PASSED"], done.stdout


@pytest.mark.slow
def test_a_relative_py_path_is_taken_from_the_caller_s_folder_also_in_gradspec_impl(tmp_path):
    caller, elsewhere = tmp_path / "caller", tmp_path / "elsewhere"
    write(caller, "my_impl.py", "from reference import *\n")
    elsewhere.mkdir()
    for args, env in ((["--impl", "my_impl.py"], {}), ([], {"GRADSPEC_IMPL": "my_impl.py"})):
        done = main_job(*args, "--claim", "P1", cwd=elsewhere, GRADSPEC_CALLER_DIR=str(caller), **env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert str(caller / "my_impl.py") in done.stdout, done.stdout  # the table's title
    done = main_job("--impl", "my_impl.py", "--claim", "P1", cwd=caller)  # no GRADSPEC_CALLER_DIR: the cwd
    assert done.returncode == 0, done.stdout + done.stderr


def test_resolve_implementation_path(tmp_path, monkeypatch):
    monkeypatch.delenv(CALLER_DIR_ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_implementation_path("a/b.py") == tmp_path.resolve() / "a" / "b.py"
    monkeypatch.setenv(CALLER_DIR_ENV_VAR, str(tmp_path / "c"))
    assert resolve_implementation_path("b.py") == tmp_path.resolve() / "c" / "b.py"
    assert resolve_implementation_path("/x/b.py") == Path("/x/b.py")


def _setup_is_done() -> bool:
    stamp = ROOT / ".venv" / ".gradspec-setup"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes())
    return stamp.is_file() and stamp.read_text().strip() == wanted.hexdigest()


@pytest.mark.slow
@pytest.mark.skipif(not _setup_is_done(), reason="bin/* would first install .venv")
@pytest.mark.parametrize("command", [["bin/conform", "--claim", "P1"],
                                     ["bin/test", "spec_tests", "-n", "0", "-k", "P1"]])
def test_bin_commands_run_from_another_folder_find_a_relative_implementation(tmp_path, command):
    write(tmp_path, "my_impl.py", "from reference import *\n")
    env = {**os.environ, "GRADSPEC_PROFILE": "ci"}
    env.pop(CALLER_DIR_ENV_VAR, None)
    done = subprocess.run([str(ROOT / command[0]), *command[1:], "--impl", "my_impl.py"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run([str(ROOT / command[0]), *command[1:], "--impl", "nope.py"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env=env)
    assert f"no such file {tmp_path.resolve()}/nope.py" in done.stderr, done.stdout + done.stderr


def test_load_implementation_in_process_trims_the_traceback_to_the_implementation(tmp_path):
    write(tmp_path, "helper_that_fails.py", "def boom():\n    return {}['key']\n")
    path = write(tmp_path, "uses_a_failing_helper.py", "import helper_that_fails\nhelper_that_fails.boom()\n")
    before = list(sys.path)
    with pytest.raises(pytest.UsageError) as raised:
        load_implementation(str(path))
    assert sys.path == before  # a file that did not load leaves no trace on the import path
    sys.modules.pop("helper_that_fails", None)
    lines = str(raised.value).splitlines()
    assert lines[0] == f"--impl {path}: importing it raised KeyError: 'key'"
    assert [line for line in lines[1:] if line.strip().strip("~^")] == [  # without 3.11's carets
        f'  File "{path}", line 2, in <module>', "    helper_that_fails.boom()",
        f'  File "{tmp_path / "helper_that_fails.py"}", line 2, in boom', "    return {}['key']"]


# -- what an implementation prints --------------------------------------------------------------------


def test_capped_output_keeps_the_first_characters_of_each_stream_and_counts_the_rest(monkeypatch):
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    with _capped_output(limit=10):
        assert sys.stdout.write("0123456") == 7
        print("789abc")
        sys.stderr.writelines(["e" * 4, "f" * 4])
        sys.stdout.flush()
    assert sys.stdout is out and sys.stderr is err
    note = "[gradspec: 4 more characters written to sys.stdout in this call were dropped; the first 10 are kept]"
    assert out.getvalue().splitlines()[:2] == ["0123456789", note]
    assert err.getvalue() == "eeeeffff"  # under the limit: as written, no note


def test_capped_output_restores_the_streams_after_an_exception_or_a_replacement(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    with pytest.raises(ZeroDivisionError), _capped_output():
        sys.stdout = io.StringIO()  # an implementation that redirects output and never puts it back
        _ = 1 / 0
    assert sys.stdout is out
    with pytest.raises(TypeError), _capped_output():
        sys.stdout.write(b"bytes")  # the stream's own error
    with _capped_output():
        print("x" * (OUTPUT_LIMIT_CHARS * 500))  # 1 MB from one call
    assert len(out.getvalue()) < OUTPUT_LIMIT_CHARS + 200
    assert f"{OUTPUT_LIMIT_CHARS * 499 + 1} more characters" in out.getvalue()


@pytest.mark.slow
def test_an_implementation_that_prints_a_megabyte_at_import_prints_a_little(tmp_path):
    path = write(tmp_path, "loud.py", "print('x' * 1_000_000)\nfrom reference import *\n")
    done = main_job("--impl", str(path), "--claim", "P1")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) < 20_000 and "more characters written to sys.stdout" in done.stdout


# -- hypothesis profiles -------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["main job", pytest.param("pytest", marks=pytest.mark.slow),
                                 pytest.param("--hypothesis-profile", marks=pytest.mark.slow)])
def test_an_unknown_profile_is_refused_by_name_with_the_profiles_that_exist(how):
    if how == "main job":
        done, status, source = main_job("--claim", "S1c", GRADSPEC_PROFILE="bogus"), 2, "GRADSPEC_PROFILE"
    elif how == "pytest":
        done = run("-m", "pytest", "spec_tests", "-k", "S1c", GRADSPEC_PROFILE="bogus")
        status, source = pytest.ExitCode.USAGE_ERROR, "GRADSPEC_PROFILE"
    else:
        done = run("-m", "pytest", "spec_tests", "-k", "S1c", "--hypothesis-profile", "bogus")
        status, source = pytest.ExitCode.USAGE_ERROR, "--hypothesis-profile"
    assert done.returncode == status, done.stdout + done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"ERROR: {source}=bogus: no such hypothesis profile"), done.stderr
    assert all(name in first for name in ("ci", "dev", "thorough")), first
    assert "Traceback" not in done.stdout + done.stderr and "InvalidArgument" not in done.stdout + done.stderr
