"""Parsing outside records: every refusal names the field; keys are stable; places are normalised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from leadrelay.adapters.records import (
    FUTURE_TOLERANCE,
    InputError,
    activity_key,
    parse_activity,
    parse_lead,
    parse_time,
)
from leadrelay.domain.model import ACTIVITY_TYPES
from tests.conftest import JST, NOW

TYPES = frozenset(ACTIVITY_TYPES)


def record(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "email": "Taro.Yamada@Acme.co.jp",
        "type": "webinar_attended",
        "occurred_at": "2026-11-20T10:30:00+09:00",
        "campaign": {"code": "WB-2026-11", "name": "DX webinar", "channel": "Webinar", "kind": "nurture"},
        "product": "analytics",
        "properties": {"duration_min": 45},
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def refusal(data: dict[str, Any]) -> InputError:
    with pytest.raises(InputError) as caught:
        parse_activity(data, NOW, TYPES)
    return caught.value


# --- parse_activity --------------------------------------------------------------------------


def test_a_good_activity_is_parsed_into_domain_values() -> None:
    parsed = parse_activity(record(), NOW, TYPES)

    assert parsed.email == "taro.yamada@acme.co.jp"
    assert parsed.activity.type == "webinar_attended"
    assert parsed.activity.occurred_at == datetime(2026, 11, 20, 10, 30, tzinfo=JST)
    assert parsed.activity.campaign is not None
    assert (parsed.activity.campaign.code, parsed.activity.campaign.channel) == ("WB-2026-11", "webinar")
    assert parsed.activity.product == "analytics"
    assert parsed.activity.properties == {"duration_min": 45}
    assert parsed.source_id is None
    assert parsed.lead is None


def test_a_campaign_given_as_a_code_is_accepted() -> None:
    parsed = parse_activity(record(campaign=" WB-01 "), NOW, TYPES)
    assert parsed.activity.campaign is not None
    assert parsed.activity.campaign.code == "WB-01"


def test_a_utc_z_timestamp_is_accepted() -> None:
    parsed = parse_activity(record(occurred_at="2026-11-20T01:30:00Z"), NOW, TYPES)
    assert parsed.activity.occurred_at == datetime(2026, 11, 20, 10, 30, tzinfo=JST)


def test_malformed_email_names_the_email_field() -> None:
    error = refusal(record(email="taro.acme.co.jp"))
    assert error.field == "email"
    assert str(error) == "email: 'taro.acme.co.jp' is not an e-mail address (it needs exactly one @)"


def test_missing_email_is_required() -> None:
    assert str(refusal(record(email=...))) == "email: is required (or an external_id)"


def test_unknown_type_names_the_type_field() -> None:
    error = refusal(record(type="webinar_watched"))
    assert error.field == "type"
    assert error.message.startswith("unknown activity type 'webinar_watched' (known: ad_clicked, bant_collected,")


def test_naive_timestamp_names_the_occurred_at_field() -> None:
    error = refusal(record(occurred_at="2026-11-20T10:30:00"))
    assert error.field == "occurred_at"
    assert error.message == "'2026-11-20T10:30:00' has no time zone (add +09:00, Z or another offset)"


def test_text_that_is_not_a_timestamp_names_the_field() -> None:
    error = refusal(record(occurred_at="last tuesday"))
    assert error.field == "occurred_at"
    assert "is not an ISO 8601 timestamp" in error.message


def test_timestamp_beyond_the_future_tolerance_is_refused() -> None:
    too_late = NOW + FUTURE_TOLERANCE + timedelta(seconds=1)
    error = refusal(record(occurred_at=too_late.isoformat()))
    assert error.field == "occurred_at"
    assert error.message == f"'{too_late.isoformat()}' is in the future (now is 2026-11-25T12:00:00+09:00)"


def test_timestamp_within_the_future_tolerance_is_accepted() -> None:
    assert timedelta(minutes=5) == FUTURE_TOLERANCE
    skewed = NOW + FUTURE_TOLERANCE
    assert parse_activity(record(occurred_at=skewed.isoformat()), NOW, TYPES).activity.occurred_at == skewed


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        (["wants_contact"], "must be an object of name: value"),
        ("wants_contact=yes", "must be an object of name: value"),
        ({"when": datetime(2026, 11, 20, tzinfo=UTC)}, "must hold only JSON values"),
        ({"tags": {"a", "b"}}, "must hold only JSON values"),
        ({"score": float("nan")}, "must hold only JSON values"),
        ({"score": float("inf")}, "must hold only JSON values"),
    ],
)
def test_bad_properties_name_the_properties_field(properties: Any, message: str) -> None:
    error = refusal(record(properties=properties))
    assert (error.field, error.message) == ("properties", message)


def test_unknown_field_names_that_field() -> None:
    error = refusal(record(occured_at="2026-11-20T10:30:00+09:00"))
    assert error.field == "occured_at"
    assert error.message.startswith("unknown field (known: campaign, email, external_id, lead, occurred_at,")


def test_unknown_campaign_field_names_the_nested_field() -> None:
    error = refusal(record(campaign={"code": "WB-01", "budget": 100}))
    assert error.field == "campaign.budget"


def test_campaign_kind_must_be_known() -> None:
    error = refusal(record(campaign={"code": "WB-01", "kind": "awareness"}))
    assert (error.field, error.message) == ("campaign.kind", "'awareness' is not one of acquisition, nurture, pipeline")


def test_an_embedded_lead_error_is_prefixed_with_lead() -> None:
    error = refusal(record(lead={"country": "Atlantis"}))
    assert error.field == "lead.country"


def test_an_embedded_lead_with_another_email_is_refused() -> None:
    error = refusal(record(lead={"email": "someone.else@acme.co.jp"}))
    assert (error.field, error.message) == ("lead.email", "differs from the activity's email")


def test_an_embedded_lead_takes_the_activity_email() -> None:
    parsed = parse_activity(record(lead={"last_name": "山田", "country": "日本"}), NOW, TYPES)
    assert parsed.lead is not None
    assert (parsed.lead.lead.email, parsed.lead.lead.last_name, parsed.lead.lead.country) == (
        "taro.yamada@acme.co.jp",
        "山田",
        "JP",
    )


# --- activity_key ----------------------------------------------------------------------------


def test_activity_key_is_stable_for_the_same_content() -> None:
    first = parse_activity(record(), NOW, TYPES).activity.key
    again = parse_activity(record(email="  TARO.YAMADA@ACME.CO.JP "), NOW, TYPES).activity.key
    same_instant_in_utc = parse_activity(record(occurred_at="2026-11-20T01:30:00Z"), NOW, TYPES).activity.key

    assert len(first) == 32
    assert first == again == same_instant_in_utc


def test_activity_key_ignores_the_order_of_properties() -> None:
    one = activity_key("a@acme.jp", "survey_answered", NOW, "WB-01", None, {"x": 1, "y": 2}, None)
    two = activity_key("a@acme.jp", "survey_answered", NOW, "WB-01", None, {"y": 2, "x": 1}, None)
    assert one == two


@pytest.mark.parametrize(
    "change",
    [
        {"type": "webinar_registered"},
        {"occurred_at": "2026-11-20T10:30:01+09:00"},
        {"campaign": "WB-02"},
        {"product": "crm"},
        {"properties": {"duration_min": 46}},
        {"email": "hanako@acme.co.jp"},
    ],
)
def test_activity_key_changes_with_the_content(change: dict[str, Any]) -> None:
    assert (
        parse_activity(record(**change), NOW, TYPES).activity.key != parse_activity(record(), NOW, TYPES).activity.key
    )


def test_activity_key_uses_the_source_id_when_given() -> None:
    one = parse_activity(record(source_id="mkto-123"), NOW, TYPES)
    other_content = parse_activity(
        record(source_id=" mkto-123 ", type="page_viewed", occurred_at="2026-11-21T09:00:00+09:00", properties={}),
        NOW,
        TYPES,
    )
    other_id = parse_activity(record(source_id="mkto-124"), NOW, TYPES)
    no_id = parse_activity(record(), NOW, TYPES)

    assert one.source_id == "mkto-123"
    assert one.activity.key == other_content.activity.key
    assert one.activity.key != other_id.activity.key
    assert one.activity.key != no_id.activity.key


def test_a_numeric_source_id_is_used_as_text() -> None:
    assert parse_activity(record(source_id=123), NOW, TYPES).activity.key == (
        parse_activity(record(source_id="123"), NOW, TYPES).activity.key
    )


# --- parse_time ------------------------------------------------------------------------------


def test_parse_time_requires_a_value() -> None:
    with pytest.raises(InputError, match=r"^created_at: is required$"):
        parse_time(None, "created_at")


def test_parse_time_refuses_a_naive_datetime_object() -> None:
    with pytest.raises(InputError) as caught:
        parse_time(datetime(2026, 11, 20, 10, 30), "occurred_at")
    assert caught.value.field == "occurred_at"
    assert "has no time zone" in caught.value.message


# --- parse_lead ------------------------------------------------------------------------------


@pytest.mark.parametrize("country", ["JP", "jp", "Japan", "JAPAN", "日本", "ｊａｐａｎ"])
def test_parse_lead_normalises_country_names_to_iso_codes(country: str) -> None:
    assert parse_lead({"email": "taro@acme.co.jp", "country": country}).lead.country == "JP"


def test_parse_lead_normalises_other_countries() -> None:
    assert parse_lead({"email": "amy@acme.com", "country": "United States"}).lead.country == "US"
    assert parse_lead({"email": "amy@acme.com", "country": "アメリカ"}).lead.country == "US"


def test_parse_lead_refuses_an_unknown_country() -> None:
    with pytest.raises(InputError) as caught:
        parse_lead({"email": "taro@acme.co.jp", "country": "Atlantis"})
    assert caught.value.field == "country"
    assert caught.value.message == "'Atlantis' is not a country (use an ISO code such as JP or a country name)"


@pytest.mark.parametrize("prefecture", ["大阪", "大阪府", "Osaka", "osaka-fu", "27"])
def test_parse_lead_normalises_the_prefecture(prefecture: str) -> None:
    parsed = parse_lead({"email": "taro@acme.co.jp", "country": "Japan", "prefecture": prefecture})
    assert parsed.lead.prefecture == "大阪府"


def test_parse_lead_normalises_tokyo_and_hokkaido() -> None:
    assert parse_lead({"email": "a@acme.co.jp", "prefecture": "Tokyo"}).lead.prefecture == "東京都"
    assert parse_lead({"email": "a@acme.co.jp", "prefecture": "北海道"}).lead.prefecture == "北海道"


def test_parse_lead_rejects_an_unknown_prefecture_for_japan() -> None:
    with pytest.raises(InputError) as caught:
        parse_lead({"email": "taro@acme.co.jp", "country": "JP", "prefecture": "Osaka Bay"})
    assert caught.value.field == "prefecture"
    assert caught.value.message == "'Osaka Bay' is not a Japanese prefecture (e.g. 大阪府, Osaka, 27)"


def test_parse_lead_keeps_a_region_outside_japan_as_given() -> None:
    parsed = parse_lead({"email": "amy@acme.com", "country": "US", "prefecture": "California"})
    assert parsed.lead.prefecture == "California"


def test_parse_lead_normalises_email_and_lowercases_seniority_and_department() -> None:
    parsed = parse_lead(
        {"email": "ＴＡＲＯ＠ＡＣＭＥ.co.jp", "seniority": "Manager", "department": "IT", "title": "  IT Manager "}
    )
    assert (parsed.lead.email, parsed.lead.seniority, parsed.lead.department, parsed.lead.title) == (
        "taro@acme.co.jp",
        "manager",
        "it",
        "IT Manager",
    )


def test_parse_lead_builds_the_company_from_the_email_domain() -> None:
    parsed = parse_lead(
        {
            "email": "taro@acme.co.jp",
            "company": {"name": "Acme", "industry": "Manufacturing", "employees": "1,200", "country": "日本"},
        }
    )
    assert parsed.company is not None
    assert (parsed.company.domain, parsed.company.industry, parsed.company.employees, parsed.company.country) == (
        "acme.co.jp",
        "manufacturing",
        1200,
        "JP",
    )


def test_parse_lead_names_the_company_field_at_fault() -> None:
    with pytest.raises(InputError) as caught:
        parse_lead({"email": "taro@acme.co.jp", "company": {"employees": "many"}})
    assert (caught.value.field, caught.value.message) == ("company.employees", "'many' is not a whole number")


def test_parse_lead_refuses_an_unknown_list_source_and_unknown_fields() -> None:
    with pytest.raises(InputError, match=r"^list_source: 'tradeshow' is not one of house, purchased, bdr$"):
        parse_lead({"email": "taro@acme.co.jp", "list_source": "tradeshow"})
    with pytest.raises(InputError) as caught:
        parse_lead({"email": "taro@acme.co.jp", "nickname": "Taro"})
    assert caught.value.field == "nickname"


def test_parse_lead_records_which_profile_fields_were_given() -> None:
    parsed = parse_lead({"email": "taro@acme.co.jp", "title": "CTO", "phone": "", "company_name": "Acme"})
    assert parsed.given == frozenset({"email", "title", "company_name"})  # the company it names is kept on the lead
    assert parsed.company is not None
    assert (parsed.company.name, parsed.company.domain) == ("Acme", "acme.co.jp")


def test_parse_lead_refuses_a_future_created_at() -> None:
    with pytest.raises(InputError) as caught:
        parse_lead({"email": "taro@acme.co.jp", "created_at": "2026-12-01T00:00:00+09:00"}, NOW)
    assert caught.value.field == "created_at"


# --- leads known by a CRM record id ------------------------------------------------------------


def test_a_lead_may_be_named_by_external_id_alone() -> None:
    from leadrelay.adapters.records import parse_lead

    parsed = parse_lead({"external_id": " 0051 ", "source_channel": "social"})
    assert (parsed.lead.email, parsed.lead.external_id, parsed.key) == (None, "0051", "id:0051")
    assert parsed.lead.domain is None
    assert parse_lead({"external_id": 51}).lead.external_id == "51"


def test_an_activity_names_its_lead_by_email_or_external_id() -> None:
    by_id = parse_activity(record(email=None, external_id="mql-1"), NOW, TYPES)
    assert (by_id.email, by_id.external_id, by_id.key) == (None, "mql-1", "id:mql-1")
    both = parse_activity(record(external_id="mql-1"), NOW, TYPES)
    assert both.key == "taro.yamada@acme.co.jp"
    assert both.activity.key == parse_activity(record(), NOW, TYPES).activity.key  # same identity as before


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "external_id: must be text or a whole number"),
        ("x" * 201, "external_id: is longer than 200 characters"),
        ("a\nb", "external_id: must not contain control characters"),
    ],
)
def test_bad_external_ids_name_the_field(value: object, message: str) -> None:
    assert str(refusal(record(email=None, external_id=value))) == message


def test_neither_email_nor_external_id_is_refused() -> None:
    assert str(refusal(record(email="", external_id=""))) == "email: is required (or an external_id)"


# --- outcomes ----------------------------------------------------------------------------------


def outcome(**changes: Any) -> dict[str, Any]:
    return {"external_id": "mql-1", "outcome": "won", "closed_at": "2026-11-20T10:00:00+09:00", **changes}


def test_an_outcome_is_parsed_with_amount_currency_and_people() -> None:
    from decimal import Decimal

    from leadrelay.adapters.records import parse_outcome

    parsed = parse_outcome(outcome(outcome="WON", amount="1,200,000", currency="jpy", sdr="田中", sr="sr-3"), NOW)
    assert (parsed.outcome, parsed.amount, parsed.currency, parsed.sdr, parsed.lead_key) == (
        "won",
        Decimal("1200000.00"),
        "JPY",
        "田中",
        "id:mql-1",
    )
    assert parsed.key == parse_outcome(outcome(amount=1200000, currency="JPY"), NOW).key  # same content, same key
    assert parsed.key != parse_outcome(outcome(source_id="d1"), NOW).key


@pytest.mark.parametrize(
    ("given", "amount"),
    [
        ("999999999999999.9999", Decimal("999999999999999.9999")),  # the largest: 15 digits and 4
        ("1,200,000", Decimal("1200000.00")),
        ("1.2e6", Decimal("1200000.00")),
        ("0.1234", Decimal("0.1234")),
        ("1.50000", Decimal("1.50")),  # trailing zeros are not places
        (0, Decimal("0.00")),
    ],
)
def test_amounts_are_parsed_exactly_within_the_limit(given: Any, amount: Decimal) -> None:
    from leadrelay.adapters.records import parse_amount

    parsed = parse_amount(given)
    assert parsed == amount
    assert str(parsed) == str(amount)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"outcome": "tie"}, "outcome: 'tie' is not won or lost"),
        ({"outcome": None}, "outcome: is required (won or lost)"),
        ({"closed_at": None}, "closed_at: is required"),
        ({"amount": "lots"}, "amount: 'lots' is not a number"),
        ({"amount": -5}, "amount: '-5' is negative (an amount is zero or more)"),
        ({"amount": "1e400"}, "amount: '1e400' is too large (at most 15 digits before the decimal point and 4 after)"),
        ({"amount": "NaN"}, "amount: 'NaN' is not a number (NaN and Infinity are not amounts)"),
        ({"amount": float("inf")}, "amount: 'inf' is not a number (NaN and Infinity are not amounts)"),
        ({"amount": "1" * 26}, "amount: '" + "1" * 26 + "' is too large"),
        ({"amount": "1.23456"}, "amount: '1.23456' has too many decimal places"),
        ({"currency": "yen!"}, "currency: 'YEN!' is not a currency code"),
        ({"external_id": None}, "email: is required (or an external_id)"),
        ({"stage": "won"}, "stage: unknown field"),
    ],
)
def test_bad_outcomes_name_the_field(changes: dict[str, Any], message: str) -> None:
    from leadrelay.adapters.records import parse_outcome

    with pytest.raises(InputError) as caught:
        parse_outcome(outcome(**changes), NOW)
    assert str(caught.value).startswith(message)


# --- values no database column can hold: refused with their row ------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+09:00",  # before year 1 in UTC: overflowed the UTC column type
        "1899-12-31T23:59:59Z",
        "9999-12-31T23:00:00-09:00",  # year 10000 in UTC
        datetime(1, 1, 1, tzinfo=UTC),
    ],
)
def test_a_timestamp_outside_the_years_1900_to_9999_in_utc_is_refused(value: object) -> None:
    with pytest.raises(InputError, match="is not between the years 1900 and 9999") as caught:
        parse_time(value, "occurred_at")
    assert caught.value.field == "occurred_at"
    with pytest.raises(InputError, match="between the years 1900 and 9999"):
        parse_activity(record(occurred_at=value), NOW, TYPES)


def test_timestamps_at_the_edges_of_the_range_are_accepted() -> None:
    assert parse_time("1900-01-01T00:00:00Z", "at") == datetime(1900, 1, 1, tzinfo=UTC)
    assert parse_time("1900-01-01T09:00:00+09:00", "at") == datetime(1900, 1, 1, tzinfo=UTC)
    assert parse_time("9999-12-31T23:59:59Z", "at").year == 9999


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"first_name": "Ta\x00ro"}, "first_name", "must not contain NUL characters"),
        ({"company": {"name": "Acme\x00"}}, "name", "must not contain NUL characters"),
        ({"custom": {"note": "a\x00"}}, "custom", "must not contain NUL characters"),
        ({"custom": {"a\x00": 1}}, "custom", "must not contain NUL characters"),
        ({"custom": {"list": [{"deep": "\x00"}]}}, "custom", "must not contain NUL characters"),
        ({"custom": {"score": float("inf")}}, "custom", "must hold only JSON values"),
        ({"last_name": "\udc00"}, "last_name", "lone surrogate"),
        ({"email": "ta\x00ro@acme.co.jp"}, "email", "must not contain NUL characters"),
        ({"email": "taro@acme.co.jp\udc00"}, "email", "lone surrogate"),
        ({"external_id": "\ud800", "email": None}, "external_id", "lone surrogate"),
        ({"company": {"employees": 3_000_000_000}}, "company.employees", "is larger than 2147483647"),
        ({"company": {"employees": 10**30}}, "company.employees", "is larger than 2147483647"),
        ({"company": {"employees": "2,147,483,648"}}, "company.employees", "is larger than 2147483647"),
        ({"country": "US", "prefecture": "x" * 21}, "prefecture", "is longer than 20 characters"),
        ({"company": {"country": "US", "prefecture": "x" * 21}}, "company.prefecture", "longer than 20"),
        ({"department": "ß" * 41}, "department", "is longer than 80 characters"),  # "ss" * 41 once folded
        ({"company": {"domain": "㍿" * 100 + ".jp"}}, "company.domain", "is longer than 255 characters"),
        ({"email": "a" * 310 + "@acme.co.jp"}, "email", "is longer than 320 characters"),
        ({"email": "a@" + ("b" * 63 + ".") * 4 + "jp"}, "email", "has a domain longer than 255 characters"),
    ],
)
def test_a_lead_value_no_database_column_can_hold_is_refused(changes: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        parse_lead({"email": "taro@acme.co.jp", **changes}, NOW)
    assert caught.value.field == field


def test_lead_values_at_the_column_limits_are_accepted() -> None:
    parsed = parse_lead(
        {
            "email": "taro@acme.co.jp",
            "country": "US",
            "prefecture": "x" * 20,
            "department": "ß" * 40,
            "custom": {"note": "tab\tand\nline", "n": 10**30},
            "company": {"employees": 2_147_483_647},
        },
        NOW,
    )
    assert parsed.lead.prefecture == "x" * 20
    assert parsed.lead.department == "ss" * 40
    assert parsed.company is not None and parsed.company.employees == 2_147_483_647


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"campaign": "c" * 121}, "campaign", "is longer than 120 characters"),
        ({"campaign": "wb\x00"}, "campaign", "must not contain NUL characters"),
        ({"source_id": "s" * 201}, "source_id", "is longer than 200 characters"),
        ({"source_id": "s\x00"}, "source_id", "must not contain NUL characters"),
        ({"product": "an\x00alytics"}, "product", "must not contain NUL characters"),
        ({"properties": {"page": "/a\x00"}}, "properties", "must not contain NUL characters"),
        ({"properties": {"page": "\ud800"}}, "properties", "lone surrogate"),
        ({"lead": {"title": "\x00"}}, "lead.title", "must not contain NUL characters"),
    ],
)
def test_an_activity_value_no_database_column_can_hold_is_refused(
    changes: dict[str, Any], field: str, message: str
) -> None:
    caught = refusal(record(**changes))
    assert caught.field == field
    assert message in caught.message


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"closed_at": "0001-01-01T08:59:59+09:00"}, "closed_at", "between the years 1900 and 9999"),
        ({"lost_reason": "price\x00"}, "lost_reason", "must not contain NUL characters"),
        ({"sdr": "\udfff"}, "sdr", "lone surrogate"),
        ({"source_id": 10**201}, "source_id", "is longer than 200 characters"),
        ({"properties": {"k": ["\x00"]}}, "properties", "must not contain NUL characters"),
    ],
)
def test_an_outcome_value_no_database_column_can_hold_is_refused(
    changes: dict[str, Any], field: str, message: str
) -> None:
    from leadrelay.adapters.records import parse_outcome

    with pytest.raises(InputError) as caught:
        parse_outcome(outcome(**changes), NOW)
    assert caught.value.field == field
    assert message in caught.value.message


def test_a_long_or_unprintable_value_is_quoted_back_short_and_printable() -> None:
    with pytest.raises(InputError) as caught:
        parse_time("x" * 100_000, "occurred_at")
    assert len(caught.value.message) < 200
    assert "x" * 80 + "…" in caught.value.message
    with pytest.raises(InputError) as caught:
        parse_activity(record(type="page\udc00"), NOW, TYPES)
    caught.value.message.encode("utf-8")  # printable: no lone surrogate echoed back
