"""Step and tolerance of the finite-difference oracles (tests/test_*_oracles.py): central
differences with steps ε = eps^(1/3) and ε/2, combined by Richardson extrapolation, so
rounding is O(eps/ε) ≈ eps^(2/3); FD_RTOL allows 1e4 times that, relative to the scale of
the dot product's terms."""

from spec_tests import maths

FD_STEP = maths.EPS ** (1 / 3)
FD_RTOL = 1e4 * maths.EPS ** (2 / 3)
