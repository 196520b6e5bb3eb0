"""S17c, S19: remedies in training, on the project's own small, seeded problems.

These are not universal laws: each claim names its problem, and the runs are
deterministic (fixed seeds), so a verdict is reproducible to the step.  The
implementation computes every gradient (mlp_backward, rnn_backward) and does the
clipping, scheduling and stepping being claimed; the spec only keeps the loop.
"""

import math

import numpy as np
import pytest

from spec_tests import maths, symptom_cases
from spec_tests.assertions import times_tolerance
from spec_tests.claims import claim

DIVERGED = symptom_cases.DIVERGED


def loss_and_residual(impl, x, y, weights, biases, activation):
    out = impl.mlp_forward(x, weights, biases, activation, allow_nonfinite=True).hidden_states[-1]
    with np.errstate(all="ignore"):
        residual = out - y
        return 0.5 * float(np.mean(np.sum(residual * residual, axis=1))), residual


def train_mlp(impl, seed, steps, lr, max_norm):
    """S19a's deep network (symptom_cases.deep_network, c = 1.5: every backward step multiplies the gradient by
    1.5, 1.5^8 ≈ 26 in all): the losses, and inf after them if the gradient itself overflowed."""
    losses = list(symptom_cases.weight_norms_of_deep_network(impl, seed, 1.5, lr, steps, max_norm)[0])
    if len(losses) < steps and losses[-1] < DIVERGED:
        losses.append(math.inf)  # the gradient itself overflowed
    return losses


SEEDS = [0, 1, 2]


@claim("S19a")
@pytest.mark.parametrize("seed", SEEDS)
def test_clipping_turns_a_diverging_deep_network_into_one_that_trains(impl, seed):
    unclipped = train_mlp(impl, seed, steps=100, lr=0.05, max_norm=None)
    clipped = train_mlp(impl, seed, steps=100, lr=0.05, max_norm=1.0)
    assert not (unclipped[-1] < DIVERGED), (
        f"without clipping the loss was expected to diverge (exceed {DIVERGED:g} or become non-finite) within 100 "
        f"steps; it went {unclipped[0]:.4g} → {unclipped[-1]:.4g}"
    )
    assert len(clipped) == 100 and all(math.isfinite(v) for v in clipped), (
        f"with clipping (max_norm 1) every loss must stay finite and below {DIVERGED:g} for 100 steps: it went "
        f"{clipped[0]:.4g} → {clipped[-1]:.4g} at step {len(clipped) - 1}"
    )
    assert clipped[-1] <= 1e-2 * clipped[0], (
        f"with clipping (max_norm 1) the loss must fall below 1% of its start in 100 steps: "
        f"{clipped[0]:.4g} → {clipped[-1]:.4g}"
    )


def train_rnn(impl, seed, steps, lr, max_norm):
    """S19b's long RNN (symptom_cases.long_rnn: linear, T = 40, W_hh = 1.2·Q, 1.2^40 ≈ 1470; the loss on h_T)."""
    return list(symptom_cases.weight_norms_of_long_rnn(impl, seed, 1.2, lr, steps, max_norm)[0])


@claim("S19b")
@pytest.mark.parametrize("seed", SEEDS)
def test_clipping_turns_a_diverging_long_rnn_into_one_that_trains(impl, seed):
    unclipped = train_rnn(impl, seed, steps=100, lr=0.05, max_norm=None)
    clipped = train_rnn(impl, seed, steps=100, lr=0.05, max_norm=1.0)
    assert not (unclipped[-1] < DIVERGED), (
        f"without clipping the loss was expected to diverge (exceed {DIVERGED:g} or become non-finite) within 100 "
        f"steps; it went {unclipped[0]:.4g} → {unclipped[-1]:.4g}"
    )
    assert len(clipped) == 100 and all(math.isfinite(v) for v in clipped), (
        f"with clipping (max_norm 1) every loss must stay finite and below {DIVERGED:g} for 100 steps: it went "
        f"{clipped[0]:.4g} → {clipped[-1]:.4g} at step {len(clipped) - 1}"
    )
    assert clipped[-1] <= 1e-2 * clipped[0], (
        f"with clipping (max_norm 1) the loss must fall below 1% of its start: {clipped[0]:.4g} → {clipped[-1]:.4g}"
    )


def train_scalar(impl, rates):
    """f(x) = w₂ w₁ x with w₁ = w₂ = 3, x = 1, target 1: sharpness 26 at the start, 2 at the solution."""
    weights, biases = [np.array([[3.0]]), np.array([[3.0]])], [np.zeros(1), np.zeros(1)]
    x, y = np.ones((1, 1)), np.ones((1, 1))
    velocity = [np.zeros((1, 1)), np.zeros((1, 1))]
    losses = []
    for lr in rates:
        loss, residual = loss_and_residual(impl, x, y, weights, biases, "linear")
        losses.append(loss)
        if not (loss < DIVERGED):
            break
        grads = impl.mlp_backward(x, weights, biases, "linear", residual).weights
        weights, velocity = impl.sgd_step(weights, grads, velocity, float(lr), 0.0)
    return losses


@claim("S17c")
def test_warmup_trains_where_the_full_learning_rate_from_step_zero_diverges(impl):
    full = train_scalar(impl, np.full(200, 0.3))
    rates = impl.warmup_schedule(200, 0.3, 100)
    warm = train_scalar(impl, rates)
    assert not (full[-1] < DIVERGED), (
        f"lr 0.3 from step 0 exceeds 2/26, the stability limit at the start, and must diverge: "
        f"{full[0]:.4g} → {full[-1]:.4g} after {len(full)} steps"
    )
    assert len(warm) == 200, (
        f"with warmup every loss must stay below {DIVERGED:g} for 200 steps: it went {warm[0]:.4g} → {warm[-1]:.4g} "
        f"at step {len(warm) - 1} (lr {rates[len(warm) - 2]:.4g} at the step before)"
    )
    # the loss never rises from one step to the next.  Compared as residuals |r| = √(2·loss) = |w₂w₁ − 1|: an
    # evaluation of f = w₂w₁ rounds by at most u·|f| ≤ u(1 + |r|) (u = eps/2), and near the solution an update
    # smaller than half an ulp of the weights leaves them as they are, so two correct evaluation orders may
    # each sit a few roundings off; 4·eps·(1 + |r_t|) allows 8.  (The reference's loss falls by ≥ 10% a step
    # until it is exactly 0, so the slack hides no real rise.)
    residual = np.sqrt(2 * np.asarray(warm))
    rises = residual[1:] - residual[:-1] > 4 * maths.EPS * (1 + residual[:-1])
    if np.any(rises):
        t = int(np.argmax(rises))
        raise AssertionError(
            f"with warmup the loss rose at step {t + 1}: {warm[t]:.6g} → {warm[t + 1]:.6g} "
            f"(residual |w₂w₁ − 1| {residual[t]:.6g} → {residual[t + 1]:.6g}, "
            f"{times_tolerance(residual[t + 1] - residual[t], 4 * maths.EPS * (1 + residual[t]))}); "
            f"the step used lr {rates[t]:.6g}"
        )
    assert warm[-1] <= 1e-10, f"with warmup the loss reaches 0 (to 1e-10): got {warm[-1]:.4g}"
