"""Helpers the tests share. Test modules import from here (or from ``tests.conftest`` and
``tests.receivers``), never from each other."""
