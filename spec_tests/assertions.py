"""Assertion helpers.  They hide themselves from tracebacks and lead with the problem:
what was compared, and how far it missed, as a multiple of the allowed rounding — a
formula error shows as thousands or billions of times the tolerance, a rounding
slip as a small multiple — then the numbers and a hint.

The claim being checked and the falsifying input are attached by conftest.py and
by hypothesis.
"""

from __future__ import annotations

import numpy as np


def times_tolerance(error: float, tolerance: float) -> str:
    """'2.6e+09 × the allowed rounding', or '3.1e-16 where it must be exact' for a zero tolerance."""
    if not tolerance > 0:
        return f"{error:.3g} where it must be exact"
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        ratio = np.float64(error) / np.float64(tolerance)
    return f"{ratio:.2g} × the allowed rounding"


def _hint(hint: str) -> str:
    return f"\n  hint: {hint}" if hint else ""


def assert_within(actual, expected, bound, what: str, hint: str = "") -> None:
    """|actual − expected| ≤ bound, elementwise."""
    __tracebackhide__ = True
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    bound = np.broadcast_to(np.asarray(bound, dtype=float), expected.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        error = np.abs(actual - expected)
    bad = ~(error <= bound)
    if np.any(bad):
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            excess = np.where(bad, np.where(bound > 0, error / bound, np.inf), -np.inf)
        worst = np.unravel_index(np.argmax(np.where(np.isnan(excess), np.inf, excess)), expected.shape)
        raise AssertionError(
            f"{what}: off by {times_tolerance(error[worst], bound[worst])} "
            f"({int(bad.sum())} of {expected.size} entries out of tolerance)\n"
            f"  worst at index {tuple(int(i) for i in worst)}: got {actual[worst]!r}, "
            f"expected {expected[worst]!r} (|difference| {error[worst]:.3g}, tolerance {bound[worst]:.3g})"
            + _hint(hint)
        )


def assert_within_case(actual, expected, bound, what: str, case, hint: str = "") -> None:
    """assert_within, its first line (the one a report shows) naming the case after the problem."""
    __tracebackhide__ = True
    try:
        assert_within(actual, expected, bound, what, hint=hint)
    except AssertionError as error:
        first, newline, rest = str(error).partition("\n")
        raise AssertionError(f"{first} at {case!r}{newline}{rest}") from None


def assert_log_at_most(log_lhs: float, log_rhs: float, slack: float, what: str, hint: str = "") -> None:
    """log(lhs) ≤ log(rhs) + slack: an inequality between quantities that may overflow."""
    __tracebackhide__ = True
    if not log_lhs <= log_rhs + slack:
        excess = log_lhs - log_rhs
        raise AssertionError(
            f"{what}: lhs exceeds the bound by a factor e^{excess:.3g}, "
            f"{times_tolerance(excess, slack)} (log slack {slack:.2g})\n"
            f"  log(lhs) = {log_lhs:.6g}, log(rhs) = {log_rhs:.6g}" + _hint(hint)
        )


def assert_log_at_least(log_lhs: float, log_rhs: float, slack: float, what: str, hint: str = "") -> None:
    """log(lhs) ≥ log(rhs) − slack."""
    __tracebackhide__ = True
    if not log_lhs >= log_rhs - slack:
        shortfall = log_rhs - log_lhs
        raise AssertionError(
            f"{what}: lhs falls short of the bound by a factor e^{shortfall:.3g}, "
            f"{times_tolerance(shortfall, slack)} (log slack {slack:.2g})\n"
            f"  log(lhs) = {log_lhs:.6g}, log(rhs) = {log_rhs:.6g}" + _hint(hint)
        )


def _distinguishing(*numbers: float) -> list[str]:
    """The numbers with 6 significant digits, or as many more as it takes (up to 17) to tell apart
    those that differ: '2e+06 is outside [2e+06, 2e+06]' says nothing."""
    for digits in range(6, 18):
        texts = [f"{x:.{digits}g}" for x in numbers]
        if all(texts[i] != texts[j] for i in range(len(numbers)) for j in range(i) if numbers[i] != numbers[j]):
            return texts
    return texts


def assert_in_interval(value: float, low: float, high: float, what: str, hint: str = "") -> None:
    """low ≤ value ≤ high; the miss is reported relative to the interval's half-width (or, for an
    interval with one infinite end, to the size of the end that was missed)."""
    __tracebackhide__ = True
    if not low <= value <= high:
        missed_end = low if not value >= low else high
        miss = abs(value - missed_end)
        half_width = (high - low) / 2
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if np.isfinite(half_width) and half_width > 0 and np.isfinite(miss):
                relative = f", {np.float64(miss) / np.float64(half_width):.2g} × the interval's half-width"
            elif np.isfinite(missed_end) and missed_end != 0 and np.isfinite(miss):
                relative = f", {np.float64(miss) / abs(np.float64(missed_end)):.2g} × the size of that end"
            else:
                relative = ""
        value_text, low_text, high_text = _distinguishing(value, low, high)
        raise AssertionError(
            f"{what}: {value_text} is outside [{low_text}, {high_text}] by {miss:.3g}{relative}" + _hint(hint)
        )
