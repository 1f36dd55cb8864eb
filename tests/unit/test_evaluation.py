"""Judging leads with the default playbook: levels, hand-raisers, MQL, nurture and disqualification."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadrelay.adapters.playbook.loader import default_playbook_path, load_playbook, parse_playbook
from leadrelay.domain.evaluation import Assessment, StageChange, assess, derive_moves, sort_activities
from leadrelay.domain.lifecycle import Stage, Trigger
from leadrelay.domain.model import Account, Activity, Campaign, Lead
from leadrelay.domain.playbook import Playbook
from tests.conftest import JST, NOW


@cache
def default() -> Playbook:
    return load_playbook(default_playbook_path()).playbook


#: A target lead: manufacturing (20) + 450 employees (10) = fit 30, above the gate of 20.
LEAD = Lead(email="taro.yamada@acme.co.jp", last_name="Yamada", title="Engineer", country="JP")
ACCOUNT = Account(domain="acme.co.jp", name="Acme", industry="manufacturing", employees=450, country="JP")
#: A non-target company: no fit points at all.
SMALL_SHOP = Account(domain="corner-shop.jp", name="Corner Shop", industry="education", employees=8, country="JP")
SHOP_LEAD = Lead(email="hanako@corner-shop.jp", title="Owner", country="JP")

DAY = datetime(2026, 11, 20, 10, 0, tzinfo=JST)


def act(type_: str, at: datetime, key: str, campaign: str | None = None, **properties: Any) -> Activity:
    return Activity(
        key=key,
        type=type_,
        occurred_at=at,
        campaign=Campaign(campaign, kind="nurture") if campaign else None,
        properties=properties,
    )


def judge(activities: Sequence[Activity], lead: Lead = LEAD, account: Account | None = ACCOUNT) -> Assessment:
    return assess(lead, account, sort_activities(activities), default(), NOW)


def level_of(activities: Sequence[Activity]) -> int | None:
    decision = judge(activities).level
    return decision.level if decision else None


def moves(
    activities: Sequence[Activity],
    stage: Stage = Stage.NEW,
    anchor: datetime | None = None,
    lead: Lead = LEAD,
    account: Account | None = ACCOUNT,
    **options: Any,
) -> list[StageChange]:
    return derive_moves(stage, anchor, lead, account, sort_activities(activities), default(), **options)


def summary(changes: list[StageChange]) -> list[tuple[Trigger, Stage, Stage, datetime, str | None]]:
    return [(c.trigger, c.from_stage, c.to_stage, c.at, c.rule_id) for c in changes]


TRADE_SHOW = act("trade_show_visited", DAY, "ts", "TS-2026")
DOC_MAIL = act("email_opened", DAY + timedelta(hours=1), "dm", "DOC-01", kind="document_delivery")
NEWSLETTER = act("email_opened", DAY + timedelta(hours=1), "nl", "NL-11", kind="newsletter")
WEBINAR = act("webinar_attended", DAY + timedelta(hours=2), "wb", "WB-01")
SURVEY_SAME = act("survey_answered", DAY + timedelta(hours=3), "sv1", "WB-01", wants_contact=True)
SURVEY_OTHER = act("survey_answered", DAY + timedelta(hours=3), "sv2", "WB-02", wants_contact=True)
BOOTH_TALK = act("booth_visited", DAY + timedelta(hours=4), "bt", "TS-2026", detailed_talk=True)
BOOTH_PASSING = act("booth_visited", DAY + timedelta(hours=4), "bp", "TS-2026", detailed_talk=False)


# --- the level table of the seed articles ----------------------------------------------------


def test_trade_show_visit_only_is_level_1() -> None:
    decision = judge([TRADE_SHOW]).level
    assert decision is not None
    assert (decision.level, decision.rule_id, decision.owner) == (1, "level1_trade_show", "Marketing")


def test_document_delivery_email_opened_is_level_2() -> None:
    assert level_of([DOC_MAIL]) == 2


def test_newsletter_email_opened_is_no_level() -> None:
    assert level_of([NEWSLETTER]) is None
    assert judge([NEWSLETTER]).scores["level"] == 0.0


def test_webinar_attended_is_level_3() -> None:
    decision = judge([WEBINAR]).level
    assert decision is not None
    assert (decision.level, decision.owner) == (3, "HQ Inside Sales")


def test_booth_visit_with_detailed_talk_is_level_4() -> None:
    decision = judge([TRADE_SHOW, BOOTH_TALK]).level
    assert decision is not None
    assert (decision.level, decision.rule_id) == (4, "level4_sales_conversation_wanted")


def test_booth_visit_without_detailed_talk_is_not_level_4() -> None:
    assert level_of([TRADE_SHOW, BOOTH_PASSING]) == 1


def test_webinar_plus_survey_wants_contact_in_the_same_webinar_is_level_4() -> None:
    assert level_of([WEBINAR, SURVEY_SAME]) == 4


def test_webinar_plus_survey_in_other_campaign_is_not_level_4() -> None:
    assert level_of([WEBINAR, SURVEY_OTHER]) == 3


def test_webinar_plus_survey_without_wants_contact_is_not_level_4() -> None:
    survey = act("survey_answered", DAY + timedelta(hours=3), "sv3", "WB-01", wants_contact=False)
    assert level_of([WEBINAR, survey]) == 3


def test_the_highest_level_wins() -> None:
    assert level_of([TRADE_SHOW, DOC_MAIL]) == 2
    assert level_of([TRADE_SHOW, DOC_MAIL, WEBINAR]) == 3
    assert level_of([TRADE_SHOW, DOC_MAIL, WEBINAR, BOOTH_TALK]) == 4
    assert judge([TRADE_SHOW, DOC_MAIL, WEBINAR, BOOTH_TALK]).scores["level"] == 4.0


def test_a_level_lapses_after_180_days() -> None:
    old_webinar = act("webinar_attended", NOW - timedelta(days=181), "old", "WB-00")
    assert level_of([old_webinar]) is None


# --- fit and scores in the assessment --------------------------------------------------------


def test_assessment_carries_fit_engagement_and_total() -> None:
    assessment = judge([WEBINAR])

    assert assessment.fit.total == 30
    assert [c.rule_id for c in assessment.fit.contributions] == ["target_industry", "company_size_mid"]
    assert assessment.fit_passed is True
    assert assessment.scores["fit"] == 30
    assert assessment.scores["engagement"] == pytest.approx(25 * 0.5 ** (5 / 45))  # 5 days old
    assert assessment.scores["total"] == assessment.scores["fit"] + assessment.scores["engagement"]


def test_non_target_company_fails_the_fit_gate() -> None:
    assert judge([WEBINAR], SHOP_LEAD, SMALL_SHOP).fit_passed is False


def test_assessment_ignores_activities_after_now() -> None:
    later = act("webinar_attended", NOW + timedelta(hours=1), "later", "WB-09")
    assert level_of([later]) is None
    assert judge([later]).scores["engagement"] == 0.0


# --- hand-raisers ----------------------------------------------------------------------------


def test_hand_raiser_goes_from_new_to_mql_at_the_activity_time_with_low_engagement() -> None:
    demo = act("demo_requested", DAY, "demo")

    [change] = moves([demo])

    assert summary([change]) == [(Trigger.HAND_RAISED, Stage.NEW, Stage.MQL, DAY, "hand_raiser_request")]
    assert change.priority is True
    assert change.activity_key == "demo"
    assert change.score == pytest.approx(30 + 40)  # fit 30, demo 40: below the threshold of 60 engagement
    assert change.reason == "Asked for a demo, contact or free audit: demo_requested"


def test_hand_raiser_after_nurture_moves_nurture_to_mql() -> None:
    demo = act("contact_requested", DAY + timedelta(days=1), "contact")

    assert summary(moves([NEWSLETTER, demo])) == [
        (Trigger.ENGAGED, Stage.NEW, Stage.NURTURE, NEWSLETTER.occurred_at, None),
        (Trigger.HAND_RAISED, Stage.NURTURE, Stage.MQL, demo.occurred_at, "hand_raiser_request"),
    ]


def test_hand_raiser_from_a_non_target_company_does_not_become_mql() -> None:
    demo = act("demo_requested", DAY, "demo")

    assert summary(moves([demo], lead=SHOP_LEAD, account=SMALL_SHOP)) == [
        (Trigger.ENGAGED, Stage.NEW, Stage.NURTURE, DAY, None),
    ]


def test_hand_raiser_bypasses_the_fit_gate_when_the_playbook_says_so() -> None:
    text = default_playbook_path().read_text(encoding="utf-8")
    assert "bypass_fit_gate: false" in text
    bypass = parse_playbook(text.replace("bypass_fit_gate: false", "bypass_fit_gate: true")).playbook
    demo = act("demo_requested", DAY, "demo")

    changes = derive_moves(Stage.NEW, None, SHOP_LEAD, SMALL_SHOP, [demo], bypass)

    assert summary(changes) == [(Trigger.HAND_RAISED, Stage.NEW, Stage.MQL, DAY, "hand_raiser_request")]


# --- nurture and MQL by rule -----------------------------------------------------------------


def test_lead_below_threshold_goes_from_new_to_nurture_at_its_first_activity() -> None:
    first = act("page_viewed", DAY, "p1", page_kind="service")
    second = act("page_viewed", DAY + timedelta(days=2), "p2", page_kind="case_study")

    [change] = moves([second, first])

    assert summary([change]) == [(Trigger.ENGAGED, Stage.NEW, Stage.NURTURE, DAY, None)]
    assert change.reason == "first activity: page_viewed"
    assert change.activity_key == "p1"


def test_mql_by_score_records_the_rule_and_the_activity_that_crossed_the_threshold() -> None:
    booth = act("booth_visited", DAY, "a0", "TS-2026", detailed_talk=False)  # 15, no level
    document = act("document_downloaded", DAY + timedelta(minutes=30), "a1", "WP-01")  # 10 -> 25
    pricing_1 = act("page_viewed", DAY + timedelta(hours=1), "a2", page_kind="pricing")  # 15
    pricing_2 = act("page_viewed", DAY + timedelta(hours=2), "a3", page_kind="pricing")  # 15 -> 55
    case_study = act("page_viewed", DAY + timedelta(hours=3), "a4", page_kind="case_study")  # 8 -> 63

    changes = moves([booth, document, pricing_1, pricing_2, case_study])

    assert summary(changes) == [
        (Trigger.ENGAGED, Stage.NEW, Stage.NURTURE, DAY, None),
        (Trigger.QUALIFIED, Stage.NURTURE, Stage.MQL, case_study.occurred_at, "mql_score"),
    ]
    qualified = changes[1]
    assert qualified.activity_key == "a4"
    assert qualified.level is None
    assert qualified.priority is False
    assert qualified.score is not None
    assert 62 < qualified.score - 30 < 63  # engagement just after the crossing, fit 30
    assert qualified.reason.startswith("Engagement score threshold: score.engagement is at least 60 (fit 30.0, ")


def test_level_4_lead_becomes_a_priority_mql_by_the_level_rule() -> None:
    changes = moves([BOOTH_TALK])

    assert summary(changes)[-1] == (Trigger.QUALIFIED, Stage.NEW, Stage.MQL, BOOTH_TALK.occurred_at, "mql_level4")
    assert (changes[-1].level, changes[-1].priority) == (4, True)


def test_webinar_and_survey_at_once_reach_level_4_and_go_to_field_sales() -> None:
    survey = act("survey_answered", WEBINAR.occurred_at, "sv0", "WB-01", wants_contact=True)

    changes = moves([WEBINAR, survey])

    assert summary(changes) == [(Trigger.QUALIFIED, Stage.NEW, Stage.MQL, WEBINAR.occurred_at, "mql_level4")]


def test_a_webinar_attendee_is_handed_to_inside_sales_by_the_level_table() -> None:
    changes = moves([WEBINAR])

    rule = "handoff_level3_webinar_attended"
    assert summary(changes) == [(Trigger.QUALIFIED, Stage.NEW, Stage.MQL, WEBINAR.occurred_at, rule)]
    assert changes[0].level == 3
    assert changes[0].reason.startswith("Level 3 is owned by HQ Inside Sales: level equals 3 (fit 30.0, ")


def test_a_document_mail_opener_is_handed_to_inside_sales_by_the_level_table() -> None:
    rule = "handoff_level2_document_email_opened"
    assert summary(moves([DOC_MAIL])) == [(Trigger.QUALIFIED, Stage.NEW, Stage.MQL, DOC_MAIL.occurred_at, rule)]


def test_a_trade_show_visitor_stays_with_marketing_at_level_1() -> None:
    assert summary(moves([TRADE_SHOW])) == [(Trigger.ENGAGED, Stage.NEW, Stage.NURTURE, DAY, None)]


def test_a_level_owned_by_sales_does_not_hand_over_a_lead_that_fails_the_fit_gate() -> None:
    assert summary(moves([WEBINAR], lead=SHOP_LEAD, account=SMALL_SHOP)) == [
        (Trigger.ENGAGED, Stage.NEW, Stage.NURTURE, WEBINAR.occurred_at, None),
    ]


def test_level_4_lead_from_a_non_target_company_stays_in_nurture() -> None:
    assert summary(moves([WEBINAR, SURVEY_SAME], lead=SHOP_LEAD, account=SMALL_SHOP)) == [
        (Trigger.ENGAGED, Stage.NEW, Stage.NURTURE, WEBINAR.occurred_at, None),
    ]


def test_recycled_lead_can_qualify_again() -> None:
    demo = act("demo_requested", DAY, "demo")

    assert summary(moves([demo], stage=Stage.RECYCLED)) == [
        (Trigger.HAND_RAISED, Stage.RECYCLED, Stage.MQL, DAY, "hand_raiser_request"),
    ]


@pytest.mark.parametrize("stage", [Stage.MQL, Stage.SAL, Stage.SQL, Stage.DISQUALIFIED, Stage.WON])
def test_activities_do_not_move_a_lead_outside_marketing_stages(stage: Stage) -> None:
    assert moves([act("demo_requested", DAY, "demo")], stage=stage) == []


# --- anchor ----------------------------------------------------------------------------------


def test_a_hand_raise_at_or_before_the_anchor_does_not_move_the_lead() -> None:
    anchor = DAY + timedelta(days=1)
    before = act("demo_requested", DAY, "before")
    at_anchor = act("demo_requested", anchor, "at")

    assert moves([before, at_anchor], stage=Stage.NURTURE, anchor=anchor) == []

    after = act("contact_requested", anchor + timedelta(hours=1), "after")
    assert summary(moves([before, at_anchor, after], stage=Stage.NURTURE, anchor=anchor)) == [
        (Trigger.HAND_RAISED, Stage.NURTURE, Stage.MQL, after.occurred_at, "hand_raiser_request"),
    ]


def test_a_new_lead_is_engaged_by_the_first_activity_after_the_anchor() -> None:
    anchor = DAY + timedelta(days=1)
    before = act("page_viewed", DAY, "before", page_kind="service")
    after = act("page_viewed", anchor + timedelta(hours=1), "after", page_kind="service")

    assert moves([before], stage=Stage.NEW, anchor=anchor) == []
    [change] = moves([before, after], stage=Stage.NEW, anchor=anchor)
    assert summary([change]) == [(Trigger.ENGAGED, Stage.NEW, Stage.NURTURE, after.occurred_at, None)]
    assert change.activity_key == "after"


def test_history_before_the_anchor_counts_when_a_later_activity_arrives() -> None:
    anchor = DAY + timedelta(days=1)
    newsletter = act("email_opened", anchor + timedelta(hours=2), "nl2", "NL-12", kind="newsletter")

    assert moves([WEBINAR, SURVEY_SAME], stage=Stage.NURTURE, anchor=anchor) == []
    assert summary(moves([WEBINAR, SURVEY_SAME, newsletter], stage=Stage.NURTURE, anchor=anchor)) == [
        (Trigger.QUALIFIED, Stage.NURTURE, Stage.MQL, newsletter.occurred_at, "mql_level4"),
    ]


def test_check_at_anchor_judges_the_lead_at_the_anchor_itself() -> None:
    anchor = DAY + timedelta(days=1)

    changes = moves([WEBINAR, SURVEY_SAME], stage=Stage.NURTURE, anchor=anchor, check_at_anchor=True)

    assert summary(changes) == [(Trigger.QUALIFIED, Stage.NURTURE, Stage.MQL, anchor, "mql_level4")]
    assert changes[0].activity_key is None


# --- order independence ----------------------------------------------------------------------

HISTORY = (
    act("email_opened", DAY, "h01", "NL-11", kind="newsletter"),
    act("email_opened", DAY, "h02", "NL-11", kind="newsletter"),
    act("page_viewed", DAY + timedelta(hours=1), "h03", page_kind="service"),
    act("document_downloaded", DAY + timedelta(hours=2), "h04", document="guide"),
    act("document_downloaded", DAY + timedelta(hours=2), "h05", document="guide"),
    act("page_viewed", DAY + timedelta(hours=3), "h06", page_kind="pricing"),
    act("page_viewed", DAY + timedelta(hours=3), "h07", page_kind="pricing"),
    act("page_viewed", DAY + timedelta(hours=3), "h08", page_kind="pricing"),
    act("webinar_attended", DAY + timedelta(hours=4), "h09", "WB-05"),
    act("document_downloaded", DAY + timedelta(hours=5), "h10", document="case"),
)


def test_the_order_independence_history_reaches_mql() -> None:
    assert [c.trigger for c in moves(HISTORY)] == [Trigger.ENGAGED, Trigger.QUALIFIED]


@settings(max_examples=60, deadline=None)
@given(st.permutations(HISTORY))
def test_derive_moves_gives_the_same_moves_whatever_the_input_order(shuffled: list[Activity]) -> None:
    assert moves(shuffled) == moves(HISTORY)
    assert judge(shuffled).scores == judge(HISTORY).scores


# --- disqualification ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lead", "rule_id", "reason"),
    [
        (Lead(email="taro@gmail.com", country="JP"), "free_mail", "free_mail"),
        (Lead(email="taro@mail.yahoo.co.jp", country="JP"), "free_mail", "free_mail"),
        (Lead(email="spy@rival-ma.co.jp", country="JP"), "competitor", "competitor"),
        (Lead(email="spy@jp.leadforge.io", country="JP"), "competitor", "competitor"),
        (Lead(email="jean@acme.fr", country="FR"), "country_not_served", "country_not_served"),
        (Lead(email="ken@acme.co.jp", title="大学院生", country="JP"), "student", "student"),
        (Lead(email="ken@acme.co.jp", title="Graduate Student", country="JP"), "student", "student"),
        (Lead(email="ken@acme.co.jp", seniority="student", country="JP"), "student", "student"),
        (Lead(email="ken@acme.co.jp", custom={"inquiry_type": "採用"}), "job_seeker", "job_seeker"),
    ],
)
def test_non_target_people_are_disqualified_with_the_rule_and_reason(lead: Lead, rule_id: str, reason: str) -> None:
    disqualification = judge([], lead=lead, account=None).disqualification

    assert disqualification is not None
    assert (disqualification.rule_id, disqualification.reason) == (rule_id, reason)


@pytest.mark.parametrize(
    ("lead", "account"),
    [
        (LEAD, ACCOUNT),
        (Lead(email="amy@acme.com", country="US", title="Customer Success Lead"), None),
        (Lead(email="ken@acme.co.jp"), None),  # country unknown: allowed
        (Lead(email="ken@acme.co.jp"), Account(domain="acme.co.jp", country="SG")),
        (Lead(email="ken@notgmail.com", country="JP"), None),
    ],
)
def test_target_people_are_not_disqualified(lead: Lead, account: Account | None) -> None:
    assert judge([], lead=lead, account=account).disqualification is None


def test_account_country_is_used_when_the_lead_has_none() -> None:
    assessment = judge([], lead=Lead(email="ken@acme.fr"), account=Account(domain="acme.fr", country="FR"))
    disqualification = assessment.disqualification
    assert disqualification is not None
    assert disqualification.rule_id == "country_not_served"
