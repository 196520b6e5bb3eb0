"""The gradient-flow check (spec_tests/gradient_flow.py, docs/gradient_flow.md): its verdict on the project's
exploding problems and on healthy and vanishing ones, the first non-finite value, the power-iteration
Jacobian norm against the dense SVD, the model's state left as it was, the JSON result, the command's exit
statuses and the assertion helper's message.  float64, fixed seeds; the problems are those of the docs page
(tools/make_flow_figures.py), some made smaller.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from spec_tests import gradient_flow as gf
from spec_tests.gradient_flow import assert_gradient_flow_healthy, check_gradient_flow, power_iteration_norm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import make_flow_figures as problems  # noqa: E402


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny kernels split across torch's thread pool cost far more than their arithmetic on a busy 2-core
    machine (tests/test_transformer_oracles.py does the same)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def check(make, power_iterations=0, **kwargs):
    model, loss_fn, batch, options = make(**kwargs)
    return check_gradient_flow(model, loss_fn, batch, power_iterations=power_iterations, **options)


# -- the project's exploding problems: exploding, the input-most layer named -----------------------------


def test_deep_tanh_mlp_with_weights_1_5_orthogonal_explodes_and_names_the_first_layer():
    report = check(problems.deep_mlp)  # 16 layers, W = 1.5·Q, inputs 0.01: tanh near its linear range
    assert report.verdict == "exploding", report
    assert report.largest_gradient == "layers.0" and report.sites[-1].name == "layers.0"
    assert [s.name for s in report.sites] == [f"layers.{k}" for k in range(15, -1, -1)]  # output to input
    assert 50 < report.growth < 1.5 ** 15 and report.increasing_steps >= 14
    assert report.reason.startswith("‖∂L/∂out‖ grows 76.9× from layers.15 (output side) to layers.0 (input side)")
    # each layer's backward multiplies by 1.5·tanh'(a) ≤ 1.5; the input-most ones by nearly 1.5
    assert all(s.gain <= 1.5 + 1e-12 for s in report.sites[:-1]) and report.sites[-2].gain > 1.49


def test_deep_tanh_mlp_at_unit_inputs_saturates_and_does_not_explode():
    """The same weights with inputs of size 1: tanh saturates, 1.5·tanh' ≈ 1, and the gradient does not grow
    (S1: large weights allow growth, they do not force it)."""
    report = check(problems.deep_mlp, input_scale=1.0)
    assert report.verdict == "healthy" and 1 < report.growth < 3, report.reason


def test_long_rnn_with_w_hh_1_2_orthogonal_explodes_through_time_and_names_step_0():
    report = check(problems.long_rnn, steps=40)
    assert report.verdict == "exploding", report
    assert report.sites[0].name == "readout" and report.sites[1].name == "cell[39]"
    assert report.largest_gradient == "cell[0]" == report.sites[-1].name
    assert report.growth > 10 and abs(report.sites[-2].gain - 1.2) < 0.01  # near h = 0 the step Jacobian is W_hh
    assert {s.calls for s in report.sites if s.kind == "RNNCell"} == {40}


def test_deep_post_ln_transformer_with_grown_attention_logits_explodes_and_names_layer_0():
    report = check(problems.post_ln_transformer)
    assert report.verdict == "exploding", report
    assert report.largest_gradient == "encoder.layers.0" == report.sites[-1].name
    assert report.growth > 50, report.reason


# -- healthy problems pass; vanishing is named --------------------------------------------------------------


def test_orthogonal_linear_network_with_gain_1_is_healthy_with_growth_exactly_1():
    report = check(problems.deep_mlp, scale=1.0, activation=lambda x: x, input_scale=1.0)
    assert report.verdict == "healthy"
    assert report.growth == pytest.approx(1.0, abs=1e-12) and report.endpoint_ratio == pytest.approx(1.0, abs=1e-12)
    assert_gradient_flow_healthy(*problems.deep_mlp(scale=1.0, activation=lambda x: x)[:3])


def test_pre_ln_and_post_ln_transformers_at_pytorch_initialisation_are_healthy():
    pre, post = check(problems.pre_ln_transformer_at_init), check(problems.post_ln_transformer_at_init)
    assert pre.verdict == post.verdict == "healthy", (pre.reason, post.reason)
    assert pre.sites[1].name == "encoder.norm" and pre.sites[-1].name == "encoder.layers.0"


def test_rnn_with_orthogonal_w_hh_is_healthy_and_with_half_scale_vanishes():
    assert check(problems.long_rnn, scale=1.0, steps=40).verdict == "healthy"
    small = check(problems.long_rnn, scale=0.5, steps=40)
    assert small.verdict == "vanishing" and small.growth < 1e-9 and small.largest_gradient == "readout"


def test_small_scale_deep_tanh_network_vanishes():
    report = check(problems.deep_mlp, scale=0.5)
    assert report.verdict == "vanishing", report
    assert report.growth == pytest.approx(0.5 ** 15, rel=1e-3)  # tanh' ≈ 1 at these inputs: the gain is 0.5
    assert report.reason.startswith("‖∂L/∂out‖ shrinks to 3.05e-05× from layers.15")


# -- the first non-finite value -----------------------------------------------------------------------------


def _mlp(depth=8):
    return problems.deep_mlp(depth=depth, scale=1.0)[:3]


@pytest.mark.parametrize("layer, bad, value", [(5, "weight", math.nan), (2, "bias", math.inf), (6, "weight", -math.inf)])
def test_first_non_finite_parameter_and_activation_are_named(layer, bad, value):
    model, loss_fn, batch = _mlp()
    with torch.no_grad():
        getattr(model.layers[layer], bad).view(-1)[3] = value
    report = check_gradient_flow(model, loss_fn, batch, power_iterations=0)
    assert report.verdict == "non-finite"
    assert report.first_nonfinite["parameter"] == f"layers.{layer}.{bad}"
    assert report.first_nonfinite["activation"] == f"layers.{layer}"
    assert report.reason.startswith(f"first non-finite: parameter layers.{layer}.{bad}, activation layers.{layer}")
    assert report.first_nonfinite["loss"] == math.isnan(value)  # tanh(±inf) = ±1: an infinity stops there
    assert not report.site(f"layers.{layer}").output_finite


def test_the_first_of_two_corrupted_layers_in_forward_order_is_named():
    model, loss_fn, batch = _mlp()
    with torch.no_grad():
        model.layers[6].weight[0, 0] = math.nan
        model.layers[3].weight[1, 1] = math.nan
    report = check_gradient_flow(model, loss_fn, batch, power_iterations=0)
    assert report.first_nonfinite["parameter"] == "layers.3.weight"
    assert report.first_nonfinite["activation"] == "layers.3"


def test_a_non_finite_gradient_from_finite_values_is_named_at_the_output_side():
    model, _, (x, _) = _mlp()
    target = model(x).detach()  # the residual is exactly 0, and d√r/dr = ∞ there
    report = check_gradient_flow(model, lambda out, y: ((out - y) ** 2).sum().sqrt(), (x, target), power_iterations=0)
    assert report.first_nonfinite == {"loss": False, "parameter": None, "activation": None, "gradient": "layers.7",
                                      "batch": None}
    assert report.verdict == "non-finite" and report.reason == "first non-finite: gradient layers.7"


# -- the Jacobian norm by power iteration against the dense SVD -----------------------------------------------


def _small_layers():
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    f64 = torch.float64
    return {
        "linear": (nn.Linear(6, 5, dtype=f64), torch.randn(3, 6, dtype=f64, generator=g)),
        "linear+tanh": (nn.Sequential(nn.Linear(6, 6, dtype=f64), nn.Tanh()), torch.randn(3, 6, dtype=f64, generator=g)),
        "layernorm": (nn.LayerNorm(6, dtype=f64), torch.randn(3, 6, dtype=f64, generator=g)),
        "transformer layer": (nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True, dtype=f64),
                              torch.randn(2, 3, 4, dtype=f64, generator=g)),
    }


@pytest.mark.parametrize("name", list(_small_layers()))
def test_power_iteration_is_a_lower_bound_that_converges_to_the_dense_spectral_norm(name):
    """σ_max of the dense Jacobian (torch.autograd.functional.jacobian, test only) against the estimate through
    the check itself: never above it (beyond rounding), within 10% at the default 8 iterations on these layers
    (their σ_2/σ_1 is as high as 0.94), within 1e-3 at 32."""
    module, x = _small_layers()[name]
    dense = torch.autograd.functional.jacobian(lambda z: module(z), x).reshape(-1, x.numel())
    true = torch.linalg.matrix_norm(dense, 2).item()
    for iterations, tolerance in ((gf.DEFAULT_POWER_ITERATIONS, 0.1), (32, 1e-3)):
        report = check_gradient_flow(module, lambda out, y: (out * y).sum(), (x, torch.ones_like(module(x))),
                                     layers=[type(module)], power_iterations=iterations)
        (site,) = report.sites
        assert site.jacobian_norm <= true * (1 + 1e-12), (site.jacobian_norm, true)
        assert site.jacobian_norm >= true * (1 - tolerance), (iterations, site.jacobian_norm, true)


def test_power_iteration_on_a_designed_spectrum_converges_like_the_gap_squared():
    q1, _ = torch.linalg.qr(torch.randn(8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1)))
    q2, _ = torch.linalg.qr(torch.randn(8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(2)))
    s = torch.tensor([3.0, 1.5, 1, 1, 0.5, 0.5, 0.2, 0.1], dtype=torch.float64)
    a = q1 @ torch.diag(s) @ q2.T
    errors = [1 - power_iteration_norm(lambda v: a @ v, torch.zeros(8, dtype=torch.float64), k) / 3 for k in (2, 4, 8)]
    assert all(0 <= e for e in errors) and errors[2] < 1e-7
    assert errors[1] <= errors[0] * 0.5 ** 4 * 10  # each pair of iterations gains about (σ_2/σ_1)^4


def test_rnn_cell_gets_the_jacobian_with_respect_to_the_previous_hidden_state():
    report = check(problems.long_rnn, power_iterations=16, steps=6, scale=1.2)
    cells = [s for s in report.sites if s.kind == "RNNCell"]
    assert cells[-1].jacobian_norm is None and "2 tensor inputs" in cells[-1].jacobian_note  # h_0 is no site's output
    # near h = 0, ∂h_t/∂h_(t−1) = diag(tanh'(a_t)) W_hh with tanh' ≈ 1: σ_max ≈ 1.2
    assert all(1.19 < s.jacobian_norm <= 1.2 + 1e-12 for s in cells[:-1])
    assert report.jacobian_log10_product == pytest.approx(sum(math.log10(s.jacobian_norm) for s in report.sites
                                                              if s.jacobian_norm is not None))


# -- the model's state is left as it was -----------------------------------------------------------------------


class _Stateful(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 6, dtype=torch.float64)
        self.norm = nn.BatchNorm1d(6, dtype=torch.float64)
        self.drop = nn.Dropout(0.3)
        self.b = nn.Linear(6, 6, dtype=torch.float64)
        self.c = nn.Linear(6, 2, dtype=torch.float64)

    def forward(self, x):
        return self.c(self.drop(torch.tanh(self.b(self.norm(self.a(x))))))


def test_parameters_grads_modes_buffers_random_state_and_hooks_are_unchanged():
    torch.manual_seed(0)
    model = _Stateful()
    model.train()
    model.c.eval()  # a mixed mode, to be kept per module
    model.b.bias.requires_grad_(False)
    model.a.weight.grad = torch.full_like(model.a.weight, 7.0)
    grads = {n: p.grad for n, p in model.named_parameters()}
    before = {n: t.clone() for n, t in model.state_dict().items()}
    modes = {n: m.training for n, m in model.named_modules()}
    x, y = torch.randn(5, 6, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    rng = torch.get_rng_state()
    report = check_gradient_flow(model, nn.functional.mse_loss, (x, y), power_iterations=4)
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(before[n], t) for n, t in model.state_dict().items())  # incl. running stats
    assert {n: p.grad for n, p in model.named_parameters()} == grads and model.a.weight.grad.eq(7).all()
    assert {n: m.training for n, m in model.named_modules()} == modes
    assert not model.b.bias.requires_grad
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert [s.name for s in report.sites] == ["c", "b", "norm", "a"]
    assert report.site("norm").jacobian_note == (  # BatchNorm in training mode: no estimate, and the plain reason
        "BatchNorm1d in training mode updates its running statistics in place, which torch.func cannot "
        "differentiate (in eval mode it can)")
    assert report.site("a").jacobian_norm > 0


# -- layers, sites and their names ---------------------------------------------------------------------------


def test_default_layers_are_the_innermost_modules_that_ran_and_hold_parameters():
    model, loss_fn, batch, _ = problems.transformer(depth=2, d=8, nhead=2, seq=4, batch=2)
    report = check_gradient_flow(model, loss_fn, batch, power_iterations=0)
    names = [s.name for s in report.sites]
    assert names[:6] == ["readout", "encoder.layers.1.norm2", "encoder.layers.1.linear2", "encoder.layers.1.linear1",
                         "encoder.layers.1.norm1", "encoder.layers.1.self_attn"]
    attention = report.site("encoder.layers.0.self_attn")  # out_proj never runs as a module: it is attention's
    assert "encoder.layers.0.self_attn.out_proj.weight" in attention.parameters
    assert report.unattributed_parameters == []


def test_layers_by_pattern_equal_layers_by_class_and_an_unknown_name_is_refused():
    model, loss_fn, batch, _ = problems.transformer(depth=3, d=8, nhead=2, seq=4, batch=2)
    by_class = check_gradient_flow(model, loss_fn, batch, layers=nn.TransformerEncoderLayer, power_iterations=0)
    by_pattern = check_gradient_flow(model, loss_fn, batch, layers="encoder.layers.*", power_iterations=0)
    assert [s.name for s in by_class.sites] == [s.name for s in by_pattern.sites] == [
        "encoder.layers.2", "encoder.layers.1", "encoder.layers.0"]
    assert by_class.unattributed_parameters == ["readout.bias", "readout.weight"]
    with pytest.raises(ValueError, match="the model has no modules named 'encoder.blocks.*'"):
        check_gradient_flow(model, loss_fn, batch, layers="encoder.blocks.*")


def test_a_single_nn_rnn_is_undetermined_and_the_assertion_says_to_unroll_it():
    torch.manual_seed(0)
    model = nn.Sequential(nn.RNN(4, 4, dtype=torch.float64))
    x = torch.randn(30, 2, 4, dtype=torch.float64)
    report = check_gradient_flow(model, lambda out, y: out[0][-1].sum(), (x, None), power_iterations=0)
    assert report.verdict == "undetermined" and [s.name for s in report.sites] == ["0"]
    with pytest.raises(AssertionError, match=r"^gradient flow undetermined: only 1 site\(s\) with a gradient.*unroll"):
        assert_gradient_flow_healthy(model, lambda out, y: out[0][-1].sum(), (x, None))
    assert_gradient_flow_healthy(model, lambda out, y: out[0][-1].sum(), (x, None), allow_undetermined=True)


# -- the result as JSON, the table, the assertion's message ------------------------------------------------------


def test_json_result_validates_against_its_schema_and_round_trips():
    jsonschema = pytest.importorskip("jsonschema")
    report = check(problems.long_rnn, power_iterations=2, steps=5)
    data = json.loads(report.to_json())
    jsonschema.validate(data, gf.JSON_SCHEMA)
    assert gf.GradientFlowReport.from_json(report.to_json()) == report
    model, loss_fn, batch = _mlp(4)
    with torch.no_grad():
        model.layers[1].weight[0, 0] = math.inf
    broken = check_gradient_flow(model, loss_fn, batch, power_iterations=0)
    data = json.loads(broken.to_json())  # allow_nan=False: strict JSON, non-finite floats as strings
    jsonschema.validate(data, gf.JSON_SCHEMA)
    assert gf.GradientFlowReport.from_dict(data).to_dict() == data
    assert "inf" in json.dumps(data) or "nan" in json.dumps(data)


def test_the_table_runs_from_output_to_input_and_leads_with_the_verdict():
    text = str(check(problems.deep_mlp, depth=4, power_iterations=2))
    lines = text.splitlines()
    assert lines[0].startswith("gradient flow: EXPLODING — ") or lines[0].startswith("gradient flow: HEALTHY — ")
    rows = [line.split()[1] for line in lines if line[:1].isdigit()]
    assert rows == ["layers.3", "layers.2", "layers.1", "layers.0"]
    assert "product of σ_max(J)" in text


def test_assertion_leads_with_the_layer_the_ratio_and_the_threshold():
    model, loss_fn, batch, _ = problems.deep_mlp()
    with pytest.raises(AssertionError) as info:
        assert_gradient_flow_healthy(model, loss_fn, batch, max_growth=20)
    first = str(info.value).splitlines()[0]
    assert first.startswith("gradient flow exploding: ‖∂L/∂out‖ grows 76.9× from layers.15 (output side) to "
                            "layers.0 (input side) over 16 sites"), first
    assert "≥ max_growth 20" in first and "largest ‖∂L/∂out‖ at layers.0" in first
    assert "site (output → input)" in str(info.value)  # the table follows
    assert "EXPLODING —" not in str(info.value) and str(info.value).count("grows 76.9×") == 1  # the verdict once
    assert "__tracebackhide__" in assert_gradient_flow_healthy.__code__.co_varnames


# -- the command --------------------------------------------------------------------------------------------------

PROBLEM_FILE = """
import sys
import torch
sys.path.insert(0, {tools!r})
import make_flow_figures as p

def problem():
    return p.deep_mlp(depth=8)

def healthy():
    return p.deep_mlp(depth=8, scale=1.0)

def broken():
    return "not a model"

def not_a_module():
    return (lambda x: x), torch.nn.functional.mse_loss, (torch.zeros(2, 4), torch.zeros(2, 4))

def two():
    return p.deep_mlp(depth=4)[:2]

def no_parameters():
    return torch.nn.Sequential(torch.nn.Tanh()), torch.nn.functional.mse_loss, (torch.zeros(2, 4), torch.zeros(2, 4))

def detached_loss():
    model, _, batch, _ = p.deep_mlp(depth=4)
    return model, lambda o, y: ((o.detach() - y) ** 2).mean(), batch

def model_raises():
    model, loss_fn, (x, y), _ = p.deep_mlp(depth=4)
    return model, loss_fn, (x[:, :3], y)

def loss_raises():
    model, _, batch, _ = p.deep_mlp(depth=4)
    return model, torch.nn.functional.cross_entropy, (batch[0], batch[1][:, 0])
"""


@pytest.fixture
def problem_file(tmp_path):
    path = tmp_path / "problem.py"
    path.write_text(PROBLEM_FILE.format(tools=str(ROOT / "tools")))
    return path


def test_command_exit_statuses_and_json(problem_file, tmp_path, capsys):
    assert gf.main([f"{problem_file}:healthy", "--power-iterations", "0", "--json", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["verdict"] == "healthy"
    assert gf.main([str(problem_file), "--power-iterations", "1"]) == 1  # default function: problem, exploding
    assert "gradient flow: EXPLODING" in capsys.readouterr().out
    assert gf.main([str(problem_file), "--max-growth", "1e6", "--power-iterations", "0"]) == 0
    for argv, message in (([f"{problem_file}:broken"], "must return (model, loss_fn, batch)"),
                          ([f"{problem_file}:two"], "got a tuple of 2"),
                          ([f"{problem_file}:not_a_module"], "gradflow: model: expected a torch.nn.Module, got function"),
                          ([f"{problem_file}:no_parameters"], "gradflow: the model has no parameters"),
                          ([f"{problem_file}:detached_loss"], "gradflow: the loss does not depend on the model's "
                           "parameters or outputs (it does not require grad)"),
                          ([f"{problem_file}:nothing"], "has no function 'nothing'"),
                          ([str(tmp_path / "missing.py")], "no such file"),
                          ([str(problem_file), "--layers", "blocks.*"], "no modules named 'blocks.*'"),
                          ([str(problem_file), "--power-iterations", "x"], "invalid int value")):
        assert gf.main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv


@pytest.mark.slow
def test_command_as_a_process_writes_the_figure_and_exits_1_on_the_exploding_transformer(tmp_path):
    done = subprocess.run([sys.executable, "-m", "spec_tests.gradient_flow", "tools/make_flow_figures.py", "--power-iterations", "1",
                           "--figure", str(tmp_path / "flow.png"), "--json", str(tmp_path / "flow.json")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("gradient flow: EXPLODING")
    assert (tmp_path / "flow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "flow.json").read_text())["largest_gradient"] == "encoder.layers.0"


def test_command_tells_a_failing_model_from_a_failing_loss(problem_file, capsys):
    assert gf.main([f"{problem_file}:model_raises", "--power-iterations", "0"]) == 2
    err = capsys.readouterr().err
    assert "mat1 and mat2 shapes cannot be multiplied" in err
    assert err.rstrip().endswith("gradflow: running the model failed: model(inputs) raised RuntimeError (above); "
                                 "no verdict")
    assert gf.main([f"{problem_file}:loss_raises", "--power-iterations", "0"]) == 2
    err = capsys.readouterr().err
    assert err.rstrip().endswith("gradflow: the model ran, but loss_fn(output, targets) raised RuntimeError (above); "
                                 "no verdict")


def test_command_refuses_a_bad_json_or_figure_path_before_running(problem_file, tmp_path, capsys):
    for argv, message in ((["--json", str(tmp_path / "no" / "r.json")], f"--json {tmp_path / 'no' / 'r.json'}: no such "
                                                                          f"folder: {tmp_path / 'no'}"),
                          (["--figure", str(tmp_path / "no" / "f.png")], "no such folder"),
                          (["--figure", str(tmp_path / "f.xyz")], "unknown figure format 'xyz'; matplotlib writes "),
                          (["--figure", str(tmp_path / "f")], "no file extension to tell the format"),
                          (["--figure", str(tmp_path)], "is a folder")):
        assert gf.main([str(problem_file), *argv]) == 2, argv
        out, err = capsys.readouterr()
        assert out == "" and len(err.strip().splitlines()) == 1 and message in err, (argv, err)  # the check never ran
    assert {"png", "pdf", "svg"} <= set(gf.figure_formats())


def test_command_output_into_a_closed_pipe_is_not_an_error(monkeypatch):
    read_end, write_end = __import__("os").pipe()

    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError

        def flush(self):
            pass

        def fileno(self):
            return write_end

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    gf._print("gradient flow: HEALTHY")  # no exception; the rest goes to /dev/null
    import os

    os.close(read_end)
    os.write(write_end, b"discarded")  # write_end is now /dev/null: no SIGPIPE, no BrokenPipeError
    os.close(write_end)


# -- tied weights, frozen layers, exact zeros, the batch, the loss --------------------------------------------------


class _Tied(nn.Module):
    """A language model's tied embedding and output projection (out.weight is emb.weight), and one module
    registered under two names (mid2 is mid_again)."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 8, dtype=torch.float64)
        self.mid = nn.Linear(8, 8, dtype=torch.float64)
        self.mid2 = nn.Linear(8, 8, dtype=torch.float64)
        self.mid_again = self.mid2
        self.out = nn.Linear(8, 20, bias=False, dtype=torch.float64)
        self.out.weight = self.emb.weight

    def forward(self, x):
        return self.out(torch.tanh(self.mid_again(torch.tanh(self.mid(self.emb(x))))))


def test_a_tied_weight_belongs_to_every_layer_that_holds_it_and_is_noted_as_shared():
    torch.manual_seed(0)
    model = _Tied()
    x, y = torch.randint(0, 20, (3, 5)), torch.randint(0, 20, (3, 5))
    loss_fn = lambda o, t: nn.functional.cross_entropy(o.reshape(-1, 20), t.reshape(-1))
    report = check_gradient_flow(model, loss_fn, (x, y), power_iterations=0)
    assert [s.name for s in report.sites] == ["out", "mid2", "mid", "emb"]  # out ran last: the output-most layer
    assert report.site("out").parameters == ["out.weight"] and report.site("emb").parameters == ["emb.weight"]
    assert report.site("mid2").parameters == ["mid2.weight", "mid2.bias"] and report.unattributed_parameters == []
    model.zero_grad()
    loss_fn(model(x), y).backward()
    total = model.emb.weight.grad.norm().item()  # both uses of the tensor
    assert report.site("out").weight_grad_norm == pytest.approx(total) == report.site("emb").weight_grad_norm
    assert report.site("out").weight_norm == report.site("emb").weight_norm
    assert "shared parameter: emb.weight = out.weight is one tensor, held by emb, out" in str(report)
    assert gf._select_layers(model, "*") == {"emb", "mid", "mid2", "mid_again", "out"}  # not the model itself ("")


def test_a_frozen_first_layer_and_a_frozen_model_still_get_the_gradient_at_their_outputs():
    torch.manual_seed(0)
    f64 = torch.float64
    model = nn.Sequential(nn.Linear(6, 6, dtype=f64), nn.ReLU(inplace=True), nn.Linear(6, 6, dtype=f64), nn.Tanh(),
                          nn.Linear(6, 2, dtype=f64))
    model[0].requires_grad_(False)
    x, y = torch.randn(4, 6, dtype=f64), torch.randn(4, 2, dtype=f64)
    report = check_gradient_flow(model, nn.functional.mse_loss, (x, y), power_iterations=1)
    h = model[0](x).requires_grad_()  # the reference, by hand
    expected = torch.autograd.grad(nn.functional.mse_loss(model[2:](torch.relu(h)), y), h)[0].norm().item()
    assert report.site("0").output_grad_norm == pytest.approx(expected, rel=1e-12)
    assert report.site("0").weight_grad_norm is None and report.verdict == "healthy"
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True, True, True]
    model.requires_grad_(False)  # nothing trainable: ∂L/∂out is still defined at every site
    frozen = check_gradient_flow(model, nn.functional.mse_loss, (x, y), power_iterations=0)
    assert [s.output_grad_norm for s in frozen.sites] == [s.output_grad_norm for s in report.sites]
    assert not any(p.requires_grad for p in model.parameters()) and not x.requires_grad


def _scaled_chain(scales):
    """Linear layers without bias, W = c·I (input-most first): each backward multiplies ‖∂L/∂out‖ by c."""
    layers = [nn.Linear(3, 3, bias=False, dtype=torch.float64) for _ in scales]
    with torch.no_grad():
        for layer, c in zip(layers, scales):
            layer.weight.copy_(c * torch.eye(3, dtype=torch.float64))
    return nn.Sequential(*layers)


def test_an_exact_zero_after_a_non_zero_gradient_is_vanishing_and_a_contradicting_fit_is_said():
    x = torch.ones(2, 3, dtype=torch.float64)
    model = nn.Sequential(_scaled_chain([-1.0, 1.0]), nn.ReLU(), _scaled_chain([1.0, 2.0, 2.0]))  # ReLU(−1) = 0
    report = check_gradient_flow(model, lambda o, y: o.sum(), (x, None), power_iterations=0)
    assert [s.output_grad_norm for s in report.sites][-2:] == [0.0, 0.0]
    assert report.verdict == "vanishing"
    assert report.reason.startswith("site 0.1 receives exactly 0 after 9.8 at 2.0: the gradient vanished "
                                    "(‖∂L/∂out‖ = 0 at 2 sites: 0.1, 0.0); fitted over the sites with a non-zero "
                                    "gradient, ‖∂L/∂out‖ changes 4× from 2.2 (output side) to 2.0 (input side)"), report.reason
    # fitted growth ≥ 10 while the end points shrink: the verdict follows the fit and the evidence says they disagree
    model = _scaled_chain([1.0, 0.5e-8, 1.0, 1e8, 1.0, 1.0, 1.0])  # ‖∂L/∂out‖ ∝ 1, 1, 1, 1, 1e8, 1e8, 0.5
    report = check_gradient_flow(model, lambda o, y: o.sum(), (x, None), power_iterations=0)
    assert report.verdict == "exploding" and report.endpoint_ratio == pytest.approx(0.5)
    assert (f"the fitted growth ({report.growth:.3g}×) and the measured end-to-end ratio (0.5×) disagree in "
            "direction: ‖∂L/∂out‖ is not monotone from output to input, read the table") in report.reason
    assert "disagree" not in check(problems.deep_mlp).reason  # only when they do
    # exactly 0 everywhere: a stationary loss, not a vanishing gradient
    model = _scaled_chain([1.0, 1.0, 1.0])
    report = check_gradient_flow(model, nn.functional.mse_loss, (x, model(x).detach()), power_iterations=0)
    assert report.verdict == "undetermined" and report.reason.startswith("‖∂L/∂out‖ is exactly 0 at every site")


def test_a_non_finite_batch_is_named_before_the_activations_it_spoils():
    model, loss_fn, (x, y) = _mlp(4)
    x[1, 2] = math.nan
    report = check_gradient_flow(model, loss_fn, (x, y), power_iterations=0)
    assert report.verdict == "non-finite" and report.first_nonfinite["batch"] == "inputs[1, 2]"
    assert report.reason.startswith("first non-finite: the inputs (NaN at inputs[1, 2]), activation layers.0")
    assert report.growth is None and "None" in gf.GradientFlowReport.__doc__  # documented: not computed
    x[1, 2] = 0.0
    y[3, 0] = -math.inf
    assert check_gradient_flow(model, loss_fn, (x, y), power_iterations=0).reason.startswith(
        "first non-finite: the targets (-inf at targets[3, 0]), the loss")
    assert gf._first_nonfinite_entry({"a": x, "b": [x, y]}, "inputs") == ("inputs['b'][1][3, 0]", "-inf")


def test_a_model_without_parameters_or_a_loss_without_grad_is_refused_with_the_cause():
    x = torch.randn(2, 4)
    with pytest.raises(ValueError, match="^the model has no parameters"):
        check_gradient_flow(nn.Sequential(nn.Tanh(), nn.ReLU()), nn.functional.mse_loss, (x, x))
    model, _, batch = _mlp(4)
    with pytest.raises(ValueError, match=r"^the loss does not depend on the model's parameters or outputs \(it does "
                                         r"not require grad\)"):
        check_gradient_flow(model, lambda o, y: ((o.detach() - y) ** 2).mean(), batch)
    with pytest.raises(RuntimeError) as info:  # the model's own error, marked as the model's
        check_gradient_flow(model, nn.functional.mse_loss, (batch[0][:, :3], batch[1]))
    assert info.value._gradient_flow_stage == "model"


class _Raises(nn.Module):
    """Linear, but its reruns (the power iteration's) raise a two-line error longer than 120 characters."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 3, dtype=torch.float64)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls > 1:
            raise ValueError("a reason that is long enough to have been cut at 120 characters before, and then some "
                             "more words to be quite sure of that\nsecond line")
        return self.linear(x)


def test_jacobian_notes_give_the_known_causes_in_plain_words_and_otherwise_the_whole_first_line():
    # what torch 2.13 raises for a float32 nn.LSTM on CPU (mkldnn; cuDNN's kernel on a GPU has none either)
    error = NotImplementedError("Trying to use forward AD with mkldnn_rnn_layer that does not support it because it "
                                "has not been implemented yet.")
    assert gf._jacobian_failure(nn.Sequential(nn.LSTM(3, 3)), error) == (
        "nn.LSTM/GRU/RNN kernels have no forward-mode derivative; unroll with a Cell (nn.LSTMCell, nn.GRUCell, "
        "nn.RNNCell) to get the step Jacobian")
    report = check_gradient_flow(_Raises(), lambda o, y: o.sum(), (torch.ones(2, 3, dtype=torch.float64), None),
                                 layers=[""], power_iterations=1)
    assert report.sites[0].jacobian_note == ("ValueError: a reason that is long enough to have been cut at 120 "
                                             "characters before, and then some more words to be quite sure of that")


def test_the_figure_title_is_wrapped_within_the_figure():
    report = check(problems.deep_mlp, depth=4)
    for title in (None, "a long title, " * 20):
        figure = report.figure(title)
        figure.canvas.draw()
        text = figure.axes[0].title
        box = text.get_window_extent(figure.canvas.get_renderer())
        assert figure.bbox.x0 <= box.x0 and box.x1 <= figure.bbox.x1, (text.get_text(), box, figure.bbox)
    assert text.get_text().count("\n") == 2 and text.get_text().endswith(" …")  # three lines at most


def test_from_json_reads_the_file_that_to_json_wrote(tmp_path):
    report = check(problems.deep_mlp, depth=4)
    report.to_json(tmp_path / "r.json")
    assert gf.GradientFlowReport.from_json(tmp_path / "r.json") == report
    assert gf.GradientFlowReport.from_json(str(tmp_path / "r.json")) == report == gf.GradientFlowReport.from_json(
        report.to_json())
