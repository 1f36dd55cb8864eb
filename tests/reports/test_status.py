"""Report ``status`` over a hand-made scenario: five demo requests at Wednesday noon, three reps of
inside sales (round robin a, b, c), an SLA of 2 business hours to accept and 1 to touch; the report
is read twenty days later. Every expected number is worked out by hand below."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from leadrelay import LeadRelay
from leadrelay.services.lead_list import EVERYTHING, Visibility
from leadrelay.services.report_status import StatusReport
from tests.support.sla import WEDNESDAY_NOON, demo_request, playbook
from tests.support.summaries import derive_assignments_with

T0 = WEDNESDAY_NOON  # 2026-11-25 12:00 JST
LATER = T0 + timedelta(days=20)  # 2026-12-15 12:00 JST (Tuesday)
L1, L2, L3, L4, L5 = (f"person{n}@sakura-mfg.co.jp" for n in range(1, 6))


@pytest.fixture
def relay(db_url: str, tmp_path: Path) -> Iterator[LeadRelay]:
    """Lead 1 (rep a): nothing done. Lead 2 (b): touched after 30 minutes, never answered.
    Lead 3 (c): accepted after an hour, then nothing; rep c is away on the report's day.
    Lead 4 (a): accepted, advanced to SQL, touched on day 15. Lead 5: every rep at capacity 0, so it
    waits in the fallback queue (marketing)."""
    with LeadRelay.open(db_url) as relay:
        relay.use_playbook(playbook(tmp_path, "escalate"), now=T0 - timedelta(days=1))
        for n in range(1, 5):
            relay.record_activities([demo_request(T0, n)], now=T0)
        for rep in "abc":
            relay.set_rep(rep, capacity=0, now=T0)
        relay.record_activities([demo_request(T0, 5)], now=T0)
        for rep in "abc":
            relay.set_rep(rep, playbook_capacity=True, now=T0)
        relay.touch(L2, kind="call", outcome="no_answer", now=T0 + timedelta(minutes=30))
        relay.accept(L3, now=T0 + timedelta(hours=1))
        relay.accept(L4, now=T0 + timedelta(hours=1))
        relay.advance(L4, "sql", now=T0 + timedelta(days=2))
        relay.touch(L4, kind="meeting", outcome="held", now=T0 + timedelta(days=15))
        relay.set_rep("c", away=(date(2026, 12, 14), date(2026, 12, 18)), now=T0 + timedelta(days=19))
        yield relay


def status(
    relay: LeadRelay, *, now: datetime = LATER, visibility: Visibility = EVERYTHING, **options: float
) -> StatusReport:
    report = relay.report("status", options=options, visibility=visibility, now=now)
    assert isinstance(report, StatusReport)
    return report


def leads_of(report: StatusReport, check: str) -> list[str | None]:
    return [line.lead for line in report.check(check).leads]


def test_the_scenario_gives_leads_to_reps_in_turn(relay: LeadRelay) -> None:
    owners = {ref: relay.lead(ref, now=LATER).owner.rep for ref in (L1, L2, L3, L4, L5)}
    assert owners == {L1: "a", L2: "b", L3: "c", L4: "a", L5: None}


def test_status_shows_who_owns_what(relay: LeadRelay) -> None:
    report = status(relay, inactive_days=14)
    assert report.stages == ["mql", "sal", "sql", "opportunity"]  # no Pre-SQL in this playbook
    assert [(h.department, h.rep, h.rep_status, h.stages, h.open) for h in report.holdings] == [
        ("inside", "a", "available", {"mql": 1, "sql": 1}, 2),
        ("inside", "b", "available", {"mql": 1}, 1),
        ("inside", "c", "out_of_office", {"sal": 1}, 1),
        ("marketing", None, None, {"mql": 1}, 1),
    ]


def test_status_counts_and_lists_the_leads_nobody_follows(relay: LeadRelay) -> None:
    report = status(relay, inactive_days=14)
    counts = {c.check: c.total for c in report.checks}
    assert counts == {
        "untouched": 2,  # 1 and 3: lead 2 and lead 4 were touched
        "waiting": 2,  # 1 and 2 are still MQLs with a rep
        "silent": 1,  # 3: SAL since day 0 + 1 h; lead 4 was touched on day 15 (< 14 days ago)
        "away_owner": 1,  # 3: rep c is away 12-14..12-18
        "queued": 1,  # 5 in marketing, the fallback
        "sla_expired": 3,  # 1: accept and touch; 2: accept (its touch clock stopped)
    }
    assert leads_of(report, "untouched") == [L1, L3]  # both assigned at T0, by lead id
    untouched = report.check("untouched").leads[0]
    assert untouched.since == T0
    assert untouched.elapsed == pytest.approx(20.0)  # days since assignment
    assert leads_of(report, "waiting") == [L1, L2]
    silent = report.check("silent").leads
    assert [(s.lead, s.stage, s.since) for s in silent] == [(L3, "sal", T0 + timedelta(hours=1))]
    assert silent[0].elapsed == pytest.approx(20 - 1 / 24)
    assert [(a.lead, a.detail) for a in report.check("away_owner").leads] == [(L3, "out_of_office")]
    assert [(q.lead, q.owner_department, q.detail) for q in report.check("queued").leads] == [
        (L5, "marketing", "fallback")
    ]
    expired = report.check("sla_expired").leads
    # touch due 13:00, accept due 14:00 (Wednesday's business hours): oldest due first
    assert [(e.lead, e.detail, e.since) for e in expired] == [
        (L1, "quick: touch", T0 + timedelta(hours=1)),
        (L1, "quick: accept", T0 + timedelta(hours=2)),
        (L2, "quick: accept", T0 + timedelta(hours=2)),
    ]
    assert expired[0].elapsed == pytest.approx(20 * 24 - 1)  # hours past due


def test_silent_leads_follow_the_playbooks_inactivity_rule_by_default(relay: LeadRelay) -> None:
    # the playbook recycles after 30 days: lead 3, silent for 20 days, is not yet silent
    report = status(relay)
    assert report.inactive_days == 30
    assert report.check("silent").total == 0
    assert status(relay, now=LATER + timedelta(days=11)).check("silent").total == 1


def test_lists_are_cut_at_the_limit_while_counts_stay_exact(relay: LeadRelay) -> None:
    report = status(relay, limit=1)
    assert report.check("sla_expired").total == 3
    assert leads_of(report, "sla_expired") == [L1]
    table = next(t for t in report.tables() if t.name == "checks")
    assert {r["check"]: r["count"] for r in table.rows}["sla_expired"] == 3


def test_skewed_reps_are_flagged_beyond_the_threshold(relay: LeadRelay) -> None:
    # open leads (mql, sal, sql): a 2, b 1, c 1 → mean 4/3; a is 50 % above, b and c 25 % below
    report = status(relay, skew=0.4)
    assert [(r.rep, r.open, r.skewed) for r in report.reps] == [("a", 2, True), ("b", 1, False), ("c", 1, False)]
    assert report.reps[0].department_mean == pytest.approx(4 / 3)
    assert report.reps[0].deviation == pytest.approx(0.5)
    assert not any(r.skewed for r in status(relay).reps)  # 50 % is not beyond 50 %


def test_a_rep_sees_only_their_own_leads(relay: LeadRelay) -> None:
    report = status(relay, visibility=Visibility(rep="a"), inactive_days=14)
    assert [(h.rep, h.open) for h in report.holdings] == [("a", 2)]
    assert leads_of(report, "untouched") == [L1]
    assert leads_of(report, "waiting") == [L1]
    assert report.check("sla_expired").total == 2
    assert report.check("queued").total == 0
    assert report.check("silent").total == 0
    assert [r.rep for r in report.reps] == ["a"]


def test_a_manager_sees_their_departments_leads(relay: LeadRelay) -> None:
    report = status(relay, visibility=Visibility(departments=("inside",)))
    assert [(h.rep, h.open) for h in report.holdings] == [("a", 2), ("b", 1), ("c", 1)]
    assert report.check("queued").total == 0  # lead 5 waits in marketing
    assert report.check("sla_expired").total == 3


def test_every_list_is_a_table_to_export(relay: LeadRelay) -> None:
    tables = {t.name: t for t in status(relay).tables()}
    assert list(tables) == [
        "ownership",
        "checks",
        "untouched",
        "waiting",
        "silent",
        "away_owner",
        "queued",
        "sla_expired",
        "skewed",
    ]
    assert tables["ownership"].totals == {
        "department": "total",
        "mql": 3,
        "sal": 1,
        "sql": 1,
        "opportunity": 0,
        "open": 5,
    }
    assert tables["queued"].rows[0]["lead"] == L5


def test_a_touch_activity_counts_as_a_touch_whichever_way_the_report_reads_it(relay: LeadRelay) -> None:
    """A connected call logged by the phone system (a touch type of the playbook) touches lead 1; the
    report reads it from the assignments summary, or — when the summary was derived with other touch
    types — from the activities, with the same answer."""
    call = {"email": L1, "type": "call_connected", "occurred_at": (T0 + timedelta(hours=2)).isoformat()}
    relay.record_activities([{**call, "source_id": "call-1"}], now=T0 + timedelta(hours=2))
    assert leads_of(status(relay), "untouched") == [L3]
    derive_assignments_with(relay, ["bant_collected"])  # the call is no touch by those types
    report = status(relay)
    assert leads_of(report, "untouched") == [L3]
    assert report.check("untouched").total == 1
