"""The lead's profile fields are written once (the domain's Lead) and every other list follows."""

from __future__ import annotations

from dataclasses import fields

from leadrelay.adapters.records import LEAD_FIELDS, parse_lead
from leadrelay.adapters.store.tables import leads
from leadrelay.domain.model import LEAD_IDENTITY_FIELDS, LEAD_PROFILE_FIELDS, Lead


def test_the_profile_is_every_field_of_lead_besides_its_identity_and_custom_fields() -> None:
    assert LEAD_PROFILE_FIELDS == (
        "first_name",
        "last_name",
        "title",
        "seniority",
        "department",
        "phone",
        "country",
        "prefecture",
        "postal_code",
        "source_channel",
        "company_name",
        "list_source",
    )
    assert {f.name for f in fields(Lead)} == {*LEAD_IDENTITY_FIELDS, *LEAD_PROFILE_FIELDS, "custom"}


def test_a_lead_record_may_carry_every_profile_field() -> None:
    assert set(LEAD_PROFILE_FIELDS) | set(LEAD_IDENTITY_FIELDS) <= LEAD_FIELDS


def test_every_profile_field_has_a_column_in_the_leads_table() -> None:
    assert set(LEAD_PROFILE_FIELDS) | set(LEAD_IDENTITY_FIELDS) | {"custom"} <= set(leads.c.keys())


def test_parsing_a_record_keeps_every_profile_field_it_carries() -> None:
    record = {
        "email": "k.sato@sakura-mfg.co.jp",
        "external_id": "003A1",
        "first_name": "健二",
        "last_name": "佐藤",
        "title": "部長",
        "seniority": "Manager",
        "department": "IT",
        "phone": "06-1234-5678",
        "country": "JP",
        "prefecture": "大阪府",
        "postal_code": "530-0001",
        "source_channel": "Webinar",
        "company_name": "さくら製作所",
        "list_source": "purchased",
    }
    lead = parse_lead(record).lead
    missing = [name for name in LEAD_PROFILE_FIELDS if getattr(lead, name) in (None, "")]
    assert missing == []
    assert set(record) - set(LEAD_IDENTITY_FIELDS) == set(LEAD_PROFILE_FIELDS)
