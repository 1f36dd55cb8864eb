"""Touches and notes: a touch stops the first-touch SLA clock and restarts the inactivity clock;
notes are kept with who wrote them; both are listed in the lead's explanation (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.records import InputError
from leadrelay.services.lead_list import Visibility
from leadrelay.services.leads import LeadNotFound
from tests.conftest import NOW
from tests.support.routing import hand_raise, playbook_file
from tests.support.sla import WEDNESDAY_NOON, demo_request, playbook

LEAD = "person1@sakura-mfg.co.jp"


@pytest.fixture
def relay(db_url: str, tmp_path: Path) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as instance:
        instance.use_playbook(playbook_file(tmp_path))
        instance.record_activities([hand_raise(1)])  # an MQL routed to rep a
        yield instance


def test_a_touch_stops_the_first_touch_clock_and_not_the_accept_clock(db_url: str, tmp_path: Path) -> None:
    with LeadRelay.open(db_url, clock=FakeClock(WEDNESDAY_NOON)) as relay:
        relay.use_playbook(playbook(tmp_path, "escalate"))
        relay.record_activities([demo_request(WEDNESDAY_NOON)])
        assert sorted(row.clock for row in relay.sla(everything=True)) == ["accept", "touch"]
        touch = relay.touch(
            LEAD, kind="call", outcome="no_answer", actor="a@example.co.jp", now=WEDNESDAY_NOON + timedelta(minutes=20)
        )
        assert (touch.kind, touch.outcome, touch.actor) == ("call", "no_answer", "a@example.co.jp")
        assert touch.at.isoformat() == "2026-11-25T12:20:00+09:00"
        assert [row.clock for row in relay.sla(everything=True)] == ["accept"]
        report = relay.lead(LEAD)
        assert [s.clock for s in report.sla] == ["accept"]
        assert [(t.kind, t.outcome, t.actor) for t in report.touches] == [("call", "no_answer", "a@example.co.jp")]


def test_a_touch_before_the_assignment_does_not_count_for_it(db_url: str, tmp_path: Path) -> None:
    with LeadRelay.open(db_url, clock=FakeClock(WEDNESDAY_NOON)) as relay:
        relay.use_playbook(playbook(tmp_path, "escalate"))
        relay.add_leads([{"email": LEAD}], now=WEDNESDAY_NOON - timedelta(hours=3))
        relay.touch(LEAD, kind="email", outcome="sent", at=WEDNESDAY_NOON - timedelta(hours=2))
        relay.record_activities([demo_request(WEDNESDAY_NOON)])
        assert sorted(row.clock for row in relay.sla(everything=True)) == ["accept", "touch"]


def test_a_touch_restarts_the_inactivity_clock(relay: LeadRelay) -> None:
    relay.accept(LEAD, actor="a")
    # 30 days of inactivity recycle a lead in SAL; a call on day 20 gives it 30 days from then
    relay.touch(LEAD, kind="call", outcome="connected", actor="a", now=NOW + timedelta(days=20))
    assert relay.recycle_inactive(now=NOW + timedelta(days=31)).recycled == []
    assert relay.recycle_inactive(now=NOW + timedelta(days=50)).recycled == []  # exactly 30 days after the call
    [done] = relay.recycle_inactive(now=NOW + timedelta(days=50, seconds=1)).recycled
    assert done.lead == LEAD


def test_a_touch_given_an_earlier_time_keeps_the_latest_touch(relay: LeadRelay) -> None:
    relay.accept(LEAD, actor="a")
    relay.touch(LEAD, kind="meeting", outcome="held", now=NOW + timedelta(days=20))
    relay.touch(LEAD, kind="email", outcome="sent", at=NOW + timedelta(days=5), now=NOW + timedelta(days=21))
    assert relay.recycle_inactive(now=NOW + timedelta(days=49)).recycled == []
    [item] = [i for i in relay.leads().leads if i.lead == LEAD]
    assert item.last_touch_at is not None and item.last_touch_at.isoformat() == "2026-12-15T12:00:00+09:00"
    touches = relay.lead(LEAD).touches
    assert [(t.kind, t.at.isoformat()) for t in touches] == [
        ("email", "2026-11-30T12:00:00+09:00"),
        ("meeting", "2026-12-15T12:00:00+09:00"),
    ]


def test_notes_are_listed_with_who_wrote_them_and_when(relay: LeadRelay) -> None:
    relay.note(LEAD, "  予算は来期。4月に再連絡  ", actor="a@example.co.jp", now=NOW + timedelta(hours=1))
    relay.note(LEAD, "CTO も同席希望", actor="m.sasaki@example.co.jp", now=NOW + timedelta(hours=2))
    notes = relay.lead(LEAD).notes
    assert [(n.text, n.actor, n.at.isoformat()) for n in notes] == [
        ("予算は来期。4月に再連絡", "a@example.co.jp", "2026-11-25T13:00:00+09:00"),
        ("CTO も同席希望", "m.sasaki@example.co.jp", "2026-11-25T14:00:00+09:00"),
    ]
    assert relay.lead(LEAD).stage == "mql"  # a note moves nothing


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"kind": "visit", "outcome": "held"}, "kind", "kinds: call, meeting, email"),
        ({"kind": "call", "outcome": "held"}, "outcome", "outcomes: connected, no_answer, voicemail, wrong_number"),
        ({"kind": "call", "outcome": "connected", "at": NOW + timedelta(minutes=1)}, "at", "in the future"),
        ({"kind": "call", "outcome": "connected", "note": "x" * 10_001}, "note", "at most 10,000 characters"),
    ],
)
def test_a_bad_touch_names_the_field_and_records_nothing(
    relay: LeadRelay, fields: dict[str, object], field: str, says: str
) -> None:
    with pytest.raises(InputError) as caught:
        relay.touch(LEAD, **fields)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert says in caught.value.message
    assert relay.lead(LEAD).touches == []


def test_an_empty_note_is_refused(relay: LeadRelay) -> None:
    with pytest.raises(InputError, match="text: must not be empty"):
        relay.note(LEAD, "   ")


def test_a_lead_one_may_not_see_is_not_found_for_any_action(relay: LeadRelay) -> None:
    other = Visibility(rep="b")
    for act in (
        lambda: relay.lead(LEAD, visibility=other),
        lambda: relay.touch(LEAD, kind="call", outcome="connected", visibility=other),
        lambda: relay.note(LEAD, "hello", visibility=other),
        lambda: relay.accept(LEAD, visibility=other),
        lambda: relay.reject(LEAD, "not_ready", visibility=other),
        lambda: relay.advance(LEAD, "sql", visibility=other),
        lambda: relay.recycle(LEAD, reason="x", visibility=other),
    ):
        with pytest.raises(LeadNotFound) as caught:
            act()
        assert str(caught.value) == LEAD
    with pytest.raises(LeadNotFound):
        relay.lead("nobody@sakura-mfg.co.jp", visibility=other)
    assert relay.lead(LEAD, visibility=Visibility(rep="a")).stage == "mql"
    assert relay.lead(LEAD, visibility=Visibility(departments=("inside",))).stage == "mql"
