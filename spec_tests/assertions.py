"""Assertion helpers.  They hide themselves from tracebacks and say, in the failure,
what was compared, by how much it missed, and what the tolerance was and why.

The claim being checked and the falsifying input are attached by conftest.py and
by hypothesis; these messages add the numbers.
"""

from __future__ import annotations

import numpy as np


def assert_within(actual, expected, bound, what: str, hint: str = "") -> None:
    """|actual − expected| ≤ bound, elementwise."""
    __tracebackhide__ = True
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    bound = np.broadcast_to(np.asarray(bound, dtype=float), expected.shape)
    error = np.abs(actual - expected)
    bad = ~(error <= bound)
    if np.any(bad):
        worst = np.unravel_index(np.argmax(np.where(bad, error - bound, -np.inf)), expected.shape)
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {expected.size} entries out of tolerance.\n"
            f"  worst at index {tuple(int(i) for i in worst)}: got {actual[worst]!r}, "
            f"expected {expected[worst]!r} (|difference| {error[worst]:.3g} > tolerance {bound[worst]:.3g})"
            + (f"\n  hint: {hint}" if hint else "")
        )


def assert_log_at_most(log_lhs: float, log_rhs: float, slack: float, what: str, hint: str = "") -> None:
    """log(lhs) ≤ log(rhs) + slack: an inequality between quantities that may overflow."""
    __tracebackhide__ = True
    if not log_lhs <= log_rhs + slack:
        raise AssertionError(
            f"{what}: expected lhs ≤ rhs, but log(lhs) = {log_lhs:.6g} > log(rhs) = {log_rhs:.6g} "
            f"(lhs/rhs = e^{log_lhs - log_rhs:.3g}; rounding slack e^{slack:.2g})"
            + (f"\n  hint: {hint}" if hint else "")
        )


def assert_log_at_least(log_lhs: float, log_rhs: float, slack: float, what: str, hint: str = "") -> None:
    """log(lhs) ≥ log(rhs) − slack."""
    __tracebackhide__ = True
    if not log_lhs >= log_rhs - slack:
        raise AssertionError(
            f"{what}: expected lhs ≥ rhs, but log(lhs) = {log_lhs:.6g} < log(rhs) = {log_rhs:.6g} "
            f"(lhs/rhs = e^{log_lhs - log_rhs:.3g}; rounding slack e^{-slack:.2g})"
            + (f"\n  hint: {hint}" if hint else "")
        )


def assert_in_interval(value: float, low: float, high: float, what: str, hint: str = "") -> None:
    __tracebackhide__ = True
    if not low <= value <= high:
        raise AssertionError(
            f"{what}: {value:.6g} is outside [{low:.6g}, {high:.6g}]" + (f"\n  hint: {hint}" if hint else "")
        )
