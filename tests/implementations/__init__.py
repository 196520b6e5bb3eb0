"""Implementations used to show that the spec bites (wrong ones) and does not
over-reach (correct ones computed another way).  Each file defines only the protocol
functions it changes, says what it is in its docstring's first line, and lists in
REJECTED_BY the exact set of claims that fail on it;
tests/test_spec_verdicts_on_known_implementations.py checks every verdict, and
docs/gallery.md shows them."""
