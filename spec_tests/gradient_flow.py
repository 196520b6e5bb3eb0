"""A gradient-flow check for any PyTorch model, at one point of training: S5 as a diagnostic.

    report = check_gradient_flow(model, loss_fn, (inputs, targets))
    print(report)                  # the table, output side first, and the verdict with its evidence
    report.to_json("flow.json")    # machine-readable (JSON_SCHEMA)
    report.plot("flow.png")        # per-layer norms on a log scale

    assert_gradient_flow_healthy(model, loss_fn, batch)          # in a test: AssertionError naming the layer

    python -m spec_tests.gradient_flow problem.py[:function] --json flow.json --figure flow.png

One call runs one forward pass with forward hooks and one backward pass (``torch.autograd.grad``), then,
unless ``power_iterations=0``, a power iteration per layer.  Page: docs/gradient_flow.md.

**Batch.**  ``batch = (inputs, targets)``; the model is called as ``model(inputs)``, ``model(*inputs)`` for a
tuple or list (its items are positional arguments), ``model(**inputs)`` for a dict (keyword arguments), and the
loss is ``loss_fn(output, targets)``, a scalar that requires grad (a loss that does not, and a model without
parameters, are refused with a ValueError naming the cause).

**Layers.**  By default a layer is a module that *ran* in the forward pass and is the innermost such module
containing some parameter: each parameter, under each of its names (``named_parameters(remove_duplicate=False)``),
is attributed to the innermost module under that name that contains it and whose forward was called, so a tied
parameter (``out.weight = emb.weight``) belongs to every layer that holds it, each showing its norms, and the
footer says it is shared.  A ``Linear`` is a layer; ``nn.MultiheadAttention`` is one layer with its ``out_proj``
(which it applies functionally, so ``out_proj``'s own forward never runs); parameter-free modules (ReLU,
Dropout) are not layers.  ``layers=`` replaces this with the modules named (exact names, or patterns where
``*`` matches one dotted component: ``"encoder.layers.*"``) or of the classes given
(``layers=nn.TransformerEncoderLayer``); parameters are then attributed to the innermost selected module that
contains them, and the others are listed as unattributed.  A pattern never selects the model itself.

**Sites, and output to input.**  Each *call* of a layer is a site (a module called T times, such as an
``nn.RNNCell`` unrolled over T steps, gives T sites, named ``cell[0]`` … ``cell[T-1]``).  Sites are ordered by
the moment their forward returned; output to input is that order reversed.  For a chain of layers this is
the order in which backpropagation reaches them.

**What is reported per site.**  ``‖∂L/∂out‖``: the norm of the gradient of the loss with respect to the
site's output (every floating-point tensor it returns, together) — the hidden-state gradient of claim S5; an
output that does not require grad (a frozen first layer) is handed on, in the check's forward pass only, as a
copy of a leaf that does, so that it is defined at every site the loss uses;
``‖∂L/∂W‖`` and ``‖W‖``: the norms of the gradient and of the parameters attributed to the layer (over all
its calls: a shared module's are the same on each of its sites); ``gain``: ``‖∂L/∂out‖`` of the next site
towards the input over this one's, what this layer's backward multiplied the gradient by when the layers form
a chain; ``σ_max(J)``: the power-iteration estimate of the spectral norm of the Jacobian of the site's output
with respect to its input.

**The verdict** (S5, docs/depth.md).  Let ``g_0 … g_(n−1)`` be ``‖∂L/∂out‖`` from the output-most site to the
input-most, over the sites with a finite, non-zero gradient (``g_k > 0``).  Fit ``ln g_k = a + b·k`` by least squares;
``growth = exp(b·(n − 1))`` is the fitted factor from output to input, ``exp(b)`` per site.

- ``non-finite``: the inputs or targets, the loss, a parameter, an activation or a gradient is NaN or
  infinite (the first of each is named);
- ``vanishing``: some site's ``‖∂L/∂out‖`` is exactly 0 while a site nearer the output has a non-zero one;
- ``undetermined``: fewer than ``MIN_SITES = 3`` sites with a non-zero gradient;
- ``exploding``: ``growth ≥ max_growth`` (default 10: the gradient grows by at least an order of magnitude
  from output to input);
- ``vanishing``: ``growth ≤ min_growth`` (default 0.1);
- ``healthy`` otherwise.

The evidence names the site with the largest ``‖∂L/∂out‖`` and the site with the largest gain, and says so when
the fitted growth is outside (min_growth, max_growth) while the measured end-to-end ratio lies on the other
side of 1.  S5c is why the
verdict uses ``‖∂L/∂out‖`` and not ``‖∂L/∂W‖``: weight gradients need not show the growth.

**Jacobians.**  A site's input is its floating-point tensor argument when all of them are one tensor
(``Linear``, a Transformer layer, self-attention's ``query = key = value``), or else the one of them that
another site returned (an unrolled RNN cell's ``h_(t−1)``: the step Jacobian ``∂h_t/∂h_(t−1)``).  The function ``x ↦ output`` (the module rerun
with its recorded other arguments) is probed with ``power_iterations`` pairs of
``torch.func.jvp`` (``u = J v``) and ``torch.func.vjp`` (``w = Jᵀu``), ``v ← w/‖w‖``, from a Gaussian start
drawn from ``seed``; the estimate is the largest ``‖Jᵀu‖/‖u‖`` seen.  It is a lower bound of ``σ_max(J)`` —
every ``‖Jᵀu‖/‖u‖`` is — that converges like ``(σ_2/σ_1)^(2k)`` with a gap; without a gap, Kuczyński and
Woźniakowski (1992) show the average relative error of ``σ_max²`` shrinks like ``ln(n)/k`` (n: the input's
size).  The Jacobian is that of the whole batch: for a layer that treats examples separately it is block
diagonal, and its norm is the largest over the examples.  Sites without such an input (an RNN's first
step, whose ``h_0`` no site returned), or whose forward cannot be transformed (BatchNorm in training mode
updates its statistics in place; nn.LSTM/GRU/RNN kernels have no forward-mode derivative), get no estimate,
with the reason.  ``jacobian_log10_product`` sums ``log10 σ_max``
over the sites that have one: for a chain of layers it bounds the end-to-end amplification (S1a).  The
attention kernel is the math one during this phase (the fused CPU kernel has no forward-mode derivative).

**What it leaves as it was.**  Parameters, ``.grad`` (gradients come from ``torch.autograd.grad``), the
train/eval mode, ``requires_grad``, the global random state (forked: dropout draws the same masks in the next
training step as without the check), and buffers (BatchNorm's running statistics are restored).  Its hooks
are removed.  Forward hooks of your own fire during its forward pass and, with ``power_iterations > 0``, on the
layers' reruns.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import importlib.util
import json
import math
import os
import sys
import textwrap
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

__all__ = ["check_gradient_flow", "assert_gradient_flow_healthy", "GradientFlowReport", "SiteFlow", "main",
           "power_iteration_norm", "figure_formats", "DEFAULT_MAX_GROWTH", "DEFAULT_MIN_GROWTH", "DEFAULT_POWER_ITERATIONS", "MIN_SITES", "JSON_SCHEMA"]

SCHEMA = "gradient-flow/1"
DEFAULT_MAX_GROWTH = 10.0
DEFAULT_MIN_GROWTH = 0.1
DEFAULT_POWER_ITERATIONS = 8
MIN_SITES = 3
VERDICTS = ("healthy", "exploding", "vanishing", "non-finite", "undetermined")


# -- the result -------------------------------------------------------------------------------------


@dataclass
class SiteFlow:
    """One call of one layer.  Norms are 2-norms (Frobenius for matrices) in float64; None: not available."""

    name: str  # the module's name, with [t] for its t-th call when it ran more than once
    module: str  # the module's qualified name in the model ("" for the model itself)
    kind: str  # the module's class
    call: int  # which call of the module this is (0-based)
    calls: int  # how many times the module ran in the forward pass
    output_shape: list  # shapes of the floating-point tensors it returned
    output_grad_norm: float | None  # ‖∂L/∂output‖; None when no gradient reached it
    gain: float | None  # output_grad_norm of the next site towards the input over this one's
    weight_grad_norm: float | None  # ‖∂L/∂W‖ over the parameters attributed to the module
    weight_norm: float | None  # ‖W‖ over the same parameters
    parameters: list  # the parameters attributed to the module
    jacobian_norm: float | None  # power-iteration estimate of σ_max(∂output/∂input), a lower bound
    jacobian_note: str = ""  # why there is no estimate
    output_finite: bool = True


@dataclass
class GradientFlowReport:
    """What check_gradient_flow found.  ``sites`` run from the output to the input.

    Fields that can be None: ``growth``, ``growth_per_site`` and ``endpoint_ratio`` when fewer than two sites
    have a finite, non-zero ‖∂L/∂out‖ (so always for a non-finite result whose gradients are NaN or infinite);
    ``largest_gradient`` when no site has one; ``largest_gain`` and ``largest_gain_factor`` when no site has a
    gain; ``jacobian_log10_product`` when no site has a Jacobian estimate (``power_iterations=0``).  In
    ``SiteFlow``: ``output_grad_norm`` when the loss does not depend on the site's output; ``gain`` for the
    input-most site and where either norm is missing, infinite or NaN, or this one is 0; ``weight_grad_norm``
    when the layer holds no parameter that requires grad; ``weight_norm`` when it holds none;
    ``jacobian_norm`` when there is no estimate (``jacobian_note`` says why, unless ``power_iterations=0``).
    ``first_nonfinite`` holds None for each kind with no non-finite value; its ``batch`` is the location of the
    first non-finite entry of the inputs, then the targets (``"inputs[1, 2]"``).
    """

    verdict: str
    reason: str  # one line: the verdict and its evidence
    sites: list  # of SiteFlow, output side first
    loss: float
    growth: float | None  # fitted factor of ‖∂L/∂out‖ from the output-most to the input-most site
    growth_per_site: float | None  # exp(b), the fitted factor per site
    endpoint_ratio: float | None  # g_input-most / g_output-most, measured
    increasing_steps: int  # how many of the consecutive pairs grow towards the input
    steps: int
    largest_gradient: str | None  # the site with the largest ‖∂L/∂out‖
    largest_gain: str | None  # the site with the largest gain
    largest_gain_factor: float | None
    jacobian_log10_product: float | None  # Σ log10 σ_max(J) over the sites with an estimate
    first_nonfinite: dict  # {"loss": bool, "parameter", "activation", "gradient", "batch": name or None}
    thresholds: dict  # max_growth, min_growth, min_sites
    power_iterations: int
    unattributed_parameters: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    seconds: float = 0.0
    schema: str = SCHEMA

    @property
    def healthy(self) -> bool:
        return self.verdict == "healthy"

    def site(self, name: str) -> SiteFlow:
        for s in self.sites:
            if s.name == name:
                return s
        raise KeyError(f"no site {name!r}; sites: {[s.name for s in self.sites]}")

    # -- JSON ----------------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Plain JSON types; a non-finite float becomes the string "inf", "-inf" or "nan"."""
        return _encode(dataclasses.asdict(self))

    def to_json(self, path=None, indent: int = 2) -> str:
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: dict) -> GradientFlowReport:
        data = _decode(dict(data))
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} result: schema {data.get('schema')!r}")
        data["sites"] = [SiteFlow(**s) for s in data["sites"]]
        return cls(**data)

    @classmethod
    def from_json(cls, source) -> GradientFlowReport:
        """The inverse of ``to_json``: ``source`` is the JSON text (a string starting with ``{``) or the path of a
        file that ``to_json(path)`` wrote (a ``str`` or ``os.PathLike``)."""
        if isinstance(source, str) and source.lstrip().startswith("{"):
            text = source
        else:
            text = Path(source).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    # -- reading -------------------------------------------------------------------------------------

    def __str__(self) -> str:
        return f"gradient flow: {self.verdict.upper()} — {self.reason}\n\n{self.table()}"

    def table(self) -> str:
        """The per-site table and its footer: what ``str(report)`` prints below the verdict line."""
        rows = [("#", "site (output → input)", "kind", "‖∂L/∂out‖", "gain", "‖∂L/∂W‖", "‖W‖", "σ_max(J)")]
        for k, s in enumerate(self.sites):
            jac = _fmt(s.jacobian_norm) if s.jacobian_norm is not None else ("–" if not s.jacobian_note else "n/a")
            rows.append((str(k), s.name + ("" if s.output_finite else " (non-finite)"), s.kind,
                         _fmt(s.output_grad_norm), _fmt(s.gain), _fmt(s.weight_grad_norm), _fmt(s.weight_norm), jac))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = []
        for i, r in enumerate(rows):
            lines.append("  ".join(c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
        tail = []
        if self.jacobian_log10_product is not None:
            tail.append(f"product of σ_max(J) over the sites with an estimate: 1e{self.jacobian_log10_product:+.1f} "
                        f"({self.power_iterations} power iterations each; lower bounds)")
        notes = sorted({s.jacobian_note for s in self.sites if s.jacobian_note})
        tail += [f"σ_max(J) n/a: {n}" for n in notes]
        if self.unattributed_parameters:
            tail.append(f"parameters in no selected layer: {', '.join(self.unattributed_parameters)}")
        tail += self.notes
        return "\n".join(lines + ([""] + tail if tail else []))

    def plot(self, path, title: str | None = None):
        """Per-site norms on a log scale, output side on the left; writes ``path`` in the format its extension
        names (any that matplotlib writes: ``figure_formats()``) and returns it."""
        self.figure(title).savefig(path, dpi=110)
        return path

    def figure(self, title: str | None = None):
        """The figure that ``plot`` writes, a ``matplotlib.figure.Figure`` on the Agg canvas (not pyplot: no
        global state is touched).  The title (default: the verdict and the fitted growth, or the first clause
        of the reason) is wrapped to the figure's width, at most three lines."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        n = len(self.sites)
        fig = Figure(figsize=(max(6.0, min(14.0, 0.32 * n + 3)), 4.2), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        xs = list(range(n))
        series = [("‖∂L/∂out‖ (S5)", "output_grad_norm", "o-", 2.0), ("‖∂L/∂W‖", "weight_grad_norm", "s--", 1.0),
                  ("‖W‖", "weight_norm", "^:", 1.0), ("σ_max(J), power iteration", "jacobian_norm", "d-.", 1.0)]
        for label, key, style, width in series:
            pts = [(x, getattr(s, key)) for x, s in zip(xs, self.sites)]
            pts = [(x, v) for x, v in pts if v is not None and math.isfinite(v) and v > 0]
            if pts:
                ax.plot(*zip(*pts), style, label=label, linewidth=width, markersize=4)
        ax.set_yscale("log")
        step = max(1, math.ceil(n / 40))
        ax.set_xticks(xs[::step], [s.name for s in self.sites][::step], rotation=60, ha="right", fontsize=7)
        ax.set_xlabel("site, from the output (left) to the input (right)")
        ax.set_ylabel("norm")
        ax.grid(True, which="major", alpha=0.3)
        if title is None:
            title = f"gradient flow: {self.verdict}"
            if self.reason.startswith("‖∂L/∂out‖ ") and self.growth is not None:  # a verdict from the fit
                title += (f" — ‖∂L/∂out‖ ×{self.growth:.3g} (fitted) from the output side to the input side; "
                          f"largest at {self.largest_gradient}")
            else:
                title += " — " + self.reason.split("; ")[0]
        width = fig.get_figwidth() * 72 / (0.6 * 9)  # characters of a 9-point font across the figure
        ax.set_title(textwrap.fill(title, int(width * 0.95), max_lines=3, placeholder=" …"), fontsize=9)
        ax.legend(fontsize=7)
        return fig


def _fmt(x) -> str:
    if x is None:
        return "–"
    return f"{x:.3g}" if math.isfinite(x) else str(x)


def _encode(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


_FLOAT_FIELDS = {"loss", "growth", "growth_per_site", "endpoint_ratio", "largest_gain_factor", "jacobian_log10_product",
                 "output_grad_norm", "gain", "weight_grad_norm", "weight_norm", "jacobian_norm"}


def _decode(data: dict) -> dict:
    out = {}
    for k, v in data.items():
        if k in _FLOAT_FIELDS and isinstance(v, str):
            v = float(v)
        elif k == "sites":
            v = [_decode(dict(s)) for s in v]
        out[k] = v
    return out


_NUMBER = {"oneOf": [{"type": "number"}, {"enum": ["inf", "-inf", "nan"]}]}
_MAYBE_NUMBER = {"oneOf": [{"type": "number"}, {"type": "null"}, {"enum": ["inf", "-inf", "nan"]}]}
JSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "check_gradient_flow result (spec_tests/gradient_flow.py)",
    "type": "object",
    "required": ["schema", "verdict", "reason", "sites", "loss", "growth", "growth_per_site", "endpoint_ratio",
                 "increasing_steps", "steps", "largest_gradient", "largest_gain", "largest_gain_factor",
                 "jacobian_log10_product", "first_nonfinite", "thresholds", "power_iterations",
                 "unattributed_parameters", "notes", "seconds"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA},
        "verdict": {"enum": list(VERDICTS)},
        "reason": {"type": "string"},
        "loss": _NUMBER,
        "growth": _MAYBE_NUMBER, "growth_per_site": _MAYBE_NUMBER, "endpoint_ratio": _MAYBE_NUMBER,
        "increasing_steps": {"type": "integer", "minimum": 0}, "steps": {"type": "integer", "minimum": 0},
        "largest_gradient": {"type": ["string", "null"]}, "largest_gain": {"type": ["string", "null"]},
        "largest_gain_factor": _MAYBE_NUMBER, "jacobian_log10_product": _MAYBE_NUMBER,
        "first_nonfinite": {
            "type": "object", "additionalProperties": False,
            "required": ["loss", "parameter", "activation", "gradient"],
            "properties": {"loss": {"type": "boolean"}, "batch": {"type": ["string", "null"]},
                           "parameter": {"type": ["string", "null"]},
                           "activation": {"type": ["string", "null"]}, "gradient": {"type": ["string", "null"]}}},
        "thresholds": {"type": "object", "required": ["max_growth", "min_growth", "min_sites"]},
        "power_iterations": {"type": "integer", "minimum": 0},
        "unattributed_parameters": {"type": "array", "items": {"type": "string"}},
        "notes": {"type": "array", "items": {"type": "string"}},
        "seconds": {"type": "number", "minimum": 0},
        "sites": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["name", "module", "kind", "call", "calls", "output_shape", "output_grad_norm", "gain",
                         "weight_grad_norm", "weight_norm", "parameters", "jacobian_norm", "jacobian_note",
                         "output_finite"],
            "properties": {
                "name": {"type": "string"}, "module": {"type": "string"}, "kind": {"type": "string"},
                "call": {"type": "integer", "minimum": 0}, "calls": {"type": "integer", "minimum": 1},
                "output_shape": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
                "output_grad_norm": _MAYBE_NUMBER, "gain": _MAYBE_NUMBER, "weight_grad_norm": _MAYBE_NUMBER,
                "weight_norm": _MAYBE_NUMBER, "jacobian_norm": _MAYBE_NUMBER,
                "parameters": {"type": "array", "items": {"type": "string"}},
                "jacobian_note": {"type": "string"}, "output_finite": {"type": "boolean"}}}},
    },
}


# -- the check --------------------------------------------------------------------------------------


@dataclass
class _Call:
    order: int  # completion order in the forward pass
    module_name: str
    module: nn.Module
    args: tuple
    kwargs: dict
    outputs: list  # floating-point tensors returned (for an output that did not require grad: the leaf made for it)
    handed_on: list = field(default_factory=list)  # ids of the tensors the model went on with


def _floating_tensors(value) -> list:
    """The floating-point tensors in an output: a tensor, or nested tuples, lists and dicts of them."""
    if isinstance(value, torch.Tensor):
        return [value] if value.is_floating_point() or value.is_complex() else []
    if isinstance(value, list | tuple):
        return [t for v in value for t in _floating_tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _floating_tensors(v)]
    return []


def _pattern_matches(pattern: str, name: str) -> bool:
    """``*`` matches one dotted component; other fnmatch syntax within a component."""
    parts, names = pattern.split("."), name.split(".")
    return len(parts) == len(names) and all(fnmatch.fnmatchcase(n, p) for p, n in zip(parts, names))


def _select_layers(model: nn.Module, layers) -> set[str]:
    named = dict(model.named_modules(remove_duplicate=False))
    specs = layers if isinstance(layers, list | tuple | set) else [layers]
    chosen: set[str] = set()
    for spec in specs:
        if isinstance(spec, type) and issubclass(spec, nn.Module):
            found = {n for n, m in named.items() if isinstance(m, spec)}
            what = f"modules of class {spec.__name__}"
        elif isinstance(spec, str):
            # a pattern never selects the model itself ("" is its name): "*" means every top-level submodule
            found = {spec} if spec in named else {n for n in named if n and _pattern_matches(spec, n)}
            what = f"modules named {spec!r}"
        else:
            raise TypeError(f"layers: expected module names, patterns or nn.Module classes, got {spec!r}")
        if not found:
            raise ValueError(f"layers: the model has no {what} (its modules: "
                             f"{', '.join(repr(n) for n in list(named)[:12])}{', …' if len(named) > 12 else ''})")
        chosen |= found
    return chosen


def _owner(param_name: str, candidates: set[str]) -> str | None:
    """The innermost module among ``candidates`` whose qualified name prefixes the parameter's."""
    parts = param_name.split(".")[:-1]
    for k in range(len(parts), -1, -1):
        prefix = ".".join(parts[:k])
        if prefix in candidates:
            return prefix
    return None


def _norms(tensors) -> list[tuple[float, bool]]:
    """(‖t‖₂, every entry finite) for each tensor, in one pass over each: the norm in the tensor's own dtype,
    redone in float64 when it overflowed, underflowed to 0 or is NaN (an exploding gradient in float32 can have
    a norm above 1.8e19, whose square overflows float32).  A norm taken in float64 of a lower-precision tensor
    is finite exactly when every entry is; only a float64 tensor whose norm overflows needs ``isfinite``."""
    if not tensors:
        return []
    first = torch.stack([torch.linalg.vector_norm(t.detach()).to(torch.float64) for t in tensors]).tolist()
    out = []
    for t, n in zip(tensors, first):
        if t.dtype != torch.float64 and not 0 < n < math.inf:
            n = float(torch.linalg.vector_norm(t.detach(), dtype=torch.float64))
        ok = math.isfinite(n) or (n == math.inf and t.dtype == torch.float64 and bool(torch.isfinite(t).all()))
        out.append((n, ok))
    return out


def _hypot(values) -> float:
    return math.hypot(*values) if all(math.isfinite(v) for v in values) else (
        math.nan if any(math.isnan(v) for v in values) else math.inf)


def _call_model(model, inputs):
    if isinstance(inputs, dict):
        return model(**inputs)
    if isinstance(inputs, list | tuple):
        return model(*inputs)
    return model(inputs)


def check_gradient_flow(model: nn.Module, loss_fn, batch, *, layers=None,
                        power_iterations: int = DEFAULT_POWER_ITERATIONS, max_growth: float = DEFAULT_MAX_GROWTH,
                        min_growth: float = DEFAULT_MIN_GROWTH, seed: int = 0) -> GradientFlowReport:
    """Per-layer gradient and weight norms from the output to the input, the S5 verdict, the first non-finite
    parameter, activation and gradient, and per-layer Jacobian norms by power iteration.

    model: any ``nn.Module``; ``batch = (inputs, targets)``; ``loss_fn(model(inputs), targets)`` must be a
    scalar.  ``layers``: None (the innermost modules that ran and hold parameters), or names, patterns
    (``*`` = one dotted component) or ``nn.Module`` classes.  ``power_iterations``: jvp/vjp pairs per site
    (0: no Jacobians; the cheap setting for every-N-steps use).  ``max_growth``/``min_growth``: the verdict's
    thresholds on the fitted growth of ‖∂L/∂out‖ from output to input (module docstring).  ``seed``: the power
    iteration's starting vectors and the dropout masks of its reruns.

    Nothing of the model's state changes: see the module docstring.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn: expected a callable, got {type(loss_fn).__name__}")
    if next(model.parameters(), None) is None:
        raise ValueError("the model has no parameters: there are no layers to follow the gradient through")
    if not (isinstance(batch, list | tuple) and len(batch) == 2):
        raise TypeError("batch: expected (inputs, targets); the model is called on inputs and the loss is "
                        "loss_fn(output, targets)")
    if not (isinstance(power_iterations, int) and power_iterations >= 0):
        raise ValueError(f"power_iterations: expected an integer ≥ 0, got {power_iterations!r}")
    if not (0 < min_growth < 1 < max_growth):
        raise ValueError(f"thresholds: need 0 < min_growth < 1 < max_growth, got {min_growth}, {max_growth}")
    started = time.perf_counter()
    selected = _select_layers(model, layers) if layers is not None else None
    devices = sorted({p.device.index or 0 for p in model.parameters() if p.is_cuda})
    buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
    with torch.random.fork_rng(devices=devices):
        try:
            return _check(model, loss_fn, batch, selected, power_iterations, max_growth, min_growth, seed, started)
        finally:
            with torch.no_grad():
                for n, b in model.named_buffers():
                    if n in buffers and b.shape == buffers[n].shape:
                        b.copy_(buffers[n])


def _with_grad(value, leaves: dict):
    """``value`` with every floating-point tensor in it that does not require grad replaced by a copy of a leaf
    that does (the copy, not the leaf, is handed on: in-place operations after it still work, and leave the
    leaf, which ``leaves`` maps the copy's id to, as the module returned it); ``value`` itself when there is
    none."""
    if isinstance(value, torch.Tensor):
        if (value.is_floating_point() or value.is_complex()) and not value.requires_grad:
            with torch.enable_grad():
                leaf = value.detach().requires_grad_()
                copy = leaf.clone()
            leaves[id(copy)] = leaf
            return copy
        return value
    if isinstance(value, dict):
        new = {k: _with_grad(v, leaves) for k, v in value.items()}
        if all(new[k] is v for k, v in value.items()):
            return value
        try:
            return type(value)(new)
        except Exception:  # noqa: BLE001 — a mapping type that cannot be rebuilt from a dict
            return new
    if isinstance(value, list | tuple):
        new = [_with_grad(v, leaves) for v in value]
        if all(a is b for a, b in zip(new, value)):
            return value
        try:
            return type(value)(*new) if hasattr(value, "_fields") else type(value)(new)  # a namedtuple, or not
        except Exception:  # noqa: BLE001 — a sequence type that cannot be rebuilt from its items
            return tuple(new) if isinstance(value, tuple) else new
    return value


def _first_nonfinite_entry(value, path: str):
    """(location, "NaN" | "inf" | "-inf") of the first non-finite entry of the floating-point tensors in
    ``value`` (nested tuples, lists and dicts), or None."""
    if isinstance(value, torch.Tensor):
        if not (value.is_floating_point() or value.is_complex()):
            return None
        bad = ~torch.isfinite(value.detach())
        if not bool(bad.any()):
            return None
        index = [int(i) for i in torch.nonzero(bad)[0].tolist()] if value.dim() else []
        entry = value.detach()[tuple(index)] if index else value.detach()
        entry = entry.abs() if entry.is_complex() else entry
        kind = "NaN" if bool(torch.isnan(entry)) else ("inf" if bool(entry > 0) else "-inf")
        return (f"{path}[{', '.join(map(str, index))}]" if index else path), kind
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            if found := _first_nonfinite_entry(v, f"{path}[{i}]"):
                return found
    if isinstance(value, dict):
        for k, v in value.items():
            if found := _first_nonfinite_entry(v, f"{path}[{k!r}]"):
                return found
    return None


def _check(model, loss_fn, batch, selected, power_iterations, max_growth, min_growth, seed, started):
    inputs, targets = batch
    # every module under every name it has (a module registered twice is one module; its first name is its name)
    aliases = dict(model.named_modules(remove_duplicate=False))
    names: dict[nn.Module, str] = {}
    for n, m in aliases.items():
        names.setdefault(m, n)
    # every parameter under every name it has (a tied parameter belongs to each module that holds it)
    all_params = list(model.named_parameters(remove_duplicate=False))
    canonical: dict[str, str] = {}  # alias -> the parameter's first name
    params: dict[str, torch.Tensor] = {}  # first name -> parameter
    first_name: dict[int, str] = {}
    for pn, p in all_params:
        canonical[pn] = first_name.setdefault(id(p), pn)
        params.setdefault(canonical[pn], p)

    # the outputs of every module that can be a site are made to require grad, so that ∂L/∂out exists for each
    if selected is not None:
        possible_sites = {aliases[n] for n in selected}
    else:
        possible_sites = {m for m in names if next(m.parameters(), None) is not None}
    calls: list[_Call] = []
    counter = [0]

    def hook(module, args, kwargs, output):
        leaves = {}
        replaced = _with_grad(output, leaves) if module in possible_sites else output
        handed_on = _floating_tensors(replaced)
        calls.append(_Call(counter[0], names.get(module, "?"), module, args, kwargs,
                           [leaves.get(id(t), t) for t in handed_on], [id(t) for t in handed_on]))
        counter[0] += 1
        return None if replaced is output else replaced

    bad_batch = None
    for part, value in (("inputs", inputs), ("targets", targets)):
        if found := _first_nonfinite_entry(value, part):
            bad_batch = (part, *found)
            break
    handles = [m.register_forward_hook(hook, with_kwargs=True) for m in names]
    try:
        with torch.enable_grad():
            try:
                output = _call_model(model, inputs)
            except Exception as error:
                error._gradient_flow_stage = "model"
                error.add_note("(check_gradient_flow: raised by the model's forward pass on the batch's inputs)")
                raise
            try:
                loss = loss_fn(output, targets)
            except Exception as error:
                error._gradient_flow_stage = "loss_fn"
                error.add_note("(check_gradient_flow: raised by loss_fn(output, targets); the model's forward pass ran)")
                raise
    finally:
        for h in handles:
            h.remove()
    if not (isinstance(loss, torch.Tensor) and loss.numel() == 1):
        raise ValueError(f"loss_fn must return a scalar tensor, got {type(loss).__name__}"
                         f"{tuple(loss.shape) if isinstance(loss, torch.Tensor) else ''}")
    if not loss.requires_grad:
        raise ValueError("the loss does not depend on the model's parameters or outputs (it does not require "
                         "grad): does loss_fn detach the output, or compute under torch.no_grad()?")
    notes = []

    # layers: which modules, which parameters each holds
    ran = {c.module for c in calls}
    candidate_modules = {aliases[n] for n in selected} if selected is not None else ran
    candidate_names = {n for n, m in aliases.items() if m in candidate_modules}
    owner = {}  # alias -> the layer (a module's first name) that holds the parameter under that name
    for pn, _ in all_params:
        o = _owner(pn, candidate_names)
        owner[pn] = None if o is None else names[aliases[o]]
    if selected is not None:
        missing = sorted({names[aliases[n]] for n in selected if aliases[n] not in ran})
        if not any(aliases[n] in ran for n in selected):
            raise ValueError(f"layers: none of the selected modules ran in the forward pass ({', '.join(missing)})")
        if missing:
            notes.append(f"selected modules that did not run: {', '.join(missing)}")
        layer_names = {names[aliases[n]] for n in selected if aliases[n] in ran}
    else:
        layer_names = {o for o in owner.values() if o is not None}
    by_layer: dict[str, list[str]] = {}  # layer -> the names under which it holds its parameters, one per parameter
    holders: dict[str, list[str]] = {}  # parameter (first name) -> the layers that hold it
    shown: dict[str, list[str]] = {}  # parameter (first name) -> the names it has in those layers
    for pn, _ in all_params:
        layer, cn = owner[pn], canonical[pn]
        if layer in layer_names and layer not in holders.get(cn, []):
            by_layer.setdefault(layer, []).append(pn)
            holders.setdefault(cn, []).append(layer)
            shown.setdefault(cn, []).append(pn)
    unattributed = sorted(cn for cn in params if cn not in holders)
    for cn, layers_of in holders.items():
        if len(layers_of) > 1:
            notes.append(f"shared parameter: {' = '.join(shown[cn])} is one tensor, held by {', '.join(layers_of)}; "
                         f"its ‖∂L/∂W‖ (the sum over its uses) and ‖W‖ are counted in each of their rows")
    site_calls = [c for c in calls if c.module_name in layer_names]
    n_calls: dict[str, int] = {}
    for c in site_calls:
        n_calls[c.module_name] = n_calls.get(c.module_name, 0) + 1
    seen: dict[str, int] = {}
    site_names, call_index = [], []
    for c in site_calls:
        t = seen.get(c.module_name, 0)
        seen[c.module_name] = t + 1
        base = c.module_name or type(model).__name__
        site_names.append(base if n_calls[c.module_name] == 1 else f"{base}[{t}]")
        call_index.append(t)
    first_call = {}
    for k, c in enumerate(site_calls):
        first_call.setdefault(c.module_name, k)

    # gradients: parameters and site outputs, by autograd.grad (.grad is not touched)
    trainable = [(n, p) for n, p in params.items() if p.requires_grad]
    outs, out_index = [], {}
    for c in site_calls:
        for t in c.outputs:
            if t.requires_grad and id(t) not in out_index:
                out_index[id(t)] = len(outs)
                outs.append(t)
    wrt = [p for _, p in trainable] + outs
    grads = torch.autograd.grad(loss, wrt, allow_unused=True) if wrt else []
    param_grad = {n: g for (n, _), g in zip(trainable, grads[:len(trainable)])}
    out_grad = grads[len(trainable):]

    # every norm and finiteness flag: one pass over each tensor (_norms)
    activations = {id(t): t for c in calls for t in c.outputs}
    named = ([("a", i, t) for i, t in activations.items()] + [("g", i, g) for i, g in enumerate(out_grad)]
             + [("p", n, p) for n, p in params.items()] + [("d", n, g) for n, g in param_grad.items()]
             + [("l", 0, loss)])
    named = [(kind, key, t) for kind, key, t in named if t is not None]
    measured = dict(zip(((kind, key) for kind, key, _ in named), _norms([t for _, _, t in named])))
    norm = lambda kind, key: measured[(kind, key)][0] if (kind, key) in measured else None
    finite = lambda kind, key: measured[(kind, key)][1] if (kind, key) in measured else True
    loss_value = float(loss.detach().reshape(()).to(torch.float64))

    layer_norms = {}
    for name, pns in by_layer.items():
        grads_of = [norm("d", canonical[n]) for n in pns if norm("d", canonical[n]) is not None]
        layer_norms[name] = (_hypot(grads_of) if grads_of else None, _hypot([norm("p", canonical[n]) for n in pns]))
    sites = []
    for c, nm, t in zip(site_calls, site_names, call_index):
        og = [norm("g", out_index[id(o)]) for o in c.outputs if id(o) in out_index]
        og = [g for g in og if g is not None]
        weight_grad, weight = layer_norms.get(c.module_name, (None, None))
        sites.append(SiteFlow(
            name=nm, module=c.module_name, kind=type(c.module).__name__, call=t,
            calls=n_calls[c.module_name], output_shape=[list(o.shape) for o in c.outputs],
            output_grad_norm=_hypot(og) if og else None, gain=None, weight_grad_norm=weight_grad, weight_norm=weight,
            parameters=by_layer.get(c.module_name, []), jacobian_norm=None,
            output_finite=all(finite("a", id(o)) for o in c.outputs)))

    # first non-finite: the batch (inputs, then targets), parameters in the order their layers first ran,
    # activations in forward order, gradients in backward order (the output side first)
    order = list(params)

    def param_rank(n):
        return (min((first_call.get(o, len(site_calls)) for o in holders.get(n, [])), default=len(site_calls)),
                order.index(n))

    bad_params = sorted((n for n in params if not finite("p", n)), key=param_rank)
    bad_acts = [c.module_name or type(model).__name__ for c in calls if not all(finite("a", id(o)) for o in c.outputs)]
    bad_grad = None
    for c, s in zip(site_calls[::-1], sites[::-1]):  # output side first
        if not all(finite("g", out_index[id(o)]) for o in c.outputs if id(o) in out_index):
            bad_grad = s.name
            break
        bad_grad = next((n for n in s.parameters if not finite("d", canonical[n])), None)
        if bad_grad:
            break
    if bad_grad is None:
        bad_grad = next((n for n in unattributed if not finite("d", n)), None)
    first_nonfinite = {"loss": not math.isfinite(loss_value), "parameter": bad_params[0] if bad_params else None,
                       "activation": bad_acts[0] if bad_acts else None, "gradient": bad_grad,
                       "batch": bad_batch[1] if bad_batch else None}
    batch_kind = f"the {bad_batch[0]} ({bad_batch[2]} at {bad_batch[1]})" if bad_batch else None

    # output to input
    sites = sites[::-1]
    site_calls = site_calls[::-1]
    for k in range(len(sites) - 1):
        a, b = sites[k].output_grad_norm, sites[k + 1].output_grad_norm
        if a is not None and b is not None and math.isfinite(a) and math.isfinite(b) and a > 0:
            sites[k].gain = b / a

    if power_iterations > 0:
        _jacobians(sites, site_calls, power_iterations, seed)

    return _verdict(sites, loss_value, first_nonfinite, batch_kind, max_growth, min_growth, power_iterations,
                    unattributed, notes, started)


def _site_function(call: _Call, x_id: int):
    """x ↦ the site's floating-point outputs, flattened: its module rerun on x in place of the recorded input
    (every argument that was that tensor), the other arguments as recorded.  Only x is differentiated: the
    parameters are constants of the power iteration (its products are taken with respect to x alone)."""
    module, args, kwargs = call.module, call.args, call.kwargs
    swap = lambda t, x: x if isinstance(t, torch.Tensor) and id(t) == x_id else t

    def f(x):  # the module itself, not torch.func.functional_call: that imports torch._dynamo (~1 s) on first use
        out = module(*(swap(t, x) for t in args), **{n: swap(t, x) for n, t in kwargs.items()})
        return torch.cat([t.reshape(-1) for t in _floating_tensors(out)])

    return f


def power_iteration_norm(f, x0: torch.Tensor, iterations: int, seed: int = 0) -> float:
    """A lower bound of σ_max of the Jacobian of f at x0, by ``iterations`` pairs u = J v (``torch.func.jvp``,
    forward mode) and w = Jᵀu (``torch.func.vjp``, reverse mode, its graph recorded once), v ← w/‖w‖, from a
    Gaussian v drawn from ``seed``: the largest ‖Jᵀu‖/‖u‖ seen.  No Jacobian is formed.  ``torch.manual_seed(seed)``
    precedes every evaluation of f, so that dropout inside it draws the same masks each time.  The first call in
    a process imports torch._dynamo (about 1 s), which forward-mode AD through an ``nn.Module`` call needs."""

    with warnings.catch_warnings():
        # torch.func.jvp's first call registers forward-AD decompositions through torch.jit.script, which
        # torch 2.13 deprecates with a warning that is no concern of the model's
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=DeprecationWarning)
        return _power_iteration(f, x0, iterations, seed)


def _power_iteration(f, x0, iterations, seed):
    def seeded(x):  # the generator of x's device only: torch.manual_seed seeds every backend, ~1 ms a call
        (torch.cuda.manual_seed(seed) if x.is_cuda else torch.default_generator.manual_seed(seed))
        return f(x)

    x0 = x0.detach()
    _, vjp_fn = torch.func.vjp(seeded, x0)  # the graph is recorded once; each Jᵀu is a backward pass through it
    generator = torch.Generator(device=x0.device).manual_seed(seed)
    v = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
    v = v / torch.linalg.vector_norm(v)
    best = 0.0
    for _ in range(iterations):
        _, u = torch.func.jvp(seeded, (x0,), (v,))
        u = u.detach()
        u_norm = torch.linalg.vector_norm(u, dtype=torch.float64)
        if not u_norm > 0:
            break
        w = vjp_fn(u)[0].detach()
        w_norm = torch.linalg.vector_norm(w, dtype=torch.float64)
        best = max(best, float(w_norm / u_norm))
        if not (w_norm > 0 and torch.isfinite(w_norm)):
            break
        v = (w / w_norm).to(x0.dtype)
    return best


def _jacobians(sites, site_calls, iterations, seed):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    site_outputs = {i for c in site_calls for i in [id(t) for t in c.outputs] + c.handed_on}
    for k, (s, c) in enumerate(zip(sites, site_calls)):
        tensors = [a for a in list(c.args) + list(c.kwargs.values())
                   if isinstance(a, torch.Tensor) and a.is_floating_point()]
        distinct = {id(t): t for t in tensors}
        inputs = len(distinct)
        if inputs > 1:  # several inputs: the one another site returned (an RNN cell's h_(t−1))
            distinct = {i: t for i, t in distinct.items() if i in site_outputs}
        if len(distinct) != 1:
            s.jacobian_note = (f"{inputs} tensor inputs, not exactly one of them another site's output"
                               if inputs > 1 else "no floating-point tensor input")
            continue
        if not c.outputs:
            s.jacobian_note = "no floating-point output"
            continue
        ((x_id, x0),) = distinct.items()
        try:
            with sdpa_kernel(SDPBackend.MATH):
                s.jacobian_norm = power_iteration_norm(_site_function(c, x_id), x0.detach(), iterations,
                                                       seed * 1_000_003 + k)
        except Exception as error:  # noqa: BLE001 — any module: report why, never fail the check
            s.jacobian_note = _jacobian_failure(c.module, error)


def _jacobian_failure(module: nn.Module, error: Exception) -> str:
    """Why torch.func could not transform the module's forward: the known causes in plain words, otherwise the
    exception's type and the first line of its message, in full."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    modules = list(module.modules())
    if "forward AD" in text and any(isinstance(m, nn.RNNBase) for m in modules):
        return ("nn.LSTM/GRU/RNN kernels have no forward-mode derivative; unroll with a Cell (nn.LSTMCell, "
                "nn.GRUCell, nn.RNNCell) to get the step Jacobian")
    if "in-place operation" in text and "transform" in text:
        norms = [m for m in modules if isinstance(m, nn.modules.batchnorm._NormBase) and m.training
                 and m.track_running_stats]
        if norms:
            return (f"{type(norms[0]).__name__} in training mode updates its running statistics in place, which "
                    f"torch.func cannot differentiate (in eval mode it can)")
        return f"the forward pass modifies a tensor in place that torch.func cannot differentiate ({first})"
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def _verdict(sites, loss_value, first_nonfinite, batch_kind, max_growth, min_growth, power_iterations, unattributed,
             notes, started):
    thresholds = {"max_growth": max_growth, "min_growth": min_growth, "min_sites": MIN_SITES}
    with_grad = [(k, s.output_grad_norm) for k, s in enumerate(sites)
                 if s.output_grad_norm is not None and math.isfinite(s.output_grad_norm)]
    reached = [(k, g) for k, g in with_grad if g > 0]
    # exactly 0 after a non-zero gradient nearer the output: the gradient vanished on the way
    vanished = [k for k, g in with_grad if g == 0 and reached and k > reached[0][0]]
    # exactly 0 nearer the output than any non-zero gradient: left out of the fit, named in the evidence
    zero_before = [k for k, g in with_grad if g == 0 and not (reached and k > reached[0][0])]
    growth = per_site = endpoint = None
    increasing = steps = 0
    largest = largest_gain = None
    gain_factor = None
    if len(reached) >= 2:
        ks = [float(k) for k, _ in reached]
        ys = [math.log(g) for _, g in reached]
        mk, my = sum(ks) / len(ks), sum(ys) / len(ys)
        b = sum((k - mk) * (y - my) for k, y in zip(ks, ys)) / sum((k - mk) ** 2 for k in ks)
        span = ks[-1] - ks[0]
        growth, per_site = _exp(b * span), _exp(b)
        endpoint = reached[-1][1] / reached[0][1]
        steps = len(reached) - 1
        increasing = sum(1 for (_, a), (_, c) in zip(reached, reached[1:]) if c > a)
    if reached:
        largest = sites[max(reached, key=lambda kg: kg[1])[0]].name
        gains = [(s.gain, s.name) for s in sites if s.gain is not None]
        if gains:
            gain_factor, largest_gain = max(gains)
    jac = [s.jacobian_norm for s in sites if s.jacobian_norm is not None]
    log10_product = sum(math.log10(j) if j > 0 else -math.inf for j in jac) if jac else None

    bad = [batch_kind] if batch_kind else []
    bad += [f"{kind} {name}" for kind, name in (("parameter", first_nonfinite["parameter"]),
                                                ("activation", first_nonfinite["activation"])) if name]
    if first_nonfinite["loss"]:
        bad.append(f"the loss ({loss_value})")
    if first_nonfinite["gradient"]:
        bad.append(f"gradient {first_nonfinite['gradient']}")
    names = lambda: (f"from {sites[reached[0][0]].name} (output side) to {sites[reached[-1][0]].name} "
                     f"(input side) over {len(reached)} sites")
    evidence = []
    if zero_before:
        evidence.append(f"‖∂L/∂out‖ is exactly 0 at {len(zero_before)} site(s) nearer the output than any non-zero "
                        f"gradient ({_listed([sites[k].name for k in zero_before])}; left out of the fit)")
    if growth is not None and not min_growth < growth < max_growth and (growth > 1) != (endpoint > 1) \
            and endpoint != 1:
        evidence.append(f"the fitted growth ({growth:.3g}×) and the measured end-to-end ratio ({endpoint:.3g}×) "
                        f"disagree in direction: ‖∂L/∂out‖ is not monotone from output to input, read the table")
    if largest is not None:
        evidence.append(f"largest ‖∂L/∂out‖ at {largest}")
    if gain_factor is not None:
        evidence.append(f"largest gain ×{gain_factor:.3g} by {largest_gain}")
    if steps:
        evidence.append(f"increases at {increasing} of {steps} steps")
    evidence = "; ".join(evidence)
    if bad:
        verdict = "non-finite"
        reason = "first non-finite: " + ", ".join(bad)
    elif vanished:
        k = vanished[0]
        before = max(j for j, _ in reached if j < k)
        more = (f" (‖∂L/∂out‖ = 0 at {len(vanished)} sites: {_listed([sites[j].name for j in vanished])})"
                if len(vanished) > 1 else "")
        fitted = (f"; fitted over the sites with a non-zero gradient, ‖∂L/∂out‖ changes {growth:.3g}× {names()}"
                  if growth is not None else "")
        verdict = "vanishing"
        reason = (f"site {sites[k].name} receives exactly 0 after {sites[before].output_grad_norm:.3g} at "
                  f"{sites[before].name}: the gradient vanished{more}{fitted}; {evidence}")
    elif len(reached) < MIN_SITES:
        verdict = "undetermined"
        if with_grad and not reached:
            reason = ("‖∂L/∂out‖ is exactly 0 at every site: the loss is stationary in the model's outputs "
                      "(a zero residual?), there is no gradient to follow")
        else:
            reason = (f"only {len(reached)} site(s) with a gradient; the S5 trend needs at least {MIN_SITES} "
                      f"(choose layers=, or unroll the recurrence: docs/gradient_flow.md)")
    elif growth >= max_growth:
        verdict = "exploding"
        reason = (f"‖∂L/∂out‖ grows {growth:.3g}× {names()} (fitted; ×{per_site:.3g} per site; "
                  f"measured end to end {endpoint:.3g}×) ≥ max_growth {max_growth:g}; {evidence}")
    elif growth <= min_growth:
        verdict = "vanishing"
        reason = (f"‖∂L/∂out‖ shrinks to {growth:.3g}× {names()} (fitted; ×{per_site:.3g} per site; "
                  f"measured end to end {endpoint:.3g}×) ≤ min_growth {min_growth:g}; {evidence}")
    else:
        verdict = "healthy"
        reason = (f"‖∂L/∂out‖ changes {growth:.3g}× {names()} (fitted; measured {endpoint:.3g}×), within "
                  f"[{min_growth:g}, {max_growth:g}]; {evidence}")
    return GradientFlowReport(
        verdict=verdict, reason=reason, sites=sites, loss=loss_value, growth=growth, growth_per_site=per_site,
        endpoint_ratio=endpoint, increasing_steps=increasing, steps=steps, largest_gradient=largest,
        largest_gain=largest_gain, largest_gain_factor=gain_factor, jacobian_log10_product=log10_product,
        first_nonfinite=first_nonfinite, thresholds=thresholds, power_iterations=power_iterations,
        unattributed_parameters=unattributed, notes=notes, seconds=time.perf_counter() - started)


def _listed(names: list[str]) -> str:
    return ", ".join(names[:3]) + (", …" if len(names) > 3 else "")


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


# -- for tests --------------------------------------------------------------------------------------


def assert_gradient_flow_healthy(model: nn.Module, loss_fn, batch, *, layers=None,
                                 max_growth: float = DEFAULT_MAX_GROWTH, min_growth: float = DEFAULT_MIN_GROWTH,
                                 power_iterations: int = 0, allow_undetermined: bool = False) -> GradientFlowReport:
    """Raise AssertionError unless check_gradient_flow's verdict is healthy: every parameter, activation and
    gradient finite, and ‖∂L/∂out‖ changing by a fitted factor within ``[min_growth, max_growth]`` (default
    [0.1, 10]) from the output to the input.  A model with fewer than 3 sites fails too (its trend cannot be
    judged) unless ``allow_undetermined``.  The message leads with the problem — which layer, what ratio against
    which threshold — then gives the table.  Returns the report when healthy."""
    __tracebackhide__ = True
    report = check_gradient_flow(model, loss_fn, batch, layers=layers, power_iterations=power_iterations,
                                 max_growth=max_growth, min_growth=min_growth)
    if report.healthy or (allow_undetermined and report.verdict == "undetermined"):
        return report
    raise AssertionError(f"gradient flow {report.verdict}: {report.reason}\n\n{report.table()}")


# -- the command ------------------------------------------------------------------------------------

USAGE_ERROR = 2


class _UsageError(Exception):
    pass


def _load_problem(target: str):
    path_text, function = target, "problem"
    if not Path(target).is_file() and ":" in target:
        path_text, function = target.rsplit(":", 1)
    path = Path(path_text)
    if not path.is_file():
        raise _UsageError(f"no such file: {path_text}")
    spec = importlib.util.spec_from_file_location(f"_gradient_flow_problem_{abs(hash(path.resolve()))}", path)
    if spec is None or spec.loader is None:
        raise _UsageError(f"cannot load {path_text} as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.resolve().parent))
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise _UsageError(f"importing {path_text} failed: {type(error).__name__}: {error}") from error
    finally:
        sys.path.remove(str(path.resolve().parent))
    if not callable(getattr(module, function, None)):
        raise _UsageError(f"{path_text} has no function {function!r} (FILE.py[:function]; default 'problem')")
    result = getattr(module, function)()
    if not (isinstance(result, tuple) and len(result) in (3, 4)):
        got = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        raise _UsageError(f"{path_text}:{function}() must return (model, loss_fn, batch) or "
                          f"(model, loss_fn, batch, options), got {got}")
    if len(result) == 4 and not isinstance(result[3], dict):  # model, loss_fn and batch: check_gradient_flow's checks
        raise _UsageError(f"{path_text}:{function}(): options: expected a dict of keyword arguments of "
                          f"check_gradient_flow, got {type(result[3]).__name__}")
    return result[0], result[1], result[2], (result[3] if len(result) == 4 else {})


def _check_output_path(option: str, path_text: str, formats=None):
    """Before the check runs: the folder exists and is writable, and (for a figure) matplotlib writes the format."""
    path = Path(path_text)
    folder = path.parent
    if path.is_dir():
        raise _UsageError(f"{option} {path_text}: is a folder; give a file name")
    if not folder.is_dir():
        raise _UsageError(f"{option} {path_text}: no such folder: {folder}")
    if not os.access(folder, os.W_OK):
        raise _UsageError(f"{option} {path_text}: the folder {folder} is not writable")
    if formats is not None:
        suffix = path.suffix[1:].lower()
        if suffix not in formats:
            raise _UsageError(f"{option} {path_text}: " + (f"unknown figure format {suffix!r}" if suffix else
                              "no file extension to tell the format") + f"; matplotlib writes {', '.join(formats)}")


def figure_formats() -> list[str]:
    """The file extensions ``plot`` (matplotlib's Agg canvas) can write here; some (jpg, tif, webp, gif, avif)
    need Pillow's support for them."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return sorted(FigureCanvasAgg(Figure()).get_supported_filetypes())


def _print(text: str) -> None:
    """Print to stdout; a closed pipe (``gradflow … | head``) is not an error."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left: send the rest, and Python's flush at exit, nowhere
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv=None) -> int:
    """python -m spec_tests.gradient_flow FILE.py[:function]: exit 0 healthy, 1 not, 2 usage error."""
    parser = argparse.ArgumentParser(
        prog="gradflow", description="Gradient-flow check (S5) of the model that FILE.py's function returns as "
        "(model, loss_fn, batch[, options]); options are keyword arguments of check_gradient_flow.",
        epilog="Exit status: 0 healthy, 1 exploding, vanishing, non-finite or undetermined, 2 usage error.")
    parser.add_argument("target", help="FILE.py or FILE.py:function (default function: problem)")
    parser.add_argument("--layers", action="append", metavar="NAME",
                        help="a layer's module name or a pattern (* = one dotted component); repeatable")
    parser.add_argument("--layer-type", action="append", metavar="CLASS",
                        help="every module whose class is named CLASS (e.g. TransformerEncoderLayer); repeatable")
    parser.add_argument("--power-iterations", type=int, metavar="K",
                        help=f"jvp/vjp pairs per site (default {DEFAULT_POWER_ITERATIONS}; 0: no Jacobians)")
    parser.add_argument("--max-growth", type=float, help=f"exploding threshold (default {DEFAULT_MAX_GROWTH:g})")
    parser.add_argument("--min-growth", type=float, help=f"vanishing threshold (default {DEFAULT_MIN_GROWTH:g})")
    parser.add_argument("--json", metavar="PATH", help="write the result as JSON")
    parser.add_argument("--figure", metavar="PATH", help="write the per-layer norms as a figure; the extension "
                        "gives the format: png, svg, pdf or another that matplotlib writes")
    try:
        options = parser.parse_args(argv)
    except SystemExit as exit_:
        return USAGE_ERROR if exit_.code else 0
    try:
        if options.json:
            _check_output_path("--json", options.json)
        if options.figure:
            _check_output_path("--figure", options.figure, figure_formats())
        model, loss_fn, batch, kwargs = _load_problem(options.target)
        if options.layers or options.layer_type:
            layers = list(options.layers or [])
            if options.layer_type:
                wanted = set(options.layer_type)
                classes = {type(m) for m in model.modules() if type(m).__name__ in wanted}
                if {c.__name__ for c in classes} != wanted:
                    raise _UsageError(f"--layer-type: no module of class {sorted(wanted - {c.__name__ for c in classes})}")
                layers += sorted(classes, key=lambda c: c.__name__)
            kwargs["layers"] = layers
        for key in ("power_iterations", "max_growth", "min_growth"):
            if getattr(options, key) is not None:
                kwargs[key] = getattr(options, key)
        report = check_gradient_flow(model, loss_fn, batch, **kwargs)
    except Exception as error:  # noqa: BLE001 — no verdict, so not exit status 1
        stage = getattr(error, "_gradient_flow_stage", None)
        if stage is None and isinstance(error, _UsageError | ValueError | TypeError):
            print(f"gradflow: {error}", file=sys.stderr)
            return USAGE_ERROR
        import traceback

        traceback.print_exc()
        what = {"model": "running the model failed: model(inputs) raised",
                "loss_fn": "the model ran, but loss_fn(output, targets) raised"}.get(stage, "the check failed:")
        print(f"gradflow: {what} {type(error).__name__} (above); no verdict", file=sys.stderr)
        return USAGE_ERROR
    _print(str(report))
    if options.json:
        report.to_json(options.json)
    if options.figure:
        report.plot(options.figure)
    return 0 if report.healthy else 1


if __name__ == "__main__":
    sys.exit(main())
