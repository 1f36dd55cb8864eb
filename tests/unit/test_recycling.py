"""Recycling after inactivity: which leads sales has left too long, and the reason recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadrelay.domain.lifecycle import Stage
from leadrelay.domain.recycling import WATCHED_STAGES, inactive_before, inactivity

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
DAYS = 30.0


def test_the_cut_off_is_the_playbooks_days_before_now() -> None:
    assert inactive_before(NOW, DAYS) == NOW - timedelta(days=30)
    assert inactive_before(NOW, 0.5) == NOW - timedelta(hours=12)


def test_only_sal_and_sql_are_watched() -> None:
    assert WATCHED_STAGES == (Stage.SAL, Stage.SQL)


@pytest.mark.parametrize("stage", [Stage.SAL, Stage.SQL])
def test_a_lead_with_sales_and_no_activity_for_longer_than_the_days_is_inactive(stage: Stage) -> None:
    since = NOW - timedelta(days=30, seconds=1)
    check = inactivity(stage, since, None, NOW, DAYS)
    assert check.inactive
    assert check.reason == "no activity for 30 days while with sales"
    assert check.last_seen == since


def test_a_lead_last_seen_exactly_the_days_ago_stays_with_sales() -> None:
    exactly = NOW - timedelta(days=30)
    assert not inactivity(Stage.SAL, exactly, None, NOW, DAYS).inactive
    assert not inactivity(Stage.SAL, exactly - timedelta(days=1), exactly, NOW, DAYS).inactive
    assert inactivity(Stage.SAL, exactly - timedelta(microseconds=1), None, NOW, DAYS).inactive


def test_a_recent_activity_keeps_an_old_stage_with_sales() -> None:
    check = inactivity(Stage.SQL, NOW - timedelta(days=90), NOW - timedelta(days=2), NOW, DAYS)
    assert not check.inactive
    assert check.last_seen == NOW - timedelta(days=2)
    assert "within 30 days" in check.reason


def test_a_recent_move_counts_even_when_the_last_activity_is_old() -> None:
    check = inactivity(Stage.SQL, NOW - timedelta(days=3), NOW - timedelta(days=90), NOW, DAYS)
    assert not check.inactive
    assert check.last_seen == NOW - timedelta(days=3)


@pytest.mark.parametrize("stage", [s for s in Stage if s not in WATCHED_STAGES])
def test_leads_in_other_stages_are_never_inactive(stage: Stage) -> None:
    check = inactivity(stage, NOW - timedelta(days=400), None, NOW, DAYS)
    assert not check.inactive
    assert f"stage {stage.value} is not watched" in check.reason


def test_nothing_is_inactive_when_the_playbook_turns_the_rule_off() -> None:
    check = inactivity(Stage.SAL, NOW - timedelta(days=400), None, NOW, None)
    assert not check.inactive
    assert check.reason == "the playbook does not recycle inactive leads"


def test_fractional_days_are_written_as_given() -> None:
    check = inactivity(Stage.SAL, NOW - timedelta(days=2), None, NOW, 1.5)
    assert check.inactive and check.reason == "no activity for 1.5 days while with sales"
