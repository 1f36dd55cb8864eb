"""The assignments summary (``summary_assignments``: one row per routing decision to a rep, timed as the
SLA and status reports time it) holds what a person following one lead would write down, equals a
recount after every write that changes it, follows the playbook's touch types, and is filled by its
migration from the facts already stored (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from leadrelay import LeadRelay
from leadrelay.adapters.store import summaries
from leadrelay.adapters.store.schema import alembic_config
from leadrelay.adapters.store.tables import leads, summary_assignments
from tests.conftest import NOW
from tests.support.routing import hand_raise, playbook_file
from tests.support.summaries import UPKEEPS, routing_relay

ONE = "person1@sakura-mfg.co.jp"
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
MQL = NOW - 48 * HOUR  # hand_raise's moment: the MQL move is at the activity's time


@pytest.fixture(params=UPKEEPS)
def relay(
    db_url: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LeadRelay]:
    """Each test twice: routing's assignments derived when the transaction settles, and kept in place."""
    yield from routing_relay(db_url, tmp_path, request.param, monkeypatch)


def utc(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def rows(relay: LeadRelay) -> list[dict[str, Any]]:
    """The lead's assignments, oldest first, with the columns a person would write down."""
    with relay.store.reading() as tx:
        lead_id = tx.execute(sa.select(leads.c.id).where(leads.c.email == ONE)).scalar_one()
        found = tx.execute(
            sa.select(summary_assignments)
            .where(summary_assignments.c.lead_id == lead_id)
            .order_by(summary_assignments.c.decided_at, summary_assignments.c.id)
        ).mappings()
        return [
            {
                "rep": r["rep_id"],
                "at_mql": r["at_mql"],
                "decided": utc(r["decided_at"]),
                "until": utc(r["until"]),
                "answered": utc(r["answered_at"]),
                "leaving": utc(r["leaving_at"]),
                "touched": utc(r["touched_at"]),
                "touch_activity": utc(r["touch_activity_at"]),
                "mql": utc(r["mql_at"]),
                "activity": utc(r["activity_at"]),
                "stage_now": r["stage_now"],
            }
            for r in found
        ]


def assert_recounted(relay: LeadRelay) -> None:
    with relay.store.reading() as tx:
        stored = summaries.stored(tx.connection, summaries.ASSIGNMENTS)
        assert stored == summaries.recount(tx.connection, summaries.ASSIGNMENTS)


def call(at: datetime, key: str) -> dict[str, Any]:
    """A connected call logged by the phone system: a touch activity of the default touch types."""
    return {"email": ONE, "type": "call_connected", "occurred_at": at.isoformat(), "source_id": key}


def test_an_assignment_is_timed_by_its_answer_touches_and_end(relay: LeadRelay) -> None:
    relay.record_activities([hand_raise(1)])  # an MQL at its activity's moment, routed now to rep a
    first = {
        "rep": "a",
        "at_mql": True,
        "decided": NOW,
        "until": None,
        "answered": None,
        "leaving": None,
        "touched": None,
        "touch_activity": None,
        "mql": MQL,
        "activity": MQL,
        "stage_now": "mql",
    }
    assert rows(relay) == [first]
    assert_recounted(relay)

    relay.touch(ONE, kind="call", outcome="no_answer", at=NOW + 30 * MINUTE, actor="a", now=NOW + 30 * MINUTE)
    relay.record_activities([call(NOW + 40 * MINUTE, "call-1")], now=NOW + 40 * MINUTE)
    relay.accept(ONE, actor="a", now=NOW + HOUR)
    first |= {"touched": NOW + 30 * MINUTE, "touch_activity": NOW + 40 * MINUTE}
    first |= {"answered": NOW + HOUR, "leaving": NOW + HOUR, "stage_now": "sal"}
    assert rows(relay) == [first]
    assert_recounted(relay)

    # the manager gives rep a's leads to rep b: a's assignment ends there; b's starts at SAL (no clock)
    relay.reassign("a", to="b", actor="manager", now=NOW + 2 * HOUR)
    first |= {"until": NOW + 2 * HOUR, "stage_now": None}  # no longer the current assignment
    second = {  # a new assignment from the same MQL: nothing in it yet
        **first,
        "rep": "b",
        "at_mql": False,
        "decided": NOW + 2 * HOUR,
        "until": None,
        "answered": None,
        "leaving": None,
        "touched": None,
        "touch_activity": None,
        "stage_now": "sal",
    }
    assert rows(relay) == [first, second]
    relay.record_activities([call(NOW + 3 * HOUR, "call-2")], now=NOW + 3 * HOUR)
    second["touch_activity"] = NOW + 3 * HOUR
    assert rows(relay) == [first, second]
    relay.advance(ONE, "sql", actor="b", now=NOW + 4 * HOUR)
    second["stage_now"] = "sql"
    assert rows(relay) == [first, second]
    assert_recounted(relay)


def test_a_playbook_with_other_touch_types_times_every_assignment_again(relay: LeadRelay, tmp_path: Path) -> None:
    relay.record_activities([hand_raise(1)])
    relay.record_activities([call(NOW + 10 * MINUTE, "call-1")], now=NOW + 10 * MINUTE)
    assert [r["touch_activity"] for r in rows(relay)] == [NOW + 10 * MINUTE]
    path = playbook_file(tmp_path)
    text = path.read_text(encoding="utf-8").replace("sales:\n", "sales:\n  touch_types: [bant_collected]\n", 1)
    only_bant = tmp_path / "only-bant.yaml"
    only_bant.write_text(text, encoding="utf-8")
    relay.use_playbook(only_bant)
    with relay.store.reading() as tx:
        assert summaries.recorded_touch_types(tx) == ("bant_collected",)
    assert [r["touch_activity"] for r in rows(relay)] == [None]
    assert_recounted(relay)
    relay.use_playbook(path)  # back to the default types: the call counts again
    assert [r["touch_activity"] for r in rows(relay)] == [NOW + 10 * MINUTE]
    assert relay.check_summaries().equal


def test_the_migration_fills_the_assignments_from_the_facts_already_stored(relay: LeadRelay) -> None:
    relay.record_activities([hand_raise(1)])
    relay.touch(ONE, kind="meeting", outcome="held", at=NOW + HOUR, actor="a", now=NOW + HOUR)
    relay.reject(ONE, "bad_timing", actor="a", now=NOW + 2 * HOUR)
    before = rows(relay)
    assert [(r["touched"], r["answered"]) for r in before] == [(NOW + HOUR, NOW + 2 * HOUR)]
    with relay.store.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0025")
    with relay.store.engine.connect() as connection:
        assert "summary_assignments" not in sa.inspect(connection).get_table_names()
    with relay.store.engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    assert rows(relay) == before
    with relay.store.reading() as tx:
        assert summaries.recorded_touch_types(tx) == ("bant_collected", "call_connected")
    assert_recounted(relay)
