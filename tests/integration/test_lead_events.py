"""The notifications a lead's life sends with the default playbook: assigned and hand-raiser,
suppression on and off, a key page viewed while with sales, recycled, and nurture finished."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store.tables import outbox
from tests.conftest import NOW

LEAD = "k.sato@sakura-mfg.co.jp"


def activity(kind: str, hours_ago: float, source: str, **properties: Any) -> dict[str, Any]:
    return {
        "email": LEAD,
        "type": kind,
        "occurred_at": (NOW - timedelta(hours=hours_ago)).isoformat(),
        "source_id": source,
        "properties": properties,
        "lead": {
            "title": "情報システム部 部長",
            "seniority": "manager",
            "country": "JP",
            "prefecture": "東京都",
            "company": {"name": "さくら製作所", "industry": "manufacturing", "employees": 800},
        },
    }


def events(relay: LeadRelay) -> list[tuple[str, str]]:
    with relay.store.reading() as tx:
        query = sa.select(outbox.c.event, outbox.c.recipient).order_by(outbox.c.id)
        return [(event, recipient) for event, recipient in tx.connection.execute(query)]


def test_a_leads_life_tells_the_right_people(db_url: str) -> None:
    marketing_manager, sales_manager = "s.kimura@example.co.jp", "m.sasaki@example.co.jp"
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as relay:
        routed = relay.record_activities([activity("demo_requested", 30, "d1")]).routed
        rep = routed[0].rep
        assert rep is not None
        routing = relay.playbook().playbook.routing
        assert routing is not None
        rep_mail = routing.reps[rep].email
        first = events(relay)
        assert Counter(first) == Counter(
            [
                ("assigned", rep_mail),
                ("hand_raiser", "sales_chat"),
                ("hand_raiser", rep_mail),
                ("hand_raiser", sales_manager),
                ("suppression_changed", "email_tool"),
                ("suppression_changed", marketing_manager),
            ]
        )
        relay.record_activities([activity("page_viewed", 20, "p1", page_kind="pricing", url="/pricing")])
        relay.record_activities([activity("page_viewed", 19, "p2", page_kind="careers")])  # not a key page
        assert events(relay)[len(first) :] == [("key_page_visit", rep_mail)]
        before_reject = len(events(relay))
        relay.reject(LEAD, "bad_timing", actor=rep)
        assert Counter(events(relay)[before_reject:]) == Counter(
            [
                ("recycled", rep_mail),
                ("recycled", marketing_manager),
                ("suppression_changed", "email_tool"),
                ("suppression_changed", marketing_manager),
            ]
        )
        later = NOW + timedelta(days=3)
        back = activity("contact_requested", 0, "c1")
        back["occurred_at"] = (later - timedelta(hours=1)).isoformat()
        relay.record_activities([back], now=later)
        assert [r for e, r in events(relay) if e == "nurture_finished"] == [marketing_manager]
