"""The one base of every error a user can cause (and fix).

It lives in the domain because the domain may import only the standard library and itself, and
its own errors (an illegal transition, a bad calendar) are errors a user can cause. Everyone else
imports it from :mod:`leadrelay.errors`.
"""

from __future__ import annotations


class LeadRelayError(Exception):
    """A problem a user can fix: bad input, a bad playbook or setting, an unknown lead, ...

    ``str()`` is one line a user understands; the entry points print it as it is (the command
    line exits with code 2). Anything else that escapes is a bug and keeps its traceback.
    """
