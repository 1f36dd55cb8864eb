"""The regex engine of the ``matches`` operator: RE2 (google-re2), which runs in time linear in
the text, so no pattern can hang scoring; Python's backtracking ``re`` runs ``^(a+)+$`` over a
40-character title for minutes."""

from __future__ import annotations

import re2

from leadrelay.domain.conditions import TextPattern


def re2_pattern(text: str) -> TextPattern:
    """``text`` compiled case-insensitively by RE2; :class:`ValueError` with RE2's reason when it
    is not RE2 syntax (back-references and look-around, for instance, have no linear-time form)."""
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # the reason goes into the playbook error, not onto stderr
    try:
        compiled: TextPattern = re2.compile(text, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "not a pattern RE2 accepts"
        raise ValueError(reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)) from None
    return compiled
