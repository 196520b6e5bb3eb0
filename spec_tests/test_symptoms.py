"""S2, S6, S7: the symptoms of exploding gradients, on the spec's own small, seeded problems.

Not universal laws: each claim names its problem (spec_tests/symptom_cases.py), its seeds and
its margins, and every run is deterministic (fixed seeds, float64).  The implementation
computes every loss and gradient (rnn_forward, rnn_backward, mlp_forward, mlp_backward) and
does the clipping (clip_grad_norm); the spec keeps the loop and the plain SGD step.
"""

import contextlib
import math

import numpy as np
import pytest

from spec_tests import symptom_cases as cases
from spec_tests.assertions import assert_in_interval, times_tolerance
from spec_tests.claims import claim

# Which protocol functions each run calls, and the claims that test them on their own: a failure here
# names them on its first line, since a symptom that goes wrong is most often a wrong backward pass.
RNN_RUN = "rnn_forward, rnn_backward", "P4/P5 (the RNN passes)"
RNN_CLIPPED_RUN = "rnn_forward, rnn_backward, clip_grad_norm", "P4/P5 (the RNN passes) and S12 (clipping)"
MLP_RUN = "mlp_forward, mlp_backward", "P1/P2 (the MLP passes)"
MLP_CLIPPED_RUN = "mlp_forward, mlp_backward, clip_grad_norm", "P1/P2 (the backward pass) and S12 (clipping)"


@contextlib.contextmanager
def _the_run_used(run: tuple[str, str]):
    """Adds to any failure inside, after its first line, the protocol functions the run called."""
    __tracebackhide__ = True
    try:
        yield
    except AssertionError as failure:  # re-raised, the same exception and type, its message extended
        first, newline, rest = str(failure).partition("\n")
        functions, claims = run
        failure.args = (f"{first}\n  hint: the run used {functions}: check {claims} first{newline}{rest}",)
        raise


# -- S2: the cliff, and sudden death ---------------------------------------------------------------

CLIFF_HALF_WIDTH = 1e-3  # the cliff's face lies within b* ± 1e-3
FLAT_DISTANCE = 0.04  # the plateau point: b* − 0.04
GRADIENT_RTOL = 1e-6  # λ^T ≈ 3.2e3 amplifies the rounding of the fixed point; 1e-6 leaves a factor ≥ 1e6


def _relative_error(actual, expected) -> float:
    return float(np.linalg.norm(np.asarray(actual) - expected) / np.linalg.norm(expected))


@claim("S2a")
def test_pascanus_one_unit_recurrence_has_a_cliff_where_the_gradient_jumps_a_thousandfold(impl):
    with _the_run_used(RNN_RUN):
        _check_the_cliff(impl)


def _pair(v) -> str:
    return f"({float(v[0]):.8g}, {float(v[1]):.8g})"


def _check_the_cliff(impl):
    __tracebackhide__ = True
    w, b_star = cases.CLIFF_W, cases.CLIFF_B
    above = cases.cliff_loss(impl, w, b_star - CLIFF_HALF_WIDTH)
    below = cases.cliff_loss(impl, w, b_star + CLIFF_HALF_WIDTH)
    assert above - below >= 0.3, (
        f"the loss must fall by at least 0.3 across b* ± {CLIFF_HALF_WIDTH:g} (a cliff): it went {above:.6g} → "
        f"{below:.6g}, a fall of {above - below:.3g} ({(above - below) / 0.3:.2g} × the required 0.3)\n"
        f"  rnn_forward of h_t = σ(5·h_(t−1) + b), h_0 = σ(0.5), T = 50, at b = b* ∓ {CLIFF_HALF_WIDTH:g}, "
        f"b* = 0.5 − 5σ(0.5) = {b_star!r}")
    _, at_cliff = cases.cliff_loss_and_gradient(impl, w, b_star)
    closed_form = cases.cliff_gradient_at_the_fixed_point()
    error = _relative_error(at_cliff, closed_form)
    assert error <= GRADIENT_RTOL, (
        f"at the cliff (5, b*) (∂E/∂w, ∂E/∂b) must be the spec's closed form: got {_pair(at_cliff)}, expected "
        f"{_pair(closed_form)}, relative error {error:.3g} > {GRADIENT_RTOL:g}\n"
        f"  off by {times_tolerance(error, GRADIENT_RTOL)}; closed form 2(h_0 − 0.7)·σ'(0.5)(λ^T − 1)/(λ − 1)·(h_0, 1), λ = 5σ'(0.5); got {at_cliff.tolist()}, "
        f"expected {closed_form.tolist()}; rnn_backward at w = 5, b = b* = {b_star!r}")
    b_flat = b_star - FLAT_DISTANCE
    _, on_plateau = cases.cliff_loss_and_gradient(impl, w, b_flat)
    by_spec = cases.cliff_gradient_by_the_spec(w, b_flat)
    error = _relative_error(on_plateau, by_spec)
    assert error <= GRADIENT_RTOL, (
        f"on the plateau (5, b* − {FLAT_DISTANCE:g}) (∂E/∂w, ∂E/∂b) must be the spec's: got {_pair(on_plateau)}, "
        f"expected {_pair(by_spec)}, relative error {error:.3g} > {GRADIENT_RTOL:g}\n"
        f"  off by {times_tolerance(error, GRADIENT_RTOL)}; expected: the complex-step derivative of the spec's own recurrence; got {on_plateau.tolist()}, "
        f"expected {by_spec.tolist()}; rnn_backward at w = 5, b = {b_flat!r}")
    jump = np.linalg.norm(at_cliff) / np.linalg.norm(on_plateau)
    assert jump >= 1e3, (
        f"the gradient norm must jump at least 1000-fold from b* − {FLAT_DISTANCE:g} to b*: it grew "
        f"{jump:.4g}-fold ({jump / 1e3:.2g} × the required 1000; norms {np.linalg.norm(on_plateau):.4g} → "
        f"{np.linalg.norm(at_cliff):.4g})")


EDGE_SEEDS = [0, 1, 2]
EDGE_LR = 3e-3
NORMAL_STEPS = 20  # the loss falls at every one of the first 20 steps
DEATH_WITHIN = 5  # steps from the loss's first rise to a loss that is not finite
EDGE_CLIP = 10.0
EDGE_CLIPPED_STEPS = 60


@claim("S2b")
@pytest.mark.parametrize("seed", EDGE_SEEDS)
def test_training_looks_normal_then_one_step_past_the_edge_makes_the_loss_infinite_unless_clipped(impl, seed):
    where = f"on the edge problem (h_t = w·h_(t−1) + b, T = 50, target 10), seed {seed}, lr {EDGE_LR:g}"
    with _the_run_used(RNN_RUN):
        run = cases.train_edge(impl, seed, EDGE_LR, 60)
        _check_sudden_death(run, where)
    with _the_run_used(RNN_CLIPPED_RUN):
        clipped = cases.train_edge(impl, seed, EDGE_LR, EDGE_CLIPPED_STEPS, max_norm=EDGE_CLIP)
        _check_clipped_edge_run(clipped, where + f", clip_grad_norm max_norm {EDGE_CLIP:g}")


def _check_sudden_death(run, where):
    __tracebackhide__ = True
    losses, w = np.asarray(run.losses), [p[0] for p in run.params]
    rises = [t for t in range(1, len(losses)) if not losses[t] < losses[t - 1]]
    first_rise = rises[0] if rises else len(losses)
    assert first_rise > NORMAL_STEPS, (
        f"training must look normal first, the loss falling at each of the first {NORMAL_STEPS} steps: it rose at "
        f"step {first_rise} ({losses[first_rise - 1]:.6g} → {losses[min(first_rise, len(losses) - 1)]:.6g})"
        f"\n  {where}")
    assert all(abs(v) < 1 for v in w[:NORMAL_STEPS + 1]), (
        f"while training looks normal the recurrent weight stays inside the edge |w| < 1: got "
        f"{max(w[:NORMAL_STEPS + 1], key=abs):.6g}\n  {where}")
    assert not math.isfinite(losses[-1]), (
        f"the loss must stop being finite (sudden death) within {DEATH_WITHIN} steps of its first rise: after "
        f"{len(losses)} steps it is {losses[-1]:.4g}\n  {where}")
    died = len(losses) - 1
    assert died - first_rise <= DEATH_WITHIN, (
        f"sudden death must follow the first rise within {DEATH_WITHIN} steps: the loss rose at step {first_rise} and "
        f"was not finite only at step {died} ({(died - first_rise) / DEATH_WITHIN:.2g} × the allowed)\n  {where}")
    assert any(abs(v) > 1 for v in w[first_rise:died]), (
        f"between the first rise and death the recurrent weight must cross the edge |w| > 1: w went "
        f"{[float(f'{v:.4g}') for v in w[first_rise:died + 1]]}\n  {where}")
    growth = max(run.gradient_norms) / run.gradient_norms[0]
    assert growth >= 1e8, (
        f"the gradient norm at the edge must exceed the first step's by 1e8: the largest was {growth:.3g} × the "
        f"first ({growth / 1e8:.2g} × the required 1e8)\n  {where}")


def _check_clipped_edge_run(clipped, where):
    __tracebackhide__ = True
    bad = [t for t, v in enumerate(clipped.losses) if not math.isfinite(v)]
    assert len(clipped.losses) == EDGE_CLIPPED_STEPS and not bad, (
        f"with the global norm clipped to {EDGE_CLIP:g} every loss must stay finite for {EDGE_CLIPPED_STEPS} steps: "
        f"step {bad[0] if bad else len(clipped.losses)} gave {clipped.losses[-1]:.4g}\n  {where}")
    assert max(abs(p[0]) for p in clipped.params) < 1, (
        f"with clipping the recurrent weight must never cross the edge: |w| reached "
        f"{max(abs(p[0]) for p in clipped.params):.6g}\n  {where}")
    assert clipped.losses[-1] <= 0.1 * clipped.losses[0], (
        f"with clipping the loss must fall below 10% of its start in {EDGE_CLIPPED_STEPS} steps: "
        f"{clipped.losses[0]:.4g} → {clipped.losses[-1]:.4g}\n  {where}")


# -- S6: weight norms grow --------------------------------------------------------------------------

S6_SEEDS = [0, 1, 2]
S6_LR = 0.05
S6_STEPS = 40
S6_CLIP = 1.0


UPDATE_RTOL_ABOVE = 1e-9  # a correct clip rescales to max_norm within a few float64 roundings
UPDATE_RTOL_BELOW = 1e-6  # PyTorch's coefficient max_norm/(‖g‖ + 1e-6) falls short by < 1e-6 for ‖g‖ > 1: S12b's business


def _band(norms: np.ndarray, low: float, high: float, what: str, where: str) -> None:
    __tracebackhide__ = True
    ratios = norms / norms[0]
    step, layer = np.unravel_index(np.argmax(np.maximum(low - ratios, ratios - high)), ratios.shape)
    assert_in_interval(float(ratios[step, layer]), low, high,
                       f"{what}: layer {layer + 1}'s ‖W‖_F at step {step} over its initial value", hint=where)


def _diverges(losses: np.ndarray, steps: int, where: str) -> None:
    __tracebackhide__ = True
    assert not losses[-1] < cases.DIVERGED, (
        f"without clipping the loss must diverge (exceed {cases.DIVERGED:g} or stop being finite) within {steps} "
        f"steps: it went {losses[0]:.4g} → {losses[-1]:.4g}\n  {where}")


def _clipped_updates(update_norms, lr: float, max_norm: float, lower_bound: float, where: str) -> None:
    """Every whole update ‖lr·clip(g)‖₂ is at most lr·max_norm, and the first, where the spec's own lower bound
    shows ‖∇E‖ > max_norm, is lr·max_norm: clipping rescales to max_norm and does not over-clip."""
    __tracebackhide__ = True
    allowed = lr * max_norm
    norms = np.asarray(update_norms, dtype=float)
    if norms.size and not norms.max() <= allowed * (1 + UPDATE_RTOL_ABOVE):
        step = int(np.argmax(np.where(np.isnan(norms), np.inf, norms)))
        raise AssertionError(
            f"a clipped update of all the parameters together has ‖Δθ‖₂ = {norms[step]:.6g} at step {step}, more than "
            f"lr·max_norm = {allowed:g} ({times_tolerance(norms[step] - allowed, allowed * UPDATE_RTOL_ABOVE)})"
            f"\n  {where}")
    assert lower_bound > max_norm, f"the spec's own bound {lower_bound:.6g} on ‖∇E‖ at the start is not above {max_norm:g}"
    assert norms.size and norms[0] >= allowed * (1 - UPDATE_RTOL_BELOW), (
        f"at the first step ‖∇E‖ ≥ {lower_bound:.4g} > max_norm (the spec's own bound), so the clipped update must have "
        f"‖Δθ‖₂ = lr·max_norm = {allowed:g}: it has {norms[0] if norms.size else float('nan'):.6g} "
        f"(over-clipped)\n  {where}")


@claim("S6a")
@pytest.mark.parametrize("seed", S6_SEEDS)
def test_every_layers_weight_norm_grows_tenfold_before_the_deep_network_diverges_and_stays_in_a_band_when_clipped(
        impl, seed):
    where = f"on S19a's deep network (8 linear layers W_l = 1.5·Q_l, width 8), seed {seed}, lr {S6_LR:g}"
    with _the_run_used(MLP_RUN):
        losses, norms = cases.weight_norms_of_deep_network(impl, seed, 1.5, S6_LR, 100)
        _diverges(losses, 100, where)
        before = norms[-2] / norms[0]
        assert before.min() >= 10, (
            f"at the last step before divergence every layer's ‖W‖_F must be at least 10 × its initial value: layer "
            f"{int(np.argmin(before)) + 1} is {before.min():.4g} × ({before.min() / 10:.2g} × the required 10)"
            f"\n  {where}")
        at = norms[-1] / norms[0]
        assert at.min() >= 1e15, (
            f"at divergence every layer's ‖W‖_F must be at least 1e15 × its initial value: layer "
            f"{int(np.argmin(at)) + 1} is {at.min():.3g} ×\n  {where}")
    with _the_run_used(MLP_CLIPPED_RUN):
        updates = []
        _, clipped = cases.weight_norms_of_deep_network(impl, seed, 1.5, S6_LR, S6_STEPS, max_norm=S6_CLIP,
                                                        update_norms=updates)
        _clipped_updates(updates, S6_LR, S6_CLIP, cases.deep_network_gradient_lower_bound(seed, 1.5),
                         where + f", clip_grad_norm max_norm {S6_CLIP:g}")
        _band(clipped, 0.5, 1 + 1e-9, f"with clipping (max_norm {S6_CLIP:g}) over {S6_STEPS} steps", where)
    with _the_run_used(MLP_RUN):
        _, well = cases.weight_norms_of_deep_network(impl, seed, 1.0, S6_LR, S6_STEPS)
        _band(well, 0.8, 1.01, f"well initialised (W_l = Q_l, orthogonal) over {S6_STEPS} steps", where)


@claim("S6b")
@pytest.mark.parametrize("seed", S6_SEEDS)
def test_the_long_rnns_weight_norms_grow_a_thousandfold_in_the_step_it_diverges_and_stay_in_a_band_when_clipped(
        impl, seed):
    where = f"on S19b's long RNN (linear, W_hh = 1.2·Q, H = 8, T = 40), seed {seed}, lr {S6_LR:g}"
    with _the_run_used(RNN_RUN):
        losses, norms = cases.weight_norms_of_long_rnn(impl, seed, 1.2, S6_LR, 100)
        _diverges(losses, 100, where)
        growth = norms[-1] / norms[0]
        for name, factor, required in (("W_ih", growth[0], 1e4), ("W_hh", growth[1], 1e6)):
            assert factor >= required, (
                f"at divergence ‖{name}‖_F must be at least {required:g} × its initial value: it is {factor:.3g} × "
                f"({factor / required:.2g} × the required)\n  {where}")
    with _the_run_used(RNN_CLIPPED_RUN):
        updates = []
        _, clipped = cases.weight_norms_of_long_rnn(impl, seed, 1.2, S6_LR, S6_STEPS, max_norm=S6_CLIP,
                                                    update_norms=updates)
        _clipped_updates(updates, S6_LR, S6_CLIP, cases.long_rnn_gradient_lower_bound(seed, 1.2),
                         where + f", clip_grad_norm max_norm {S6_CLIP:g}")
        _band(clipped, 0.5, 1 + 1e-9, f"with clipping (max_norm {S6_CLIP:g}) over {S6_STEPS} steps", where)


# -- S7: unstable even at small learning rates ------------------------------------------------------

S7_RATES = [0.1, 0.01, 1e-3, 1e-4]
S7_CLIP = 1.0


@claim("S7a")
def test_dividing_the_learning_rate_by_1000_does_not_stop_the_step_off_the_cliff_but_clipping_bounds_it(impl):
    with _the_run_used(RNN_CLIPPED_RUN):
        _check_steps_from_the_cliff(impl)


def _check_steps_from_the_cliff(impl):
    __tracebackhide__ = True
    _, grad = cases.cliff_loss_and_gradient(impl, cases.CLIFF_W, cases.CLIFF_B)
    norm = float(np.linalg.norm(grad))
    known = float(np.linalg.norm(cases.cliff_gradient_at_the_fixed_point()))  # S2a's closed form: 779.4 > S7_CLIP
    for lr in S7_RATES:
        step = lr * norm
        assert step >= 30 * CLIFF_HALF_WIDTH, (
            f"at lr {lr:g} an SGD step from the cliff (5, b*) must leave b* ± {CLIFF_HALF_WIDTH:g} by far, moving at "
            f"least {30 * CLIFF_HALF_WIDTH:g}: it moved lr·‖g‖ = {step:.4g} ({step / (30 * CLIFF_HALF_WIDTH):.2g} × the "
            f"required), ‖g‖ = {norm:.6g}\n  rnn_backward at w = 5, b = {cases.CLIFF_B!r}")
        clipped = impl.clip_grad_norm([grad], S7_CLIP, 2.0)[0][0]
        clipped_step = lr * float(np.linalg.norm(clipped))
        low, high = lr * S7_CLIP * (1 - UPDATE_RTOL_BELOW), lr * S7_CLIP * (1 + UPDATE_RTOL_ABOVE)
        assert low <= clipped_step <= high, (
            f"with clipping to {S7_CLIP:g} the step at lr {lr:g} must be lr·max_norm = {lr * S7_CLIP:g} "
            f"(‖∇E‖ = {known:.4g} > max_norm by the spec's closed form): it is {clipped_step:.17g} "
            f"({'over-clipped' if clipped_step < low else times_tolerance(clipped_step - high, lr * S7_CLIP * UPDATE_RTOL_ABOVE)})"
            f"\n  clip_grad_norm of the gradient {grad.tolist()} at the cliff, allowed [{low:.17g}, {high:.17g}]")


SPIKE_LR = 0.1
SPIKE_STEPS = 50
SPIKE_FACTOR = 10.0
SPIKES = [7, 9, 11, 13, 16, 19, 22, 24, 26, 28, 31, 33, 36, 38, 41, 44]


@claim("S7b")
def test_at_a_small_learning_rate_training_falls_off_the_cliff_in_sixteen_spikes_and_recovers_from_all_but_the_last(impl):
    with _the_run_used(RNN_RUN):
        _check_spikes(cases.train_cliff(impl, SPIKE_LR, SPIKE_STEPS))


def _check_spikes(run):
    __tracebackhide__ = True
    losses = np.asarray(run.losses)
    where = f"on the cliff problem from (w, b) = (5, −2.5), lr {SPIKE_LR:g}, {SPIKE_STEPS} steps"
    ratios = losses[1:] / losses[:-1]
    spikes = [t for t in range(1, SPIKE_STEPS) if ratios[t - 1] >= SPIKE_FACTOR]
    assert all(ratios[:SPIKES[0] - 1] < 1), (
        f"training must look normal first, the loss falling at each of steps 1..{SPIKES[0] - 1}: it went "
        f"{[float(f'{v:.4g}') for v in losses[:SPIKES[0]]]}\n  {where}")
    assert spikes == SPIKES, (
        f"the loss must jump ≥ {SPIKE_FACTOR:g}-fold at exactly steps {SPIKES} ({len(SPIKES)} spikes): it jumped at "
        f"{spikes} ({len(spikes)})\n  {where}")
    quiet = np.delete(ratios, np.array(SPIKES) - 1)
    assert quiet.max() <= 1.5, (
        f"between spikes the loss must not rise by more than 1.5× in a step: it rose {quiet.max():.4g}× "
        f"({(quiet.max() - 1) / 0.5:.2g} × the allowed rise)\n  {where}")
    for t in SPIKES[:-1]:
        assert min(losses[t + 1], losses[t + 2]) <= 0.05, (
            f"each spike but the last must recover within two steps, the loss back below 0.05: after the spike at "
            f"step {t} it went {losses[t + 1]:.4g}, {losses[t + 2]:.4g}\n  {where}")
    assert max(run.gradient_norms) <= 10, (
        f"at this learning rate no step of the first {SPIKE_STEPS} lands on the face of the cliff (‖g‖ ≤ 10): "
        f"‖g‖ reached {max(run.gradient_norms):.4g}\n  {where}")
