"""Implementations used to show that the spec bites (wrong ones) and does not
over-reach (correct ones computed another way).  Each wrong implementation is a
small, plausible mistake; tests/test_spec_rejects_wrong_implementations.py
names the claims that must catch it."""
