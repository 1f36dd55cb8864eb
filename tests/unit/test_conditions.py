"""Conditions as data: the closed operator set, all/any/not, history nodes, errors and descriptions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from leadrelay.domain.conditions import (
    ACTIVITY_SCOPE,
    ALWAYS,
    LEAD_SCOPE,
    OPERATORS,
    ConditionError,
    Facts,
    parse_condition,
)
from leadrelay.domain.model import Account, Activity, Campaign, Lead
from tests.conftest import NOW

LEAD = Lead(
    email="taro.yamada@acme.co.jp",
    first_name="Taro",
    last_name="Yamada",
    title="IT Manager",
    seniority="manager",
    department="it",
    country="JP",
    prefecture="大阪府",
    custom={"budget": "1200000", "inquiry_type": "product"},
)
ACCOUNT = Account(domain="acme.co.jp", name="Acme", industry="manufacturing", employees=450, tier="named")


def facts(
    activities: Sequence[Activity] = (),
    *,
    lead: Lead = LEAD,
    account: Account | None = ACCOUNT,
    scores: dict[str, float] | None = None,
) -> Facts:
    return Facts(lead, account, list(activities), NOW, dict(scores or {}))


def activity(
    type_: str,
    days_ago: float = 1,
    campaign: str | None = None,
    key: str | None = None,
    product: str | None = None,
    **properties: Any,
) -> Activity:
    return Activity(
        key=key or f"{type_}-{campaign}-{days_ago}",
        type=type_,
        occurred_at=NOW - timedelta(days=days_ago),
        campaign=Campaign(campaign, name=f"Campaign {campaign}", channel="webinar", kind="nurture")
        if campaign
        else None,
        product=product,
        properties=properties,
    )


def on_lead(condition: dict[str, Any], subject: Facts | None = None) -> bool:
    return parse_condition(condition, LEAD_SCOPE)(subject if subject is not None else facts())


def on_activity(condition: dict[str, Any], subject: Activity) -> bool:
    return parse_condition(condition, ACTIVITY_SCOPE)(subject)


def props(**properties: Any) -> Activity:
    return activity("form_submitted", **properties)


# --- operators -------------------------------------------------------------------------------


def test_the_operator_registry_is_the_closed_documented_set() -> None:
    assert list(OPERATORS) == [
        "eq",
        "ne",
        "in",
        "not_in",
        "gt",
        "gte",
        "lt",
        "lte",
        "between",
        "contains",
        "not_contains",
        "contains_any",
        "starts_with",
        "ends_with",
        "matches",
        "exists",
        "not_exists",
    ]


OPERATOR_CASES: list[tuple[str, Any, Any, bool]] = [
    ("eq", "Manager", "manager", True),
    ("eq", "manager", "MANAGER", True),
    ("eq", "manager", "director", False),
    ("eq", "manager", None, False),
    ("eq", 100, "100", True),
    ("eq", 100, "100.0", True),
    ("eq", 100, "one hundred", False),
    ("eq", 100, None, False),
    ("eq", True, "yes", True),
    ("eq", True, "はい", True),
    ("eq", True, True, True),
    ("eq", True, "no", False),
    ("eq", True, None, False),
    ("eq", False, None, True),
    ("ne", "manager", "Manager", False),
    ("ne", "manager", "director", True),
    ("ne", "manager", None, True),
    ("in", ["IT", "Finance"], "it", True),
    ("in", ["it", "finance"], "Finance", True),
    ("in", ["it", "finance"], "retail", False),
    ("in", ["it", "finance"], None, False),
    ("in", [1, 2], "2", True),
    ("not_in", ["it", "finance"], "IT", False),
    ("not_in", ["it", "finance"], "retail", True),
    ("not_in", ["it", "finance"], None, True),
    ("gt", 10, "11", True),
    ("gt", 10, 10, False),
    ("gt", 10, "ten", False),
    ("gt", 10, None, False),
    ("gt", 10, True, False),
    ("gte", 10, "10", True),
    ("gte", 10, 9.99, False),
    ("lt", 10, "9.5", True),
    ("lt", 10, 10, False),
    ("lt", 10, None, False),
    ("lte", 10, " 10 ", True),
    ("lte", 10, 10.01, False),
    ("between", [100, 999], "100", True),
    ("between", [100, 999], 999, True),
    ("between", [100, 999], 99, False),
    ("between", [100, 999], 1000, False),
    ("between", [100, 999], None, False),
    ("contains", "manager", "Senior MANAGER, IT", True),
    ("contains", "manager", "Director", False),
    ("contains", "manager", None, False),
    ("contains", "analytics", ["CRM", "Analytics"], True),
    ("contains", "analytics", ["crm"], False),
    ("not_contains", "manager", "Director", True),
    ("not_contains", "manager", "IT Manager", False),
    ("contains_any", ["student", "学生"], "工学部の学生", True),
    ("contains_any", ["student", "学生"], "大学院生", False),
    ("contains_any", ["student", "学生"], "Graduate Student", True),
    ("contains_any", ["student", "学生"], "Engineer", False),
    ("starts_with", "info", "INFO-desk", True),
    ("starts_with", "info", "desk-info", False),
    ("starts_with", "info", None, False),
    ("ends_with", ".co.jp", "acme.CO.JP", True),
    ("ends_with", ".co.jp", "acme.com", False),
    ("ends_with", ".co.jp", None, False),
    ("matches", r"^cx?o$", "CTO", False),
    ("matches", r"^c.o$", "CTO", True),
    ("matches", r"\d{3}-\d{4}", "530-0001", True),
    ("matches", r"\d{3}-\d{4}", None, False),
    ("exists", None, "x", True),
    ("exists", None, 0, True),
    ("exists", None, None, False),
    ("exists", None, "", False),
    ("exists", None, [], False),
    ("not_exists", None, None, True),
    ("not_exists", None, "", True),
    ("not_exists", None, "x", False),
]


@pytest.mark.parametrize(("op", "value", "actual", "expected"), OPERATOR_CASES)
def test_each_operator_compares_an_activity_property(op: str, value: Any, actual: Any, expected: bool) -> None:
    condition: dict[str, Any] = {"field": "activity.properties.x", "op": op}
    if OPERATORS[op].value != "none":
        condition["value"] = value
    subject = props() if actual is None else props(x=actual)

    assert on_activity(condition, subject) is expected


def test_every_operator_has_a_true_and_a_false_case_above() -> None:
    outcomes: dict[str, set[bool]] = {}
    for op, _value, _actual, expected in OPERATOR_CASES:
        outcomes.setdefault(op, set()).add(expected)
    assert outcomes == {op: {True, False} for op in OPERATORS}


def test_op_defaults_to_eq_when_omitted() -> None:
    assert on_lead({"field": "lead.seniority", "value": "MANAGER"}) is True
    assert on_lead({"field": "lead.seniority", "value": "director"}) is False


def test_number_given_as_string_in_a_custom_field_is_compared_as_a_number() -> None:
    assert on_lead({"field": "lead.custom.budget", "op": "gte", "value": 1_000_000}) is True
    assert on_lead({"field": "lead.custom.budget", "op": "gt", "value": 1_200_000}) is False


def test_missing_account_reads_as_none_for_account_fields() -> None:
    no_account = facts(account=None)
    assert on_lead({"field": "account.industry", "op": "in", "value": ["manufacturing"]}, no_account) is False
    assert on_lead({"field": "account.industry", "op": "not_exists"}, no_account) is True
    assert on_lead({"field": "account.industry", "op": "in", "value": ["manufacturing"]}) is True


def test_lead_derived_fields_domain_and_name_are_readable() -> None:
    assert on_lead({"field": "lead.domain", "op": "eq", "value": "acme.co.jp"}) is True
    assert on_lead({"field": "lead.name", "op": "eq", "value": "Yamada Taro"}) is True


def test_score_fields_read_the_scores_and_default_to_zero() -> None:
    scored = facts(scores={"fit": 35.0, "engagement": 12.5, "total": 47.5, "product.analytics": 31.0})
    assert on_lead({"field": "score.fit", "op": "gte", "value": 35}, scored) is True
    assert on_lead({"field": "score.total", "op": "lt", "value": 47.5}, scored) is False
    assert on_lead({"field": "score.product.analytics", "op": "gte", "value": 30}, scored) is True
    assert on_lead({"field": "score.product.crm", "op": "eq", "value": 0}, scored) is True


def test_activity_campaign_and_product_fields_are_readable() -> None:
    subject = activity("webinar_attended", campaign="WB-2026-11", product="analytics")
    assert on_activity({"field": "activity.campaign.code", "op": "eq", "value": "wb-2026-11"}, subject) is True
    assert on_activity({"field": "activity.campaign.channel", "op": "eq", "value": "webinar"}, subject) is True
    assert on_activity({"field": "activity.product", "op": "eq", "value": "analytics"}, subject) is True
    assert on_activity({"field": "activity.type", "op": "eq", "value": "webinar_attended"}, subject) is True
    assert on_activity({"field": "activity.campaign.code", "op": "exists"}, props()) is False


# --- all / any / not -------------------------------------------------------------------------


MANAGER = {"field": "lead.seniority", "op": "eq", "value": "manager"}
DIRECTOR = {"field": "lead.seniority", "op": "eq", "value": "director"}
IN_IT = {"field": "lead.department", "op": "eq", "value": "it"}


def test_all_is_true_only_when_every_part_is_true() -> None:
    assert on_lead({"all": [MANAGER, IN_IT]}) is True
    assert on_lead({"all": [MANAGER, DIRECTOR]}) is False


def test_any_is_true_when_one_part_is_true() -> None:
    assert on_lead({"any": [DIRECTOR, IN_IT]}) is True
    assert on_lead({"any": [DIRECTOR, {"not": IN_IT}]}) is False


def test_not_inverts_its_condition() -> None:
    assert on_lead({"not": MANAGER}) is False
    assert on_lead({"not": DIRECTOR}) is True


def test_nested_trees_combine() -> None:
    tree = {"all": [{"any": [DIRECTOR, MANAGER]}, {"not": {"field": "lead.country", "op": "ne", "value": "jp"}}]}
    assert on_lead(tree) is True


def test_no_condition_is_always_true() -> None:
    assert parse_condition(None, LEAD_SCOPE) is ALWAYS
    assert ALWAYS(facts()) is True


# --- level -----------------------------------------------------------------------------------


def test_level_field_reads_the_level_score() -> None:
    assert on_lead({"field": "level", "op": "gte", "value": 4}, facts(scores={"level": 4.0})) is True
    assert on_lead({"field": "level", "op": "gte", "value": 4}, facts(scores={"level": 3.0})) is False
    assert on_lead({"field": "level", "op": "eq", "value": 0}, facts()) is True


# --- activity nodes --------------------------------------------------------------------------


def test_activity_node_finds_a_matching_activity_of_the_type() -> None:
    condition = {"activity": {"type": "webinar_attended"}}
    assert on_lead(condition, facts([activity("webinar_attended", 3)])) is True
    assert on_lead(condition, facts([activity("webinar_registered", 3)])) is False


def test_activity_node_accepts_a_list_of_types() -> None:
    condition = {"activity": {"type": ["demo_requested", "contact_requested"]}}
    assert on_lead(condition, facts([activity("contact_requested")])) is True
    assert on_lead(condition, facts([activity("free_audit_requested")])) is False


def test_activity_node_within_days_ignores_older_activities() -> None:
    condition = {"activity": {"type": "webinar_attended", "within_days": 30}}
    assert on_lead(condition, facts([activity("webinar_attended", 29.9)])) is True
    assert on_lead(condition, facts([activity("webinar_attended", 30.1)])) is False


def test_activity_node_where_filters_on_properties() -> None:
    condition = {
        "activity": {
            "type": "booth_visited",
            "where": {"field": "activity.properties.detailed_talk", "op": "eq", "value": True},
        }
    }
    assert on_lead(condition, facts([activity("booth_visited", detailed_talk=True)])) is True
    assert on_lead(condition, facts([activity("booth_visited", detailed_talk=False)])) is False
    assert on_lead(condition, facts([activity("booth_visited")])) is False


def test_activity_node_min_count_needs_that_many_matches_in_the_window() -> None:
    condition = {"activity": {"type": "page_viewed", "min_count": 3, "within_days": 7}}
    two_recent = [activity("page_viewed", 1, key="a"), activity("page_viewed", 2, key="b")]
    one_old = [activity("page_viewed", 10, key="c")]
    three_recent = [*two_recent, activity("page_viewed", 6, key="d")]

    assert on_lead(condition, facts(two_recent)) is False
    assert on_lead(condition, facts(two_recent + one_old)) is False
    assert on_lead(condition, facts(three_recent)) is True


# --- same_campaign ---------------------------------------------------------------------------

SAME_CAMPAIGN = {
    "same_campaign": {
        "all": [
            {"type": "webinar_attended"},
            {
                "type": "survey_answered",
                "where": {"field": "activity.properties.wants_contact", "op": "eq", "value": True},
            },
        ]
    }
}


def test_webinar_attended_and_survey_wants_contact_in_the_same_campaign_is_true() -> None:
    history = [
        activity("webinar_attended", 2, campaign="WB-01"),
        activity("survey_answered", 2, campaign="WB-01", wants_contact=True),
    ]
    assert on_lead(SAME_CAMPAIGN, facts(history)) is True


def test_webinar_attended_and_survey_wants_contact_in_different_campaigns_is_false() -> None:
    history = [
        activity("webinar_attended", 2, campaign="WB-01"),
        activity("survey_answered", 2, campaign="WB-02", wants_contact=True),
    ]
    assert on_lead(SAME_CAMPAIGN, facts(history)) is False


def test_same_campaign_needs_the_survey_where_clause_to_hold() -> None:
    history = [
        activity("webinar_attended", 2, campaign="WB-01"),
        activity("survey_answered", 2, campaign="WB-01", wants_contact=False),
    ]
    assert on_lead(SAME_CAMPAIGN, facts(history)) is False


def test_same_campaign_ignores_activities_without_a_campaign() -> None:
    history = [activity("webinar_attended", 2), activity("survey_answered", 2, wants_contact=True)]
    assert on_lead(SAME_CAMPAIGN, facts(history)) is False


def test_same_campaign_within_days_drops_an_old_half() -> None:
    condition = {"same_campaign": {**SAME_CAMPAIGN["same_campaign"], "within_days": 30}}
    history = [
        activity("webinar_attended", 40, campaign="WB-01"),
        activity("survey_answered", 2, campaign="WB-01", wants_contact=True),
    ]
    assert on_lead(condition, facts(history)) is False
    assert on_lead(SAME_CAMPAIGN, facts(history)) is True


# --- parse errors ----------------------------------------------------------------------------


def parse_error(data: Any, scope: str = LEAD_SCOPE) -> ConditionError:
    with pytest.raises(ConditionError) as caught:
        parse_condition(data, scope, ("levels", 0, "when"))
    return caught.value


def test_unknown_operator_is_refused_with_its_path() -> None:
    error = parse_error({"all": [MANAGER, {"field": "lead.title", "op": "like", "value": "x"}]})
    assert error.path == ("levels", 0, "when", "all", 1, "op")
    assert "unknown operator 'like'" in error.message
    assert "eq, ne, in" in error.message


def test_unknown_field_is_refused_with_its_path() -> None:
    error = parse_error({"any": [{"field": "lead.salary", "op": "gt", "value": 1}]})
    assert error.path == ("levels", 0, "when", "any", 0, "field")
    assert error.message.startswith("unknown field 'lead.salary'")


def test_unknown_root_field_is_refused() -> None:
    error = parse_error({"field": "person.title", "op": "eq", "value": "x"})
    assert error.path == ("levels", 0, "when", "field")
    assert "'person.title' is not available here" in error.message


def test_missing_value_is_refused() -> None:
    error = parse_error({"field": "lead.title", "op": "contains"})
    assert error.path == ("levels", 0, "when", "value")
    assert error.message == "operator 'contains' needs a value"


def test_value_given_to_exists_is_refused() -> None:
    error = parse_error({"field": "lead.title", "op": "exists", "value": True})
    assert error.path == ("levels", 0, "when", "value")
    assert error.message == "operator 'exists' takes no value"


@pytest.mark.parametrize(
    ("op", "value", "message"),
    [
        ("in", "it", "operator 'in' needs a non-empty list"),
        ("in", [], "operator 'in' needs a non-empty list"),
        ("gt", "10", "operator 'gt' needs a number"),
        ("lte", [1], "operator 'lte' needs a number"),
        ("between", [100], "operator 'between' needs a list of two numbers [low, high]"),
        ("between", ["1", "9"], "operator 'between' needs a list of two numbers [low, high]"),
        ("eq", ["a", "b"], "operator 'eq' needs a single value; use 'in' for a list"),
        ("matches", 5, "operator 'matches' needs a pattern string"),
    ],
)
def test_wrong_value_kind_is_refused(op: str, value: Any, message: str) -> None:
    error = parse_error({"field": "lead.custom.x", "op": op, "value": value})
    assert error.path == ("levels", 0, "when", "value")
    assert error.message == message


def test_bad_regex_is_refused_with_the_reason() -> None:
    error = parse_error({"field": "lead.title", "op": "matches", "value": "(unclosed"})
    assert error.path == ("levels", 0, "when", "value")
    assert error.message.startswith("invalid pattern: missing ), unterminated subpattern")


def test_activity_node_inside_an_activity_where_is_refused() -> None:
    error = parse_error({"activity": {"type": "webinar_attended", "where": {"activity": {"type": "survey_answered"}}}})
    assert error.path == ("levels", 0, "when", "activity", "where", "activity")
    assert error.message == "'activity' tests a lead's history and cannot be used inside an activity rule"


def test_same_campaign_inside_an_activity_rule_is_refused() -> None:
    error = parse_error(SAME_CAMPAIGN, ACTIVITY_SCOPE)
    assert error.path == ("levels", 0, "when", "same_campaign")
    assert "cannot be used inside an activity rule" in error.message


def test_lead_field_in_the_activity_scope_is_refused() -> None:
    error = parse_error({"field": "lead.title", "op": "eq", "value": "x"}, ACTIVITY_SCOPE)
    assert error.path == ("levels", 0, "when", "field")
    assert error.message == "field 'lead.title' is not available here: only activity.* fields are"


def test_same_campaign_needs_two_specs() -> None:
    error = parse_error({"same_campaign": {"all": [{"type": "webinar_attended"}]}})
    assert error.path == ("levels", 0, "when", "same_campaign")
    assert "two or more activity specs" in error.message


@pytest.mark.parametrize("min_count", [0, "2", True])
def test_activity_min_count_must_be_a_whole_number_of_at_least_one(min_count: Any) -> None:
    error = parse_error({"activity": {"type": "page_viewed", "min_count": min_count}})
    assert error.path == ("levels", 0, "when", "activity", "min_count")


def test_activity_within_days_must_be_positive() -> None:
    error = parse_error({"activity": {"type": "page_viewed", "within_days": 0}})
    assert error.path == ("levels", 0, "when", "activity", "within_days")
    assert error.message == "within_days must be a positive number of days"


def test_a_node_with_two_kinds_is_refused() -> None:
    error = parse_error({"all": [MANAGER], "any": [DIRECTOR]})
    assert error.path == ("levels", 0, "when")
    assert "exactly one of" in error.message


def test_an_empty_all_is_refused() -> None:
    error = parse_error({"all": []})
    assert error.path == ("levels", 0, "when", "all")
    assert error.message == "'all' takes a non-empty list of conditions"


def test_an_unexpected_key_beside_field_is_refused() -> None:
    error = parse_error({"field": "lead.title", "op": "eq", "value": "x", "vlaue": "y"})
    assert error.path == ("levels", 0, "when", "vlaue")
    assert error.message.startswith("unexpected key 'vlaue'")


# --- describe --------------------------------------------------------------------------------


def test_describe_in_english_reads_as_a_sentence() -> None:
    condition = parse_condition(
        {
            "all": [
                {"field": "account.industry", "op": "in", "value": ["it", "finance"]},
                {"not": {"field": "lead.title", "op": "exists"}},
                {"activity": {"type": "page_viewed", "min_count": 2, "within_days": 30}},
            ]
        },
        LEAD_SCOPE,
    )
    assert condition.describe("en") == (
        "account.industry is one of [it, finance] and not lead.title is present"
        " and did page_viewed at least 2 times within 30 days"
    )


def test_describe_in_japanese_reads_as_a_sentence() -> None:
    condition = parse_condition(
        {
            "any": [
                {"field": "score.engagement", "op": "gte", "value": 60},
                {"activity": {"type": "page_viewed", "min_count": 2, "within_days": 30}},
            ]
        },
        LEAD_SCOPE,
    )
    assert condition.describe("ja") == "score.engagement が 60 以上 または 30日以内にpage_viewed2回以上"


def test_describe_same_campaign_in_both_languages() -> None:
    condition = parse_condition({"same_campaign": {**SAME_CAMPAIGN["same_campaign"], "within_days": 90}}, LEAD_SCOPE)
    assert condition.describe("en") == (
        "in one campaign: webinar_attended + survey_answered "
        "(activity.properties.wants_contact equals true) within 90 days"
    )
    assert condition.describe("ja") == (
        "同一キャンペーンで webinar_attended + survey_answered"
        "（activity.properties.wants_contact が true と等しい）（90日以内）"
    )


def test_describe_nested_groups_are_parenthesised() -> None:
    condition = parse_condition({"any": [{"all": [MANAGER, IN_IT]}, DIRECTOR]}, LEAD_SCOPE)
    assert condition.describe("en") == (
        "(lead.seniority equals manager and lead.department equals it) or lead.seniority equals director"
    )
    assert condition.describe("ja") == (
        "(lead.seniority が manager と等しい かつ lead.department が it と等しい) または lead.seniority が director と等しい"
    )


def test_describe_regex_and_negation_in_japanese() -> None:
    condition = parse_condition({"not": {"field": "lead.title", "op": "matches", "value": "^cto$"}}, LEAD_SCOPE)
    assert condition.describe("en") == "not lead.title matches the pattern /^cto$/"
    assert condition.describe("ja") == "lead.title が /^cto$/ のパターンに一致 ではない"
