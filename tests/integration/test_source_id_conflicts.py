"""A ``source_id`` names one activity: the same record sent again is a duplicate, a different
activity under a used ``source_id`` is a conflict — refused with its record number, never counted
as a duplicate and never stored over the first one. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from leadrelay import FakeClock, LeadRelay
from tests.conftest import NOW

EMAIL = "kenta@sakura-mfg.co.jp"


@pytest.fixture
def relay(db_url: str) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as instance:
        yield instance


def record(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "email": EMAIL,
        "type": "page_viewed",
        "occurred_at": "2026-11-20T10:00:00+09:00",
        "campaign": "webinar-2026-11",
        "properties": {"url": "/pricing"},
        "source_id": "hubspot-1001",
    }
    return {**base, **changes}


def test_the_same_record_sent_again_is_a_duplicate(relay: LeadRelay) -> None:
    relay.record_activities([record()])
    again = relay.record_activities([record()])
    assert (again.activities_inserted, again.duplicates, again.rejected) == (0, 1, [])


@pytest.mark.parametrize(
    ("changes", "differs"),
    [
        pytest.param({"type": "demo_requested"}, "type", id="type"),
        pytest.param({"occurred_at": "2026-11-21T10:00:00+09:00"}, "occurred_at", id="time"),
        pytest.param({"properties": {"url": "/contact"}}, "properties", id="properties"),
        pytest.param({"campaign": "expo-2026"}, "campaign", id="campaign"),
        pytest.param({"email": "other@sakura-mfg.co.jp"}, "lead", id="lead"),
    ],
)
def test_a_different_activity_under_a_used_source_id_is_a_conflict(
    relay: LeadRelay, changes: dict[str, Any], differs: str
) -> None:
    relay.record_activities([record()])
    result = relay.record_activities([record(source_id="hubspot-1002"), record(**changes)])
    assert result.activities_inserted == 1
    assert result.duplicates == 0
    assert [(r.record, r.field) for r in result.rejected] == [(2, "source_id")]
    assert "'hubspot-1001' already names another activity" in result.rejected[0].message
    assert differs in result.rejected[0].message
    # the first activity is kept as it was, the conflicting record is not stored: two page views,
    # no hand-raise (a demo request would have made the lead an MQL)
    lead = relay.lead(EMAIL)
    assert (lead.activities, lead.stage) == (2, "nurture")


def test_a_conflict_inside_one_batch_is_refused_too(relay: LeadRelay) -> None:
    result = relay.record_activities([record(), record(), record(type="demo_requested")])
    assert (result.activities_inserted, result.duplicates) == (1, 1)
    assert [(r.record, r.field) for r in result.rejected] == [(3, "source_id")]
    # the refused hand-raise did not make the lead an MQL
    assert relay.lead(EMAIL).stage == "nurture"


def test_a_time_given_in_another_zone_is_the_same_activity(relay: LeadRelay) -> None:
    relay.record_activities([record()])
    again = relay.record_activities([record(occurred_at="2026-11-20T01:00:00Z")])
    assert (again.duplicates, again.rejected) == (1, [])


def deal(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "email": EMAIL,
        "outcome": "won",
        "closed_at": "2026-11-25T10:00:00+09:00",
        "amount": "1200000",
        "currency": "JPY",
        "source_id": "sf-opp-7",
    }
    return {**base, **changes}


def test_a_different_deal_under_a_used_source_id_is_a_conflict(relay: LeadRelay) -> None:
    relay.record_activities([record()])
    first = relay.record_outcomes([deal()])
    assert (first.outcomes_inserted, first.rejected) == (1, [])
    # the same deal again, its amount written differently: a duplicate
    again = relay.record_outcomes([deal(amount="1200000.00")])
    assert (again.outcomes_inserted, again.duplicates, again.rejected) == (0, 1, [])
    other = relay.record_outcomes([deal(amount="900000"), deal(outcome="lost", closed_at="2026-11-24T10:00:00+09:00")])
    assert (other.outcomes_inserted, other.duplicates) == (0, 0)
    assert [(r.record, r.field) for r in other.rejected] == [(1, "source_id"), (2, "source_id")]
    assert "'sf-opp-7' already names another deal (it differs in amount)" in other.rejected[0].message
    assert "it differs in outcome, closed_at" in other.rejected[1].message
    assert relay.lead(EMAIL).stage == "won"
