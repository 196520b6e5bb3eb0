"""Policy gradients: the REINFORCE estimate for two policies, advantage normalisation, and PPO's
clipped surrogate.

The REINFORCE estimate (Williams 1992; Sutton et al. 2000) of the gradient of J(θ) = E[A · log π_θ(a|s)]
from N samples (s_i, a_i, A_i) is

    ĝ = (1/N) Σ_i A_i ∇_θ log π_θ(a_i | s_i),

the *ascent* direction of the objective (a loss is its negative).  Two policies:

* softmax with linear logits: z_i = s_i Wᵀ + b, π(·|s_i) = softmax(z_i), and the score of the logits
  is ∇_z log π(a|s) = e_a − π, so  ∂/∂W = (1/N) Σ A_i (e_{a_i} − π_i) s_iᵀ,  ∂/∂b = (1/N) Σ A_i (e_{a_i} − π_i);
* diagonal Gaussian with linear mean and a learned, state-independent log standard deviation:
  μ_i = s_i Wᵀ + b, σ = exp(log_std),
  ∇_μ log π = (a − μ)/σ²,   ∇_{log σ} log π = (a − μ)²/σ² − 1   (per action dimension).

Advantage normalisation (ε = 0, the biased standard deviation):  Â = (A − mean(A)) / std(A).
PPO's clipped surrogate (Schulman et al. 2017), softmax policy, r_i = π(a_i|s_i) / π_old(a_i|s_i):

    L = (1/N) Σ_i min(r_i A_i, clip(r_i, 1 − ε, 1 + ε) A_i).
"""

from __future__ import annotations

import numpy as np

from .validation import ArgumentTypeError, as_float_array, check_positive, read_array


def _check_policy_inputs(states, advantages, W, b):
    states = as_float_array(states, "states", ndim=2, dtype=np.float64)
    advantages = as_float_array(advantages, "advantages", ndim=1, dtype=np.float64)
    W = as_float_array(W, "W", ndim=2, dtype=np.float64)
    b = as_float_array(b, "b", ndim=1, dtype=np.float64)
    N, d = states.shape
    if N == 0:
        raise ValueError("states holds no samples: shape (0, d); expected at least one row")
    if advantages.shape != (N,):
        raise ValueError(f"advantages has shape {advantages.shape}, expected ({N},): one per row of states")
    if W.shape[1] != d:
        raise ValueError(f"W has shape {W.shape} but states have {d} features: expected (outputs, {d})")
    if W.shape[0] == 0:
        raise ValueError(f"W has shape {W.shape}: expected at least one output (action or action dimension)")
    if b.shape != (W.shape[0],):
        raise ValueError(f"b has shape {b.shape}, expected ({W.shape[0]},)")
    return states, advantages, W, b


def _check_discrete_actions(actions, N: int, K: int) -> np.ndarray:
    actions = read_array(actions, "actions")
    if actions.dtype.kind not in "iu":
        raise ArgumentTypeError(f"actions must be an integer array of action indices, got dtype {actions.dtype}")
    if actions.shape != (N,):
        raise ValueError(f"actions has shape {actions.shape}, expected ({N},): one per row of states")
    if actions.size and (actions.min() < 0 or actions.max() >= K):
        raise ValueError(f"actions must lie in 0..{K - 1} (the rows of W), got values {actions.min()}..{actions.max()}")
    return actions.astype(np.int64)


def softmax_probabilities(logits: np.ndarray) -> np.ndarray:
    """π = softmax(z) row by row, as exp(z − max z) / Σ exp(z − max z) (never overflows)."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def softmax_log_probabilities(logits: np.ndarray) -> np.ndarray:
    """log π = z − logsumexp(z), row by row."""
    top = logits.max(axis=1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))


def softmax_scores(logits: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """∇_z log π(a_i | s_i) = e_{a_i} − π_i, one row per sample."""
    scores = -softmax_probabilities(logits)
    scores[np.arange(len(actions)), actions] += 1.0
    return scores


def softmax_policy_gradient(states, actions, advantages, W, b) -> tuple[np.ndarray, np.ndarray]:
    """The REINFORCE estimate for the softmax policy with logits z_i = s_i Wᵀ + b:

        ∂/∂W = (1/N) Σ_i A_i (e_{a_i} − π_i) s_iᵀ,    ∂/∂b = (1/N) Σ_i A_i (e_{a_i} − π_i).

    states (N, d), actions (N,) integers in 0..K−1, advantages (N,), W (K, d), b (K,).
    Returns (grad_W, grad_b): the ascent direction of (1/N) Σ A_i log π(a_i|s_i)."""
    states, advantages, W, b = _check_policy_inputs(states, advantages, W, b)
    actions = _check_discrete_actions(actions, len(states), W.shape[0])
    weighted = advantages[:, None] * softmax_scores(states @ W.T + b, actions) / len(states)
    return weighted.T @ states, weighted.sum(axis=0)


def gaussian_policy_gradient(states, actions, advantages, W, b, log_std) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The REINFORCE estimate for the diagonal Gaussian policy N(μ_i, diag σ²), μ_i = s_i Wᵀ + b,
    σ = exp(log_std) (state-independent):

        u_i = (a_i − μ_i) / σ²                      (∇_μ log π),
        ∂/∂W = (1/N) Σ_i A_i u_i s_iᵀ,   ∂/∂b = (1/N) Σ_i A_i u_i,
        ∂/∂log_std = (1/N) Σ_i A_i ((a_i − μ_i)²/σ² − 1).

    states (N, d), actions (N, m), advantages (N,), W (m, d), b (m,), log_std (m,).
    Returns (grad_W, grad_b, grad_log_std)."""
    states, advantages, W, b = _check_policy_inputs(states, advantages, W, b)
    m = W.shape[0]
    actions = as_float_array(actions, "actions", ndim=2, dtype=np.float64)
    if actions.shape != (len(states), m):
        raise ValueError(f"actions has shape {actions.shape}, expected {(len(states), m)}: one row per sample, "
                         "one column per row of W")
    log_std = as_float_array(log_std, "log_std", ndim=1, dtype=np.float64)
    if log_std.shape != (m,):
        raise ValueError(f"log_std has shape {log_std.shape}, expected ({m},)")
    with np.errstate(over="ignore", under="ignore"):
        variance = np.exp(2.0 * log_std)
    if not np.all((variance > 0) & np.isfinite(variance)):
        raise ValueError("log_std must keep σ² = exp(2·log_std) positive and finite in float64 "
                         f"(|log_std| below about 354), got values {log_std.min()}..{log_std.max()}")
    deviation = actions - (states @ W.T + b)
    mean_score = deviation / variance
    weights = advantages[:, None] / len(states)
    weighted = weights * mean_score
    grad_log_std = (weights * (deviation * mean_score - 1.0)).sum(axis=0)
    return weighted.T @ states, weighted.sum(axis=0), grad_log_std


def normalise_advantages(advantages) -> np.ndarray:
    """Â = (A − mean(A)) / std(A), with the biased standard deviation std(A) = √((1/N) Σ (A_i − mean)²)
    and no ε: so mean(Â) = 0 and (1/N) Σ Â_i² = 1.  Needs N ≥ 2 advantages that are not all equal."""
    advantages = as_float_array(advantages, "advantages", ndim=1, dtype=np.float64)
    if advantages.size < 2:
        raise ValueError(f"advantages must hold at least 2 values to normalise, got {advantages.size}")
    centred = advantages - advantages.mean()
    scale = np.max(np.abs(centred))
    if not scale > 0:
        raise ValueError("advantages are all equal: their standard deviation is 0, so they cannot be normalised")
    std = scale * np.sqrt(np.mean((centred / scale) ** 2))  # scaled: no overflow or underflow of the squares
    return centred / std


def ppo_clip_gradient(states, actions, advantages, old_log_probs, W, b, clip_eps) -> tuple[np.ndarray, np.ndarray]:
    """The gradient of PPO's clipped surrogate for the softmax policy of softmax_policy_gradient:

        r_i = exp(log π(a_i|s_i) − old_log_probs_i),
        L   = (1/N) Σ_i min(r_i A_i, clip(r_i, 1 − ε, 1 + ε) A_i),
        ∇L  = (1/N) Σ_i [unclipped term active] r_i A_i ∇ log π(a_i|s_i),

    where the unclipped term is active (r_i A_i < clip(r_i) A_i, or a tie) exactly when
    A_i > 0 and r_i ≤ 1 + ε, or A_i < 0 and r_i ≥ 1 − ε.  For A_i < 0 and r_i > 1 + ε the term is active:
    ratio clipping does not bound the gradient.  Returns (grad_W, grad_b)."""
    states, advantages, W, b = _check_policy_inputs(states, advantages, W, b)
    actions = _check_discrete_actions(actions, len(states), W.shape[0])
    old_log_probs = as_float_array(old_log_probs, "old_log_probs", ndim=1, dtype=np.float64)
    if old_log_probs.shape != advantages.shape:
        raise ValueError(f"old_log_probs has shape {old_log_probs.shape}, expected {advantages.shape}")
    clip_eps = check_positive(clip_eps, "clip_eps")
    logits = states @ W.T + b
    log_probs = softmax_log_probabilities(logits)[np.arange(len(actions)), actions]
    ratio = np.exp(log_probs - old_log_probs)
    active = ((advantages > 0) & (ratio <= 1 + clip_eps)) | ((advantages < 0) & (ratio >= 1 - clip_eps))
    weighted = np.where(active, ratio * advantages, 0.0)[:, None] * softmax_scores(logits, actions) / len(states)
    return weighted.T @ states, weighted.sum(axis=0)
