"""The synthetic demo data set: reproducible, inside its time window, and personas that can be counted."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo

import pytest
from ruamel.yaml import YAML

from leadrelay.domain.model import ACTIVITY_TYPES, Account, Campaign, Lead
from leadrelay.entrypoints.demo.synthetic import PERSONA_SHARES, PERSONAS, DemoData, generate

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=TOKYO)
SERVED = {"JP", "US", "SG", "TW", "KR", "GB", "DE", "AU"}
HAND_RAISES = {"demo_requested", "contact_requested", "free_audit_requested"}
DISQUALIFYING = {"competitor", "free_mail", "student", "unserved_country", "job_seeker"}
STRONG = {"hand_raiser", "webinar_wants_contact", "booth_talk", "bant"}
TARGET_INDUSTRIES = {"manufacturing", "it", "software", "finance", "logistics", "retail", "healthcare", "construction"}
KINKI = {"大阪府", "京都府", "兵庫県", "奈良県", "和歌山県", "滋賀県"}


def _playbook() -> dict[str, Any]:
    text = files("leadrelay").joinpath("data/default_playbook.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = YAML(typ="safe").load(text)
    return loaded


PLAYBOOK = _playbook()
COMPETITORS = set(PLAYBOOK["disqualification"]["competitors"]["domains"])
FREE_MAIL = {
    line.strip()
    for line in files("leadrelay").joinpath("data/free_mail_domains.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
}


@pytest.fixture(scope="module")
def data() -> DemoData:
    return generate(now=NOW)


@pytest.fixture(scope="module")
def by_email(data: DemoData) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for activity in data.activities:
        grouped[activity["email"]].append(activity)
    return grouped


def _traits(lead: dict[str, Any]) -> set[str]:
    """The disqualifying traits of a lead, judged from its fields alone."""
    found = set()
    domain = lead["email"].rsplit("@", 1)[1]
    if domain in FREE_MAIL:
        found.add("free_mail")
    if domain in COMPETITORS:
        found.add("competitor")
    title = (lead["title"] or "").casefold()
    if lead["seniority"] == "student" or any(word in title for word in ("student", "学生", "院生")):
        found.add("student")
    if lead["country"] not in SERVED:
        found.add("unserved_country")
    if lead["custom"].get("inquiry_type") in ("recruiting", "採用", "job"):
        found.add("job_seeker")
    return found


def _wants_contact_campaigns(activities: list[dict[str, Any]]) -> set[str]:
    attended = {a["campaign"] for a in activities if a["type"] == "webinar_attended"}
    wants = {
        a["campaign"]
        for a in activities
        if a["type"] == "survey_answered" and a["properties"].get("wants_contact") is True
    }
    return attended & wants


# ---- reproducibility ------------------------------------------------------------------------


def test_same_seed_gives_identical_data() -> None:
    first, second = generate(11, now=NOW, companies=100, people=1000), generate(11, now=NOW, companies=100, people=1000)
    assert first == second
    assert [a["source_id"] for a in first.activities] == [a["source_id"] for a in second.activities]


def test_a_different_seed_gives_different_data() -> None:
    small = {"companies": 40, "people": 300}
    assert generate(1, now=NOW, **small) != generate(2, now=NOW, **small)


def test_the_same_instant_in_another_timezone_gives_the_same_data() -> None:
    small = {"companies": 40, "people": 300}
    assert generate(3, now=NOW, **small) == generate(3, now=NOW.astimezone(UTC), **small)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate(now=datetime(2026, 11, 20, 15, 30))


@pytest.mark.parametrize("sizes", [{"companies": 5}, {"people": 10}, {"days": 3}])
def test_too_small_sizes_are_rejected(sizes: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        generate(now=NOW, **sizes)


# ---- time -----------------------------------------------------------------------------------


def test_all_activity_times_are_aware_before_now_and_within_the_window(data: DemoData) -> None:
    start = NOW - timedelta(days=90)
    for activity in data.activities:
        occurred = activity["occurred_at"]
        assert occurred.tzinfo is not None
        assert occurred.utcoffset() == timedelta(hours=9)
        assert start < occurred < NOW


@pytest.mark.parametrize("days", [7, 30, 365])
def test_other_window_lengths_keep_activities_inside_the_window(days: int) -> None:
    small = generate(5, now=NOW, companies=40, people=300, days=days)
    start = NOW - timedelta(days=days)
    assert small.activities
    assert all(start < a["occurred_at"] < NOW for a in small.activities)
    signals = {"trade_show_visited", "booth_visited", "webinar_attended", "survey_answered", "bant_collected"}
    assert all(a["occurred_at"] > NOW - timedelta(days=180) for a in small.activities if a["type"] in signals)


def test_activities_are_sorted_by_time(data: DemoData) -> None:
    times = [a["occurred_at"] for a in data.activities]
    assert times == sorted(times)


def test_most_activities_happen_in_japanese_business_hours(data: DemoData) -> None:
    def in_hours(t: datetime) -> bool:
        local = t.astimezone(TOKYO)
        return local.weekday() < 5 and 8 <= local.hour < 20

    share = sum(in_hours(a["occurred_at"]) for a in data.activities) / len(data.activities)
    assert share > 0.7


def test_webinar_steps_happen_in_order(data: DemoData, by_email: dict[str, list[dict[str, Any]]]) -> None:
    for activities in by_email.values():
        registered = {a["campaign"]: a["occurred_at"] for a in activities if a["type"] == "webinar_registered"}
        for a in activities:
            if a["type"] in ("webinar_attended", "webinar_no_show", "survey_answered"):
                assert registered[a["campaign"]] < a["occurred_at"]


# ---- shape ----------------------------------------------------------------------------------


def test_sizes_are_as_asked(data: DemoData) -> None:
    assert len(data.accounts) == 300
    assert len(data.leads) == 3000
    assert len(data.truth) == 3000


def test_every_activity_belongs_to_a_lead_and_a_campaign(data: DemoData) -> None:
    emails = {lead["email"] for lead in data.leads}
    codes = {c["code"] for c in data.campaigns}
    for activity in data.activities:
        assert activity["email"] in emails
        assert activity["campaign"] in codes
        assert activity["type"] in ACTIVITY_TYPES
        assert activity["product"] in (None, "analytics", "crm")


def test_emails_are_unique_lower_case_and_match_the_truth(data: DemoData) -> None:
    emails = [lead["email"] for lead in data.leads]
    assert len(set(emails)) == len(emails)
    assert all(e == e.lower() and e.isascii() and e.count("@") == 1 for e in emails)
    assert set(emails) == set(data.truth)


def test_leads_belong_to_accounts_by_domain_except_free_mail_people(data: DemoData) -> None:
    accounts = {a["domain"]: a for a in data.accounts}
    assert len(accounts) == len(data.accounts)
    for lead in data.leads:
        domain = lead["company_domain"]
        if domain is None:
            assert data.truth[lead["email"]] == "free_mail"
            assert lead["email"].rsplit("@", 1)[1] in FREE_MAIL
        else:
            assert lead["email"].endswith("@" + domain)
            assert lead["country"] == accounts[domain]["country"]


def test_companies_have_several_people(data: DemoData) -> None:
    per_company = Counter(lead["company_domain"] for lead in data.leads if lead["company_domain"])
    assert len(per_company) < len(data.leads) / 5
    assert max(per_company.values()) <= 25
    assert sum(1 for n in per_company.values() if n >= 5) > 100


def _fits(value: object, hint: object) -> bool:
    """Whether ``value`` is of the declared type ``hint`` (a class, a union, ``Any`` or a generic alias)."""
    if hint is Any:
        return True
    origin = get_origin(hint)
    if origin in (Union, UnionType):
        return any(_fits(value, arg) for arg in get_args(hint))
    if isinstance(origin, type):
        return isinstance(value, origin)
    if isinstance(hint, type):
        return isinstance(value, hint)
    raise TypeError(f"no check for the type hint {hint!r}")


def _mismatches(record: dict[str, Any], model: type[Any]) -> list[str]:
    """What keeps ``record`` from being exactly ``model``'s fields: missing or extra keys, wrong types."""
    hints = get_type_hints(model)
    names = {f.name for f in fields(model)}
    problems = [f"missing {name}" for name in sorted(names - set(record))]
    problems += [f"unknown {key}" for key in sorted(set(record) - names)]
    problems += [f"{key}={value!r}" for key, value in record.items() if key in names and not _fits(value, hints[key])]
    return problems


def test_records_fit_the_domain_model(data: DemoData) -> None:
    for account in data.accounts:
        assert _mismatches(account, Account) == [], account
        assert asdict(Account(**account)) == account
    for campaign in data.campaigns:
        assert _mismatches(campaign, Campaign) == [], campaign
        assert asdict(Campaign(**campaign)) == campaign
    for record in data.leads:
        lead_fields = {k: v for k, v in record.items() if k != "company_domain"}
        assert _mismatches({**lead_fields, "external_id": None}, Lead) == [], record
        lead = Lead(**lead_fields)
        assert asdict(lead) == {**lead_fields, "external_id": None}
        assert lead.key == record["email"]
        assert lead.domain == record["email"].rsplit("@", 1)[1]
        assert record["company_domain"] in (None, lead.domain)


def test_lead_fields_use_the_documented_vocabularies(data: DemoData) -> None:
    for lead in data.leads:
        assert lead["seniority"] in ("executive", "director", "manager", "staff", "student", None)
        assert lead["department"] in ("it", "marketing", "sales", "management", "finance", "hr", "engineering", "other")
        assert lead["source_channel"] in (
            "trade_show",
            "webinar",
            "document",
            "web_form",
            "ads",
            "purchased_list",
            "bdr",
        )
        assert lead["list_source"] in ("house", "purchased", "bdr")
        assert (lead["list_source"] == "purchased") == (lead["source_channel"] == "purchased_list")


# ---- realism --------------------------------------------------------------------------------


def test_about_four_in_five_companies_are_japanese(data: DemoData) -> None:
    japanese = [a for a in data.accounts if a["country"] == "JP"]
    assert 0.75 <= len(japanese) / len(data.accounts) <= 0.9
    assert all(a["prefecture"] for a in japanese)
    assert all(a["prefecture"] is None for a in data.accounts if a["country"] != "JP")
    prefectures = Counter(a["prefecture"] for a in japanese)
    assert prefectures.most_common(1)[0][0] == "東京都"
    assert sum(prefectures[p] for p in KINKI) >= 20
    assert len(prefectures) >= 20


def test_japanese_postal_codes_and_phones_fit_the_prefecture(data: DemoData) -> None:
    postal_ranges = {
        "東京都": (100, 208),
        "大阪府": (530, 599),
        "京都府": (600, 629),
        "兵庫県": (650, 679),
        "奈良県": (630, 639),
        "和歌山県": (640, 649),
        "滋賀県": (520, 529),
        "愛知県": (440, 499),
        "福岡県": (800, 839),
        "北海道": (40, 99),
    }
    area_codes = {
        "東京都": ("03", "042"),
        "大阪府": ("06", "072"),
        "京都府": ("075", "0774"),
        "福岡県": ("092", "093"),
        "北海道": ("011", "0166"),
    }
    mobile = ("090", "080", "070")
    seen: Counter[str] = Counter()
    for lead in data.leads:
        if lead["country"] != "JP":
            assert lead["prefecture"] is None and lead["postal_code"] is None
            continue
        postal = lead["postal_code"]
        assert len(postal) == 8 and postal[3] == "-" and postal.replace("-", "").isdigit()
        if lead["prefecture"] in postal_ranges:
            low, high = postal_ranges[lead["prefecture"]]
            assert low <= int(postal[:3]) <= high
            seen[lead["prefecture"]] += 1
        area = lead["phone"].split("-", 1)[0]
        assert len(lead["phone"].replace("-", "")) in (10, 11)
        if lead["prefecture"] in area_codes and area not in mobile:
            assert area in area_codes[lead["prefecture"]]
    assert seen["東京都"] > seen["大阪府"] > 0


def test_employee_counts_spread_from_ten_to_twenty_thousand(data: DemoData) -> None:
    employees = [a["employees"] for a in data.accounts]
    assert min(employees) >= 10 and max(employees) <= 20000
    assert any(n < 50 for n in employees) and any(n >= 5000 for n in employees)


def test_about_fifteen_named_and_target_accounts_and_only_named_ones_have_owners(data: DemoData) -> None:
    tiered = [a for a in data.accounts if a["tier"]]
    assert 10 <= len(tiered) <= 20
    assert {a["tier"] for a in tiered} == {"named", "target"}
    for account in data.accounts:
        if account["tier"] == "named":
            assert account["owner"].startswith("rep-")
        else:
            assert account["owner"] is None


def test_competitor_domains_are_the_playbook_ones(data: DemoData) -> None:
    assert {a["domain"] for a in data.accounts} >= COMPETITORS
    assert {lead["company_domain"] for lead in data.leads if data.truth[lead["email"]] == "competitor"} <= COMPETITORS


def test_campaigns_cover_the_usual_b2b_programmes(data: DemoData) -> None:
    codes = [c["code"] for c in data.campaigns]
    assert len(set(codes)) == len(codes)
    channels = Counter(c["channel"] for c in data.campaigns)
    assert channels["trade_show"] >= 1
    assert 3 <= channels["webinar"] <= 4
    assert 2 <= channels["document"] <= 3
    assert channels["ads"] >= 1 and channels["web_form"] >= 1 and channels["inside_sales"] >= 1
    assert any(c["channel"] == "email" and c["kind"] == "nurture" for c in data.campaigns)
    assert {c["kind"] for c in data.campaigns} <= {"acquisition", "nurture", "pipeline"}
    assert "ts-2026-dx-expo" in codes


def test_some_people_move_through_several_campaigns(by_email: dict[str, list[dict[str, Any]]]) -> None:
    journeys = 0
    for activities in by_email.values():
        kinds = [a["type"] for a in activities]
        if "trade_show_visited" in kinds and "document_downloaded" in kinds and "survey_answered" in kinds:
            journeys += 1
    assert journeys >= 5


# ---- duplicates -----------------------------------------------------------------------------


def test_duplicates_count_matches_repeated_source_ids(data: DemoData) -> None:
    counts = Counter(a["source_id"] for a in data.activities)
    assert data.duplicates > 0
    assert sum(n - 1 for n in counts.values()) == data.duplicates
    first: dict[str, dict[str, Any]] = {}
    for activity in data.activities:
        if activity["source_id"] in first:
            assert activity == first[activity["source_id"]]
            assert activity is not first[activity["source_id"]]
        first.setdefault(activity["source_id"], activity)


# ---- personas -------------------------------------------------------------------------------


def test_every_persona_appears_at_default_size(data: DemoData) -> None:
    counts = Counter(data.truth.values())
    assert set(counts) == set(PERSONAS)
    for persona, share in PERSONA_SHARES.items():
        assert counts[persona] > 0
        assert abs(counts[persona] / len(data.truth) - share) < 0.005


def test_disqualifying_personas_have_exactly_their_own_trait(data: DemoData) -> None:
    for lead in data.leads:
        persona = data.truth[lead["email"]]
        expected = {persona} if persona in DISQUALIFYING else set()
        assert _traits(lead) == expected, (persona, lead)


def test_strong_personas_are_at_target_companies(data: DemoData) -> None:
    industries = {a["domain"]: a["industry"] for a in data.accounts}
    for lead in data.leads:
        if data.truth[lead["email"]] in STRONG:
            assert industries[lead["company_domain"]] in TARGET_INDUSTRIES


def test_qualifying_signals_belong_to_their_personas(data: DemoData, by_email: dict[str, list[dict[str, Any]]]) -> None:
    for email, persona in data.truth.items():
        activities = by_email.get(email, [])
        types = {a["type"] for a in activities}
        booth_talk = any(
            a["type"] == "booth_visited" and a["properties"].get("detailed_talk") is True for a in activities
        )
        assert booth_talk == (persona == "booth_talk"), email
        assert bool(_wants_contact_campaigns(activities)) == (persona == "webinar_wants_contact"), email
        assert ("bant_collected" in types) == (persona == "bant"), email
        if persona not in DISQUALIFYING:
            assert bool(types & HAND_RAISES) == (persona == "hand_raiser"), email
            assert not any(a["properties"].get("page_kind") == "careers" for a in activities), email


def test_engagement_personas_do_what_their_names_say(data: DemoData, by_email: dict[str, list[dict[str, Any]]]) -> None:
    for email, persona in data.truth.items():
        activities = by_email.get(email, [])
        types = {a["type"] for a in activities}
        delivery_opened = any(
            a["type"] == "email_opened" and a["properties"].get("kind") == "document_delivery" for a in activities
        )
        if persona == "dormant":
            assert not activities
        else:
            assert activities, email
        if persona == "trade_show_only":
            assert "trade_show_visited" in types and "booth_visited" not in types
            assert not types & {"webinar_attended", "document_downloaded"} and not delivery_opened
        elif persona == "document_only":
            assert "document_downloaded" in types and delivery_opened
            assert not types & {"webinar_attended", "trade_show_visited", "booth_visited"}
        elif persona == "webinar_attendee":
            assert {"webinar_registered", "webinar_attended"} <= types
        elif persona == "no_show":
            assert {"webinar_registered", "webinar_no_show"} <= types and "webinar_attended" not in types
        elif persona == "light":
            assert len(activities) <= 8
            assert types <= {"email_opened", "email_clicked", "ad_clicked", "page_viewed", "unsubscribed"}
            assert not delivery_opened
        elif persona == "engaged":
            assert len(activities) >= 8
        elif persona == "job_seeker":
            assert any(a["properties"].get("page_kind") == "careers" for a in activities)


def test_some_disqualified_people_raise_their_hands_too(
    data: DemoData, by_email: dict[str, list[dict[str, Any]]]
) -> None:
    raisers = Counter(
        persona for email, persona in data.truth.items() if {a["type"] for a in by_email.get(email, [])} & HAND_RAISES
    )
    assert raisers["hand_raiser"] == Counter(data.truth.values())["hand_raiser"]
    assert sum(raisers[p] for p in DISQUALIFYING) > 0
