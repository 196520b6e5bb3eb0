"""P19–P21 and S10: Transformer encoder layers, post-LN against pre-LN (PyTorch's conventions).

Forward passes (P19) are compared with the spec's own layer (spec_tests/transformer_cases.py); backward
passes (P20) by the dot-product test ⟨J t, c⟩ = ⟨t, Jᵀc⟩ with J t taken by the complex step through that
definition, for a random tangent of every input and parameter at once; block Jacobians (P21) against the
complex-step Jacobian of the spec's block, and (S10a) against the composition of the spec's closed-form
LayerNorm Jacobian with the sublayer's.  Tolerances are 2^8·n·eps relative to the terms compared, times the
conditioning A of the case (transformer_cases.conditioning: how much LayerNorms and weights may amplify
rounding); a formula error is off by O(1), that is 10^8 × the tolerance or more.
S10b–S10d are statistical: fixed seeds inside the test, margins measured (docs/normalisation.md).
"""

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from spec_tests import maths
from spec_tests import transformer_cases as tc
from spec_tests.assertions import assert_in_interval, assert_within
from spec_tests.claims import claim
from spec_tests.definitions import directional_derivative
from spec_tests.transformer_cases import TransformerCase, transformer_cases


def _tolerance(n, A, scale):
    return 2**8 * n * maths.EPS * A * scale + maths.TINY


def _width(case):
    return case.d + case.f + case.seq + 8


# -- P19: forward ---------------------------------------------------------------------------------------


@claim("P19")
@settings(max_examples=30)
@given(case=transformer_cases())
def test_layer_forward_is_the_encoder_layer_post_ln_or_pre_ln(impl, case):
    x, layers, _, _ = case.build()
    p = layers[0]
    y = impl.transformer_layer_forward(x, p, case.nhead, case.norm_first)
    expected = tc.layer(x, p, case.nhead, case.norm_first)
    A = tc.conditioning(x, layers, None, case.nhead, case.norm_first)
    form = "x + SA(LN_1 x), then u + FF(LN_2 u) (pre-LN)" if case.norm_first else \
        "LN_1(x + SA x), then LN_2(u + FF u) (post-LN)"
    assert_within(y, expected, _tolerance(_width(case), A, 1 + np.abs(expected)),
                  f"transformer_layer_forward(norm_first={case.norm_first}) = {form}",
                  hint="in_proj_weight stacks [W_Q; W_K; W_V]; scores are QKᵀ/√d_k per head; LayerNorm ε = 1e-5 "
                       "inside the root, biased variance")


@claim("P19")
@settings(max_examples=20)
@given(case=transformer_cases(max_depth=3))
def test_stack_forward_chains_the_layers_and_applies_the_final_norm(impl, case):
    x, layers, final, _ = case.build()
    hidden, output = impl.transformer_stack_forward(x, layers, final, case.nhead, case.norm_first)
    expected_hidden, expected_output = tc.stack(x, layers, final, case.nhead, case.norm_first)
    A = tc.conditioning(x, layers, final, case.nhead, case.norm_first)
    n = _width(case) * case.depth
    for l, (got, want) in enumerate(zip(hidden, expected_hidden)):
        assert_within(got, want, _tolerance(n, A, 1 + np.abs(want)), f"h_{l} = layer_{l}(h_{l - 1}), h_0 = x")
    assert_within(output, expected_output, _tolerance(n, A, 1 + np.abs(expected_output)),
                  "output = LN_final(h_L)" if final is not None else "output = h_L (no final norm)")


# -- P20: backward --------------------------------------------------------------------------------------


def _dot_product_test(lhs, tangents, gradients, c, n, A, what):
    """|⟨J t, c⟩ − ⟨t, Jᵀc⟩| within 2⁸·n·eps·A·(Σ ||t_i||·(||g_i|| + ||c||) + |⟨J t, c⟩|).  The ||c|| term: a
    backward pass starts from the cotangent c, and a gradient that cancels (LayerNorm's at width 2, post-LN,
    is nearly 0) keeps the absolute rounding error of the large terms it came from, not one relative to itself."""
    __tracebackhide__ = True
    rhs = sum(float(np.sum(t * g)) for t, g in zip(tangents, gradients))
    terms = sum(np.linalg.norm(t) * (np.linalg.norm(g) + np.linalg.norm(c))
                for t, g in zip(tangents, gradients)) + abs(lhs)
    tolerance = _tolerance(n, A, terms)
    assert abs(lhs - rhs) <= tolerance, (
        f"{what}: ⟨t, Jᵀc⟩ = {rhs!r} from the implementation's gradients, but ⟨J t, c⟩ = {lhs!r} from the "
        f"definition: off by {abs(lhs - rhs) / tolerance:.2g} × the allowed rounding "
        f"(|difference| {abs(lhs - rhs):.3g}, tolerance {tolerance:.3g})")


@claim("P20")
@settings(max_examples=30)
@given(case=transformer_cases(), seed=st.integers(0, 2**32 - 1))
def test_layer_backward_is_the_vector_jacobian_product_of_the_layer(impl, case, seed):
    x, layers, _, c = case.build()
    p = layers[0]
    grads = impl.transformer_layer_backward(x, p, case.nhead, case.norm_first, c)
    rng = np.random.default_rng(seed)
    tangents = [rng.standard_normal(x.shape)] + [rng.standard_normal(p[k].shape) for k in tc.NAMES]

    def loss(x, *values):
        return np.sum(c * tc.layer(x, dict(zip(tc.NAMES, values)), case.nhead, case.norm_first))

    lhs = directional_derivative(loss, [x] + [p[k] for k in tc.NAMES], tangents)
    gradients = [grads[0]] + [_parameter(grads[1], k, p[k].shape) for k in tc.NAMES]
    _dot_product_test(lhs, tangents, gradients, c, _width(case), tc.conditioning(x, layers, None, case.nhead,
                                                                               case.norm_first),
                      f"layer gradients of x and all 12 parameters (norm_first={case.norm_first})")


def _parameter(grads, key, shape):
    """One parameter gradient from the implementation's dict, checked for presence, shape and dtype."""
    __tracebackhide__ = True
    assert isinstance(grads, dict) and key in grads, (
        f"the parameter gradients must be a dict keyed by torch's state_dict names; {key!r} is missing")
    value = np.asarray(grads[key])
    assert value.shape == shape and value.dtype == np.float64 and np.all(np.isfinite(value)), (
        f"∂L/∂{key} has shape {value.shape} and dtype {value.dtype}; expected float64 {shape}, finite")
    return value


@claim("P20")
@settings(max_examples=20)
@given(case=transformer_cases(max_depth=3), seed=st.integers(0, 2**32 - 1))
# post-LN at width 2: LayerNorm's derivative nearly cancels (∂L/∂h_1 ≈ 1e-10), and rounding differs by evaluation order
@example(case=TransformerCase(seed=0, d=2, nhead=1, f=1, seq=1, batch=1, norm_first=False, scale=0.5, depth=2),
         seed=0)
def test_stack_backward_is_the_vector_jacobian_product_of_the_stack(impl, case, seed):
    x, layers, final, c = case.build()
    grads = impl.transformer_stack_backward(x, layers, final, case.nhead, case.norm_first, c)
    hidden, _ = tc.stack(x, layers, final, case.nhead, case.norm_first)
    assert grads.hidden.shape == (case.depth + 1,) + x.shape
    rng = np.random.default_rng(seed)
    keys = [(l, k) for l in range(case.depth) for k in tc.NAMES]
    final_keys = [] if final is None else ["weight", "bias"]
    point = [x] + [layers[l][k] for l, k in keys] + [final[k] for k in final_keys]
    tangents = [rng.standard_normal(np.shape(v)) for v in point]

    def loss(x, *values):
        ps = [dict() for _ in layers]
        for (l, k), v in zip(keys, values):
            ps[l][k] = v
        fn = None if final is None else dict(zip(final_keys, values[len(keys):]))
        return np.sum(c * tc.stack(x, ps, fn, case.nhead, case.norm_first)[1])

    lhs = directional_derivative(loss, point, tangents)
    assert isinstance(grads.layers, (list, tuple)) and len(grads.layers) == case.depth, (
        f"per-layer gradients: expected a list of {case.depth} dicts, got {type(grads.layers).__name__}")
    gradients = [grads.hidden[0]] + [_parameter(grads.layers[l], k, layers[l][k].shape) for l, k in keys]
    if final is not None:
        gradients += [_parameter(grads.final_norm, k, (case.d,)) for k in final_keys]
    else:
        assert grads.final_norm is None, "without a final norm its gradients must be None"
    A = tc.conditioning(x, layers, final, case.nhead, case.norm_first)
    n = _width(case) * case.depth
    _dot_product_test(lhs, tangents, gradients, c, n, A, f"stack gradients of x and every parameter "
                      f"(L = {case.depth}, norm_first={case.norm_first}, final norm {final is not None})")
    # the hidden gradients: ∂L/∂h_l is the dot-product test of the stack above h_l, for each l
    for l in range(1, case.depth + 1):
        t = rng.standard_normal(x.shape)
        upper = directional_derivative(
            lambda h, l=l: np.sum(c * tc.stack(h, layers[l:], final, case.nhead, case.norm_first)[1]), [hidden[l]], [t])
        _dot_product_test(upper, [t], [grads.hidden[l]], c, n, A, f"∂L/∂h_{l} (grad_hidden[{l}])")


# -- P21 and S10a: block Jacobians ------------------------------------------------------------------------


def _blocks(x, p, case):
    attention = lambda z: tc.attention_block(z, p, case.nhead, case.norm_first)
    u = attention(x[None])[0]
    feedforward = lambda z: tc.feedforward_block(z, p, case.norm_first)
    return attention, feedforward, u


@claim("P21")
@settings(max_examples=30)
@given(case=transformer_cases(max_batch=1))
def test_block_jacobians_are_the_derivatives_of_the_two_residual_blocks(impl, case):
    x, layers, _, _ = case.build()
    x, p = x[0], layers[0]
    got = impl.transformer_block_jacobians(x, p, case.nhead, case.norm_first)
    attention, feedforward, u = _blocks(x, p, case)
    A = tc.conditioning(x[None], layers, None, case.nhead, case.norm_first)
    for name, J, expected in (("∂u/∂x (attention block)", got.attention, tc.block_jacobian(attention, x)),
                              ("∂y/∂u (feed-forward block)", got.feedforward, tc.block_jacobian(feedforward, u))):
        assert_within(J, expected, _tolerance(_width(case), A, 1 + np.abs(expected).max()),
                      f"{name}, rows and columns token-major (t·d + i)")


def _token_blocks(jacobians):
    """Per-token Jacobians (seq, d, d) → the block-diagonal (seq·d, seq·d)."""
    s, d, _ = jacobians.shape
    J = np.zeros((s * d, s * d))
    for t in range(s):
        J[t * d:(t + 1) * d, t * d:(t + 1) * d] = jacobians[t]
    return J


def _norm_jacobian(z, gain):
    return _token_blocks(np.stack([tc.layer_norm_jacobian(token, gain) for token in z]))


def _feedforward_jacobian(z, p):
    """FF's closed form, per token: W_2 diag(relu'(W_1 z + b_1)) W_1."""
    a = z @ p["linear1.weight"].T + p["linear1.bias"]
    return _token_blocks(np.stack([(p["linear2.weight"] * (a_t > 0)) @ p["linear1.weight"] for a_t in a]))


@claim("S10a")
@settings(max_examples=30)
@given(case=transformer_cases(max_batch=1))
def test_pre_ln_blocks_have_an_identity_path_and_post_ln_blocks_none(impl, case):
    """Pre-LN: J = I + J_sub(LN z)·J_LN(z); post-LN: J = J_LN(z + sub z)·(I + J_sub(z)); J_LN by its closed
    form, J_SA by the complex step through the spec's attention, J_FF by its closed form."""
    x, layers, _, _ = case.build()
    x, p = x[0], layers[0]
    got = impl.transformer_block_jacobians(x, p, case.nhead, case.norm_first)
    _, _, u = _blocks(x, p, case)
    n = x.size
    I = np.eye(n)
    sa = lambda z: tc.self_attention(z, p, case.nhead)
    expected = {}
    for name, z, norm, sublayer_jacobian, sublayer in (
            ("attention", x, "norm1", lambda z: tc.block_jacobian(sa, z), sa),
            ("feedforward", u, "norm2", lambda z: _feedforward_jacobian(z, p), lambda z: tc.feedforward(z, p))):
        gain, bias = p[f"{norm}.weight"], p[f"{norm}.bias"]
        if case.norm_first:
            expected[name] = I + sublayer_jacobian(tc.layer_norm(z, gain, bias)) @ _norm_jacobian(z, gain)
        else:
            inner = z + sublayer(z[None])[0]
            expected[name] = _norm_jacobian(inner, gain) @ (I + sublayer_jacobian(z))
    A = tc.conditioning(x[None], layers, None, case.nhead, case.norm_first)
    form = "I + J_sublayer·J_LN (pre-LN: an identity path)" if case.norm_first else \
        "J_LN·(I + J_sublayer) (post-LN: the LayerNorm on the residual path)"
    for name, J in (("attention", got.attention), ("feedforward", got.feedforward)):
        assert_within(J, expected[name], _tolerance(_width(case), A, 1 + np.abs(expected[name]).max()),
                      f"the {name} block's Jacobian = {form}",
                      hint="pre-LN is x + SA(LN x); post-LN is LN(x + SA x): is norm_first honoured?")


# -- S10b, S10c: Xiong et al. (2020) at initialisation ------------------------------------------------------

XIONG = {"d": 8, "nhead": 2, "f": 16, "seq": 4, "batch": 4, "seeds": range(8)}


def _xiong_gradients(impl, norm_first, depths):
    """{L: (seeds, L) norms ||∂L/∂W_2^(l)||_F of every layer's linear2.weight}, at Xiong's initialisation,
    L = Σ⟨c, output⟩ with c ~ N(0, 1); pre-LN with a final LayerNorm (gain 1), post-LN without."""
    d, f = XIONG["d"], XIONG["f"]
    norms = {}
    for L in depths:
        rows = []
        for seed in XIONG["seeds"]:
            rng = np.random.default_rng(seed)
            layers = [tc.xiong_layer(rng, d, f) for _ in range(L)]
            x = rng.standard_normal((XIONG["batch"], XIONG["seq"], d))
            c = rng.standard_normal(x.shape)
            final = {"weight": np.ones(d), "bias": np.zeros(d)} if norm_first else None
            grads = impl.transformer_stack_backward(x, layers, final, XIONG["nhead"], norm_first, c)
            rows.append([np.linalg.norm(_parameter(g, "linear2.weight", (d, f))) for g in grads.layers])
        norms[L] = np.array(rows)
    return norms


def _geometric_mean(values):
    return float(np.exp(np.mean(np.log(values))))


@claim("S10b")
def test_last_layer_gradient_is_depth_independent_for_post_ln_and_falls_like_one_over_root_depth_for_pre_ln(impl):
    pre = _xiong_gradients(impl, True, (1, 32))
    pre_ratio = _geometric_mean(pre[1][:, -1]) / _geometric_mean(pre[32][:, -1])
    assert_in_interval(pre_ratio, 3.0, 12.0, "pre-LN: ||∂L/∂W_FF2 of the last layer|| at L = 1 over L = 32 "
                       "(geometric mean over seeds 0..7); Xiong's Theorem 1: √32 ≈ 5.7",
                       hint="pre-LN is x + sublayer(LN x), with a final LayerNorm")
    post = _xiong_gradients(impl, False, (1, 32))
    post_ratio = _geometric_mean(post[32][:, -1]) / _geometric_mean(post[1][:, -1])
    assert_in_interval(post_ratio, 0.5, 1.6, "post-LN: ||∂L/∂W_FF2 of the last layer|| at L = 32 over L = 1 "
                       "(geometric mean over seeds 0..7); Xiong's Theorem 1: independent of L",
                       hint="post-LN is LN(x + sublayer(x)) with no final norm")


@claim("S10c")
def test_pre_ln_does_not_equalise_per_layer_gradient_norms_at_initialisation(impl):
    pre = _xiong_gradients(impl, True, (8, 32))
    profile = {L: pre[L].mean(axis=0) for L in pre}  # averaged over the seeds, layer by layer
    first_over_last = {L: profile[L][0] / profile[L][-1] for L in profile}
    assert_in_interval(first_over_last[32], 4.0, 30.0, "pre-LN at L = 32: the first layer's mean ||∂L/∂W_FF2|| "
                       "over the last layer's (seeds 0..7): the gradient grows towards the input")
    assert_in_interval(first_over_last[8], 1.5, first_over_last[32] / 1.5,
                       "pre-LN at L = 8: first over last, at most 1/1.5 of the L = 32 ratio (it grows with depth)")


# -- S10d: training ----------------------------------------------------------------------------------------

TRAINING = {"depth": 5, "d": 8, "nhead": 2, "f": 16, "seq": 4, "batch": 4, "lr": 0.05, "steps": 40, "warmup": 20}


def _train(impl, seed, norm_first, warmup):
    """Adam (β = 0.9, 0.999, ε = 1e-8) on ½·mean_tokens ||output − y||², y a standardised linear map of
    the reversed sequence; linear warmup lr·min(1, (t + 1)/warmup) when warmup > 0.  Returns the losses."""
    k = TRAINING
    d = k["d"]
    rng = np.random.default_rng(seed)
    layers = [tc.xiong_layer(rng, d, k["f"]) for _ in range(k["depth"])]
    final = {"weight": np.ones(d), "bias": np.zeros(d)} if norm_first else None
    x = rng.standard_normal((k["batch"], k["seq"], d))
    target = x[:, ::-1, :] @ rng.standard_normal((d, d))
    target = (target - target.mean(-1, keepdims=True)) / target.std(-1, keepdims=True)
    params = layers + ([final] if final is not None else [])
    first = [{n: np.zeros_like(v) for n, v in p.items()} for p in params]
    second = [{n: np.zeros_like(v) for n, v in p.items()} for p in params]
    losses = []
    tokens = k["batch"] * k["seq"]
    for t in range(k["steps"]):
        output = impl.transformer_stack_forward(x, layers, final, k["nhead"], norm_first, allow_nonfinite=True)[1]
        residual = output - target
        loss = 0.5 * float(np.sum(residual * residual)) / tokens
        losses.append(loss)
        if not np.isfinite(loss):
            break
        grads = impl.transformer_stack_backward(x, layers, final, k["nhead"], norm_first, residual / tokens)
        grad_dicts = list(grads.layers) + ([grads.final_norm] if final is not None else [])
        lr = k["lr"] * (min(1.0, (t + 1) / warmup) if warmup else 1.0)
        for p, g, m, v in zip(params, grad_dicts, first, second):
            for name in p:
                m[name] = 0.9 * m[name] + 0.1 * g[name]
                v[name] = 0.999 * v[name] + 0.001 * g[name] ** 2
                p[name] = p[name] - lr * (m[name] / (1 - 0.9 ** (t + 1))) / (
                    np.sqrt(v[name] / (1 - 0.999 ** (t + 1))) + 1e-8)
    return np.array(losses)


def _final_fraction(losses):
    """The smallest of the last five losses over the first (inf when a loss overflowed)."""
    return float(np.min(losses[-5:]) / losses[0]) if np.all(np.isfinite(losses)) and len(losses) >= 5 else np.inf


def _check_training(impl, seed):
    __tracebackhide__ = True
    k = TRAINING
    where = (f"({k['depth']} layers, Adam lr {k['lr']}, {k['steps']} steps, seed {seed}; the least of the last "
             f"five losses over the first)")
    pre = _final_fraction(_train(impl, seed, True, 0))
    assert pre <= 0.15, f"pre-LN without warmup should train, but reached {pre:.3g} {where}"
    post = _final_fraction(_train(impl, seed, False, 0))
    assert post >= 0.3, f"post-LN without warmup should stall or diverge, but reached {post:.3g} {where}"
    post_warm = _final_fraction(_train(impl, seed, False, k["warmup"]))
    assert post_warm <= 0.15, (f"post-LN with {k['warmup']} warmup steps should train, but reached {post_warm:.3g} "
                               f"{where}")


@claim("S10d")
def test_post_ln_needs_warmup_where_pre_ln_trains_without(impl):
    _check_training(impl, 0)

