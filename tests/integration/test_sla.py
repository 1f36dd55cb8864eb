"""SLA clocks end to end: started on assignment, counted on the department's business calendar,
fired by the worker (warning, breach, escalation or reassignment), stopped by sales' answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store.tables import outbox, routing_decisions, timers
from tests.conftest import JST
from tests.support.sla import FRIDAY_1730, WEDNESDAY_NOON, demo_request, playbook
from tests.support.worker import make_worker


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(WEDNESDAY_NOON)


def open_relay(db_url: str, tmp_path: Path, clock: FakeClock, on_breach: str) -> LeadRelay:
    relay = LeadRelay.open(db_url, clock=clock)
    relay.use_playbook(playbook(tmp_path, on_breach))
    return relay


@pytest.fixture
def relay(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[LeadRelay]:
    with open_relay(db_url, tmp_path, clock, "reassign") as instance:
        yield instance


def pending_timers(relay: LeadRelay) -> list[tuple[str, str]]:
    with relay.store.reading() as tx:
        query = (
            sa.select(timers.c.kind, timers.c.due_at)
            .where(timers.c.fired_at.is_(None))
            .order_by(timers.c.due_at, timers.c.kind)
        )
        return [(kind, due.astimezone(JST).strftime("%m-%d %H:%M")) for kind, due in tx.connection.execute(query)]


def events(relay: LeadRelay) -> list[tuple[str, str]]:
    with relay.store.reading() as tx:
        query = sa.select(outbox.c.event, outbox.c.recipient).where(outbox.c.event.like("sla_%"))
        return sorted((event, recipient) for event, recipient in tx.connection.execute(query))


def test_an_assignment_starts_both_clocks_on_business_time(relay: LeadRelay) -> None:
    relay.record_activities([demo_request(WEDNESDAY_NOON)])
    assert pending_timers(relay) == [
        ("sla_warning", "11-25 12:30"),  # first touch: half of 1 h
        ("sla_breach", "11-25 13:00"),  # first touch
        ("sla_warning", "11-25 13:00"),  # accept: half of 2 h
        ("sla_breach", "11-25 14:00"),  # accept
    ]


def test_an_assignment_late_on_friday_before_a_holiday_is_due_on_tuesday(db_url: str, tmp_path: Path) -> None:
    with open_relay(db_url, tmp_path, FakeClock(FRIDAY_1730), "escalate") as relay:
        relay.record_activities([demo_request(FRIDAY_1730)])
        rows = {r.clock: r for r in relay.sla(everything=True)}
    assert rows["accept"].due_at == datetime(2026, 11, 24, 10, 30, tzinfo=JST)
    assert rows["touch"].due_at == datetime(2026, 11, 24, 9, 30, tzinfo=JST)
    # half an hour on Friday evening, the weekend and the holiday skipped, 1.5 hours on Tuesday
    assert (rows["accept"].state, rows["accept"].business_hours_left) == ("ok", 2.0)


def test_a_breach_warns_then_reassigns_to_another_rep(relay: LeadRelay, clock: FakeClock) -> None:
    relay.record_activities([demo_request(WEDNESDAY_NOON)])
    worker = make_worker(relay)
    clock.set(WEDNESDAY_NOON + timedelta(minutes=45))
    assert worker.run_once().fired == 1  # the first-touch warning
    assert events(relay) == [("sla_warning", "a@example.co.jp")]
    assert [(r.clock, r.state) for r in relay.sla()] == [("touch", "warning")]
    clock.set(WEDNESDAY_NOON + timedelta(hours=2, minutes=1))
    worker.run_once()
    with relay.store.reading() as tx:
        decisions = tx.execute(
            sa.select(routing_decisions.c.kind, routing_decisions.c.rep_id, routing_decisions.c.actor).order_by(
                routing_decisions.c.id
            )
        ).all()
    assert [tuple(d) for d in decisions] == [("route", "a", "engine"), ("reassign", "b", "sla:quick")]
    assert relay.lead("person1@sakura-mfg.co.jp").owner.rep == "b"
    # due together at 13:00, in the order they were set: a's accept warning, then the first-touch
    # breach, which reassigns; a's accept breach at 14:00 no longer runs
    assert events(relay) == [
        ("sla_breach", "a@example.co.jp"),
        ("sla_breach", "m.sasaki@example.co.jp"),
        ("sla_warning", "a@example.co.jp"),
        ("sla_warning", "a@example.co.jp"),
    ]
    # a's later clocks stopped with the reassignment; b's started then
    assert pending_timers(relay) == [
        ("sla_warning", "11-25 14:31"),
        ("sla_breach", "11-25 15:01"),
        ("sla_warning", "11-25 15:01"),
        ("sla_breach", "11-25 16:01"),
    ]


def test_an_answer_stops_the_clocks_and_escalation_keeps_the_owner(
    db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    with open_relay(db_url, tmp_path, clock, "escalate") as relay:
        relay.record_activities([demo_request(WEDNESDAY_NOON, 1), demo_request(WEDNESDAY_NOON, 2)])
        call = {
            "email": "person2@sakura-mfg.co.jp",
            "type": "call_connected",
            "occurred_at": (WEDNESDAY_NOON + timedelta(minutes=20)).isoformat(),
            "source_id": "call-2",
        }
        clock.set(WEDNESDAY_NOON + timedelta(minutes=25))
        relay.record_activities([call])  # person2 touched: the touch clock is done
        relay.accept("person1@sakura-mfg.co.jp", actor="a")  # person1 answered: both clocks stop
        clock.set(WEDNESDAY_NOON + timedelta(hours=3))
        make_worker(relay).run_once()
        assert events(relay) == [
            ("sla_breach", "b@example.co.jp"),  # person2: accept clock, escalated
            ("sla_breach", "m.sasaki@example.co.jp"),
            ("sla_warning", "b@example.co.jp"),
        ]
        assert relay.lead("person2@sakura-mfg.co.jp").owner.rep == "b"
        assert [(r.lead, r.clock, r.state) for r in relay.sla()] == [("person2@sakura-mfg.co.jp", "accept", "breached")]
