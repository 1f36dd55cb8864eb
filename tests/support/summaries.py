"""Helpers for the tests of the summary tables."""

from __future__ import annotations

from collections.abc import Sequence

from leadrelay import LeadRelay
from leadrelay.adapters.store import summaries


def derive_assignments_with(relay: LeadRelay, touch_types: Sequence[str]) -> None:
    """Derive the assignments summary with other touch types than the playbook's (as after a playbook
    change that was not put to use through leadrelay): the reports must then read the facts."""
    with relay.store.transaction() as tx:
        tx.set_summary_touch_types(tuple(sorted(touch_types)))
        summaries.rebuild(tx.connection, (summaries.ASSIGNMENTS,))
