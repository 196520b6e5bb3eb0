"""A derandomised run draws the same inputs in every process (spec_tests/determinism.py)."""

import importlib

from hypothesis import Phase, given, settings
from hypothesis import strategies as st


def test_derandomised_draws_do_not_depend_on_the_modules_the_process_has_imported(tmp_path, monkeypatch):
    seen = []

    @settings(derandomize=True, database=None, max_examples=100, phases=[Phase.generate])
    @given(st.floats(-1e6, 1e6), st.integers(-10**9, 10**9))
    def draw(x, n):
        seen.append((x, n))

    draw()
    before, seen[:] = list(seen), []
    (tmp_path / "module_with_constants.py").write_text(
        "".join(f"C{i} = {value!r}\n" for i, value in enumerate([271828.5, 314159265, -777777.25, 123456789, 0.125])))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("module_with_constants")
    draw()
    assert seen == before, (
        f"{sum(a != b for a, b in zip(seen, before))} of {len(before)} draws changed after a module was imported: "
        "Hypothesis drew constants from local modules (spec_tests/determinism.py must switch that off)")


def test_a_verdict_does_not_depend_on_the_parametrized_case_pytest_ran_last():
    from pathlib import Path

    from spec_tests.claims import TESTS_BY_CLAIM
    from spec_tests.docs import import_spec_test_modules
    from spec_tests.iut import load_implementation
    from spec_tests.verdicts import run_claim

    import_spec_test_modules()
    impl = load_implementation(str(Path(__file__).parent / "implementations" / "clip_per_tensor.py"))
    inner = TESTS_BY_CLAIM["S12a"][0].hypothesis.inner_test  # a parametrized test (one case per dtype)
    left_behind = getattr(inner, "_hypothesis_internal_add_digest", None)
    first_lines = []
    try:
        for node_id in (b"spec_tests/test_clipping.py::t[float16]", b"spec_tests/test_clipping.py::t[float64]"):
            inner._hypothesis_internal_add_digest = node_id  # what Hypothesis's pytest plugin leaves on the test
            failures, _ = run_claim("S12a", impl, stop_at_first_failure=True)
            first_lines.append(str(failures[0]).splitlines()[0])
    finally:
        inner._hypothesis_internal_add_digest = left_behind
    assert first_lines[0] == first_lines[1], "the verdict's first failure changed with the case pytest ran last:\n" + \
        "\n".join(first_lines)
