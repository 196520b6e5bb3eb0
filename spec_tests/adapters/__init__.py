"""Adapters: third-party libraries as implementations under test (``--impl torch``).

Each module implements the protocol (docs/protocol.md) with a library's own
machinery; ``spec_tests.iut.BUILTIN_IMPLEMENTATIONS`` names them.
"""
