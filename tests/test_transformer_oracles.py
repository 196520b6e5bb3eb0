"""The reference Transformer layer (reference/transformer.py) against torch.nn.TransformerEncoderLayer in
float64 (forward, autograd gradients of the input and every parameter, both norm placements), and S10d's
training demonstration over eight seeds (slow)."""

import numpy as np
import pytest
import torch

import reference
from reference.validation import ArgumentTypeError
from spec_tests import test_transformer
from spec_tests.iut import load_implementation
from tests.strategy_draws import draws as sample


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """torch splits even these tiny kernels across its thread pool: on a busy 2-core machine that costs far more
    than the arithmetic (spec_tests/adapters/torch_autograd.py, _one_thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _torch_layer(d, nhead, f, norm_first, seed):
    torch.manual_seed(seed)
    layer = torch.nn.TransformerEncoderLayer(d, nhead, f, dropout=0.0, batch_first=True,
                                             norm_first=norm_first).double()
    with torch.no_grad():
        for p in layer.parameters():
            p.normal_(0.0, 0.5)
    return layer


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("d, nhead, f, seq, batch", [(8, 2, 16, 4, 3), (6, 3, 5, 1, 2), (4, 1, 7, 3, 1)])
def test_layer_forward_and_backward_match_torch_in_float64(norm_first, d, nhead, f, seq, batch):
    layer = _torch_layer(d, nhead, f, norm_first, seed=d + seq)
    params = {k: v.detach().numpy().copy() for k, v in layer.state_dict().items()}
    rng = np.random.default_rng(seq)
    x, g = rng.standard_normal((batch, seq, d)), rng.standard_normal((batch, seq, d))
    x_t = torch.tensor(x, requires_grad=True)
    y_t = layer(x_t)
    (y_t * torch.tensor(g)).sum().backward()
    y = reference.transformer_layer_forward(x, params, nhead, norm_first)
    np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    grads = reference.transformer_layer_backward(x, params, nhead, norm_first, g)
    np.testing.assert_allclose(grads.inputs, x_t.grad.numpy(), rtol=1e-10, atol=1e-10)
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(grads.params[name], p.grad.numpy(), rtol=1e-10, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("norm_first", [False, True])
def test_stack_matches_torch_transformer_encoder_with_final_norm(norm_first):
    d, nhead, f, L = 8, 2, 16, 3
    layers = [_torch_layer(d, nhead, f, norm_first, seed=l) for l in range(L)]
    norm = torch.nn.LayerNorm(d).double() if norm_first else None
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((2, 4, d)), rng.standard_normal((2, 4, d))
    x_t = torch.tensor(x, requires_grad=True)
    h = x_t
    for layer in layers:
        h = layer(h)
    out = norm(h) if norm is not None else h
    (out * torch.tensor(g)).sum().backward()
    params = [{k: v.detach().numpy().copy() for k, v in layer.state_dict().items()} for layer in layers]
    final = {"weight": np.ones(d), "bias": np.zeros(d)} if norm_first else None
    forward = reference.transformer_stack_forward(x, params, final, nhead, norm_first)
    np.testing.assert_allclose(forward.output, out.detach().numpy(), rtol=1e-11, atol=1e-11)
    grads = reference.transformer_stack_backward(x, params, final, nhead, norm_first, g)
    np.testing.assert_allclose(grads.hidden[0], x_t.grad.numpy(), rtol=1e-10, atol=1e-10)
    for l, layer in enumerate(layers):
        for name, p in layer.named_parameters():
            np.testing.assert_allclose(grads.layers[l][name], p.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("bad, match", [
    (dict(nhead=3), "nhead"), (dict(norm_first=1), "norm_first"), (dict(x=np.ones((2, 8))), "x has shape"),
    (dict(drop="linear1.weight"), "linear1.weight"), (dict(x=np.full((1, 2, 8), np.nan)), "non-finite"),
])
def test_bad_input_is_refused_by_name(bad, match):
    rng = np.random.default_rng(0)
    from spec_tests.transformer_cases import random_layer
    params = random_layer(rng, 8, 4, 1.0)
    if "drop" in bad:
        params.pop(bad["drop"])
    args = dict(x=rng.standard_normal((1, 2, 8)), params=params, nhead=2, norm_first=True)
    args.update({k: v for k, v in bad.items() if k != "drop"})
    with pytest.raises(ValueError, match=match):
        reference.transformer_layer_forward(args["x"], args["params"], args["nhead"], args["norm_first"])


@pytest.mark.slow
def test_post_ln_needs_warmup_on_most_of_eight_seeds():
    """S10d over seeds 0..7 (measured final/first: post-LN 0.17–0.54, median 0.41; with warmup 0.091–0.26, median
    0.099; pre-LN 0.025–0.12, median 0.038): the medians meet the bounds, post-LN stalls (≥ 0.3) on at least 6
    seeds, post-LN with warmup trains (≤ 0.15) on at least 7, pre-LN on all 8."""
    impl = load_implementation("reference")
    warmup = test_transformer.TRAINING["warmup"]
    fractions = np.array([[test_transformer._final_fraction(test_transformer._train(impl, seed, nf, w))
                           for nf, w in ((False, 0), (False, warmup), (True, 0))] for seed in range(8)])
    post, post_warm, pre = np.median(fractions, axis=0)
    assert post >= 0.3 and post_warm <= 0.15 and pre <= 0.15, fractions
    assert np.sum(fractions[:, 0] >= 0.3) >= 6 and np.sum(fractions[:, 1] <= 0.15) >= 7, fractions
    assert np.all(fractions[:, 2] <= 0.15), fractions


def random_layer_of_width(d):
    from spec_tests.transformer_cases import random_layer
    return random_layer(np.random.default_rng(2), d, 4, 1.0)


def _stack_arguments(**changes):
    from spec_tests.transformer_cases import random_layer
    rng = np.random.default_rng(1)
    args = dict(x=rng.standard_normal((2, 3, 8)), layers=[random_layer(rng, 8, 4, 1.0) for _ in range(2)],
                final_norm={"weight": np.ones(8), "bias": np.zeros(8)}, nhead=2, norm_first=True,
                grad_output=np.ones((2, 3, 8)))
    args.update(changes)
    return args


STACK_CASES = {
    "no layers": (dict(layers=[]), ArgumentTypeError, r"layers must be a non-empty list"),
    "layers as one dict": (dict(layers={"linear1.weight": np.ones((4, 8))}), ArgumentTypeError, r"layers must be"),
    "a layer of another width": (dict(layers=[_stack_arguments()["layers"][0], random_layer_of_width(6)]), ValueError,
                                 r"layers\[1\] has d_model = 6, layers\[0\] has 8"),
    "a layer missing a weight": (dict(layers=[_stack_arguments()["layers"][0], {}]), ValueError,
                                 r"layers\[1\] lacks self_attn.in_proj_weight"),
    "final norm without bias": (dict(final_norm={"weight": np.ones(8)}), ArgumentTypeError,
                                r"final_norm must be None or a dict with 'weight' and 'bias'"),
    "final norm of wrong width": (dict(final_norm={"weight": np.ones(5), "bias": np.zeros(8)}), ValueError,
                                  r"final_norm\['weight'\] has shape \(5,\), expected \(8,\)"),
    "NaN in a final norm": (dict(final_norm={"weight": np.ones(8), "bias": np.full(8, np.nan)}), ValueError,
                            r"final_norm\['bias'\] holds 8 non-finite"),
    "nhead not dividing d": (dict(nhead=3), ValueError, r"nhead = 3 does not divide d_model = 8"),
    "nhead zero": (dict(nhead=0), ValueError, r"nhead"),
    "norm_first a string": (dict(norm_first="pre"), ArgumentTypeError, r"norm_first must be True \(pre-LN\)"),
    "unbatched x": (dict(x=np.ones((3, 8))), ValueError, r"x has shape \(3, 8\), expected \(batch, seq, d_model\)"),
    "x of wrong width": (dict(x=np.ones((2, 3, 4))), ValueError, r"x has shape \(2, 3, 4\).*d_model = 8"),
    "grad_output of wrong shape": (dict(grad_output=np.ones((2, 3, 4))), ValueError,
                                   r"grad_output has shape \(2, 3, 4\), expected \(2, 3, 8\)"),
}


@pytest.mark.parametrize("name", STACK_CASES)
def test_bad_stack_input_is_refused_by_name(name):
    changes, error, match = STACK_CASES[name]
    args = _stack_arguments(**changes)
    arguments = [args[k] for k in ("x", "layers", "final_norm", "nhead", "norm_first")]
    if "grad_output" not in changes:
        with pytest.raises(error, match=match):
            reference.transformer_stack_forward(*arguments)
    with pytest.raises(error, match=match):
        reference.transformer_stack_backward(*arguments, args["grad_output"])


BLOCK_CASES = {
    "a batch instead of one sequence": (dict(x=np.ones((1, 3, 8))), ValueError,
                                        r"x has shape \(1, 3, 8\), expected \(seq, d_model\)"),
    "empty sequence": (dict(x=np.ones((0, 8))), ValueError, r"x has shape \(0, 8\)"),
    "params a list": (dict(params=[np.ones((24, 8))]), ArgumentTypeError, r"params must be a dict keyed by torch"),
    "in_proj of wrong shape": (dict(params={"self_attn.in_proj_weight": np.ones((8, 8))}), ValueError,
                               r"params\['self_attn.in_proj_weight'\] has shape \(8, 8\), expected \(24, 8\)"),
    "norm_first None": (dict(norm_first=None), ArgumentTypeError, r"norm_first must be True"),
}


@pytest.mark.parametrize("name", BLOCK_CASES)
def test_bad_block_jacobian_input_is_refused_by_name(name):
    changes, error, match = BLOCK_CASES[name]
    params = dict(_stack_arguments()["layers"][0])
    params.update(changes.pop("params", {}) if isinstance(changes.get("params"), dict) else {})
    args = dict(x=np.ones((3, 8)), params=params, nhead=2, norm_first=False)
    args.update(changes)
    with pytest.raises(error, match=match):
        reference.transformer_block_jacobians(args["x"], args["params"], args["nhead"], args["norm_first"])




def _attention_weights(case):
    """The attention matrices (batch, nhead, seq, seq) of the case's first layer, at the attention's input."""
    from reference import transformer
    x, layers, _, _ = case.build()
    p = transformer._check_layer(layers[0])
    z = transformer._norm(x, p, "norm1")[0] if case.norm_first else x
    return transformer.self_attention(z, p, case.nhead)[1][4]


def test_p21_and_s10a_draws_reach_peaked_and_flat_attention():
    """Measured: of 60 derandomised draws of P21/S10a's strategy (transformer_cases(max_batch=1)), 52 have
    seq ≥ 2 (18 of them pre-LN); of those, 25 have a nearly one-hot query row (max weight ≥ 0.9: the softmax
    Jacobian near 0) and 30 a nearly uniform one (max weight ≤ 1.5/seq: the Jacobian near its largest).
    Required: a fifth of the draws each way, and both norm placements each way."""
    from spec_tests.transformer_cases import transformer_cases
    cases = [c for c in sample(transformer_cases(max_batch=1), 60) if c.seq >= 2]
    peaked = [c for c in cases if _attention_weights(c).max(axis=-1).max() >= 0.9]
    flat = [c for c in cases if _attention_weights(c).max(axis=-1).min() <= 1.5 / c.seq]
    assert len(peaked) >= 12 and len(flat) >= 12, (len(cases), len(peaked), len(flat))
    assert {c.norm_first for c in peaked} == {c.norm_first for c in flat} == {False, True}
