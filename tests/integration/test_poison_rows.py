"""One value a database cannot store rejects its row, not its batch: on SQLite and PostgreSQL.

SQLite keeps a NUL byte, a 3,000,000,000-employee company or a 300-character prefecture that
PostgreSQL refuses; each of these would fail the whole batch there (and a resumed import would
restart at that batch for ever). The intake refuses them on both databases alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from leadrelay import FakeClock, LeadRelay
from leadrelay.services.intake import BatchResult
from tests.conftest import NOW


@pytest.fixture
def relay(db_url: str) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as instance:
        yield instance


def good_lead(n: int) -> dict[str, Any]:
    return {"email": f"good{n}@sakura-mfg.co.jp", "first_name": "健太", "company": {"employees": 800}}


def good_activity(n: int) -> dict[str, Any]:
    return {"email": f"good{n}@sakura-mfg.co.jp", "type": "page_viewed", "occurred_at": "2026-11-20T10:00:00+09:00"}


def good_outcome(n: int) -> dict[str, Any]:
    return {"email": f"good{n}@sakura-mfg.co.jp", "outcome": "won", "closed_at": "2026-11-20T10:00:00+09:00"}


def rejected(result: BatchResult) -> list[tuple[int, str]]:
    return [(r.record, r.field) for r in result.rejected]


POISON_LEADS = [
    pytest.param({"email": "p@example.co.jp", "first_name": "Ke\x00nta"}, "first_name", id="nul-in-text"),
    pytest.param({"email": "p@example.co.jp", "company": {"employees": 3_000_000_000}}, "company.employees", id="int4"),
    pytest.param({"email": "p@example.co.jp", "company": {"employees": 10**30}}, "company.employees", id="10**30"),
    pytest.param({"email": "p@example.co.jp", "custom": {"note": "a\x00b"}}, "custom", id="nul-in-custom"),
    pytest.param({"email": "p@example.co.jp", "custom": {"score": float("nan")}}, "custom", id="nan-in-custom"),
    pytest.param({"email": "p@example.co.jp", "last_name": "\ud800"}, "last_name", id="lone-surrogate"),
    pytest.param(
        {"email": "p@example.co.jp", "country": "US", "prefecture": "North Dakota Territory"},
        "prefecture",
        id="varchar20",
    ),
    pytest.param({"email": "p@example.co.jp", "department": "ß" * 41}, "department", id="casefold-longer"),
    pytest.param({"email": "p@example.co.jp", "created_at": "0001-01-01T00:00:00+09:00"}, "created_at", id="year-1"),
    pytest.param(
        {"email": "p@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".jp"}, "email", id="dom"
    ),
]


@pytest.mark.parametrize(("poison", "field"), POISON_LEADS)
def test_a_lead_the_database_cannot_store_is_rejected_and_the_batch_is_kept(
    relay: LeadRelay, poison: dict[str, Any], field: str
) -> None:
    result = relay.add_leads_numbered([(1, good_lead(1)), (2, poison), (3, good_lead(3))])
    assert rejected(result) == [(2, field)]
    assert result.leads_created == 2
    assert relay.lead("good1@sakura-mfg.co.jp").profile.first_name == "健太"
    assert relay.lead("good3@sakura-mfg.co.jp").account.employees == 800


POISON_ACTIVITIES = [
    pytest.param({"occurred_at": "0001-01-01T00:00:00+09:00"}, "occurred_at", id="year-1-in-utc"),
    pytest.param({"properties": {"page\x00": "/pricing"}}, "properties", id="nul-in-json-key"),
    pytest.param({"properties": {"page": ["/pricing", "a\x00"]}}, "properties", id="nul-in-json-list"),
    pytest.param({"source_id": "s" * 201}, "source_id", id="varchar200"),
    pytest.param({"campaign": "c" * 121}, "campaign", id="varchar120"),
    pytest.param({"product": "\x00"}, "product", id="nul-in-product"),
    pytest.param({"lead": {"first_name": "a\x00"}}, "lead.first_name", id="nul-in-embedded-lead"),
]


@pytest.mark.parametrize(("change", "field"), POISON_ACTIVITIES)
def test_an_activity_the_database_cannot_store_is_rejected_and_the_batch_is_kept(
    relay: LeadRelay, change: dict[str, Any], field: str
) -> None:
    result = relay.record_activities_numbered(
        [(1, good_activity(1)), (2, {**good_activity(2), **change}), (3, good_activity(3))]
    )
    assert rejected(result) == [(2, field)]
    assert result.activities_inserted == 2


POISON_OUTCOMES = [
    pytest.param({"closed_at": "0001-01-01T08:00:00+09:00"}, "closed_at", id="year-0-in-utc"),
    pytest.param({"lost_reason": "price\x00"}, "lost_reason", id="nul-in-text"),
    pytest.param({"source_id": "s" * 201}, "source_id", id="varchar200"),
    pytest.param({"properties": {"stage": "\x00"}}, "properties", id="nul-in-json"),
]


@pytest.mark.parametrize(("change", "field"), POISON_OUTCOMES)
def test_an_outcome_the_database_cannot_store_is_rejected_and_the_batch_is_kept(
    relay: LeadRelay, change: dict[str, Any], field: str
) -> None:
    relay.add_leads([good_lead(n) for n in (1, 2, 3)])
    result = relay.record_outcomes_numbered(
        [(1, good_outcome(1)), (2, {**good_outcome(2), **change}), (3, good_outcome(3))]
    )
    assert rejected(result) == [(2, field)]
    assert result.outcomes_inserted == 2


def test_values_at_the_limits_are_stored_on_both_databases(relay: LeadRelay) -> None:
    edge = {
        "email": "edge@sakura-mfg.co.jp",
        "country": "US",
        "prefecture": "p" * 20,
        "department": "ß" * 40,
        "created_at": "1900-01-01T00:00:00Z",
        "company": {"employees": 2**31 - 1},
        "custom": {"note": "tab\tand\nnew line"},
    }
    result = relay.add_leads([edge])
    assert not result.rejected and result.leads_created == 1
    report = relay.lead("edge@sakura-mfg.co.jp")
    assert report.account.employees == 2**31 - 1
    assert report.profile.prefecture == "p" * 20
    assert report.profile.department == "ss" * 40
    activity = {**good_activity(0), "email": "edge@sakura-mfg.co.jp", "source_id": "s" * 200, "campaign": "c" * 120}
    assert relay.record_activities([activity]).activities_inserted == 1
