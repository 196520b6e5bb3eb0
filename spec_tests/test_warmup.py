"""S17: learning-rate warmup — the schedule's semantics and the SGD step it scales.

Both are definitions, so each test compares every returned value with the spec's own
formula, within a stated rounding tolerance; the properties that follow from the
formulas (monotone warmup, never above the peak, the size of an SGD step) are not
re-tested: within the tolerance they cannot fail once the formula holds.
"""

import math

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from spec_tests import maths
from spec_tests.assertions import assert_within
from spec_tests.claims import claim
from spec_tests.networks import seeds
from spec_tests.spread import log_uniform, spread_integers, uniform

# spread draws (spec_tests/spread.py): left to hypothesis, W = 1 took 19% of the warmup lengths and each of
# five sampled peaks a fifth
unit_interval = uniform(0.0, 1.0)
peaks = log_uniform(1e-6, 10.0)


@claim("S17b")
@given(num_steps=spread_integers(1, 300), warmup=spread_integers(1, 100), peak=peaks)
@example(num_steps=1, warmup=1, peak=1.0).via("no warmup: the peak from step 0")
@example(num_steps=5, warmup=5, peak=0.1).via("the schedule ends at the peak step W − 1")
@example(num_steps=3, warmup=10, peak=0.1).via("the schedule ends before the peak")
def test_linear_warmup_is_peak_times_min_of_one_and_t_plus_one_over_W_at_every_step(impl, num_steps, warmup, peak):
    lr = impl.warmup_schedule(num_steps, peak, warmup)
    # a schedule updated step by step (as PyTorch's chainable schedulers are) rounds a few times a step, each
    # time by at most u·peak (u = eps/2); 4(t + 1)·eps·peak allows 8 such roundings a step
    tol = 4 * maths.EPS * peak * (np.arange(num_steps) + 1)
    expected = peak * np.minimum(1.0, (np.arange(num_steps) + 1) / warmup)
    assert_within(lr, expected, tol, f"lr_t = peak · min(1, (t + 1)/W) with peak {peak!r}, W = {warmup}",
                  hint="step 0 already moves (peak/W), the peak is reached exactly at the last warmup step "
                  "t = W − 1, and stays")
    # non-decreasing and never above the peak follow: the formula is both, and the tolerance is rounding


@claim("S17b")
@given(warmup=spread_integers(1, 50), decay=spread_integers(1, 200), peak=peaks, final_fraction=unit_interval)
@example(warmup=1, decay=1, peak=1.0, final_fraction=0.0).via("the shortest schedule: the peak, then the final rate")
@example(warmup=10, decay=20, peak=0.1, final_fraction=1.0).via("final = peak: flat after the warmup")
def test_warmup_then_cosine_reaches_the_peak_then_decays_to_the_final_rate(impl, warmup, decay, peak, final_fraction):
    num_steps, final = warmup + decay, final_fraction * peak
    lr = impl.warmup_cosine_schedule(num_steps, peak, warmup, final)
    t = np.arange(num_steps)
    # the chainable cosine (lr_(t+1) − final = (lr_t − final)·(1 + cos(π(s+1)/T))/(1 + cos(πs/T))) rounds a few
    # more times a step than the warmup, each by at most u·peak: 8(t + 1)·eps·peak allows 16
    tol = 8 * maths.EPS * peak * (t + 1)
    progress = np.clip((t - (warmup - 1)) / decay, 0, 1)
    expected = np.where(t < warmup - 1, peak * (t + 1) / warmup,
                        final + (peak - final) * 0.5 * (1 + np.cos(math.pi * progress)))
    assert_within(lr, expected, tol,
                  f"warmup to {peak!r} at step {warmup - 1}, cosine to {final!r} at step {num_steps - 1}",
                  hint="the cosine starts at the peak at t = W − 1 and its progress (t − W + 1)/(N − W) is 1 at the "
                  "last step t = N − 1")
    # never above the peak and ending at the final rate follow from the formula, as above


# -- S17a: the SGD step, exactly ---------------------------------------------------------------

tensor_shapes = st.lists(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), min_size=1, max_size=4)


@claim("S17a")
@given(seed=seeds, shapes=tensor_shapes, start_at_rest=st.booleans())
def test_every_sgd_step_is_v_gets_mu_v_plus_g_then_theta_gets_theta_minus_lr_v(impl, seed, shapes, start_at_rest):
    """Every tensor at every step of a run (each step fed the implementation's own previous outputs, the
    learning rate changing from step to step as under a schedule), against the spec's own update.

    Tolerances, elementwise, with u = eps/2 and γ_n = n·u: a correct evaluation of μv + g rounds at most
    twice, or four times when the velocity is kept scaled by lr (u = lr·v, u ← μu + lr·g, v = u/lr), so it
    is within γ_4(|μv| + |g|); the spec's own within γ_2: 4·eps(|μv| + |g|) covers both.  θ − lr·v' adds
    lr times that and two more roundings (product, difference): within γ_6(|θ| + lr(|μv| + |g|)) for the
    implementation, γ_4 for the spec: 6·eps(|θ| + lr(|μv| + |g|)) covers both.  Dampening misses v' by
    μ|g|, Nesterov θ' by lr·μ|g − (1 − μ)v|, a sign error θ' by 2lr|v'|: millions of times these.
    """
    # The run is drawn from the seed: hypothesis, drawing these itself, piled 30–45% of its draws on one
    # momentum and on one step count.  μ is 0, 0.5, 0.9 or 0.99 an eighth of the time each, else uniform in
    # (0.001, 0.999); 1–8 steps; magnitudes log-uniform, 1e-3 to 1e3 for parameters and gradients, 1e-4 to 10
    # for the learning rate, which changes from step to step as under a schedule.
    rng = np.random.default_rng(seed)
    momentum = float(rng.choice([0.0, 0.5, 0.9, 0.99, rng.uniform(1e-3, 0.999)], p=[1 / 8] * 4 + [1 / 2]))
    steps = int(rng.integers(1, 9))
    param_scale, grad_scale = 10.0 ** rng.uniform(-3, 3, size=2)
    rates = 10.0 ** rng.uniform(-4, 1, size=steps)
    params = [param_scale * rng.standard_normal(s) for s in shapes]
    velocities = [np.zeros(s) if start_at_rest else grad_scale * rng.standard_normal(s) for s in shapes]
    for t, lr in enumerate(map(float, rates)):
        grads = [grad_scale * rng.standard_normal(s) for s in shapes]
        new_params, new_velocities = impl.sgd_step(params, grads, velocities, lr, momentum)
        for i, (p, g, v) in enumerate(zip(params, grads, velocities)):
            expected_v = momentum * v + g
            terms = np.abs(momentum * v) + np.abs(g)
            where = f"step {t} of {steps}, lr = {lr:.6g}, μ = {momentum!r}"
            assert_within(new_velocities[i], expected_v, 4 * maths.EPS * terms + maths.TINY,
                          f"{where}: velocities[{i}] = μ·v + g",
                          hint="this spec's SGD is PyTorch's default: v ← μv + g, no dampening "
                          "(v ← μv + (1 − μ)g is dampening 1 − μ, not this update)")
            assert_within(new_params[i], p - lr * expected_v, 6 * maths.EPS * (np.abs(p) + lr * terms) + maths.TINY,
                          f"{where}: params[{i}] = θ − lr·v with the new v",
                          hint="θ ← θ − lr·v (the new velocity, subtracted); Nesterov's θ ← θ − lr·(g + μv) "
                          "is not this update")
        params, velocities = new_params, new_velocities
