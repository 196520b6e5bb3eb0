"""S17: learning-rate warmup — the schedule's semantics and the SGD step it scales."""

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from spec_tests import maths
from spec_tests.assertions import assert_in_interval, assert_within
from spec_tests.claims import claim
from spec_tests.networks import seeds

peaks = st.sampled_from([1e-4, 3e-4, 0.01, 0.1, 1.0])


@claim("S17b")
@given(num_steps=st.integers(1, 300), warmup=st.integers(1, 100), peak=peaks)
def test_linear_warmup_starts_at_peak_over_W_rises_to_the_peak_at_step_W_minus_1_and_never_exceeds_it(
        impl, num_steps, warmup, peak):
    lr = impl.warmup_schedule(num_steps, peak, warmup)
    # a schedule updated step by step (as PyTorch's chainable schedulers are) rounds once a step
    tol = 4 * maths.EPS * peak * (np.arange(num_steps) + 1)
    expected = peak * np.minimum(1.0, (np.arange(num_steps) + 1) / warmup)
    assert_within(lr, expected, tol, f"lr_t = peak · min(1, (t + 1)/W) with peak {peak}, W = {warmup}",
                  hint="step 0 already moves (peak/W), the peak is reached exactly at the last warmup step "
                  "t = W − 1, and stays")
    assert np.all(np.diff(lr) >= -tol[1:]), "the schedule never decreases during and after warmup"
    assert np.all(lr <= peak + tol), f"the schedule never exceeds the peak {peak}"


@claim("S17b")
@given(warmup=st.integers(1, 50), decay=st.integers(1, 200), peak=peaks, final_fraction=st.sampled_from([0.0, 0.1]))
def test_warmup_then_cosine_reaches_the_peak_then_decays_to_the_final_rate(impl, warmup, decay, peak, final_fraction):
    num_steps, final = warmup + decay, final_fraction * peak
    lr = impl.warmup_cosine_schedule(num_steps, peak, warmup, final)
    t = np.arange(num_steps)
    tol = 8 * maths.EPS * peak * (t + 1)  # one rounding a step, for schedules updated step by step
    progress = np.clip((t - (warmup - 1)) / decay, 0, 1)
    expected = np.where(t < warmup - 1, peak * (t + 1) / warmup,
                        final + (peak - final) * 0.5 * (1 + np.cos(math.pi * progress)))
    assert_within(lr, expected, tol, f"warmup to {peak} at step {warmup - 1}, cosine to {final} at step {num_steps - 1}")
    assert np.all(lr <= peak + tol) and lr[-1] <= final + tol[-1], "never above the peak; ends at the final rate"


@claim("S17a")
@given(seed=seeds, shapes=st.lists(st.tuples(st.integers(1, 5)), min_size=1, max_size=4),
       lr=st.sampled_from([1e-3, 0.1, 1.0]))
def test_an_sgd_step_moves_the_parameters_by_exactly_lr_times_the_gradient_norm(impl, seed, shapes, lr):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s) for s in shapes]
    grads = [rng.standard_normal(s) for s in shapes]
    new, _ = impl.sgd_step(params, grads, [np.zeros(s) for s in shapes], lr, 0.0)
    step = np.sqrt(sum(np.sum((n - p) ** 2) for n, p in zip(new, params)))
    g = np.sqrt(sum(np.sum(x * x) for x in grads))
    scale = max(np.sqrt(sum(np.sum(p * p) for p in params)), lr * g)
    assert_in_interval(step, lr * g - 4 * maths.EPS * scale, lr * g + 4 * maths.EPS * scale,
                       f"||θ_(t+1) − θ_t|| = lr · ||g|| = {lr} · {g:.6g}")


@claim("S17a")
@given(seed=seeds, steps=st.integers(1, 50), momentum=st.sampled_from([0.5, 0.9, 0.99]),
       schedule=st.sampled_from(["constant", "warmup"]))
def test_with_momentum_every_update_is_at_most_lr_times_the_gradient_bound_over_one_minus_mu(
        impl, seed, steps, momentum, schedule):
    rng = np.random.default_rng(seed)
    params, velocity = [rng.standard_normal(3)], [np.zeros(3)]
    G = 2.0
    rates = impl.warmup_schedule(steps, 0.1, max(1, steps // 2)) if schedule == "warmup" else np.full(steps, 0.1)
    for t, lr in enumerate(rates):
        g = rng.standard_normal(3)
        g *= G * rng.uniform(0.5, 1.0) / np.linalg.norm(g)  # ||g_t|| ≤ G
        new, velocity = impl.sgd_step(params, [g], velocity, float(lr), momentum)
        step = float(np.linalg.norm(new[0] - params[0]))
        bound = lr * G / (1 - momentum)
        assert_in_interval(step, 0.0, bound * (1 + 8 * (t + 1) * maths.EPS) + 4 * maths.EPS * np.linalg.norm(params[0]),
                           f"step {t}: ||Δθ|| ≤ lr_t · G / (1 − μ) with μ = {momentum}",
                           hint="SGD with momentum: v ← μ v + g, θ ← θ − lr v, so ||v|| ≤ G (1 + μ + μ² + …)")
        params = new
