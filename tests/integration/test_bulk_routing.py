"""Routing in sets on a real database: ``route_many`` stores what ``route_leads`` stores for the
same leads — assignments, the decision log with its reasons, the counters, the notifications
and SLA timers (the owners and the log written in bulk, by COPY on PostgreSQL) — re-routing every open
lead of a demo database and routing MQLs waiting for a rep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store import sql_store
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.tables import leads, outbox, routing_counters, routing_decisions, timers
from leadrelay.entrypoints.demo.runner import run_demo
from leadrelay.services.bulk_routing import route_many
from leadrelay.services.routing import Routed, pending_ids, route_leads
from tests.conftest import NOW

SIZE = {"seed": 11, "people": 300, "companies": 40, "days": 45}
LATER = NOW + timedelta(days=1)


@pytest.fixture
def demo(db_url: str) -> LeadRelay:
    relay = LeadRelay.open(db_url, clock=FakeClock(NOW))
    run_demo(relay, **SIZE)
    return relay


def routed_by(relay: LeadRelay, route: Callable[..., list[Routed]], **options: Any) -> tuple[Any, ...]:
    """What ``route`` decides and stores, in a transaction rolled back afterwards."""
    playbook = relay.playbook().playbook
    with relay.store.engine.connect() as connection:
        transaction = connection.begin()
        try:
            tx = StoreTx(connection)
            earlier = tx.execute(sa.select(sa.func.count()).select_from(timers)).scalar_one()
            ids = pending_ids(tx, playbook, include_assigned=options.pop("include_assigned", False))
            routed = route(tx, playbook, ids, LATER, actor="test", **options)
            log = [
                tuple(row)
                for row in tx.execute(
                    sa.select(
                        routing_decisions.c.lead_id,
                        routing_decisions.c.kind,
                        routing_decisions.c.rule_id,
                        routing_decisions.c.department,
                        routing_decisions.c.strategy,
                        routing_decisions.c.rep_id,
                        routing_decisions.c.previous_rep,
                        routing_decisions.c.reason,
                        routing_decisions.c.details,
                        routing_decisions.c.level,  # the level that chose the SLA policy
                    ).order_by(routing_decisions.c.id)
                )
            ]
            owners = [
                tuple(row)
                for row in tx.execute(
                    sa.select(leads.c.id, leads.c.owner_rep, leads.c.owner_department).order_by(leads.c.id)
                )
            ]
            counters = [tuple(row) for row in tx.execute(sa.select(routing_counters).order_by(routing_counters.c.key))]
            messages = [
                tuple(row)
                for row in tx.execute(
                    sa.select(outbox.c.key, outbox.c.channel, outbox.c.recipient, outbox.c.subject, outbox.c.body)
                    .where(outbox.c.created_at == LATER)
                    .order_by(outbox.c.key)
                )
            ]
            clocks = [  # every timer left: the new owners' clocks, and the earlier owners' not stopped
                tuple(row)
                for row in tx.execute(
                    sa.select(
                        timers.c.key,
                        timers.c.kind,
                        timers.c.lead_id,
                        timers.c.due_at,
                        timers.c.payload,
                        timers.c.created_at,
                    ).order_by(timers.c.key)
                )
            ]
            stopped = earlier - sum(1 for row in clocks if row[5] != LATER)
        finally:
            transaction.rollback()
    decided = [(r.lead_id, r.decision, r.previous_rep, r.level) for r in routed]
    return decided, log, owners, counters, messages, clocks, stopped


@pytest.fixture
def copy_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL, the set path's bulk writes go by COPY however few the rows (the demo's are
    fewer than the threshold)."""
    monkeypatch.setattr(sql_store, "COPY_MIN_ROWS", 1)


@pytest.mark.usefixtures("copy_always")
def test_rerouting_every_open_lead_in_sets_stores_what_routing_one_by_one_stores(demo: LeadRelay) -> None:
    with demo.store.transaction() as tx:  # the earlier owners' SLA clocks still run
        tx.execute(
            sa.update(timers)
            .where(timers.c.kind.in_(["sla_warning", "sla_breach"]))
            .values(fired_at=None, fired_by=None, failed_at=None, due_at=LATER + timedelta(days=1))
        )
    expected = routed_by(demo, route_leads, include_assigned=True, kind="reroute")
    assert len(expected[0]) > 50, "the demo has open leads to re-route"
    assert {d.rep_id for _, d, _, _ in expected[0]} - {None}, "some go to reps"
    assert expected[4] and expected[5], "the demo's playbook notifies reps and starts SLA clocks"
    assert expected[6] > 0, "the clocks of earlier owners stop"
    assert routed_by(demo, route_many, include_assigned=True, kind="reroute") == expected
    demo.close()


@pytest.mark.usefixtures("copy_always")
def test_routing_waiting_mqls_in_sets_stores_what_routing_one_by_one_stores(demo: LeadRelay) -> None:
    with demo.store.transaction() as tx:  # every open lead waits for a rep again
        tx.execute(sa.update(leads).where(leads.c.owner_rep.is_not(None)).values(owner_rep=None, stage="mql"))
    expected = routed_by(demo, route_leads)
    assert len(expected[0]) > 50
    assert expected[4] and expected[5], "the demo's playbook notifies reps and starts SLA clocks"
    assert routed_by(demo, route_many) == expected
    demo.close()
