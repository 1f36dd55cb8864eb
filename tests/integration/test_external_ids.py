"""Leads known by a CRM record id instead of (or besides) an e-mail, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from leadrelay import FakeClock, LeadRelay
from tests.conftest import NOW


@pytest.fixture
def relay(db_url: str) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as instance:
        yield instance


def at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def test_a_lead_without_email_is_created_and_found_by_its_external_id(relay: LeadRelay) -> None:
    result = relay.add_leads([{"external_id": "mql-001", "source_channel": "paid_search", "created_at": at(40)}])
    assert (result.leads_created, result.rejected) == (1, [])

    report = relay.lead("mql-001")
    assert report.email is None
    assert report.external_id == "mql-001"
    assert report.profile.source_channel == "paid_search"
    assert report.account is None


def test_a_missing_email_never_counts_as_free_mail_or_a_competitor(relay: LeadRelay) -> None:
    relay.add_leads([{"external_id": "mql-002", "title": "部長", "country": "JP"}])
    report = relay.lead("mql-002")
    assert report.disqualification is None
    assert report.stage == "new"


def test_activities_refer_to_a_lead_by_external_id_and_move_it(relay: LeadRelay) -> None:
    relay.add_leads([{"external_id": "mql-003"}])
    result = relay.record_activities(
        [
            {"external_id": "mql-003", "type": "form_submitted", "occurred_at": at(10), "campaign": "lp-1"},
            {"external_id": "mql-004", "type": "form_submitted", "occurred_at": at(9), "campaign": "lp-1"},
        ]
    )
    assert (result.activities_inserted, result.leads_created, result.rejected) == (2, 1, [])
    assert [m.lead for m in result.moves] == ["id:mql-003", "id:mql-004"]
    assert relay.lead("mql-003").history[0].to_stage == "nurture"
    again = relay.record_activities(
        [{"external_id": "mql-003", "type": "form_submitted", "occurred_at": at(10), "campaign": "lp-1"}]
    )
    assert (again.activities_inserted, again.duplicates) == (0, 1)


def test_an_id_only_lead_gets_its_email_when_a_later_record_gives_both(relay: LeadRelay) -> None:
    relay.add_leads([{"external_id": "crm-9"}])
    result = relay.add_leads([{"external_id": "crm-9", "email": "k.sato@sakura-mfg.co.jp", "last_name": "佐藤"}])
    assert (result.leads_created, result.rejected) == (0, [])

    by_email = relay.lead("k.sato@sakura-mfg.co.jp")
    assert by_email == relay.lead("crm-9")
    assert by_email.external_id == "crm-9"
    assert by_email.profile.last_name == "佐藤"
    assert by_email.account.domain == "sakura-mfg.co.jp"


def test_an_email_lead_takes_an_external_id_and_activities_find_it_by_either(relay: LeadRelay) -> None:
    relay.add_leads([{"email": "a.suzuki@hikari-denki.co.jp"}])
    relay.add_leads([{"email": "a.suzuki@hikari-denki.co.jp", "external_id": "sf-00Q1"}])
    relay.record_activities([{"external_id": "sf-00Q1", "type": "page_viewed", "occurred_at": at(3)}])
    report = relay.lead("a.suzuki@hikari-denki.co.jp")
    assert report.external_id == "sf-00Q1"
    assert report.activities == 1


def test_an_external_id_of_another_lead_is_refused_by_record_number(relay: LeadRelay) -> None:
    relay.add_leads([{"email": "a@alpha.co.jp", "external_id": "x-1"}])
    result = relay.add_leads(
        [
            {"email": "b@beta.co.jp", "external_id": "x-1"},
            {"email": "c@gamma.co.jp", "external_id": "x-2"},
            {"email": "d@delta.co.jp", "external_id": "x-2"},
        ]
    )
    assert [(r.record, r.field) for r in result.rejected] == [(1, "external_id"), (3, "external_id")]
    assert "belongs to another lead (a@alpha.co.jp)" in result.rejected[0].message
    assert result.leads_created == 1
    assert relay.lead("x-2").email == "c@gamma.co.jp"


def test_a_lead_without_email_is_matched_by_its_company_name_or_domain(relay: LeadRelay) -> None:
    result = relay.add_leads(
        [
            {"external_id": "m-1", "company": {"name": "さくら製作所"}},
            {"external_id": "m-2", "company": {"name": "ひかり電機", "domain": "hikari.co.jp", "industry": "it"}},
            {"external_id": "m-3", "company": {"industry": "it"}},
            {"external_id": "m-4", "company_name": "株式会社ひかり電機"},
        ]
    )
    assert [(r.record, r.field) for r in result.rejected] == [(3, "company.domain")]
    assert "unless the company is named" in result.rejected[0].message
    # no account is named さくら製作所 and there is no domain to make one: the name stays on the lead
    first = relay.lead("m-1")
    assert first.account is None
    assert first.profile.company_name == "さくら製作所"
    assert relay.lead("m-2").account.domain == "hikari.co.jp"
    # the same batch's new account is found by the normalised name (legal form removed)
    fourth = relay.lead("m-4")
    assert fourth.account.domain == "hikari.co.jp"
    assert fourth.match.tier == 2


def test_email_leads_keep_working_as_before(relay: LeadRelay) -> None:
    relay.add_leads([{"email": "k.sato@gmail.com"}])
    report = relay.lead("K.Sato@Gmail.com")
    assert report.disqualification.reason == "free_mail"
    assert report.external_id is None
