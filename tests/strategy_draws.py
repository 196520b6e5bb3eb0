"""Sampling a spec strategy the way its spec test sees it, for the tests that measure strategies."""

from hypothesis import HealthCheck, Phase, given, settings


def draws(strategy, n: int) -> list:
    """The first n examples Hypothesis generates from the strategy, derandomised."""
    out = []

    @settings(max_examples=n, database=None, derandomize=True, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def collect(case):
        out.append(case)

    collect()
    return out
