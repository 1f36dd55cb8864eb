"""Every level has an owner (seed 003) and recycled leads need new evidence (seed 000): the pure rules.

The seed's table: level 1 → Marketing; levels 2 and 3 → HQ Inside Sales; level 4 → HQ Corporate Sales,
or Osaka Branch Sales for leads in Kinki — wherever the lead's place comes from (prefecture, postal
code alone, phone number alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from leadrelay.adapters.playbook.loader import PlaybookError, default_playbook_path, load_playbook, parse_playbook
from leadrelay.domain.conditions import Facts
from leadrelay.domain.evaluation import StageChange, derive_moves, sort_activities
from leadrelay.domain.lifecycle import Stage, Trigger
from leadrelay.domain.model import Account, Activity, Lead
from leadrelay.domain.playbook import Playbook
from leadrelay.domain.routing import RoutingInput, RoutingState, decide
from leadrelay.services.routing import place_of

JST = timezone(timedelta(hours=9), "JST")
DAY = datetime(2026, 11, 2, 10, 0, tzinfo=JST)  # a Monday
MONDAY = date(2026, 11, 2)
#: fit 30 (manufacturing 20 + 450 employees 10): passes the default gate of 20
ACCOUNT = Account("sakura-mfg.co.jp", name="さくら製作所", industry="manufacturing", employees=450)


def default() -> Playbook:
    return load_playbook(default_playbook_path()).playbook


def act(type_: str, at: datetime, key: str, campaign: str | None = None, **properties: Any) -> Activity:
    return Activity(key=key, type=type_, occurred_at=at, campaign=None, properties=properties, product=None)


def lead(prefecture: str | None = None, postal_code: str | None = None, phone: str | None = None) -> Lead:
    return Lead(
        email="k.sato@sakura-mfg.co.jp",
        seniority="manager",
        title="部長",
        prefecture=prefecture,
        postal_code=postal_code,
        phone=phone,
    )


def qualify(activities: Sequence[Activity], playbook: Playbook) -> list[StageChange]:
    return derive_moves(Stage.NEW, None, lead(), ACCOUNT, sort_activities(activities), playbook)


def owner_of(the_lead: Lead, level: int, playbook: Playbook) -> tuple[str, str | None]:
    """Where routing sends a qualified lead at ``level``: department and rep."""
    assert playbook.routing is not None
    facts = Facts(the_lead, ACCOUNT, [], DAY, {"level": float(level), "fit": 30.0, "engagement": 0.0})
    place = place_of(the_lead, ACCOUNT)
    owners = playbook.owners_at(level)
    decision = decide(playbook.routing, RoutingInput(facts, place, owners=owners), RoutingState(), MONDAY)
    return decision.department, decision.rep_id


TRADE_SHOW = act("trade_show_visited", DAY, "ts")
DOC_MAIL = act("email_opened", DAY, "dm", kind="document_delivery")
WEBINAR = act("webinar_attended", DAY, "wb")
BOOTH_TALK = act("booth_visited", DAY, "bt", detailed_talk=True)


@pytest.mark.parametrize(
    ("activity", "level", "rule", "department"),
    [
        (TRADE_SHOW, 1, None, None),
        (DOC_MAIL, 2, "handoff_level2_document_email_opened", "hq_inside_sales"),
        (WEBINAR, 3, "handoff_level3_webinar_attended", "hq_inside_sales"),
        (BOOTH_TALK, 4, "mql_level4", "hq_corporate_sales"),
    ],
    ids=["level1-marketing", "level2-inside-sales", "level3-inside-sales", "level4-field-sales"],
)
def test_each_row_of_the_seed_table_hands_the_lead_to_its_department(
    activity: Activity, level: int, rule: str | None, department: str | None
) -> None:
    playbook = default()
    [move] = qualify([activity], playbook)

    if rule is None:  # level 1: marketing keeps it in nurture, nobody in sales is assigned
        assert (move.to_stage, playbook.owners_at(level)) == (Stage.NURTURE, ())
        return
    assert (move.trigger, move.to_stage, move.rule_id, move.level) == (Trigger.QUALIFIED, Stage.MQL, rule, level)
    got_department, rep = owner_of(lead(prefecture="東京都"), level, playbook)
    assert got_department == department
    assert rep is not None and playbook.routing is not None
    assert playbook.routing.reps[rep].department == department


@pytest.mark.parametrize(
    ("place", "department"),
    [
        ({"prefecture": "大阪府"}, "osaka_branch"),
        ({"prefecture": "東京都"}, "hq_corporate_sales"),
        ({"postal_code": "〒600-8216"}, "osaka_branch"),  # Kyoto, known only from the postal code
        ({"postal_code": "100-0005"}, "hq_corporate_sales"),  # Tokyo (Marunouchi)
        ({"phone": "06-6123-4567"}, "osaka_branch"),  # Osaka, known only from the area code
        ({"phone": "+81 78-321-0000"}, "osaka_branch"),  # Kobe (Hyogo)
        ({"phone": "03-1234-5678"}, "hq_corporate_sales"),
        ({"phone": "090-1234-5678"}, "hq_corporate_sales"),  # a mobile number tells no place
    ],
)
def test_level_4_goes_to_osaka_for_kinki_and_to_hq_elsewhere(place: dict[str, str], department: str) -> None:
    assert owner_of(lead(**place), 4, default())[0] == department


def test_a_level_owned_by_inside_sales_skips_field_sales_rules_and_says_why() -> None:
    playbook = default()
    assert playbook.routing is not None
    facts = Facts(lead(prefecture="大阪府"), ACCOUNT, [], DAY, {"level": 3.0, "fit": 30.0, "engagement": 0.0})
    place = place_of(facts.lead, ACCOUNT)

    decision = decide(playbook.routing, RoutingInput(facts, place, owners=("hq_inside_sales",)), RoutingState(), MONDAY)

    assert decision.department == "hq_inside_sales"
    misses = {m.rule_id: m.reason for m in decision.misses}
    assert misses["route_level4_kinki"] == "level_owner"
    assert misses["route_level4"] == "level_owner"
    assert misses["route_named_account_osaka"] == "condition"  # named-account rules are not bound by the level


def test_a_level_lead_no_rep_can_take_waits_in_the_owning_departments_queue() -> None:
    playbook = default()
    assert playbook.routing is not None
    inside = playbook.routing.departments["hq_inside_sales"].reps
    facts = Facts(lead(), ACCOUNT, [], DAY, {"level": 2.0, "fit": 30.0, "engagement": 0.0})
    lead_input = RoutingInput(facts, place_of(facts.lead, ACCOUNT), frozenset(inside), owners=("hq_inside_sales",))

    decision = decide(playbook.routing, lead_input, RoutingState(), MONDAY)

    assert (decision.department, decision.rep_id) == ("hq_inside_sales", None)


# --- the playbook -------------------------------------------------------------------------------

HEADER = "id: t\nname: t\nversion: '1'\n"
ROUTING = """
routing:
  departments:
    - {id: marketing}
    - id: inside
      reps: [{id: r1, name: R1, email: r1@example.co.jp}]
  rules:
    - {id: to_inside, department: inside, strategy: round_robin}
  fallback: marketing
"""


def level(owner: str) -> str:
    return (
        f"levels:\n  - level: 2\n    id: l2\n    owner: {owner}\n    when: {{activity: {{type: webinar_attended}}}}\n"
    )


def test_a_level_may_name_its_owning_department_and_marketing_means_no_handoff() -> None:
    owned = parse_playbook(HEADER + level("inside") + ROUTING).playbook
    assert [(r.departments, r.owner) for r in owned.levels] == [(("inside",), "inside")]
    assert [r.id for r in owned.mql_rules] == ["handoff_l2"]

    marketing = parse_playbook(HEADER + level("marketing") + ROUTING).playbook
    assert [(r.departments, r.owner) for r in marketing.levels] == [((), "marketing")]
    assert marketing.mql_rules == ()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (level("sales") + ROUTING, r"^pb\.yaml:7: .*unknown department 'sales' \(declared: marketing, inside\)$"),
        (level("[inside, marketing]") + ROUTING, r"^pb\.yaml:7: .*'marketing' is marketing's queue"),
        (level("[inside, inside]") + ROUTING, r"^pb\.yaml:7: .*a department is listed twice$"),
        (level("inside"), r"^pb\.yaml:7: .*declare them under routing\.departments$"),
    ],
)
def test_a_level_owner_that_names_no_department_is_refused_with_its_line(body: str, message: str) -> None:
    with pytest.raises(PlaybookError, match=message):
        parse_playbook(HEADER + body, "pb.yaml")


@pytest.mark.parametrize(
    ("recycle", "message"),
    [
        ("{requalify: cooldown}", "cooldown needs cooldown_days"),
        ("{requalify: new_evidence, cooldown_days: 3}", "cooldown_days applies only with requalify: cooldown"),
        ("{requalify: sometimes}", "requalify"),
    ],
)
def test_a_requalify_policy_is_checked_when_the_playbook_loads(recycle: str, message: str) -> None:
    with pytest.raises(PlaybookError, match=message):
        parse_playbook(HEADER + f"sales:\n  recycle: {recycle}\n", "pb.yaml")


# --- re-qualification after a recycle (seed 000) --------------------------------------------------

RECYCLED_AT = DAY + timedelta(days=10)
NEWSLETTER = act("email_opened", RECYCLED_AT + timedelta(days=2), "nl", kind="newsletter")


def with_requalify(policy: str) -> Playbook:
    text = default_playbook_path().read_text(encoding="utf-8")
    assert "requalify: new_evidence" in text
    return parse_playbook(text.replace("requalify: new_evidence", policy)).playbook


def after_recycle(activities: Sequence[Activity], playbook: Playbook) -> list[StageChange]:
    """A lead handed over at level 3 (webinar), recycled by sales 10 days later, then active again."""
    history = sort_activities([WEBINAR, *activities])
    return derive_moves(Stage.RECYCLED, RECYCLED_AT, lead(), ACCOUNT, history, playbook)


def test_by_default_a_newsletter_open_does_not_send_a_recycled_lead_back_to_sales() -> None:
    assert after_recycle([NEWSLETTER], default()) == []


def test_by_default_new_evidence_after_the_recycle_qualifies_it_again() -> None:
    webinar_again = act("webinar_attended", RECYCLED_AT + timedelta(days=3), "wb2")

    [move] = after_recycle([NEWSLETTER, webinar_again], default())

    assert (move.from_stage, move.to_stage, move.at) == (Stage.RECYCLED, Stage.MQL, webinar_again.occurred_at)
    assert move.rule_id == "handoff_level3_webinar_attended"


def test_with_any_activity_the_old_evidence_still_counts() -> None:
    [move] = after_recycle([NEWSLETTER], with_requalify("requalify: any_activity"))

    assert (move.to_stage, move.at, move.rule_id) == (
        Stage.MQL,
        NEWSLETTER.occurred_at,
        "handoff_level3_webinar_attended",
    )


def test_a_cooldown_holds_the_lead_with_marketing_until_it_ends_except_for_a_hand_raise() -> None:
    playbook = with_requalify("requalify: cooldown\n    cooldown_days: 14")
    late = act("email_opened", RECYCLED_AT + timedelta(days=14, hours=1), "nl2", kind="newsletter")
    demo = act("demo_requested", RECYCLED_AT + timedelta(days=1), "demo")

    assert after_recycle([NEWSLETTER], playbook) == []  # day 2 of 14
    [move] = after_recycle([NEWSLETTER, late], playbook)
    assert (move.to_stage, move.at) == (Stage.MQL, late.occurred_at)
    [raised] = after_recycle([demo], playbook)
    assert (raised.trigger, raised.at) == (Trigger.HAND_RAISED, demo.occurred_at)
