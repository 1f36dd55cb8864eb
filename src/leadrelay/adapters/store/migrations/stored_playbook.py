"""The active playbook as a migration finds it in the store (for a summary derived by its settings)."""

from __future__ import annotations

import sqlalchemy as sa

from leadrelay.adapters.store.tables import playbooks, settings
from leadrelay.domain.playbook import Playbook


def active_playbook(connection: sa.Connection) -> Playbook:
    """The active playbook: the stored text of the one activated last; the bundled default when none
    was activated yet, or when the stored one cannot be read."""
    from leadrelay.adapters.playbook.loader import PlaybookError, default_playbook_path, load_playbook, parse_playbook

    text = connection.execute(
        sa.select(playbooks.c.text)
        .join_from(settings, playbooks, playbooks.c.hash == settings.c.value)
        .where(settings.c.key == "active_playbook")
    ).scalar_one_or_none()
    try:
        loaded = parse_playbook(text) if text is not None else load_playbook(default_playbook_path())
    except PlaybookError:
        loaded = load_playbook(default_playbook_path())
    return loaded.playbook
