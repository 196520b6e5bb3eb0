"""Strategies that spread their draws evenly over a range.

Hypothesis favours simple values — 0, the ends of a range, the first of a list, small
integers (st.integers(0, 10⁴) has its median near 700) — so that failures shrink well.
For the spec that piles draws where a bound is slack: left alone, 46% of S1's angles
were exactly 45°, 43% of S13d's widths were 1.  Every strategy here maps one drawn
64-bit integer k through a Weyl sequence, k·φ mod 1 (φ the golden ratio, as a 64-bit
constant), which spreads any set of distinct integers evenly over [0, 1) and still
shrinks to 0 with k.  tests/test_strategies_*.py measure the shares they give.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

_GOLDEN = 0x9E3779B97F4A7C15  # 2⁶⁴/φ, odd: k ↦ k·_GOLDEN mod 2⁶⁴ is a bijection
unit_fractions = st.integers(0, 2**64 - 1).map(lambda k: ((k * _GOLDEN) % 2**64) / 2**64)


def uniform(low: float, high: float, power: float = 1.0):
    """low + (high − low)·u^power for u spread over [0, 1): power > 1 leans towards low continuously,
    rather than piling draws on it.  Shrinks towards low."""
    return unit_fractions.map(lambda u: float(low + (high - low) * u**power))


def log_uniform(low: float, high: float):
    """10^U(log10 low, log10 high): every decade equally often.  Shrinks towards low."""
    lo, hi = math.log10(low), math.log10(high)
    return unit_fractions.map(lambda u: float(10 ** (lo + (hi - lo) * u)))


def spread_integers(low: int, high: int):
    """Integers in [low, high], each about equally often.  Shrinks towards low."""
    return unit_fractions.map(lambda u: low + min(int(u * (high - low + 1)), high - low))


def uniform_choice(values):
    """One of values, each about equally often.  Shrinks towards the first."""
    values = tuple(values)
    return unit_fractions.map(lambda u: values[int(u * len(values))])
