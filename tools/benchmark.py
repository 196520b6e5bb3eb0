"""Benchmark: the reference's backward passes against PyTorch autograd, and their cost in depth and time.

    python tools/benchmark.py [--repeats 7]

Prints ratios, asserts nothing: speed is measured here, never in a test.
Both sides run the same float64 problems (an MLP of L = 64 layers, width 256,
batch 64; a tanh RNN over T = 256 steps, hidden 128, batch 32); each time is the
best of --repeats runs of forward + backward.  Then clipping by global norm of 10^7
float32 entries in 100 tensors, in place, against torch.nn.utils.clip_grad_norm_; and a
12-layer pre-LN Transformer stack (d = 64, seq 32, batch 8) against torch autograd.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import reference  # noqa: E402
from spec_tests.networks import GaussianNetwork  # noqa: E402


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def network(depth: int, width: int, batch: int):
    net = GaussianNetwork(0, width, depth, 1.0, "tanh").build()
    rng = np.random.default_rng(1)
    return net._replace(x=rng.standard_normal((batch, width)), grad_output=rng.standard_normal((batch, width)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    mlp(args.repeats)
    recurrent(args.repeats)
    clipping(args.repeats)
    transformer(args.repeats)


def mlp(repeats: int) -> None:
    import torch

    from spec_tests.adapters import torch_autograd

    net = network(64, 256, 64)
    call = (net.x, net.weights, net.biases, net.activation, net.grad_output)
    t_ref = best_time(lambda: reference.mlp_backward(*call), repeats)
    t_torch = best_time(lambda: torch_autograd.mlp_backward(*call), repeats)
    W_t = [torch.tensor(W, requires_grad=True) for W in net.weights]
    b_t = [torch.tensor(b, requires_grad=True) for b in net.biases]
    x_t, g_t = torch.tensor(net.x, requires_grad=True), torch.tensor(net.grad_output)

    def torch_native():
        h = x_t
        for W, b in zip(W_t, b_t):
            h = torch.tanh(torch.nn.functional.linear(h, W, b))
        grads = torch.autograd.grad(h, [x_t, *W_t, *b_t], g_t)
        return grads

    t_native = best_time(torch_native, repeats)
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    print("forward + backward, L = 64, width 256, batch 64, float64, tanh:")
    print(f"  reference (numpy)    {t_ref * 1e3:8.2f} ms")
    print(f"  torch autograd       {t_torch * 1e3:8.2f} ms   (adapter: numpy -> tensors -> numpy)")
    print(f"  torch, tensors only  {t_native * 1e3:8.2f} ms   (no conversion, no hidden-state gradients kept)")
    print(f"  ratio reference / torch adapter = {t_ref / t_torch:.2f}; reference / torch tensors only = {t_ref / t_native:.2f}")
    print()
    print("reference cost against depth (width 256, batch 64): linear in L means constant time per layer")
    base = None
    for depth in (8, 16, 32, 64, 128):
        net = network(depth, 256, 64)
        t = best_time(lambda net=net: reference.mlp_backward(net.x, net.weights, net.biases, net.activation, net.grad_output),
                      repeats)
        base = base or t / depth
        print(f"  L = {depth:4d}: {t * 1e3:8.2f} ms   {t / depth * 1e3:6.3f} ms/layer   "
              f"(per-layer time / that at L = 8: {t / depth / base:.2f})")


def recurrent(repeats: int) -> None:
    import torch

    from spec_tests.sequences import RandomRecurrence

    def case(steps):
        return RandomRecurrence("rnn", 0, steps, 128, inputs=64, batch=32, recurrent_scale=0.9).build()

    r = case(256)
    t_ref = best_time(lambda: reference.rnn_backward(r.x, r.h0, *r.weights(), "tanh", r.grad_output), repeats)
    module = torch.nn.RNN(64, 128, dtype=torch.float64)
    with torch.no_grad():
        for name, value in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), r.weights()):
            getattr(module, name).copy_(torch.tensor(value))
    x, h0, g = (torch.tensor(a, requires_grad=True) for a in (r.x, r.h0, r.grad_output))

    def torch_native():
        output, _ = module(x, h0[None])
        return torch.autograd.grad(output, [x, h0, *module.parameters()], g)

    t_torch = best_time(torch_native, repeats)
    print()
    print("BPTT, tanh RNN, T = 256, hidden 128, input 64, batch 32, float64:")
    print(f"  reference (numpy)         {t_ref * 1e3:8.2f} ms   (also returns the total ∂L/∂h_t at every step)")
    print(f"  torch.nn.RNN + autograd   {t_torch * 1e3:8.2f} ms")
    print(f"  ratio reference / torch = {t_ref / t_torch:.2f}")
    print("reference BPTT cost against T (hidden 128, batch 32): linear in T means constant time per step")
    base = None
    for steps in (32, 64, 128, 256, 512):
        r = case(steps)
        t = best_time(lambda r=r: reference.rnn_backward(r.x, r.h0, *r.weights(), "tanh", r.grad_output), repeats)
        base = base or t / steps
        print(f"  T = {steps:4d}: {t * 1e3:8.2f} ms   {t / steps * 1e6:7.1f} µs/step   "
              f"(per-step time / that at T = 32: {t / steps / base:.2f})")


def clipping(repeats: int) -> None:
    """Global-norm clipping of 10^7 float32 entries in 100 tensors, in place on both sides."""
    import torch

    rng = np.random.default_rng(0)
    grads = [(10 * rng.standard_normal(100_000)).astype(np.float32) for _ in range(100)]
    ours = [g.copy() for g in grads]
    parameters = []
    for g in grads:
        parameter = torch.nn.Parameter(torch.zeros(g.shape))
        parameter.grad = torch.from_numpy(g.copy())
        parameters.append(parameter)

    def refill():  # every timed call clips a gradient of norm ~3e4, not an already-clipped one
        for mine, theirs, g in zip(ours, parameters, grads):
            mine[...] = g
            theirs.grad.copy_(torch.from_numpy(g))

    def timed(clip):
        best = float("inf")
        for _ in range(repeats):
            refill()
            start = time.perf_counter()
            clip()
            best = min(best, time.perf_counter() - start)
        return best

    t_ref = timed(lambda: reference.clip_grad_norm_(ours, 1.0))
    t_torch = timed(lambda: torch.nn.utils.clip_grad_norm_(parameters, 1.0))
    print()
    print("clip by global norm, 10^7 float32 entries in 100 tensors, in place:")
    print(f"  reference clip_grad_norm_ (overflow-safe)   {t_ref * 1e3:7.2f} ms")
    print(f"  torch.nn.utils.clip_grad_norm_              {t_torch * 1e3:7.2f} ms")
    print(f"  ratio reference / torch = {t_ref / t_torch:.2f}")



def transformer(repeats: int) -> None:
    """A 12-layer Transformer encoder stack (d = 64, 4 heads, f = 256, seq 32, batch 8, final LayerNorm), forward +
    backward in float64: the reference against torch autograd through prebuilt nn.TransformerEncoderLayer modules
    on one thread; then the reference's cost against depth.  For a like-for-like ratio give numpy one thread too
    (OPENBLAS_NUM_THREADS=1): on a busy 2-core machine its BLAS threads otherwise make the time vary fourfold."""
    import torch

    from spec_tests.transformer_cases import xiong_layer

    d, nhead, f, seq, batch = 64, 4, 256, 32, 8
    rng = np.random.default_rng(0)

    def problem(depth):
        layers = [xiong_layer(rng, d, f) for _ in range(depth)]
        for p in layers:  # W_Q, W_K ≠ 0: a non-uniform softmax, as after training
            p["self_attn.in_proj_weight"] = rng.standard_normal((3 * d, d)) / np.sqrt(d)
        return (rng.standard_normal((batch, seq, d)), layers, {"weight": np.ones(d), "bias": np.zeros(d)},
                rng.standard_normal((batch, seq, d)))

    x, layers, final, grad_output = problem(12)
    t_ref = best_time(lambda: reference.transformer_stack_backward(x, layers, final, nhead, True, grad_output), repeats)
    modules = []
    for p in layers:
        module = torch.nn.TransformerEncoderLayer(d, nhead, f, dropout=0.0, batch_first=True, norm_first=True,
                                                  dtype=torch.float64)
        module.load_state_dict({k: torch.from_numpy(v) for k, v in p.items()})
        modules.append(module)
    norm = torch.nn.LayerNorm(d, dtype=torch.float64)
    x_t, g_t = torch.from_numpy(x), torch.from_numpy(grad_output)

    def torch_backward():
        h = x_t.clone().requires_grad_(True)
        hidden = [h]
        for module in modules:
            hidden.append(module(hidden[-1]))
            hidden[-1].retain_grad()
        norm(hidden[-1]).backward(g_t)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        t_torch = best_time(torch_backward, repeats)
    finally:
        torch.set_num_threads(threads)
    print()
    print(f"pre-LN Transformer stack, L = 12, d = {d}, {nhead} heads, f = {f}, seq {seq}, batch {batch}, float64, "
          "forward + backward:")
    print(f"  reference transformer_stack_backward     {t_ref * 1e3:7.2f} ms")
    print(f"  torch autograd (1 thread)                {t_torch * 1e3:7.2f} ms")
    print(f"  ratio reference / torch = {t_ref / t_torch:.2f}")
    print("reference cost against depth:")
    base = None
    for depth in (3, 6, 12, 24):
        x, layers, final, grad_output = problem(depth)
        args = (x, layers, final, nhead, True, grad_output)
        t = best_time(lambda args=args: reference.transformer_stack_backward(*args), max(2, repeats // 2))
        base = base or t / depth
        print(f"  L = {depth:3d}: {t * 1e3:8.2f} ms   {t / depth * 1e3:6.2f} ms/layer   "
              f"(per-layer time / that at L = 3: {t / depth / base:.2f})")


if __name__ == "__main__":
    main()
