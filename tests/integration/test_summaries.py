"""The summary tables the reports read (``summary_loops``, ``summary_steps``) always equal a recount
from the facts: after every kind of write that changes a lead's moves, routing, amounts or deals —
and their rows hold what a person following the leads would write down (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from leadrelay import LeadRelay
from leadrelay.adapters.store import summaries
from leadrelay.adapters.store.schema import alembic_config
from leadrelay.adapters.store.tables import leads, summary_loops, summary_steps
from leadrelay.domain.model import Campaign
from tests.conftest import NOW
from tests.support.routing import hand_raise
from tests.support.summaries import UPKEEPS, routing_relay

ONE = "person1@sakura-mfg.co.jp"
TWO = "person2@sakura-mfg.co.jp"
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture(params=UPKEEPS)
def relay(
    db_url: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LeadRelay]:
    """Each test twice: routing's assignments derived when the transaction settles, and kept in place."""
    yield from routing_relay(db_url, tmp_path, request.param, monkeypatch)


def assert_recounted(relay: LeadRelay) -> None:
    """Each summary holds exactly the rows derived from the facts now (and there are loops)."""
    with relay.store.reading() as tx:
        for kind in summaries.KINDS:
            stored = summaries.stored(tx.connection, kind)
            assert stored == summaries.recount(tx.connection, kind), kind
            assert stored or kind in (summaries.STEPS, summaries.CREDITS)


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def loops_of(relay: LeadRelay, email: str) -> list[Any]:
    with relay.store.reading() as tx:
        lead_id = tx.execute(sa.select(leads.c.id).where(leads.c.email == email)).scalar_one()
        return list(
            tx.execute(
                sa.select(summary_loops).where(summary_loops.c.lead_id == lead_id).order_by(summary_loops.c.start)
            )
        )


def steps_of(relay: LeadRelay, email: str) -> list[Any]:
    with relay.store.reading() as tx:
        lead_id = tx.execute(sa.select(leads.c.id).where(leads.c.email == email)).scalar_one()
        return list(
            tx.execute(sa.select(summary_steps).where(summary_steps.c.lead_id == lead_id).order_by(summary_steps.c.at))
        )


def again(n: int, at: datetime, key: str) -> dict[str, Any]:
    """Person ``n`` asks for a demo again at ``at``, at a seminar: a new MQL once the lead is back in
    marketing, credited to the seminar."""
    return {**hand_raise(n), "occurred_at": at.isoformat(), "source_id": key, "campaign": "seminar-dec"}


def test_every_write_keeps_the_summaries_equal_to_a_recount(relay: LeadRelay) -> None:
    mql = NOW - 48 * HOUR  # hand_raise's moment: the MQL move is at the activity's time
    relay.record_activities([hand_raise(1), hand_raise(2, hours=1)])  # MQLs routed to reps a and b
    assert_recounted(relay)
    [first] = loops_of(relay, ONE)
    assert (utc(first.start), first.until, first.rep_id, first.department) == (mql, None, "a", "inside")
    assert (first.sal_at, first.exited, first.rejected, first.recycled) == (None, False, None, None)

    # person 1: accepted, qualified, an opportunity of 3.5M yen, then lost (and recycled)
    relay.accept(ONE, actor="a", now=NOW + HOUR)
    relay.advance(ONE, "sql", actor="a", now=NOW + 2 * HOUR)
    relay.advance(ONE, "opportunity", amount="3,500,000", currency="jpy", actor="a", now=NOW + 3 * HOUR)
    assert_recounted(relay)
    [opportunity] = [s for s in steps_of(relay, ONE) if s.stage == "opportunity"]
    assert (utc(opportunity.at), opportunity.nurture_from) == (NOW + 3 * HOUR, None)  # the direct path
    assert (opportunity.amount, opportunity.currency) == (Decimal("3500000.00"), "JPY")
    relay.advance(ONE, "lost", actor="a", now=NOW + DAY)
    assert_recounted(relay)
    [first] = loops_of(relay, ONE)
    assert [utc(first.sal_at), utc(first.sql_at), utc(first.opportunity_at)] == [
        NOW + HOUR,
        NOW + 2 * HOUR,
        NOW + 3 * HOUR,
    ]
    assert (first.won_at, first.exited, first.recycled) == (None, True, "after_lost")

    # person 2: rejected for bad timing (recycled), asks again, and becomes an opportunity: a nurture
    relay.reject(TWO, "bad_timing", actor="b", now=NOW + 2 * HOUR)
    assert_recounted(relay)
    [rejected] = loops_of(relay, TWO)
    assert (rejected.rejected, rejected.recycled, rejected.exited) == ("bad_timing", "after_rejection", True)
    # (on Monday: the routing waits for a working day)
    relay.record_activities([again(2, NOW + 5 * DAY, "hr-two-again")], now=NOW + 5 * DAY)  # MQL again, routed
    relay.accept(TWO, actor="c", now=NOW + 5 * DAY + HOUR)
    relay.advance(TWO, "sql", actor="c", now=NOW + 5 * DAY + 2 * HOUR)
    relay.advance(TWO, "opportunity", actor="c", now=NOW + 5 * DAY + 3 * HOUR)
    relay.advance(TWO, "won", amount="1200000", currency="JPY", actor="c", now=NOW + 6 * DAY)
    assert_recounted(relay)
    old, new = loops_of(relay, TWO)
    assert utc(old.until) == utc(new.start) == NOW + 5 * DAY  # the next MQL ends the first loop
    assert (new.rep_id, utc(new.won_at), new.exited, new.rejected) == ("c", NOW + 6 * DAY, True, None)
    [nurtured] = [s for s in steps_of(relay, TWO) if s.stage == "opportunity"]
    assert utc(nurtured.nurture_from) == NOW + 2 * HOUR  # from the rejection
    assert (nurtured.amount, nurtured.currency) == (Decimal("1200000.00"), "JPY")  # the won deal's amount

    # person 1 asks again: a second loop with the next rep in turn; a manager moves it to rep b
    relay.record_activities([again(1, NOW + 7 * DAY, "hr-one-again")], now=NOW + 7 * DAY)
    [_, second] = loops_of(relay, ONE)
    assert second.rep_id == "a"
    relay.reassign("a", to="b", actor="manager", now=NOW + 7 * DAY + HOUR)
    assert_recounted(relay)
    assert loops_of(relay, ONE)[1].rep_id == "b"  # the loop's owner is its last routing decision

    # a whole re-score, the set routing path, the inactivity recycle and an erasure
    relay.rescore(now=NOW + 8 * DAY)
    relay.route(include_assigned=True, now=NOW + 8 * DAY)
    relay.recycle_inactive(now=NOW + 90 * DAY)
    assert_recounted(relay)
    relay.erase(TWO, actor="privacy", now=NOW + 91 * DAY)
    assert_recounted(relay)


def test_a_campaign_activity_that_arrives_after_its_conversion_is_credited_to_it(relay: LeadRelay) -> None:
    """An activity stored late, dated before an MQL, becomes one of the MQL's touches — by the store's
    own upkeep, whatever wrote it (here a bare insert: no move is derived again); one dated after
    every conversion of its lead changes no credit."""
    relay.record_activities([hand_raise(1)])  # the MQL at NOW - 48 h, no campaign: no credit
    with relay.store.reading() as tx:
        assert summaries.stored(tx.connection, summaries.CREDITS) == []
        lead_id = tx.execute(sa.select(leads.c.id).where(leads.c.email == ONE)).scalar_one()

    def opened(at: datetime, key: str) -> None:
        with relay.store.transaction() as tx:
            [campaign] = tx.upsert_campaigns([Campaign(code="newsletter-nov")], NOW).values()
            row = {"key": key, "lead_id": lead_id, "type": "email_opened", "occurred_at": at, "recorded_at": NOW}
            tx.insert_activities(
                [{**row, "campaign_id": campaign, "product": None, "properties": {}, "source_id": None}]
            )

    opened(NOW - 50 * HOUR, "late-1")
    assert_recounted(relay)
    with relay.store.reading() as tx:
        [row] = summaries.stored(tx.connection, summaries.CREDITS)
    kind, _, _, _, _, first, last, share, *_ = row
    assert (kind, first, last, share) == ("mql", 1, 1, 1.0)
    opened(NOW + HOUR, "later-1")
    assert_recounted(relay)
    with relay.store.reading() as tx:
        assert len(summaries.stored(tx.connection, summaries.CREDITS)) == 1


def test_a_transaction_that_fails_leaves_facts_and_summaries_as_they_were(relay: LeadRelay) -> None:
    relay.record_activities([hand_raise(1)])
    before = loops_of(relay, ONE)

    def fail(tx: Any) -> None:
        lead_id = tx.execute(sa.select(leads.c.id).where(leads.c.email == ONE)).scalar_one()
        tx.insert_routing_decisions(
            [
                {
                    "lead_id": lead_id,
                    "decided_at": NOW + HOUR,
                    "kind": "reassign",
                    "department": "inside",
                    "rep_id": "c",
                    "reason": "test",
                    "details": "{}",
                    "actor": "test",
                }
            ]
        )
        raise RuntimeError("the process died here")

    with pytest.raises(RuntimeError), relay.store.transaction() as tx:
        fail(tx)
    assert loops_of(relay, ONE) == before
    assert_recounted(relay)


def test_the_migration_that_adds_the_summaries_fills_them_from_the_facts_already_stored(relay: LeadRelay) -> None:
    relay.record_activities([hand_raise(1), hand_raise(2, hours=1)])
    relay.accept(ONE, actor="a", now=NOW + HOUR)
    relay.advance(ONE, "sql", actor="a", now=NOW + 2 * HOUR)
    relay.advance(ONE, "opportunity", amount="100", currency="JPY", actor="a", now=NOW + 3 * HOUR)
    with relay.store.engine.begin() as connection:  # back to the schema from before the summaries
        command.downgrade(alembic_config(connection), "0022")
    with relay.store.engine.connect() as connection:
        assert "summary_loops" not in sa.inspect(connection).get_table_names()
    with relay.store.engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    assert_recounted(relay)
    assert [r.rep_id for r in loops_of(relay, ONE) + loops_of(relay, TWO)] == ["a", "b"]
