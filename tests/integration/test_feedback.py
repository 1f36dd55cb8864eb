"""Sales' answers and the loop back to marketing, through the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from leadrelay import FakeClock, LeadRelay
from leadrelay.services.read_models import iso_time
from leadrelay.services.sales import FeedbackError, inactive_ids
from tests.conftest import NOW
from tests.support.routing import hand_raise, playbook_file

LEAD = "person1@sakura-mfg.co.jp"


@pytest.fixture
def relay(db_url: str, tmp_path: Path) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as instance:
        instance.use_playbook(playbook_file(tmp_path))
        instance.record_activities([hand_raise(1)])  # an MQL routed to rep a
        yield instance


def moves(relay: LeadRelay, ref: str = LEAD) -> list[tuple[str, str, str]]:
    return [(m.from_stage, m.to_stage, m.trigger) for m in relay.lead(ref).history]


def test_a_lead_goes_from_sal_to_won_with_its_amount_recorded(relay: LeadRelay) -> None:
    relay.accept(LEAD, actor="a", note="called, interested")
    relay.advance(LEAD, "sql", actor="a")
    relay.advance(LEAD, "opportunity", amount="3,500,000", currency="jpy", actor="a")
    relay.advance(LEAD, "won", amount="3500000", currency="JPY", actor="a")
    assert moves(relay)[-4:] == [
        ("mql", "sal", "accepted"),
        ("sal", "sql", "sales_qualified"),
        ("sql", "opportunity", "opportunity_created"),
        ("opportunity", "won", "won"),
    ]
    report = relay.lead(LEAD)
    assert report.stage == "won"
    [outcome] = report.outcomes
    assert (outcome.outcome, outcome.amount, outcome.currency, outcome.sr) == (
        "won",
        "3500000.00",
        "JPY",
        "a",
    )
    assert all(m.actor == "a" for m in report.history[-4:])


def test_a_recyclable_rejection_returns_the_lead_to_marketing_and_off_suppression(relay: LeadRelay) -> None:
    assert [r.email for r in relay.suppression()] == [LEAD]
    relay.reject(LEAD, "bad_timing", text="来期に再検討", actor="a")
    assert moves(relay)[-2:] == [("mql", "rejected", "rejected"), ("rejected", "recycled", "recycled")]
    assert relay.suppression() == []
    report = relay.lead(LEAD)
    # the fixture routed the lead and the rejection recycled it, both at NOW (the relay's clock)
    assert (report.owner.holder, report.owner.rep, report.owner.department) == ("marketing", None, "marketing")
    assert report.owner.assigned_at is not None and iso_time(report.owner.assigned_at) == "2026-11-25T12:00:00+09:00"
    assert report.recycled_count == 1


def test_a_recycled_lead_qualifies_again_only_with_new_activity_and_is_routed_again(relay: LeadRelay) -> None:
    relay.reject(LEAD, "not_ready", actor="a")
    relay.record_activities([hand_raise(1, hours=1)], now=NOW)  # the same activity again: nothing new
    assert moves(relay)[-1] == ("rejected", "recycled", "recycled")
    later = NOW + timedelta(days=2)
    again = {**hand_raise(1), "occurred_at": (later - timedelta(hours=1)).isoformat(), "source_id": "hr-again"}
    result = relay.record_activities([again], now=later)
    assert moves(relay)[-1] == ("recycled", "mql", "hand_raised")
    assert [r.rep for r in result.routed] == ["b"]  # the next turn, not back to a by default
    assert [r.email for r in relay.suppression()] == [LEAD]


def test_reasons_that_are_not_recyclable_keep_the_lead_rejected_and_other_needs_words(relay: LeadRelay) -> None:
    with pytest.raises(FeedbackError, match="unknown reason 'nope'"):
        relay.reject(LEAD, "nope")
    with pytest.raises(FeedbackError, match="needs a text"):
        relay.reject(LEAD, "other")
    relay.reject(LEAD, "wrong_person", actor="a")
    assert moves(relay)[-1] == ("mql", "rejected", "rejected")
    with pytest.raises(FeedbackError, match="cannot apply 'accepted' to a lead in stage 'rejected'"):
        relay.accept(LEAD)


def test_a_lost_deal_goes_back_to_marketing(relay: LeadRelay) -> None:
    relay.accept(LEAD, actor="a")
    relay.advance(LEAD, "lost", lost_reason="他社に決定", actor="a")
    assert moves(relay)[-2:] == [("sal", "lost", "lost"), ("lost", "recycled", "recycled")]
    assert relay.lead(LEAD).outcomes[0].lost_reason == "他社に決定"


def test_leads_sales_leaves_without_activity_are_recycled_after_the_playbooks_days(relay: LeadRelay) -> None:
    relay.accept(LEAD, actor="a")  # at NOW, after the lead's last activity: the 30 days count from here
    assert relay.recycle_inactive(now=NOW + timedelta(days=29)).recycled == []
    assert relay.recycle_inactive(now=NOW + timedelta(days=30)).recycled == []  # exactly 30 days: still with sales
    report = relay.recycle_inactive(now=NOW + timedelta(days=30, seconds=1))
    [done] = report.recycled
    assert (report.dry_run, report.inactive_days) == (False, 30)
    assert done.lead == LEAD and done.stage == "recycled" and "no activity for 30 days" in done.moves[0].reason
    assert moves(relay)[-1] == ("sal", "recycled", "recycled")
    assert relay.recycle_inactive(now=NOW + timedelta(days=62)).recycled == []  # once


def test_a_dry_run_lists_the_leads_it_would_recycle_and_changes_nothing(relay: LeadRelay) -> None:
    relay.accept(LEAD, actor="a")
    before = relay.lead(LEAD, now=NOW + timedelta(days=31))
    dry = relay.recycle_inactive(dry_run=True, now=NOW + timedelta(days=31))
    assert dry.dry_run and [(f.lead, f.stage) for f in dry.recycled] == [(LEAD, "recycled")]
    assert relay.lead(LEAD, now=NOW + timedelta(days=31)) == before
    assert [f.lead for f in relay.recycle_inactive(now=NOW + timedelta(days=31)).recycled] == [LEAD]


def test_a_lead_last_seen_exactly_the_playbooks_days_ago_stays_with_sales(relay: LeadRelay) -> None:
    relay.accept(LEAD, actor="a")  # the move at NOW is its last sign of life
    assert relay.recycle_inactive(now=NOW + timedelta(days=30)).recycled == []
    [done] = relay.recycle_inactive(now=NOW + timedelta(days=30, microseconds=1)).recycled
    assert done.moves[0].reason == "recycled: no activity for 30 days while with sales"


@pytest.mark.postgres
def test_a_lead_another_transaction_holds_is_left_to_it(relay: LeadRelay) -> None:
    if relay.store.engine.dialect.name != "postgresql":
        pytest.skip("row locks that other transactions skip are PostgreSQL's")
    relay.accept(LEAD, actor="a")
    playbook = relay.playbook().playbook
    later = NOW + timedelta(days=31)
    with relay.store.transaction() as holder:
        [lead_id] = holder.lead_ids([LEAD]).values()
        holder.lock_leads([lead_id])
        with relay.store.transaction() as other:
            assert inactive_ids(other, playbook, later) == []
    with relay.store.transaction() as tx:
        assert inactive_ids(tx, playbook, later) == [lead_id]


def test_bad_amounts_and_stages_are_refused(relay: LeadRelay) -> None:
    relay.accept(LEAD)
    with pytest.raises(FeedbackError, match="not a number"):
        relay.advance(LEAD, "sql", amount="lots")
    with pytest.raises(FeedbackError, match="unknown stage 'closed'"):
        relay.advance(LEAD, "closed")
    with pytest.raises(FeedbackError, match="not an ISO currency"):
        relay.advance(LEAD, "won", currency="yen")


def test_advance_takes_amounts_as_the_outcomes_import_does(relay: LeadRelay) -> None:
    relay.accept(LEAD)
    relay.advance(LEAD, "sql")
    relay.advance(LEAD, "opportunity")
    with pytest.raises(FeedbackError) as refused:
        relay.advance(LEAD, "won", amount="1e400", currency="JPY")
    assert str(refused.value) == (
        "--amount: '1e400' is too large (at most 15 digits before the decimal point and 4 after)"
    )
    with pytest.raises(FeedbackError, match="is too large"):
        relay.advance(LEAD, "won", amount="1" * 26, currency="JPY")
    relay.advance(LEAD, "won", amount="123456789012345.6789", currency="JPY")
    [outcome] = relay.lead(LEAD).outcomes
    assert outcome.amount == "123456789012345.6789"
