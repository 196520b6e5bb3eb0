"""The gradient-flow check's overhead per call on mid-sized models (docs/gradient_flow.md, "Overhead").

    python tools/benchmark_gradient_flow.py [--repeats 5] [--threads N]

Two float32 models, batch 32: a 12-layer MLP of width 512 (tanh), and a 6-layer post-LN Transformer encoder,
d = 256, 8 heads, feed-forward 1024, sequence 64.  For each: the median time of one training step (forward,
backward, SGD step), of one call of check_gradient_flow without the power iteration and with 8 iterations,
and of one step under torch.autograd.detect_anomaly(), each as a multiple of the training step.  Prints the
machine (cores, torch threads, load average); nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from spec_tests.gradient_flow import check_gradient_flow  # noqa: E402


def mlp():
    torch.manual_seed(0)
    layers = []
    for _ in range(11):
        layers += [nn.Linear(512, 512), nn.Tanh()]
    model = nn.Sequential(*layers, nn.Linear(512, 10))
    return model, nn.functional.cross_entropy, (torch.randn(32, 512), torch.randint(0, 10, (32,))), {}


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(256, 8, 1024, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 6, enable_nested_tensor=False)
        self.readout = nn.Linear(256, 256)

    def forward(self, x):
        return self.readout(self.encoder(x))


def transformer():
    torch.manual_seed(0)
    return (Encoder(), nn.functional.mse_loss, (torch.randn(32, 64, 256), torch.randn(32, 64, 256)),
            {"layers": [nn.TransformerEncoderLayer, "readout"]})


def median_seconds(fn, repeats):
    fn()  # warm-up (and, for the check, the one-time import its first jvp costs)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(name, make, repeats):
    model, loss_fn, batch, options = make()
    optimiser = torch.optim.SGD(model.parameters(), lr=1e-4)

    def step():
        optimiser.zero_grad()
        loss_fn(model(batch[0]), batch[1]).backward()
        optimiser.step()

    def anomaly_step():
        with torch.autograd.detect_anomaly(check_nan=True):
            step()

    base = median_seconds(step, repeats)
    cheap = median_seconds(lambda: check_gradient_flow(model, loss_fn, batch, power_iterations=0, **options), repeats)
    full = median_seconds(lambda: check_gradient_flow(model, loss_fn, batch, power_iterations=8, **options), repeats)
    anomaly = median_seconds(anomaly_step, repeats)
    sites = len(check_gradient_flow(model, loss_fn, batch, power_iterations=0, **options).sites)
    print(f"{name:<38} {sites:>5}  {base * 1e3:>9.1f}  {cheap * 1e3:>8.1f} ({cheap / base:4.2f}×)  "
          f"{full * 1e3:>8.1f} ({full / base:5.1f}×)  {anomaly / base:5.2f}×")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    options = parser.parse_args(argv)
    if options.threads:
        torch.set_num_threads(options.threads)
    import warnings

    warnings.filterwarnings("ignore", message=".*[Aa]nomaly [Dd]etection.*")
    print(f"CPU cores {os.cpu_count()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.1f}; median of {options.repeats}")
    print(f"{'model (float32, batch 32)':<38} {'sites':>5}  {'step ms':>9}  {'check, no power iteration':>25}  "
          f"{'check, 8 iterations':>19}  {'detect_anomaly':>14}")
    measure("MLP 12 × 512, tanh", mlp, options.repeats)
    measure("post-LN encoder 6 × d256, seq 64", transformer, options.repeats)


if __name__ == "__main__":
    main()
