"""Closed deals imported from a CRM: stored once, each moving its lead to Won or Lost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from leadrelay import FakeClock, LeadRelay
from leadrelay.services.read_models import iso_time
from tests.conftest import NOW


@pytest.fixture
def relay(db_url: str) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as instance:
        yield instance


def at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def nurtured(relay: LeadRelay, ref: str, days_ago: float = 30) -> None:
    relay.record_activities([{"external_id": ref, "type": "form_submitted", "occurred_at": at(days_ago)}])


def won(ref: str, days_ago: float, **extra: Any) -> dict[str, Any]:
    return {"external_id": ref, "outcome": "won", "closed_at": at(days_ago), **extra}


def test_a_won_deal_moves_the_lead_to_won_and_says_it_was_imported(relay: LeadRelay) -> None:
    nurtured(relay, "mql-1")
    result = relay.record_outcomes(
        [
            won(
                "mql-1",
                5,
                amount="1,200,000",
                currency="jpy",
                product="Analytics",
                sdr="sdr-7",
                sr="sr-3",
                source_id="d1",
            )
        ]
    )
    assert (result.outcomes_inserted, result.rejected) == (1, [])
    assert [(m.lead, m.from_stage, m.to_stage) for m in result.moves] == [("id:mql-1", "nurture", "won")]

    report = relay.lead("mql-1")
    assert report.stage == "won"
    last = report.history[-1]
    assert (last.trigger, last.actor, iso_time(last.at)) == ("won_imported", "import", at(5))
    assert last.reason.startswith("won deal imported from CRM, closed ")
    assert "SDR sdr-7; SR sr-3" in last.reason
    assert [o.as_json() for o in report.outcomes] == [
        {
            "outcome": "won",
            "closed_at": at(5),
            "amount": "1200000.00",
            "currency": "JPY",
            "product": "analytics",
            "lost_reason": None,
            "sdr": "sdr-7",
            "sr": "sr-3",
            "source_id": "d1",
            "properties": {},
            "recorded_at": NOW.isoformat(),
        }
    ]


def test_importing_the_same_deals_again_changes_nothing(relay: LeadRelay) -> None:
    nurtured(relay, "mql-1")
    nurtured(relay, "mql-2")
    deals = [won("mql-1", 5, source_id="d1"), {**won("mql-2", 4), "outcome": "Lost", "lost_reason": "price"}]
    relay.record_outcomes(deals)
    before = (relay.lead("mql-1"), relay.lead("mql-2"))
    again = relay.record_outcomes(deals)
    assert (again.outcomes_inserted, again.duplicates, again.moves) == (0, 2, [])
    assert (relay.lead("mql-1"), relay.lead("mql-2")) == before
    assert before[1].stage == "lost"


def test_an_outcome_for_an_unknown_lead_is_rejected_and_the_good_ones_kept(relay: LeadRelay) -> None:
    nurtured(relay, "mql-1")
    result = relay.record_outcomes(
        [
            won("nobody", 3),
            won("mql-1", 3),
            {"email": "ghost@example.co.jp", "outcome": "won", "closed_at": at(2)},
            {"external_id": "mql-1", "outcome": "tie", "closed_at": at(2)},
        ]
    )
    assert [(r.record, r.field) for r in result.rejected] == [
        (1, "external_id"),
        (3, "email"),
        (4, "outcome"),
    ]
    assert result.rejected[0].message == "no lead with external_id 'nobody' (import the leads first)"
    assert result.outcomes_inserted == 1
    assert relay.lead("mql-1").stage == "won"


def test_a_deal_dated_before_the_leads_last_move_is_recorded_at_that_move(relay: LeadRelay) -> None:
    nurtured(relay, "mql-1", days_ago=10)
    relay.record_outcomes([won("mql-1", 12)])
    report = relay.lead("mql-1")
    assert [m.to_stage for m in report.history] == ["nurture", "won"]
    assert iso_time(report.history[-1].at) == at(10)
    assert "recorded at the lead's last move (the CRM's date is earlier)" in report.history[-1].reason
    assert iso_time(report.outcomes[0].closed_at) == at(12)


def test_a_lost_deal_then_a_won_one_in_one_file_move_the_lead_in_date_order(relay: LeadRelay) -> None:
    nurtured(relay, "mql-1")
    relay.record_outcomes([won("mql-1", 2), {**won("mql-1", 9), "outcome": "lost"}])
    assert [(m.from_stage, m.to_stage) for m in relay.lead("mql-1").history] == [
        ("new", "nurture"),
        ("nurture", "lost"),
        ("lost", "won"),
    ]


def test_a_won_lead_stays_won_whatever_comes_later(relay: LeadRelay) -> None:
    nurtured(relay, "mql-1")
    relay.record_outcomes([won("mql-1", 5)])
    later = relay.record_outcomes([{**won("mql-1", 1), "outcome": "lost"}])
    assert (later.outcomes_inserted, later.moves) == (1, [])
    relay.record_activities([{"external_id": "mql-1", "type": "demo_requested", "occurred_at": at(0.5)}])
    report = relay.lead("mql-1")
    assert report.stage == "won"
    assert [o.outcome for o in report.outcomes] == ["won", "lost"]


def test_summary_counts_won_and_lost_deals_and_their_amounts(relay: LeadRelay) -> None:
    for ref in ("a", "b", "c"):
        nurtured(relay, ref)
    relay.record_outcomes(
        [
            won("a", 3, amount=1000, currency="JPY"),
            won("b", 3, amount="250.5", currency="JPY"),
            {**won("c", 3), "outcome": "lost", "amount": 99, "currency": "JPY"},
        ]
    )
    closed = relay.summary().outcomes
    assert (closed.won, closed.lost, closed.won_leads) == (2, 1, 2)
    assert closed.as_json()["amounts"] == {"JPY": {"won": "1250.50", "lost": "99.00"}}
    assert relay.summary().by_stage["won"] == 2


def test_outcomes_of_email_leads_work_the_same(relay: LeadRelay) -> None:
    relay.record_activities([{"email": "k.sato@sakura-mfg.co.jp", "type": "demo_requested", "occurred_at": at(20)}])
    result = relay.record_outcomes([{"email": "K.Sato@sakura-mfg.co.jp", "outcome": "won", "closed_at": at(3)}])
    assert [(m.lead, m.to_stage) for m in result.moves] == [("k.sato@sakura-mfg.co.jp", "won")]


def test_a_19_digit_amount_is_stored_exactly_and_1e400_is_refused(relay: LeadRelay) -> None:
    nurtured(relay, "mql-1")
    nurtured(relay, "mql-2")
    result = relay.record_outcomes(
        [
            won("mql-1", 5, amount="999999999999999.9999", currency="JPY", source_id="d1"),
            won("mql-2", 5, amount="1e400", currency="JPY", source_id="d2"),
        ]
    )
    assert result.outcomes_inserted == 1
    assert [(r.record, r.field, r.message) for r in result.rejected] == [
        (2, "amount", "'1e400' is too large (at most 15 digits before the decimal point and 4 after)")
    ]
    [deal] = relay.lead("mql-1").outcomes
    assert deal.amount == "999999999999999.9999"
    assert relay.summary().outcomes.amounts["JPY"].won == "999999999999999.9999"
