"""Helpers for the tests of the summary tables."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store import summaries
from tests.conftest import NOW
from tests.support.routing import playbook_file

#: The two ways routing keeps the assignments summary: derived when the transaction settles (a few
#: decisions) and kept in place (a set of many) — tests of the summaries run both.
UPKEEPS = ["derived", "in_place"]


def routing_relay(db_url: str, tmp_path: Path, upkeep: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LeadRelay]:
    """The small routing playbook (three reps of inside sales) in use, at ``NOW``; with ``in_place``,
    routing keeps the assignments summary in place from the first decision."""
    if upkeep == "in_place":
        monkeypatch.setattr(summaries, "IN_PLACE_FROM", 1)
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as instance:
        instance.use_playbook(playbook_file(tmp_path))
        yield instance


def derive_assignments_with(relay: LeadRelay, touch_types: Sequence[str]) -> None:
    """Derive the assignments summary with other touch types than the playbook's (as after a playbook
    change that was not put to use through leadrelay): the reports must then read the facts."""
    with relay.store.transaction() as tx:
        tx.set_summary_touch_types(tuple(sorted(touch_types)))
        summaries.rebuild(tx.connection, (summaries.ASSIGNMENTS,))
