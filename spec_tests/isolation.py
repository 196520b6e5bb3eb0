"""Keeping a hostile implementation from breaking the run.

An implementation under test is someone else's code.  Inside one call it may raise
anything, hang in Python or in C, cancel or swallow the spec's timer, print
megabytes, warn, change numpy's floating-point state, or kill the interpreter.  The
boundary (spec_tests/iut.py) turns each into a failed claim and goes on:

* the time limit is a SIGALRM timer that raises inside the call (it interrupts Python
  code); the Watchdog backs it up: a call still running a grace period after its limit
  — a loop in C code that never checks signals, or an implementation that swallowed or
  cancelled the timer — ends the process, recording why;
* a process that dies inside a call (segfault, ``os._exit``, abort) is replaced by
  pytest-xdist, which reports the test that was running as failed; conftest.py turns
  that report into the claim's failure, with the reason read from here: the function
  each process was calling (kept in a small shared-memory record per process), and
  the faulthandler output of the process (signal and traceback);
* a function that hung or crashed once is not called again, in any process of the run:
  its later calls fail at once with the same reason.

The processes of one run share a directory, named by the GRADSPEC_RUN_STATE
environment variable that conftest.py sets before pytest-xdist starts its workers.
Without pytest-xdist (``-n 0``) a hang in C or a crash still ends the run: the main
job and ``bin/test`` always use workers.
"""

from __future__ import annotations

import contextlib
import faulthandler
import hashlib
import mmap
import os
import signal
import sys
import threading
import time
from pathlib import Path

STATE_ENV_VAR = "GRADSPEC_RUN_STATE"
_RECORD_SIZE = 256
CORES = os.cpu_count() or 1


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


class RunState:
    """What the processes of one run know about the implementation's broken functions."""

    def __init__(self, implementation: str, directory: str | os.PathLike | None = None):
        """implementation: the name it was loaded by; each implementation's broken functions are its own."""
        directory = directory if directory is not None else os.environ.get(STATE_ENV_VAR)
        self.directory = Path(directory) if directory else None
        self._broken_dir = None
        if self.directory is not None:
            self._broken_dir = self.directory / ("broken-" + hashlib.sha1(implementation.encode()).hexdigest()[:16])
        self._broken: dict[str, str] = {}
        self._looked_up: set[str] = set()
        self._record: mmap.mmap | None = None

    _fault_file = None  # one per process
    # -- functions that hung or crashed -------------------------------------------------

    def broken(self, function: str) -> str | None:
        """Why the function must not be called again, or None.  Another process's record is read the first
        time this process asks about the function (a replacement worker learns what its predecessor hit)."""
        if function not in self._looked_up and self._broken_dir is not None:
            self._looked_up.add(function)
            path = self._broken_dir / function
            if path.exists():
                self._broken[function] = path.read_text()
        return self._broken.get(function)

    def mark_broken(self, function: str, reason: str) -> None:
        self._broken[function] = reason
        if self._broken_dir is not None:
            self._broken_dir.mkdir(exist_ok=True)
            (self._broken_dir / function).write_text(reason)

    # -- what this process is calling now ---------------------------------------------

    def calling(self, function: str | None) -> None:
        """Record the function this process is inside (None: none), where the controller can read it
        after the process dies.  A shared-memory write: cheap enough for every call."""
        if self.directory is None:
            return
        if self._record is None:
            path = self.directory / f"calling-{worker_id()}"
            path.write_bytes(b"\0" * _RECORD_SIZE)
            with path.open("r+b") as file:
                self._record = mmap.mmap(file.fileno(), _RECORD_SIZE)
        data = (function or "").encode()[: _RECORD_SIZE - 1]
        self._record[:_RECORD_SIZE] = data + b"\0" * (_RECORD_SIZE - len(data))

    def faulthandler_file(self):
        """A file for this process's faulthandler output (fatal signals, time-outs and their tracebacks),
        kept open for the life of the process; None outside a worker (faulthandler then writes to stderr)."""
        if self.directory is None or "PYTEST_XDIST_WORKER" not in os.environ:
            return None
        if RunState._fault_file is None:
            RunState._fault_file = (self.directory / f"fault-{worker_id()}").open("w")
        return RunState._fault_file

    def last_words(self, worker: str) -> tuple[str | None, str]:
        """(the function the worker was calling when it died, what its faulthandler wrote)."""
        if self.directory is None:
            return None, ""
        record = self.directory / f"calling-{worker}"
        function = record.read_bytes().split(b"\0", 1)[0].decode() if record.exists() else ""
        fault = self.directory / f"fault-{worker}"
        return (function or None), (fault.read_text(errors="replace") if fault.exists() else "")


def describe_death(function: str | None, fault: str, broken_reason: str | None, limit_s: float) -> str:
    """One line saying how the process running a test died, for the claim's failure."""
    where = f"{function}() " if function else "the implementation "
    if broken_reason:
        return f"{where}{broken_reason}"
    if fault.startswith(("Current thread", "Thread 0x")):  # the CPU-time backstop's stack dump
        return f"{where}{overran(limit_s)}"
    for line in fault.splitlines():
        if line.startswith("Fatal Python error:"):
            return f"{where}crashed the interpreter ({line.removeprefix('Fatal Python error: ').strip()})"
    if function:
        return f"{function}() ended the interpreter without an error (os._exit, or a signal that kills silently)"
    return "the process running this test died outside the implementation's functions"


class Watchdog:
    """Ends the process when a call overruns its time limit by more than a grace period.

    Two backstops behind the SIGALRM timer, both cheap per call (no thread is started per call):

    * a daemon thread polls the current call's deadline: it catches a Python loop that
      swallowed or cancelled the timer (Python code lets other threads run);
    * a CPU-time timer (ITIMER_PROF) whose signal kills the process after faulthandler has
      written the stack to the fault file: it catches a loop in C code that holds the GIL
      (sum(itertools.repeat(0))), where no Python code, thread or handler can run.  CPU time
      of all threads counts, so its limit is scaled by the number of cores: such a loop is
      caught after at most (limit + grace) × cores seconds.
    """

    def __init__(self, state: RunState):
        self.state = state
        self._current: tuple[str, float, float] | None = None  # (function, deadline, limit)
        self._started = False

    def _start(self):
        self._started = True
        threading.Thread(target=self._watch, name="gradspec-watchdog", daemon=True).start()
        if hasattr(signal, "ITIMER_PROF") and threading.current_thread() is threading.main_thread():
            faulthandler.register(signal.SIGPROF, file=self.state.faulthandler_file() or sys.stderr, chain=True)

    @contextlib.contextmanager
    def watching(self, function: str, limit_s: float):
        if limit_s <= 0:
            yield
            return
        if not self._started:
            self._start()
        allowed = limit_s + grace_s(limit_s)
        self._current = (function, time.monotonic() + allowed, limit_s)
        cpu_timer = hasattr(signal, "ITIMER_PROF") and threading.current_thread() is threading.main_thread()
        if cpu_timer:
            signal.setitimer(signal.ITIMER_PROF, allowed * CORES)
        try:
            yield
        finally:
            if cpu_timer:
                signal.setitimer(signal.ITIMER_PROF, 0)
            self._current = None

    def _watch(self):
        while True:
            time.sleep(0.05)
            current = self._current
            if current is not None and time.monotonic() > current[1]:
                function, _, limit = current
                self.state.mark_broken(function, overran(limit))
                sys.stderr.write(f"\ngradspec: {function}() {overran(limit)}; ending this process\n")
                sys.stderr.flush()
                os._exit(70)


def overran(limit_s: float) -> str:
    return (f"did not return within {limit_s:g} s, and went on after the interrupt (a loop in C code, "
            "or an implementation that swallowed or cancelled the timer)")


def grace_s(limit_s: float) -> float:
    """How long past its limit a call may run before the watchdog ends the process: the SIGALRM
    timer gets the first chance."""
    return min(10.0, max(1.0, 0.25 * limit_s))


class UserInterrupt:
    """Tells a Ctrl-C from the user (which must stop the run) from a KeyboardInterrupt the
    implementation raised itself (which fails its claim).  Its SIGINT handler, installed once,
    notes the press and raises KeyboardInterrupt as Python's own does."""

    def __init__(self):
        self.pressed = False
        self._installed = False

    @contextlib.contextmanager
    def watching(self):
        self.pressed = False
        if not self._installed and threading.current_thread() is threading.main_thread() \
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, self._on_interrupt)
            self._installed = True
        yield

    def _on_interrupt(self, signum, frame):
        self.pressed = True
        raise KeyboardInterrupt
