"""The errors a user can cause all derive from :class:`LeadRelayError`.

Catch it to tell a user's mistake from a bug::

    from leadrelay.errors import LeadRelayError

    try:
        relay.lead("nobody@example.co.jp")
    except LeadRelayError as exc:
        print(f"error: {exc}")

The subclasses stay beside the code that raises them (``InputError`` in
:mod:`leadrelay.adapters.records`, ``PlaybookError`` in :mod:`leadrelay.adapters.playbook.loader`,
``SettingsError`` in :mod:`leadrelay.config`, ...); this module imports nothing else, so anyone
may import it.
"""

from __future__ import annotations

from leadrelay.domain.errors import LeadRelayError

__all__ = ["LeadRelayError"]
