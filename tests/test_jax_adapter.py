"""The JAX/optax adapter's semantic mappings (docs/jax.md) against closed forms.

Each test pins one convention that had to be mapped between JAX/optax and the protocol (PyTorch's
layout and definitions), or one measured behaviour that docs/jax.md and
spec_tests/expected_failures/jax.toml state, so that a new JAX or optax that changes it shows here.
Skipped without the optional extra [jax] (``pip install -c constraints.txt -e '.[jax]'``); with it,
the default run runs ten of them and ``-m slow`` the four compilation-heavy ones.  Statistical
checks use fixed seeds and margins measured below.
"""

import math

import numpy as np
import pytest

pytest.importorskip("jax", reason="the optional extra [jax] is not installed (pip install -e '.[jax]')")
pytest.importorskip("optax", reason="the optional extra [jax] is not installed (pip install -e '.[jax]')")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

from spec_tests.adapters import jax_optax  # noqa: E402


def test_float64_is_enabled():
    assert jnp.asarray(1.0).dtype == jnp.float64


def rms(W) -> float:
    return math.sqrt(float(np.mean(np.square(W))))


def test_kaiming_normal_uses_pytorchs_fan_in_for_an_out_in_shape():
    """(out, in) = (64, 4096): fan_in = 4096, std √2/64 = 0.0221.  jax's own default axes
    (in_axis=-2, out_axis=-1) would take fan_in = 64: std 0.177, 8 times larger.  262,144 samples:
    the root mean square is within 1% of σ except with probability far below 1e-12 (χ² tail)."""
    W = jax_optax.kaiming_normal((64, 4096), 0.0, "fan_in", "relu", 0)
    assert W.shape == (64, 4096) and W.dtype == np.float64
    assert rms(W) == pytest.approx(math.sqrt(2 / 4096), rel=0.01)
    default = jax.nn.initializers.variance_scaling(2.0, "fan_in", "normal")(jax.random.key(0), (64, 4096))
    assert rms(default) == pytest.approx(math.sqrt(2 / 64), rel=0.01)


@pytest.mark.slow  # about a second of XLA compilation
def test_kaiming_normal_is_an_untruncated_normal_while_he_normal_truncates():
    """torch's kaiming_normal_ is a plain normal: about 4.55% of entries beyond 2σ.  jax's he_normal
    draws a normal truncated at ±2σ₀ and rescaled (σ₀ = σ/0.8796), so none lies beyond 2σ/0.8796 = 2.27σ."""
    shape, sigma = (256, 1024), math.sqrt(2 / 1024)
    W = jax_optax.kaiming_normal(shape, 0.0, "fan_in", "relu", 1)
    assert np.mean(np.abs(W) > 2 * sigma) == pytest.approx(0.0455, abs=0.003)
    truncated = np.asarray(jax.nn.initializers.he_normal(in_axis=-1, out_axis=-2)(jax.random.key(1), shape, jnp.float64))
    assert np.max(np.abs(truncated)) <= 2 * sigma / 0.87962566103423978 * (1 + 1e-12)
    assert rms(truncated) == pytest.approx(sigma, rel=0.01)


@pytest.mark.slow  # about a second of XLA compilation
def test_xavier_uniform_bound_uses_the_kernel_in_both_fans():
    """(out, in, k, k) = (16, 8, 3, 3): fan_in = 72, fan_out = 144, bound √(6/216)·gain."""
    W = jax_optax.xavier_uniform((16, 8, 3, 3), 2.0, 3)
    bound = 2.0 * math.sqrt(6 / (72 + 144))
    assert np.max(np.abs(W)) <= bound and np.max(np.abs(W)) > 0.99 * bound


@pytest.mark.slow  # about a second of XLA compilation
def test_orthogonal_flattens_like_pytorch():
    """(out, in, k) = (3, 2, 4): the rows of the (3, 8) matrix are orthonormal times the gain."""
    W = jax_optax.orthogonal((3, 2, 4), 1.5, 0).reshape(3, -1)
    np.testing.assert_allclose(W @ W.T, 2.25 * np.eye(3), atol=1e-14)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_optax_sgd_step_is_the_specs_v_gets_mu_v_plus_g_then_theta_minus_lr_v_bit_for_bit(momentum):
    """optax.sgd's trace is v ← g + μ·v and its update −lr·v added by apply_updates: the same two
    roundings as the spec's μv + g and θ − lr·v (S17a), so equal to the last bit."""
    rng = np.random.default_rng(0)
    params, grads, velocities = ([rng.standard_normal(s) for s in ((3,), (2, 2))] for _ in range(3))
    new_params, new_velocities = jax_optax.sgd_step(params, grads, velocities, 0.1, momentum)
    for p, g, v, p1, v1 in zip(params, grads, velocities, new_params, new_velocities):
        expected_v = momentum * v + g if momentum else g
        np.testing.assert_array_equal(v1, expected_v)
        np.testing.assert_array_equal(p1, p - 0.1 * expected_v)


def test_warmup_endpoints_are_peak_over_W_at_step_0_and_the_peak_at_step_W_minus_1():
    """optax's warmup reaches peak_value at step warmup_steps; the spec's (S17b) at W − 1."""
    lr = jax_optax.warmup_schedule(8, 0.3, 4)
    np.testing.assert_allclose(lr, 0.3 * np.minimum(1, np.arange(1, 9) / 4), rtol=1e-15)
    assert lr[3] == 0.3 and lr[-1] == 0.3  # the end value itself, exactly
    raw = optax.warmup_constant_schedule(0.0, 0.3, 4)
    assert float(raw(0)) == 0.0 and float(raw(3)) < 0.3 and float(raw(4)) == 0.3


def test_warmup_cosine_reaches_the_final_rate_at_the_last_step():
    lr = jax_optax.warmup_cosine_schedule(10, 1.0, 3, 0.1)
    assert lr[2] == 1.0 and lr[-1] == pytest.approx(0.1, rel=1e-15) and np.all(np.diff(lr[2:]) < 0)


def test_adaptive_clipping_units_are_rows_even_for_an_n_by_1_weight():
    """A (3, 1) weight (PyTorch's Linear(1, 3)) is 3 units of one entry.  optax's default unit axes
    take it as one unit (a single non-trivial axis); the adapter passes the rows explicitly."""
    W = np.array([[1.0], [1.0], [1.0]])
    G = np.array([[0.05], [0.2], [0.05]])  # λ = 0.1: each unit's threshold 0.1, only the middle one exceeds it
    clipped = jax_optax.adaptive_clip_grad([W], [G], 0.1, 1e-3)[0]
    np.testing.assert_allclose(clipped, [[0.05], [0.1], [0.05]], rtol=1e-15)
    default = optax.adaptive_grad_clip(0.1, 1e-3).update([jnp.asarray(G)], None, [jnp.asarray(W)])[0][0]
    np.testing.assert_allclose(default, G * (0.1 * math.sqrt(3) / np.linalg.norm(G)), rtol=1e-15)


@pytest.mark.parametrize("dtype, value", [(np.float32, 1e20), (np.float16, 300.0)])
def test_optax_global_norm_sums_squares_in_the_leaves_dtype(dtype, value):
    """The measured cause of the S12a/b/d/f deviations (expected_failures/jax.toml): squares overflow,
    the total is inf and the gradient is zeroed."""
    clipped, total = jax_optax.clip_grad_norm([np.array([value, value], dtype=dtype)], 1.0, 2.0)
    assert total == math.inf and np.all(clipped[0] == 0)


@pytest.mark.slow  # about a second of XLA compilation
def test_dot_product_attention_softmaxes_in_float32_even_for_float64_inputs():
    """Why the adapter composes attention from jax.nn.softmax: jax.nn.dot_product_attention casts the
    logits to float32 for the softmax, an error near 1e-8 where float64 gives 1e-16."""
    rng = np.random.default_rng(0)
    q, k, v = (jnp.asarray(rng.standard_normal((1, 5, 2, 4))) for _ in range(3))
    logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) / 2.0
    exact = jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(logits, axis=-1), v)
    error = float(jnp.max(jnp.abs(jax.nn.dot_product_attention(q, k, v) - exact)))
    assert 1e-10 < error < 1e-6


def test_standardize_fast_variance_cancels_for_inputs_far_from_their_mean():
    """Why the adapter passes algorithm="stable": the default mean(x²) − mean(x)² loses every digit
    of a spread of 1e-3 around 1e5 (the exact variance is 1e-6)."""
    x = jnp.asarray(1e5 + np.array([-1e-3, 1e-3]))
    stable = jax.nn.standardize(x, epsilon=0.0, algorithm="stable")
    np.testing.assert_allclose(stable, [-1.0, 1.0], rtol=1e-9)
    fast = jax.nn.standardize(x, epsilon=0.0)
    assert not np.allclose(fast, [-1.0, 1.0], rtol=1e-3)
