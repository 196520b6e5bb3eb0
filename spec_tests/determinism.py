"""Derandomised Hypothesis runs that depend on nothing but the test.

Hypothesis mixes into its draws literal constants that it harvests from every local module the
process has imported so far (hypothesis.internal.conjecture.providers._get_local_constants).  Which
modules those are differs between pytest-xdist workers, between the main job and a gallery run, and
with the implementation under test: the same derandomised test then draws other inputs, and a
verdict or a report's first line changes with the process's history.  The spec draws from
Hypothesis's own global constants only.
"""

from __future__ import annotations


def draw_without_local_constants() -> None:
    from hypothesis.internal.conjecture import providers

    nothing_local = providers.Constants()
    providers._get_local_constants = lambda: nothing_local
    providers.CONSTANTS_CACHE.cache.clear()
