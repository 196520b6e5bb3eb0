"""The one boundary between the specification and an implementation under test (IUT).

Spec tests never import ``reference`` (or any implementation) themselves: they
receive an :class:`Implementation` and call the protocol functions through it.
Each call here

* skips the test, naming the function, when the implementation does not provide
  it (or raises NotImplementedError, as a student's unfinished stub does);
* turns an exception, a time-out, a wrong structure, shape or dtype, or a
  non-finite value into an :class:`ImplementationError` (a test failure) that
  says what was called, with what, and what came back;
* hands the implementation copies, so it cannot change the spec's inputs.

The protocol itself is written down in docs/protocol.md.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import pytest

from .isolation import RunState, UserInterrupt, Watchdog

BUILTIN_IMPLEMENTATIONS = {
    "reference": "reference",
    "torch": "spec_tests.adapters.torch_autograd",
    "jax": "spec_tests.adapters.jax_optax",  # the optional extra [jax]
}
IMPL_ENV_VAR = "GRADSPEC_IMPL"
DEFAULT_TIMEOUT_S = 30.0
PROTOCOL_DTYPE = np.dtype(np.float64)


class ImplementationError(AssertionError):
    """The implementation under test raised, hung, or returned something malformed."""


# The result types below mirror reference/'s on purpose: the spec keeps its own, so that it never
# imports the reference it is also used to check.  Each field is checked (shape, dtype, finite) when a
# test first reads it, so a test fails only on the outputs it uses.
class Outputs:
    """A named tuple of an implementation's outputs whose fields are checked on first use."""

    _fields: tuple[str, ...] = ()

    def __init__(self, checks: dict[str, Callable[[], Any]]):
        self._checks, self._values = checks, {}

    def __getattr__(self, name: str):
        checks = self.__dict__.get("_checks", {})
        if name not in checks:
            raise AttributeError(name)
        if name not in self._values:
            self._values[name] = checks[name]()
        return self._values[name]

    def __iter__(self):
        return (getattr(self, name) for name in self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __getitem__(self, index: int):
        return getattr(self, self._fields[index])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self._fields)})"


class MLPForward(Outputs):
    _fields = ("pre_activations", "hidden_states")


class MLPGradients(Outputs):
    _fields = ("hidden", "weights", "biases")


class RNNGradients(Outputs):
    _fields = ("hidden", "inputs", "W_ih", "W_hh", "b_ih", "b_hh")  # hidden: total ∂L/∂h_t, t = 0..T


class LSTMForward(Outputs):
    _fields = ("hidden", "cells")


class LSTMGradients(Outputs):
    _fields = ("inputs", "h0", "c0", "W_ih", "W_hh", "b_ih", "b_hh")


class GRUGradients(Outputs):
    _fields = ("inputs", "h0", "W_ih", "W_hh", "b_ih", "b_hh")


class StepJacobians(Outputs):
    _fields = ("direct", "full")


class TransformerStackForward(Outputs):
    _fields = ("hidden", "output")  # hidden: h_0 … h_L, (L + 1, batch, seq, d)


class TransformerLayerGradients(Outputs):
    _fields = ("inputs", "params")  # params: {state_dict name: ∂L/∂p}


class TransformerStackGradients(Outputs):
    _fields = ("hidden", "layers", "final_norm")  # layers: [{name: ∂L/∂p}]; final_norm: dict or None


class TransformerBlockJacobians(Outputs):
    _fields = ("attention", "feedforward")  # (seq·d, seq·d) each, token-major


class ResidualGradients(Outputs):
    _fields = ("hidden", "branches")  # branches: [(∂W1, ∂b1, ∂W2, ∂b2) per block]


# The definition claim of each recurrent and MLP protocol function: a theorem that fails while the
# definition of a function it calls fails too is reported as blocked by it (spec_tests/reporting.py).
DEFINITION_CLAIMS = {
    "mlp_forward": "P1", "mlp_backward": "P2", "mlp_layer_jacobians": "P3",
    "rnn_forward": "P4", "rnn_backward": "P5", "rnn_step_jacobians": "P6",
    "lstm_forward": "P7", "lstm_backward": "P8", "lstm_step_jacobians": "P9",
    "gru_forward": "P10", "gru_backward": "P11", "gru_step_jacobians": "P12",
    # policy gradients (S11)
    "softmax_policy_gradient": "P22", "gaussian_policy_gradient": "P23", "normalise_advantages": "P24",
    "ppo_clip_gradient": "P25",
    # LayerNorm (S15)
    "layer_norm_forward": "P16", "layer_norm_backward": "P17", "layer_norm_jacobian": "P18",
    # residual MLPs (S14)
    "residual_forward": "P13", "residual_backward": "P14", "residual_block_jacobians": "P15",
    # Transformer encoder layers, post-LN and pre-LN (S10)
    "transformer_layer_forward": "P19", "transformer_stack_forward": "P19",
    "transformer_layer_backward": "P20", "transformer_stack_backward": "P20", "transformer_block_jacobians": "P21",
}


@contextlib.contextmanager
def _numpy_state_kept():
    """numpy's floating-point error state as it was, whatever the implementation set (np.seterr at import
    would otherwise turn the spec's own overflow checks into exceptions)."""
    saved = np.geterr()
    try:
        yield
    finally:
        np.seterr(**saved)


def load_implementation(name: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> "Implementation":
    """Load ``reference``, ``torch``, an importable module path, or a .py file path.

    A relative .py path is taken from the caller's folder (:func:`resolve_implementation_path`), and
    that file's folder leads the import path while it loads, so that it can import a module next to it.
    Anything that goes wrong while loading is a :class:`pytest.UsageError` that leads with the
    implementation's own problem: the exception it raised and its frames, without the spec's."""
    if not name.strip():
        raise pytest.UsageError(
            f"--impl is empty (or {IMPL_ENV_VAR} is set to ''): give 'reference', 'torch', an importable "
            "module path (e.g. my_package.my_impl) or the path of a .py file (e.g. my_impl.py)."
        )
    target = BUILTIN_IMPLEMENTATIONS.get(name, name)
    if target.endswith(".py"):
        path = resolve_implementation_path(target)
        if not path.is_file():
            relative = not Path(target).expanduser().is_absolute()
            base = " (a relative path is taken from the folder the command was run in)" if relative else ""
            raise pytest.UsageError(f"--impl {name}: no such file {path}{base}")
        module_name = f"gradspec_iut_{path.stem}"
        folder = str(path.parent)
        sys.path.insert(0, folder)
        loaded = False
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            with _capped_output(), _numpy_state_kept():
                spec.loader.exec_module(module)
            loaded = True
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # SystemExit too: the implementation's problem, not the run's
            raise _load_error(name, error) from None
        finally:
            if not loaded:
                sys.modules.pop(module_name, None)
            with contextlib.suppress(ValueError):
                sys.path.remove(folder)  # the front entry put there above
            if loaded and folder not in sys.path:
                sys.path.append(folder)  # a later import inside a function still finds the file's siblings
    else:
        try:
            with _capped_output(), _numpy_state_kept():
                module = importlib.import_module(target)
        except KeyboardInterrupt:
            raise
        except BaseException as error:
            if _implementation_frames(error) or isinstance(error, SyntaxError):
                raise _load_error(name, error) from None
            raise pytest.UsageError(  # the import machinery refused the name itself
                f"--impl {name}: cannot import {target!r} ({error}). Give 'reference', 'torch', "
                "an importable module path, or the path of a .py file."
            ) from None
    return Implementation(name, module, timeout_s)


CALLER_DIR_ENV_VAR = "GRADSPEC_CALLER_DIR"


def resolve_implementation_path(given: str) -> Path:
    """The absolute path of a .py implementation given on the command line or in GRADSPEC_IMPL.

    A relative path is taken from the caller's folder: $GRADSPEC_CALLER_DIR when it is set (bin/conform
    and bin/test set it to the folder they were run from before they change to the project's root),
    else the current directory."""
    import os

    path = Path(given).expanduser()
    if not path.is_absolute():
        path = Path(os.environ.get(CALLER_DIR_ENV_VAR) or os.getcwd()) / path
    return path.resolve()


def _implementation_frames(error: BaseException) -> list:
    """The frames of error's traceback that are the implementation's (or the libraries it called):
    without the spec's own loader and the import machinery."""
    import traceback

    here = str(Path(__file__).resolve())
    machinery = str(Path(importlib.__file__).resolve().parent) + "/"
    return [
        frame for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith("<frozen ")
        and str(Path(frame.filename).resolve()) != here
        and not str(Path(frame.filename).resolve()).startswith(machinery)
    ]


def _load_error(name: str, error: BaseException) -> pytest.UsageError:
    """'--impl NAME: importing it raised ...' then the implementation's own traceback, trimmed."""
    import traceback

    if isinstance(error, SystemExit):
        problem = (f"importing it called sys.exit({error.code!r}); put the script part of the file under "
                   "`if __name__ == \"__main__\":`")
    else:
        detail = str(error)
        problem = f"importing it raised {type(error).__name__}" + (f": {detail}" if detail else "")
    frames = "".join(traceback.format_list(_implementation_frames(error)))
    # a SyntaxError's own location (file, line, the caret): the indented lines of its one-line form
    where = "".join(line for line in traceback.format_exception_only(type(error), error) if line.startswith(" "))
    return pytest.UsageError(f"--impl {name}: {problem}\n{frames}{where}".rstrip("\n"))


OUTPUT_LIMIT_CHARS = 2_000


class _CappedStream:
    """A stand-in for sys.stdout or sys.stderr that passes on the first `limit` characters written
    through it and counts the rest."""

    def __init__(self, stream: Any, limit: int):
        self._stream, self._left, self.dropped = stream, limit, 0

    def write(self, text):
        if not isinstance(text, str):
            return self._stream.write(text)  # the stream's own TypeError
        kept = text[:max(self._left, 0)]
        self._left -= len(kept)
        self.dropped += len(text) - len(kept)
        if kept:
            self._stream.write(kept)
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def _capped_output(limit: int = OUTPUT_LIMIT_CHARS):
    """Keep the first `limit` characters that one call into the implementation writes to sys.stdout and
    to sys.stderr; say how many more were dropped.  sys.stdout and sys.stderr are put back afterwards,
    even if the implementation replaced them.  (Output written to file descriptors directly, or through
    a stream the implementation kept from before the call, is not capped.)"""
    saved = {"stdout": sys.stdout, "stderr": sys.stderr}
    capped = {name: _CappedStream(stream, limit) for name, stream in saved.items() if stream is not None}
    for name, stream in capped.items():
        setattr(sys, name, stream)
    try:
        yield
    finally:
        for name, stream in saved.items():
            setattr(sys, name, stream)
        for name, stream in capped.items():
            if stream.dropped:
                with contextlib.suppress(Exception):
                    saved[name].write(f"\n[gradspec: {stream.dropped} more characters written to sys.{name} in "
                                      f"this call were dropped; the first {limit} are kept]\n")


def describe(value: Any) -> str:
    """A short description of an argument or result: dtype and shape for arrays."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array {value.shape}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(describe(v) for v in value[:6])
        more = f", … ({len(value)} in all)" if len(value) > 6 else ""
        return f"[{inner}{more}]"
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def _copy(value: Any) -> Any:
    """A deep copy of arrays in lists and tuples, each container keeping its type."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    return value


MAX_TIMEOUT_S = 86_400.0


def parse_timeout(text: str) -> float:
    """--impl-timeout: the seconds one call may take, in (0, 86400], or 0 for no limit."""
    import argparse

    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not (seconds == 0 or 0 < seconds <= MAX_TIMEOUT_S):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time limit: give the seconds one call may take, a number in (0, {MAX_TIMEOUT_S:g}], "
            "or 0 for no limit")
    return seconds


class _TimedOut(BaseException):
    """Raised by the alarm inside the implementation; a BaseException so that it escapes
    an implementation's own ``except Exception``."""


_alarm = {"installed": False, "armed": False}


def _on_alarm(signum, frame):
    if _alarm["armed"]:
        _alarm["armed"] = False
        raise _TimedOut()


@contextlib.contextmanager
def _time_limit(seconds: float):
    """SIGALRM after `seconds` raises _TimedOut inside the call (the handler is installed once per process:
    swapping it per call costs more than most calls)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    if not _alarm["installed"]:
        signal.signal(signal.SIGALRM, _on_alarm)
        _alarm["installed"] = True
    _alarm["armed"] = True
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _alarm["armed"] = False


class Implementation:
    """An implementation under test, reached only through the protocol's functions."""

    def __init__(self, name: str, module: Any, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.name = name
        self.module = module
        self.timeout_s = timeout_s
        self.state = RunState(name)  # functions that hung or crashed: not called again, in any process of the run
        self._watchdog = Watchdog(self.state)
        self._user_interrupt = UserInterrupt()
        self.called: set[str] = set()  # protocol functions called since the last reset (one test's)
        self.warnings: dict[str, int] = {}  # "function() warned Category: message" -> count, since the last reset
        self._returned: set[str] = set()  # functions that have returned at least once
        self._not_implemented: dict[str, str] = {}  # functions that raised NotImplementedError, and their message
        self._unimplemented_in_a_row: dict[str, int] = {}  # NotImplementedErrors since the function last returned

    def __repr__(self) -> str:
        return f"load_implementation({self.name!r})"

    def provides(self, function: str) -> bool:
        return callable(getattr(self.module, function, None))

    # -- the protocol -------------------------------------------------------------

    def mlp_forward(self, x, weights, biases, activation, allow_nonfinite=False) -> MLPForward:
        """allow_nonfinite: a training experiment may legitimately overflow; anywhere else NaN/inf fails."""
        call = self._call("mlp_forward", x=x, weights=weights, biases=biases, activation=activation)
        pre, hidden = call.unpack(2, MLPForward._fields)
        batch, finite = x.shape[0], not allow_nonfinite
        return MLPForward({
            "pre_activations": lambda: call.arrays(pre, "pre_activations", [(batch, W.shape[0]) for W in weights],
                                                   finite=finite),
            "hidden_states": lambda: call.arrays(hidden, "hidden_states",
                                                 [x.shape] + [(batch, W.shape[0]) for W in weights], finite=finite),
        })

    def mlp_backward(self, x, weights, biases, activation, grad_output, allow_nonfinite=False) -> MLPGradients:
        call = self._call(
            "mlp_backward", x=x, weights=weights, biases=biases, activation=activation,
            grad_output=grad_output,
        )
        hidden, grad_w, grad_b = call.unpack(3, MLPGradients._fields)
        batch, finite = x.shape[0], not allow_nonfinite
        return MLPGradients({
            "hidden": lambda: call.arrays(hidden, "hidden", [x.shape] + [(batch, W.shape[0]) for W in weights],
                                          finite=finite),
            "weights": lambda: call.arrays(grad_w, "weights", [W.shape for W in weights], finite=finite),
            "biases": lambda: call.arrays(grad_b, "biases", [np.shape(b) for b in biases], finite=finite),
        })

    def mlp_layer_jacobians(self, x, weights, biases, activation) -> list[np.ndarray]:
        call = self._call("mlp_layer_jacobians", x=x, weights=weights, biases=biases, activation=activation)
        return call.arrays(call.result, "layer Jacobians", [W.shape for W in weights])

    # -- recurrent layers (time-first sequences, PyTorch's gate-stacked weights) -----

    def rnn_forward(self, x, h0, W_ih, W_hh, b_ih, b_hh, activation, allow_nonfinite=False) -> np.ndarray:
        call = self._call("rnn_forward", x=x, h0=h0, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh, activation=activation)
        return call.array(call.result, "hidden", (x.shape[0] + 1,) + h0.shape, finite=not allow_nonfinite)

    def rnn_backward(self, x, h0, W_ih, W_hh, b_ih, b_hh, activation, grad_output) -> RNNGradients:
        call = self._call("rnn_backward", x=x, h0=h0, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh,
                          activation=activation, grad_output=grad_output)
        shapes = [(x.shape[0] + 1,) + h0.shape, x.shape, W_ih.shape, W_hh.shape, b_ih.shape, b_hh.shape]
        return RNNGradients(call.fields(RNNGradients._fields, shapes))

    def rnn_step_jacobians(self, x, h0, W_ih, W_hh, b_ih, b_hh, activation) -> np.ndarray:
        call = self._call("rnn_step_jacobians", x=x, h0=h0, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh,
                          activation=activation)
        H = h0.shape[-1]
        return call.array(call.result, "step Jacobians", (x.shape[0], H, H))

    def lstm_forward(self, x, h0, c0, W_ih, W_hh, b_ih, b_hh) -> LSTMForward:
        call = self._call("lstm_forward", x=x, h0=h0, c0=c0, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh)
        shape = (x.shape[0] + 1,) + h0.shape
        return LSTMForward(call.fields(LSTMForward._fields, [shape, shape]))

    def lstm_backward(self, x, h0, c0, W_ih, W_hh, b_ih, b_hh, grad_output, grad_cell) -> LSTMGradients:
        call = self._call("lstm_backward", x=x, h0=h0, c0=c0, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh,
                          grad_output=grad_output, grad_cell=grad_cell)
        shapes = [x.shape, h0.shape, c0.shape, W_ih.shape, W_hh.shape, b_ih.shape, b_hh.shape]
        return LSTMGradients(call.fields(LSTMGradients._fields, shapes))

    def lstm_step_jacobians(self, x, h0, c0, W_ih, W_hh, b_ih, b_hh) -> StepJacobians:
        call = self._call("lstm_step_jacobians", x=x, h0=h0, c0=c0, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh)
        T, H = x.shape[0], h0.shape[-1]
        return StepJacobians(call.fields(StepJacobians._fields, [(T, H, H), (T, 2 * H, 2 * H)]))

    def gru_forward(self, x, h0, W_ih, W_hh, b_ih, b_hh) -> np.ndarray:
        call = self._call("gru_forward", x=x, h0=h0, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh)
        return call.array(call.result, "hidden", (x.shape[0] + 1,) + h0.shape)

    def gru_backward(self, x, h0, W_ih, W_hh, b_ih, b_hh, grad_output) -> GRUGradients:
        call = self._call("gru_backward", x=x, h0=h0, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh,
                          grad_output=grad_output)
        shapes = [x.shape, h0.shape, W_ih.shape, W_hh.shape, b_ih.shape, b_hh.shape]
        return GRUGradients(call.fields(GRUGradients._fields, shapes))

    def gru_step_jacobians(self, x, h0, W_ih, W_hh, b_ih, b_hh) -> StepJacobians:
        call = self._call("gru_step_jacobians", x=x, h0=h0, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh)
        T, H = x.shape[0], h0.shape[-1]
        return StepJacobians(call.fields(StepJacobians._fields, [(T, H, H), (T, H, H)]))

    # -- Transformer encoder layers (S10; batch-first, torch's state_dict names) -----

    def transformer_layer_forward(self, x, params, nhead, norm_first) -> np.ndarray:
        call = self._call("transformer_layer_forward", x=x, params=params, nhead=nhead, norm_first=norm_first)
        return call.array(call.result, "output", x.shape)

    def transformer_layer_backward(self, x, params, nhead, norm_first, grad_output) -> TransformerLayerGradients:
        call = self._call("transformer_layer_backward", x=x, params=params, nhead=nhead, norm_first=norm_first,
                          grad_output=grad_output)
        inputs, grads = call.unpack(2, TransformerLayerGradients._fields)
        return TransformerLayerGradients({"inputs": lambda: call.array(inputs, "inputs", x.shape),
                                          "params": lambda: call.parameter_dict(grads, "params", params)})

    def transformer_stack_forward(self, x, layers, final_norm, nhead, norm_first,
                                  allow_nonfinite=False) -> TransformerStackForward:
        """allow_nonfinite: a training experiment may legitimately overflow; anywhere else NaN/inf fails."""
        call = self._call("transformer_stack_forward", x=x, layers=layers, final_norm=final_norm, nhead=nhead,
                          norm_first=norm_first)
        hidden, output = call.unpack(2, TransformerStackForward._fields)
        finite = not allow_nonfinite
        return TransformerStackForward({
            "hidden": lambda: call.array(hidden, "hidden", (len(layers) + 1,) + x.shape, finite=finite),
            "output": lambda: call.array(output, "output", x.shape, finite=finite)})

    def transformer_stack_backward(self, x, layers, final_norm, nhead, norm_first,
                                   grad_output) -> TransformerStackGradients:
        call = self._call("transformer_stack_backward", x=x, layers=layers, final_norm=final_norm, nhead=nhead,
                          norm_first=norm_first, grad_output=grad_output)
        hidden, grads, final_grads = call.unpack(3, TransformerStackGradients._fields)

        def layer_dicts():
            if not isinstance(grads, (list, tuple)) or len(grads) != len(layers):
                raise call.fail(f"layers = {describe(grads)}; expected a list of {len(layers)} gradient dicts")
            return [call.parameter_dict(g, f"layers[{i}]", p) for i, (g, p) in enumerate(zip(grads, layers))]

        def final():
            if final_norm is None:
                if final_grads is not None:
                    raise call.fail(f"final_norm = {describe(final_grads)} without a final norm; expected None")
                return None
            return call.parameter_dict(final_grads, "final_norm", final_norm)

        return TransformerStackGradients({
            "hidden": lambda: call.array(hidden, "hidden", (len(layers) + 1,) + x.shape),
            "layers": layer_dicts, "final_norm": final})

    def transformer_block_jacobians(self, x, params, nhead, norm_first) -> TransformerBlockJacobians:
        call = self._call("transformer_block_jacobians", x=x, params=params, nhead=nhead, norm_first=norm_first)
        n = int(np.size(x))
        return TransformerBlockJacobians(call.fields(TransformerBlockJacobians._fields, [(n, n), (n, n)]))

    # -- remedies: clipping, initialisation, schedules ------------------------------

    def clip_grad_norm(self, grads, max_norm, norm_type=2.0) -> tuple[list[np.ndarray], float]:
        call = self._call("clip_grad_norm", grads=grads, max_norm=max_norm, norm_type=norm_type)
        clipped, total = call.unpack(2, ("clipped gradients", "total norm"))
        return call.like(clipped, "clipped gradients", grads), call.scalar(total, "total norm")

    def clip_grad_value(self, grads, clip_value) -> list[np.ndarray]:
        call = self._call("clip_grad_value", grads=grads, clip_value=clip_value)
        return call.like(call.result, "clipped gradients", grads)

    def adaptive_clip_grad(self, params, grads, clipping, eps) -> list[np.ndarray]:
        call = self._call("adaptive_clip_grad", params=params, grads=grads, clipping=clipping, eps=eps)
        return call.like(call.result, "clipped gradients", grads)

    def calculate_gain(self, nonlinearity, param=None) -> float:
        call = self._call("calculate_gain", nonlinearity=nonlinearity, param=param)
        return call.scalar(call.result, "gain")

    def initialise(self, scheme: str, shape, **options) -> np.ndarray:
        """scheme(shape, *options, seed) for xavier_uniform, kaiming_normal, orthogonal, normal, …;
        options are passed positionally in the protocol's order (docs/protocol.md)."""
        call = self._call(scheme, shape=tuple(shape), **options)
        return call.array(call.result, "weights", tuple(shape))

    def warmup_schedule(self, num_steps, peak_lr, warmup_steps) -> np.ndarray:
        call = self._call("warmup_schedule", num_steps=num_steps, peak_lr=peak_lr, warmup_steps=warmup_steps)
        return call.array(call.result, "learning rates", (num_steps,))

    def warmup_cosine_schedule(self, num_steps, peak_lr, warmup_steps, final_lr) -> np.ndarray:
        call = self._call("warmup_cosine_schedule", num_steps=num_steps, peak_lr=peak_lr,
                          warmup_steps=warmup_steps, final_lr=final_lr)
        return call.array(call.result, "learning rates", (num_steps,))

    def sgd_step(self, params, grads, velocities, lr, momentum) -> tuple[list[np.ndarray], list[np.ndarray]]:
        call = self._call("sgd_step", params=params, grads=grads, velocities=velocities, lr=lr, momentum=momentum)
        new_params, new_velocities = call.unpack(2, ("params", "velocities"))
        shapes = [np.shape(p) for p in params]
        return call.arrays(new_params, "params", shapes), call.arrays(new_velocities, "velocities", shapes)

    # -- policy gradients (S11): softmax and Gaussian REINFORCE, normalisation, PPO -------

    def softmax_policy_gradient(self, states, actions, advantages, W, b) -> tuple[np.ndarray, np.ndarray]:
        call = self._call("softmax_policy_gradient", states=states, actions=actions, advantages=advantages, W=W, b=b)
        grad_W, grad_b = call.unpack(2, ("grad_W", "grad_b"))
        return call.array(grad_W, "grad_W", W.shape), call.array(grad_b, "grad_b", b.shape)

    def gaussian_policy_gradient(self, states, actions, advantages, W, b, log_std) -> tuple[np.ndarray, ...]:
        call = self._call("gaussian_policy_gradient", states=states, actions=actions, advantages=advantages,
                          W=W, b=b, log_std=log_std)
        grad_W, grad_b, grad_log_std = call.unpack(3, ("grad_W", "grad_b", "grad_log_std"))
        return (call.array(grad_W, "grad_W", W.shape), call.array(grad_b, "grad_b", b.shape),
                call.array(grad_log_std, "grad_log_std", log_std.shape))

    def normalise_advantages(self, advantages) -> np.ndarray:
        call = self._call("normalise_advantages", advantages=advantages)
        return call.array(call.result, "normalised advantages", advantages.shape)

    def ppo_clip_gradient(self, states, actions, advantages, old_log_probs, W, b, clip_eps) -> tuple[np.ndarray, ...]:
        call = self._call("ppo_clip_gradient", states=states, actions=actions, advantages=advantages,
                          old_log_probs=old_log_probs, W=W, b=b, clip_eps=clip_eps)
        grad_W, grad_b = call.unpack(2, ("grad_W", "grad_b"))
        return call.array(grad_W, "grad_W", W.shape), call.array(grad_b, "grad_b", b.shape)

    # -- LayerNorm (S15): the last axis is normalised; gain and bias are (d,) ------------------

    def layer_norm_forward(self, x, gain, bias, eps) -> np.ndarray:
        call = self._call("layer_norm_forward", x=x, gain=gain, bias=bias, eps=eps)
        return call.array(call.result, "y", x.shape)

    def layer_norm_backward(self, x, gain, bias, eps, grad_output) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        call = self._call("layer_norm_backward", x=x, gain=gain, bias=bias, eps=eps, grad_output=grad_output)
        grad_x, grad_gain, grad_bias = call.unpack(3, ("grad_x", "grad_gain", "grad_bias"))
        return (call.array(grad_x, "grad_x", x.shape), call.array(grad_gain, "grad_gain", gain.shape),
                call.array(grad_bias, "grad_bias", bias.shape))

    def layer_norm_jacobian(self, x, gain, bias, eps) -> np.ndarray:
        call = self._call("layer_norm_jacobian", x=x, gain=gain, bias=bias, eps=eps)
        return call.array(call.result, "Jacobian", (x.shape[-1], x.shape[-1]))

    # -- residual MLPs (S14): branches [(W1, b1, W2, b2)], one α_l per block --------------------

    def residual_forward(self, x, branches, alphas, activation) -> list[np.ndarray]:
        call = self._call("residual_forward", x=x, branches=branches, alphas=alphas, activation=activation)
        return call.arrays(call.result, "hidden_states", [x.shape] * (len(branches) + 1))

    def residual_backward(self, x, branches, alphas, activation, grad_output) -> ResidualGradients:
        call = self._call("residual_backward", x=x, branches=branches, alphas=alphas, activation=activation,
                          grad_output=grad_output)
        hidden, grad_branches = call.unpack(2, ResidualGradients._fields)

        def branch_gradients():
            if not isinstance(grad_branches, (list, tuple)) or len(grad_branches) != len(branches):
                raise call.fail(f"branches = {describe(grad_branches)}; expected a list of {len(branches)} "
                                "(∂W1, ∂b1, ∂W2, ∂b2) tuples")
            return [call.arrays(g, f"branches[{l}]", [np.shape(p) for p in branch])
                    for l, (g, branch) in enumerate(zip(grad_branches, branches))]

        return ResidualGradients({
            "hidden": lambda: call.arrays(hidden, "hidden", [x.shape] * (len(branches) + 1)),
            "branches": branch_gradients,
        })

    def residual_block_jacobians(self, x, branches, alphas, activation) -> list[np.ndarray]:
        call = self._call("residual_block_jacobians", x=x, branches=branches, alphas=alphas, activation=activation)
        d = x.shape[-1]
        return call.arrays(call.result, "block Jacobians", [(d, d)] * len(branches))

    def rejects(self, function: str, **kwargs) -> BaseException | None:
        """Call a function expected to refuse its input: the exception it raised, or None if it returned."""
        return self._call(function, expect_refusal=True, **kwargs).refusal

    # -- machinery ----------------------------------------------------------------

    def _call(self, function: str, expect_refusal: bool = False, **kwargs) -> "_Call":
        """Call function(*kwargs.values()) on copies, under the time limit.  An exception fails the claim,
        unless expect_refusal, when it is kept in call.refusal for the claim to judge."""
        fn: Callable | None = getattr(self.module, function, None)
        if not callable(fn):
            pytest.skip(f"implementation {self.name!r} does not provide {function}()")
        call = _Call(self.name, function, kwargs)
        self.called.add(function)
        problem = self._problem(call, fn, function, expect_refusal, kwargs)
        if problem is None:
            return call
        # one raise for every problem: a hang replayed by hypothesis fails here again, not "flaky"
        raise call.error(problem) from (call.refusal if isinstance(call.refusal, BaseException) else None)

    def _problem(self, call: "_Call", fn: Callable, function: str, expect_refusal: bool, kwargs: dict) -> str | None:
        """Call the function and say what is wrong with the call (None: nothing, call.result is set)."""
        if (reason := self.state.broken(function)) is not None:
            return f"{reason} (in an earlier call; not called again)"
        outcome = self._run(fn, function, [_copy(v) for v in kwargs.values()])
        if isinstance(outcome, _Returned):
            if function in self._not_implemented:
                return (f"returned for this input, but raised NotImplementedError for an earlier one "
                        f"({self._not_implemented[function]}): {PARTIAL_POLICY}")
            self._returned.add(function)
            self._unimplemented_in_a_row[function] = 0
            call.result = outcome.value
            return None
        error = outcome
        if isinstance(error, NotImplementedError):
            if function in self._returned:
                return f"raised NotImplementedError ({error}) for this input after returning for others: {PARTIAL_POLICY}"
            self._not_implemented[function] = str(error)
            in_a_row = self._unimplemented_in_a_row[function] = self._unimplemented_in_a_row.get(function, 0) + 1
            from hypothesis import reject  # here: the main job imports this module before pytest's plugins
            from hypothesis.control import currently_in_test_context

            if in_a_row < NOT_IMPLEMENTED_TRIES and currently_in_test_context():
                reject()  # hypothesis draws another input: the function may return for it, which makes it partial
            pytest.skip(f"{self.name}.{function}() is not implemented yet: {error}")
        if isinstance(error, _TimedOut):
            self.state.mark_broken(function, f"did not return within {self.timeout_s:g} s")
            return f"did not return within {self.timeout_s:g} s"
        call.refusal = error
        if expect_refusal and isinstance(error, Exception):
            return None
        return f"raised {type(error).__name__}" + (f": {error}" if str(error) else "")

    def _run(self, fn: Callable, function: str, args: list) -> "_Returned | BaseException":
        """fn(*args) as a value or the exception it raised, with everything the implementation may do to the
        process undone: numpy's error state restored, warnings recorded rather than raised or printed, output
        capped, and the time limit (SIGALRM, backed by the watchdog) enforced.  A Ctrl-C from the user
        still stops the run."""
        self._user_interrupt.pressed = False
        self.state.calling(function)
        caught: list = []
        try:
            with _capped_output(), _numpy_state_kept(), warnings.catch_warnings(record=True) as caught, \
                    self._user_interrupt.watching(), \
                    self._watchdog.watching(function, self.timeout_s), _time_limit(self.timeout_s):
                warnings.simplefilter("always")
                try:
                    return _Returned(fn(*args))
                except BaseException as error:  # noqa: BLE001 -- every exception is the implementation's
                    if isinstance(error, KeyboardInterrupt) and self._user_interrupt.pressed:
                        raise
                    return error
        finally:
            self.state.calling(None)
            for warning in caught:
                key = f"{function}() warned {warning.category.__name__}: {warning.message}"
                self.warnings[key] = self.warnings.get(key, 0) + 1


class _Returned(NamedTuple):
    value: Any


# A function that raises NotImplementedError is tried on this many drawn inputs in a row before its
# test is skipped: one that is implemented for other inputs returns for one of them, and fails as partial.
NOT_IMPLEMENTED_TRIES = 5

PARTIAL_POLICY = ("a function is either implemented for every input the protocol allows or raises "
                  "NotImplementedError for all of them; a partial one fails its claims (docs/protocol.md)")


class _Call:
    """One call into the implementation, and the checks on what it returned."""

    def __init__(self, impl: str, function: str, kwargs: dict):
        self.impl, self.function, self.kwargs = impl, function, kwargs
        self.result: Any = None
        self.refusal: BaseException | None = None

    def header(self) -> str:
        args = "\n".join(f"    {k} = {describe(v)}" for k, v in self.kwargs.items())
        return f"{self.impl}.{self.function}(\n{args}\n)"

    def error(self, problem: str) -> ImplementationError:
        """'<function>() <problem>' on the first line, the call after it."""
        return ImplementationError(f"{self.function}() {problem}\nin the call {self.header()}")

    def fail(self, problem: str) -> ImplementationError:
        return self.error(f"returned {problem}")

    def unpack(self, count: int, names: Sequence[str]) -> tuple:
        result = self.result
        if not isinstance(result, (tuple, list)) or len(result) != count:
            raise self.fail(f"{describe(result)}; expected a tuple of {count} ({', '.join(names)})")
        return tuple(result)

    def arrays(self, values: Any, what: str, shapes: list[tuple], dtypes=None, finite=True) -> list[np.ndarray]:
        """A list of arrays, one per layer (or per gradient tensor)."""
        if not isinstance(values, (list, tuple)) or len(values) != len(shapes):
            raise self.fail(f"{what} = {describe(values)}; expected a list of {len(shapes)} arrays")
        dtypes = dtypes or [PROTOCOL_DTYPE] * len(shapes)
        return [self.array(value, f"{what}[{index}]", shape, dtype, finite)
                for index, (value, shape, dtype) in enumerate(zip(values, shapes, dtypes))]

    def like(self, values: Any, what: str, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Arrays of the same shapes and dtypes as the input tensors (gradients keep their dtype)."""
        return self.arrays(values, what, [np.shape(a) for a in inputs], [np.asarray(a).dtype for a in inputs])

    def parameter_dict(self, value: Any, what: str, like: dict) -> dict[str, np.ndarray]:
        """A dict of gradients with the keys and shapes of the parameter dict `like` (Transformer layers)."""
        if not isinstance(value, dict) or set(value) != set(like):
            keys = sorted(value) if isinstance(value, dict) else describe(value)
            raise self.fail(f"{what} with keys {keys}; expected a dict keyed {sorted(like)}")
        return {key: self.array(value[key], f"{what}[{key!r}]", np.shape(like[key])) for key in like}

    def scalar(self, value: Any, what: str) -> float:
        try:
            number = float(value)
        except Exception:
            raise self.fail(f"{what} = {describe(value)}; expected a number") from None
        if not np.isfinite(number):
            raise self.fail(f"{what} = {number} (not finite) for finite inputs")
        return number

    def fields(self, names: Sequence[str], shapes: list[tuple]) -> dict[str, Callable[[], np.ndarray]]:
        """A tuple of arrays, one per named field: its length now, each field's checks when it is read."""
        parts = self.unpack(len(names), names)
        return {name: (lambda part=part, name=name, shape=shape: self.array(part, name, shape))
                for part, name, shape in zip(parts, names, shapes)}

    def array(self, value: Any, label: str, shape: tuple, dtype=PROTOCOL_DTYPE, finite=True) -> np.ndarray:
        try:
            array = np.asarray(value)
        except Exception as error:
            raise self.fail(f"{label} that is not an array ({type(value).__name__}: {error})") from None
        if array.shape != tuple(shape):
            raise self.fail(f"{label} of shape {array.shape}; expected {tuple(shape)}")
        if array.dtype != dtype:
            raise self.fail(f"{label} of dtype {array.dtype}; expected {dtype}")
        if finite and not np.all(np.isfinite(array.astype(np.float64))):
            raise self.fail(f"{label} with non-finite values (NaN or inf) for finite inputs")
        return array
