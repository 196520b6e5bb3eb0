"""The gradient-flow check's worked examples (docs/gradient_flow.md): the problems, and the tables and figures.

Each problem function returns ``(model, loss_fn, batch, options)``, the form the command takes:

    python -m spec_tests.gradient_flow tools/make_flow_figures.py:post_ln_transformer
    python -m spec_tests.gradient_flow tools/make_flow_figures.py:long_rnn --figure rnn.png

``python tools/make_flow_figures.py`` prints every problem's table and writes docs/figures/gradient_flow_*.png.
tests/test_gradient_flow.py checks the verdicts on smaller versions of the same problems.  Everything is
float64 with fixed seeds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from spec_tests.gradient_flow import check_gradient_flow  # noqa: E402

FIGURES = ROOT / "docs" / "figures"


def _mse(output, target):
    return 0.5 * ((output - target) ** 2).sum() / output.shape[0]


class DeepMLP(nn.Module):
    """h_l = σ(W_l h_(l−1)) for l = 1..depth, W_l = scale·(orthogonal), zero biases; the last layer is linear."""

    def __init__(self, depth: int, width: int, scale: float, activation=torch.tanh, seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.layers = nn.ModuleList(nn.Linear(width, width, dtype=torch.float64) for _ in range(depth))
        with torch.no_grad():
            for layer in self.layers:
                q, r = torch.linalg.qr(torch.randn(width, width, generator=generator, dtype=torch.float64))
                layer.weight.copy_(scale * q * torch.sign(torch.diagonal(r)))
                layer.bias.zero_()
        self.activation = activation

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)


def deep_mlp(scale: float = 1.5, depth: int = 16, width: int = 32, batch: int = 8, activation=torch.tanh,
             input_scale: float = 0.01, seed: int = 0):
    """The S9/S5 problem: 16 tanh layers with W_l = 1.5·Q_l.  Inputs of size 0.01 per coordinate keep tanh near
    its linear range, where each layer multiplies the backward gradient by about ``scale``."""
    model = DeepMLP(depth, width, scale, activation, seed)
    generator = torch.Generator().manual_seed(seed + 1)
    x = input_scale * torch.randn(batch, width, generator=generator, dtype=torch.float64)
    y = torch.randn(batch, width, generator=generator, dtype=torch.float64)
    return model, _mse, (x, y), {}


class UnrolledRNN(nn.Module):
    """A vanilla tanh RNN written as one ``nn.RNNCell`` called once per step, so that each step is a site
    (``cell[t]``), then a linear readout of the last hidden state."""

    def __init__(self, hidden: int, scale: float, seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.cell = nn.RNNCell(hidden, hidden, dtype=torch.float64)
        self.readout = nn.Linear(hidden, hidden, dtype=torch.float64)
        with torch.no_grad():
            q, r = torch.linalg.qr(torch.randn(hidden, hidden, generator=generator, dtype=torch.float64))
            self.cell.weight_hh.copy_(scale * q * torch.sign(torch.diagonal(r)))
            self.cell.weight_ih.copy_(torch.randn(hidden, hidden, generator=generator, dtype=torch.float64)
                                      / hidden ** 0.5)
            self.cell.bias_ih.zero_()
            self.cell.bias_hh.zero_()

    def forward(self, x):  # x: (steps, batch, hidden), time first as nn.RNN takes it
        h = torch.zeros(x.shape[1], self.cell.hidden_size, dtype=x.dtype)
        for x_t in x:
            h = self.cell(x_t, h)
        return self.readout(h)


def long_rnn(scale: float = 1.2, steps: int = 48, hidden: int = 16, batch: int = 4, input_scale: float = 0.01,
             seed: int = 0):
    """The S8 problem: W_hh = 1.2·Q over 48 steps, loss on the last step.  Small inputs keep the state near the
    fixed point h = 0, where the step Jacobian is W_hh itself."""
    with torch.random.fork_rng():  # the readout's initialisation comes from the global generator: seed it
        torch.manual_seed(seed)
        model = UnrolledRNN(hidden, scale, seed)
    generator = torch.Generator().manual_seed(seed + 1)
    x = input_scale * torch.randn(steps, batch, hidden, generator=generator, dtype=torch.float64)
    y = torch.randn(batch, hidden, generator=generator, dtype=torch.float64)
    return model, _mse, (x, y), {}


class TransformerStack(nn.Module):
    """``nn.TransformerEncoder`` of ``depth`` layers (relu, dropout 0, batch first), post-LN or pre-LN (with a
    final LayerNorm), then a linear readout.  ``logit_scale`` multiplies W_Q and W_K, so the attention logits
    are ``logit_scale²`` times PyTorch's initial ones."""

    def __init__(self, depth: int, d: int, nhead: int, dim_feedforward: int, norm_first: bool,
                 logit_scale: float = 1.0, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)  # nn.TransformerEncoderLayer draws its initialisation from the global generator
        layer = nn.TransformerEncoderLayer(d, nhead, dim_feedforward, dropout=0.0, batch_first=True,
                                           norm_first=norm_first, dtype=torch.float64)
        final = nn.LayerNorm(d, dtype=torch.float64) if norm_first else None
        self.encoder = nn.TransformerEncoder(layer, depth, norm=final, enable_nested_tensor=False)
        self.readout = nn.Linear(d, d, dtype=torch.float64)
        with torch.no_grad():
            for block in self.encoder.layers:
                block.self_attn.in_proj_weight[: 2 * d] *= logit_scale

    def forward(self, x):
        return self.readout(self.encoder(x))


def transformer(norm_first: bool = False, logit_scale: float = 1.0, depth: int = 16, d: int = 32, nhead: int = 4,
                seq: int = 16, batch: int = 4, seed: int = 0):
    generator = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(batch, seq, d, generator=generator, dtype=torch.float64)
    y = torch.randn(batch, seq, d, generator=generator, dtype=torch.float64)
    with torch.random.fork_rng():
        model = TransformerStack(depth, d, nhead, 2 * d, norm_first, logit_scale, seed)
    layers = [nn.TransformerEncoderLayer, "readout"] + (["encoder.norm"] if norm_first else [])
    return model, _mse, (x, y), {"layers": layers}


def post_ln_transformer():
    """16 post-LN layers (d = 32, 4 heads, seq 16) with W_Q, W_K × 8: attention logits 64× PyTorch's initial
    ones, as when attention logits grow in training (Dehghani et al. 2023)."""
    return transformer(norm_first=False, logit_scale=8.0)


def post_ln_transformer_at_init():
    """The same stack at PyTorch's initialisation."""
    return transformer(norm_first=False)


def pre_ln_transformer_at_init():
    return transformer(norm_first=True)


def problem():
    """The command's default function: the exploding post-LN Transformer."""
    return post_ln_transformer()


PROBLEMS = {
    "deep_mlp": (deep_mlp, "16 tanh layers, W = 1.5·orthogonal"),
    "long_rnn": (long_rnn, "tanh RNN, W_hh = 1.2·orthogonal, 48 steps"),
    "post_ln_transformer": (post_ln_transformer, "16 post-LN layers, attention logits ×64"),
    "post_ln_transformer_at_init": (post_ln_transformer_at_init, "16 post-LN layers, PyTorch's initialisation"),
    "pre_ln_transformer_at_init": (pre_ln_transformer_at_init, "16 pre-LN layers, PyTorch's initialisation"),
}


def main() -> list[Path]:
    torch.set_num_threads(1)  # these small float64 models run faster on one thread than split across a busy two
    written = []
    for name, (make, title) in PROBLEMS.items():
        model, loss_fn, batch, options = make()
        report = check_gradient_flow(model, loss_fn, batch, **options)
        print(f"== {name}: {title}\n{report}\n")
        if name in ("long_rnn", "post_ln_transformer", "pre_ln_transformer_at_init", "deep_mlp"):
            path = FIGURES / f"gradient_flow_{name}.png"
            report.plot(path, title=f"{title}: {report.verdict}")
            written.append(path)
    return written


if __name__ == "__main__":
    for p in main():
        print("wrote", p.relative_to(ROOT))
