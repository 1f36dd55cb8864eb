"""Helpers shared by the tests (test modules import from here, not from each other)."""
