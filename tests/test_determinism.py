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
