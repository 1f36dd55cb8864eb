"""The bulk path judges every lead exactly as the per-lead engine (``assess``) does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadrelay.adapters.playbook.loader import default_playbook_path, load_playbook, parse_playbook
from leadrelay.bulk.engine import BulkResult, assess_many
from leadrelay.domain.conditions import Facts
from leadrelay.domain.evaluation import assess, sort_activities
from leadrelay.domain.model import Account, Activity, Campaign, Lead
from leadrelay.domain.playbook import Playbook
from tests.conftest import NOW
from tests.support.bulk_cases import Case, demo_cases


def assert_same_as_engine(playbook: Playbook, now: datetime, cases: Sequence[Case], result: BulkResult) -> None:
    """Every lead: fit, engagement (and per product), total, level, fit gate, disqualification, MQL."""
    level_ids = [r.id for r in playbook.levels]
    dq_ids = [r.id for r in playbook.disqualifications]
    for row, (lead, account, activities) in enumerate(cases):
        judged = assess(lead, account, activities, playbook, now)
        where = f"lead {row} ({lead.email})"
        assert result.fit[row] == pytest.approx(judged.fit.total, abs=1e-6), where
        assert result.engagement[row] == pytest.approx(judged.engagement.total, abs=1e-6), where
        assert result.total[row] == pytest.approx(judged.scores["total"], abs=1e-6), where
        for name in set(result.by_product) | set(judged.engagement.by_product):
            bulk = result.by_product[name][row] if name in result.by_product else 0.0
            assert bulk == pytest.approx(judged.engagement.by_product.get(name, 0.0), abs=1e-6), (where, name)
        expected_level = judged.level.level if judged.level else 0
        assert result.level[row] == expected_level, where
        rule = level_ids[result.level_rule[row]] if result.level_rule[row] >= 0 else None
        assert rule == (judged.level.rule_id if judged.level else None), where
        assert bool(result.fit_passed[row]) == judged.fit_passed, where
        dq = dq_ids[result.dq[row]] if result.dq[row] >= 0 else None
        assert dq == (judged.disqualification.rule_id if judged.disqualification else None), where
        visible = [a for a in activities if a.occurred_at <= now]
        facts = Facts(lead, account, visible, now, judged.scores)
        mql = next((r.id for r in playbook.mql_rules if judged.fit_passed and r.condition(facts)), None)
        assert (playbook.mql_rules[result.mql[row]].id if result.mql[row] >= 0 else None) == mql, where


# --- the synthetic demo data -------------------------------------------------------------------


@pytest.mark.parametrize("days_later", [0, -20, 45, 400])
def test_bulk_equals_per_lead_engine_on_the_demo_data(days_later: int) -> None:
    playbook = load_playbook(default_playbook_path()).playbook
    cases = demo_cases(NOW)
    moment = NOW + timedelta(days=days_later)  # -20: some activities lie in the future
    result = assess_many(playbook, moment, cases)
    assert_same_as_engine(playbook, moment, cases, result)
    if days_later <= 45:  # the test sees real decisions (after 400 days every window is empty)
        assert (result.level > 0).sum() > 50 and (result.mql >= 0).sum() > 20


def test_default_playbook_stays_on_the_fast_path_for_the_demo_data() -> None:
    playbook = load_playbook(default_playbook_path()).playbook
    result = assess_many(playbook, NOW, demo_cases(NOW, people=600))
    assert len(result.fallback) == 0


# --- generated playbooks and histories ----------------------------------------------------------

TYPES = ["email_opened", "page_viewed", "document_downloaded", "webinar_attended", "survey_answered", "demo_requested"]
BASE = datetime(2026, 3, 8, 6, 30, tzinfo=ZoneInfo("UTC"))  # a US daylight-saving change is near


def playbook_text(draw: st.DrawFn) -> str:
    zone = draw(st.sampled_from(["Asia/Tokyo", "America/New_York", "UTC", "Australia/Lord_Howe"]))
    decay = draw(
        st.sampled_from(
            ["", "  decay: {half_life_days: 30}\n", "  decay: {linear_days: 90}\n", "  decay: {window_days: 20}\n"]
        )
    )
    window = draw(st.sampled_from(["", "  window_days: 60\n", "  window_days: 7.5\n"]))
    rules = []
    for i, type_ in enumerate(TYPES[:5]):
        points = draw(st.sampled_from([5, 10, 0.1, 2.5, -3, 0]))
        lines = [f"    - id: r{i}", f"      activity: {type_}", f"      points: {points}"]
        where = draw(
            st.sampled_from(
                [
                    None,
                    "{field: activity.properties.kind, op: eq, value: a}",
                    "{field: activity.properties.kind, op: ne, value: a}",
                    "{field: activity.campaign.code, op: in, value: [c1, c2]}",
                    "{field: activity.product, op: exists}",
                ]
            )
        )
        if where:
            lines.append(f"      where: {where}")
        repeat = draw(
            st.sampled_from(
                [
                    None,
                    "{max_times: 2}",
                    "{unique_by: activity.properties.doc}",
                    "{unique_by: activity.properties.doc, max_times: 1}",
                ]
            )
        )
        if repeat:
            lines.append(f"      repeat: {repeat}")
        if points > 0 and draw(st.booleans()):
            per = draw(st.sampled_from(["day", "week", "month", "lead"]))
            cap = draw(st.sampled_from([10, 0.3, 7.5, 1]))
            lines.append(f"      cap: {{points: {cap}, per: {per}}}")
        if draw(st.booleans()) and i % 2:
            lines.append(f"      decay: {draw(st.sampled_from(['{window_days: 10}', '{half_life_days: 5}']))}")
        rules.append("\n".join(lines))
    # a second rule on the same type: both count, in playbook order
    rules.append("    - id: extra\n      activity: [email_opened, demo_requested]\n      points: 1.5")
    mql_score = draw(st.sampled_from([5, 10, 20]))
    return f"""
id: generated
name: Generated
version: "1"
timezone: {zone}
disqualification:
  rules:
    - {{id: student, reason: student, when: {{field: lead.title, op: contains, value: student}}}}
fit:
  gate: {{min_score: 10}}
  rules:
    - {{id: f1, points: 10, when: {{field: account.industry, op: in, value: [it, retail]}}}}
    - {{id: f2, points: 5.5, when: {{field: lead.seniority, op: eq, value: manager}}}}
engagement:
{window}{decay}  rules:
{chr(10).join(rules)}
levels:
  - level: 3
    id: l3
    when:
      same_campaign:
        within_days: 30
        all: [{{type: webinar_attended}}, {{type: survey_answered, where: {{field: activity.properties.kind, op: eq, value: a}}}}]
  - level: 2
    id: l2
    when:
      any:
        - activity: {{type: page_viewed, within_days: 14, min_count: 2}}
        - {{field: score.engagement, op: gte, value: 15}}
  - level: 1
    id: l1
    when:
      all:
        - activity: {{type: [email_opened, document_downloaded]}}
        - not: {{field: account.tier, op: eq, value: named}}
mql:
  rules:
    - {{id: m_level, when: {{field: level, op: gte, value: 3}}}}
    - id: m_product
      product: analytics
      when: {{all: [{{field: score.product.Analytics, op: gt, value: 4}}, {{activity: {{type: page_viewed, within_days: 10}}}}]}}
    - {{id: m_score, when: {{field: score.total, op: between, value: [{mql_score}, 1000]}}}}
    - {{id: m_odd, when: {{field: score.fit, op: contains, value: "5"}}}}
hand_raisers:
  rules:
    - {{id: hr, activity: demo_requested}}
"""


@st.composite
def generated(draw: st.DrawFn) -> tuple[Playbook, datetime, list[Case]]:
    playbook = parse_playbook(playbook_text(draw)).playbook
    cases: list[Case] = []
    for n in range(draw(st.integers(1, 5))):
        lead = Lead(
            email=f"p{n}@c{n}.example",
            seniority=draw(st.sampled_from([None, "manager", "staff"])),
            title=draw(st.sampled_from([None, "student", "CTO"])),
        )
        account = draw(
            st.sampled_from(
                [
                    None,
                    Account(domain=f"c{n}.example", industry="it"),
                    Account(f"c{n}.example", industry="retail", tier="named"),
                ]
            )
        )
        activities = []
        for k in range(draw(st.integers(0, 14))):
            at = BASE + timedelta(hours=draw(st.integers(-24 * 40, 24 * 3)), minutes=draw(st.sampled_from([0, 0, 30])))
            campaign = draw(st.sampled_from([None, "c1", "c2", "c3"]))
            activities.append(
                Activity(
                    key=f"{n}-{k:02d}",
                    type=draw(st.sampled_from(TYPES)),
                    occurred_at=at,
                    campaign=Campaign(campaign) if campaign else None,
                    product=draw(st.sampled_from([None, "analytics", "Analytics", "crm", ""])),
                    properties={
                        key: value
                        for key, value in (
                            ("kind", draw(st.sampled_from([None, "a", "b"]))),
                            ("doc", draw(st.sampled_from([None, "d1", "d2", 1, True]))),
                        )
                        if value is not None
                    },
                )
            )
        cases.append((lead, account, sort_activities(activities)))
    now = BASE + timedelta(hours=draw(st.integers(-24 * 3, 24 * 3)))
    return playbook, now, cases


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated())
def test_bulk_equals_per_lead_engine_on_generated_cases(example: tuple[Playbook, datetime, list[Case]]) -> None:
    playbook, now, cases = example
    assert_same_as_engine(playbook, now, cases, assess_many(playbook, now, cases))


def test_activities_at_the_same_moment_go_to_the_per_lead_engine() -> None:
    playbook = load_playbook(default_playbook_path()).playbook
    at = NOW - timedelta(days=1)
    lead = Lead(email="a@acme.co.jp")
    same = [
        Activity("k2", "document_downloaded", at, product="crm", properties={"document": "x"}),
        Activity("k1", "document_downloaded", at, product="analytics", properties={"document": "x"}),
    ]
    cases: list[Case] = [(lead, None, sort_activities(same))]
    result = assess_many(playbook, NOW, cases)
    assert list(result.fallback) == [0]
    assert_same_as_engine(playbook, NOW, cases, result)
    assert result.by_product["analytics"][0] > 0  # k1 comes first by key: its product gets the points
    assert "crm" not in result.by_product or result.by_product["crm"][0] == 0


def test_cap_remainders_count_like_the_engine() -> None:
    text = """
id: caps
name: Caps
version: "1"
engagement:
  rules:
    - {id: tenth, activity: email_opened, points: 0.1, cap: {points: 0.3, per: lead}, repeat: {max_times: 3}}
"""
    playbook = parse_playbook(text).playbook
    lead = Lead(email="a@acme.co.jp")
    opens = [Activity(f"k{i}", "email_opened", NOW - timedelta(hours=i + 1)) for i in range(6)]
    result = assess_many(playbook, NOW, [(lead, None, sort_activities(opens))])
    expected = assess(lead, None, sort_activities(opens), playbook, NOW).engagement.total
    assert result.engagement[0] == expected
    assert np.isclose(result.engagement[0], 0.3)


# --- the compiled pass (leadrelay.bulk.kernel) ----------------------------------------------------


def assert_same_results(first: BulkResult, second: BulkResult) -> None:
    """Two bulk results of the same leads agree (to 1e-9 where a lead went to the per-lead engine
    on one path only)."""
    for name in ("fit", "engagement", "total"):
        np.testing.assert_allclose(getattr(first, name), getattr(second, name), rtol=0, atol=1e-9, err_msg=name)
    for name in set(first.by_product) | set(second.by_product):
        zeros = np.zeros(len(first.fit))
        np.testing.assert_allclose(
            first.by_product.get(name, zeros), second.by_product.get(name, zeros), rtol=0, atol=1e-9, err_msg=name
        )
    for name in ("level", "level_rule", "fit_passed", "dq", "mql", "hand_raise"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name), err_msg=name)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated())
def test_compiled_pass_judges_generated_cases_like_the_per_lead_engine_and_numpy(
    example: tuple[Playbook, datetime, list[Case]],
) -> None:
    playbook, now, cases = example
    compiled = assess_many(playbook, now, cases, compiled=True)
    assert_same_as_engine(playbook, now, cases, compiled)
    assert_same_results(compiled, assess_many(playbook, now, cases, compiled=False))


@pytest.mark.parametrize("days_later", [0, 30])
def test_compiled_pass_equals_numpy_to_the_last_bits_on_the_demo_data(days_later: int) -> None:
    playbook = load_playbook(default_playbook_path()).playbook
    now = NOW + timedelta(days=days_later)
    cases = demo_cases(NOW, people=600)
    compiled = assess_many(playbook, now, cases, compiled=True)
    numpy_path = assess_many(playbook, now, cases, compiled=False)
    assert len(compiled.fallback) == 0 and len(numpy_path.fallback) == 0
    # the same additions in the same order — except where NumPy's reductions group them by the CPU's
    # vector width (AVX-512 machines): then the last bit or two of a sum differ, never more
    np.testing.assert_allclose(compiled.engagement, numpy_path.engagement, rtol=1e-13, atol=1e-12)
    assert sorted(compiled.by_product) == sorted(numpy_path.by_product)
    for name, values in numpy_path.by_product.items():
        np.testing.assert_allclose(compiled.by_product[name], values, rtol=1e-13, atol=1e-12)
    assert_same_as_engine(playbook, now, cases, compiled)


def test_compiled_pass_caps_per_week_across_a_daylight_saving_change() -> None:
    text = """
id: caps
name: Caps
version: "1"
timezone: America/New_York
engagement:
  decay: {half_life_days: 7}
  rules:
    - {id: opens, activity: email_opened, points: 2, cap: {points: 5, per: week}}
    - {id: docs, activity: document_downloaded, points: 10, repeat: {unique_by: activity.properties.doc, max_times: 2}}
"""
    playbook = parse_playbook(text).playbook
    lead = Lead(email="a@acme.example")
    change = datetime(2026, 3, 8, 7, 0, tzinfo=ZoneInfo("UTC"))  # 02:00 EST → 03:00 EDT
    activities = [Activity(f"o{i}", "email_opened", change + timedelta(hours=6 * i - 60)) for i in range(30)]
    activities += [
        Activity(f"d{i}", "document_downloaded", change + timedelta(days=i), properties={"doc": f"d{i % 2}"})
        for i in range(5)
    ]
    now = change + timedelta(days=6)
    cases: list[Case] = [(lead, None, sort_activities(activities))]
    result = assess_many(playbook, now, cases, compiled=True)
    assert len(result.fallback) == 0
    assert_same_as_engine(playbook, now, cases, result)
