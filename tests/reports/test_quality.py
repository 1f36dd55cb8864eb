"""Report ``quality`` over a hand-made November: six people ask for a demo (two from one company,
one from a free-mail address, one student), one more in October; three reps of inside sales take
the MQLs in turn (a, b, c); the playbook agrees on 4 MQLs a month and 2 a week for inside sales.
Every expected number is worked out by hand in the comments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from leadrelay import LeadRelay
from leadrelay.services.lead_list import EVERYTHING, Visibility
from leadrelay.services.report_quality import QualityReport, gini
from tests.conftest import JST
from tests.support.sla import playbook

TARGETS = """
targets:
  mqls_per_month: 4
  weekly_intake: {inside: 2}
"""
AFTER = datetime(2026, 12, 1, 9, 0, tzinfo=JST)


def at(day: str, hour: int) -> datetime:
    return datetime.fromisoformat(f"2026-{day}T{hour:02d}:00:00+09:00")


def demo(email: str, when: datetime, *, title: str = "部長", company: str | None = None) -> dict[str, Any]:
    lead: dict[str, Any] = {"title": title, "seniority": "manager", "country": "JP"}
    if company is not None:
        lead["company"] = {"name": company, "industry": "manufacturing", "employees": 800}
    return {"email": email, "type": "demo_requested", "occurred_at": when.isoformat(), "source_id": email, "lead": lead}


PEOPLE = [  # (e-mail, requested at, title, company)
    ("z@delta.co.jp", at("10-28", 10), "部長", "Delta"),  # October: outside the period; rep a
    ("a@alpha.co.jp", at("11-04", 10), "部長", "Alpha"),  # week 11-02, rep b
    ("b@alpha.co.jp", at("11-04", 11), "部長", "Alpha"),  # week 11-02, rep c, same company
    ("taro@gmail.com", at("11-05", 10), "部長", None),  # week 11-02, free mail: disqualified, no company
    ("c@beta.co.jp", at("11-10", 10), "部長", "Beta"),  # week 11-09, rep a
    ("d@beta.co.jp", at("11-11", 10), "学生", "Beta"),  # week 11-09, a student: disqualified
    ("e@gamma.co.jp", at("11-17", 10), "部長", "Gamma"),  # week 11-16, rep b
]


@pytest.fixture
def relay(db_url: str, tmp_path: Path) -> Iterator[LeadRelay]:
    path = playbook(tmp_path, "escalate")
    path.write_text(path.read_text(encoding="utf-8") + TARGETS, encoding="utf-8")
    with LeadRelay.open(db_url) as relay:
        relay.use_playbook(path, now=at("10-01", 9))
        for email, when, title, company in PEOPLE:
            relay.record_activities([demo(email, when, title=title, company=company)], now=when + timedelta(minutes=5))
        yield relay


def quality(
    relay: LeadRelay,
    *,
    start: str = "2026-11-01",
    end: str = "2026-11-30",
    by: str | None = None,
    visibility: Visibility = EVERYTHING,
) -> QualityReport:
    report = relay.report("quality", start=start, end=end, by=by, visibility=visibility, now=AFTER)
    assert isinstance(report, QualityReport)
    return report


def test_the_scenario_gives_mqls_to_reps_in_turn(relay: LeadRelay) -> None:
    owners = {email: relay.lead(email, now=AFTER).owner.rep for email, *_ in PEOPLE}
    assert list(owners.values()) == ["a", "b", "c", None, "a", None, "b"]


def test_effective_leads_and_unique_companies_per_week(relay: LeadRelay) -> None:
    report = quality(relay, by="week")
    rows = [
        (q.bucket, q.leads, q.effective, q.disqualified, q.companies, q.effective_companies, q.without_company)
        for q in report.leads
    ]
    assert rows == [
        ("2026-10-26", 0, 0, 0, 0, 0, 0),  # only Sunday 11-01 is in the period
        ("2026-11-02", 3, 2, 1, 1, 1, 1),  # two from Alpha are one company; the free-mail lead is none
        ("2026-11-09", 2, 1, 1, 1, 1, 0),  # the student is from Beta: one company, effective too
        ("2026-11-16", 1, 1, 0, 1, 1, 0),
        ("2026-11-23", 0, 0, 0, 0, 0, 0),
        ("2026-11-30", 0, 0, 0, 0, 0, 0),
    ]
    assert report.leads[1].effective_ratio == pytest.approx(2 / 3)
    assert report.leads[0].effective_ratio is None
    totals = report.totals
    assert (totals.leads, totals.effective, totals.companies, totals.without_company) == (6, 4, 3, 1)
    assert [(d.reason, d.leads) for d in report.disqualified] == [("free_mail", 1), ("student", 1)]
    assert report.disqualified[0].share == pytest.approx(1 / 6)


def test_mqls_against_the_monthly_target(relay: LeadRelay) -> None:
    report = quality(relay)
    assert [(m.month, m.mqls, m.target, m.attainment, m.gap) for m in report.mql_target] == [
        ("2026-11", 4, 4.0, 1.0, 0.0)  # Alpha ×2, Beta, Gamma; Delta was October's
    ]
    # half of November (15 of 30 days): half the target, one MQL (Gamma)
    half = quality(relay, start="2026-11-16")
    assert [(m.month, m.mqls, m.target, m.attainment) for m in half.mql_target] == [("2026-11", 1, 2.0, 0.5)]


def test_weekly_mql_intake_against_the_departments_capacity(relay: LeadRelay) -> None:
    report = quality(relay)
    assert [(i.week, i.department, i.received, i.capacity, i.load) for i in report.capacity] == [
        ("2026-10-26", "inside", 0, pytest.approx(2 / 7), 0.0),  # one day of the week in the period
        ("2026-11-02", "inside", 2, 2.0, 1.0),
        ("2026-11-09", "inside", 1, 2.0, 0.5),
        ("2026-11-16", "inside", 1, 2.0, 0.5),
        ("2026-11-23", "inside", 0, 2.0, 0.0),
        ("2026-11-30", "inside", 0, pytest.approx(2 / 7), 0.0),
    ]


def test_rep_workload_and_fairness(relay: LeadRelay) -> None:
    report = quality(relay, by="week")
    rows = [(w.rep, w.open, w.capacity, w.utilisation, w.received, w.department_share) for w in report.workload]
    assert rows == [
        ("a", 2, 50, 0.04, 1, 0.25),  # Delta (October) and Beta open; Beta received in November
        ("b", 2, 50, 0.04, 2, 0.5),
        ("c", 1, 50, 0.02, 1, 0.25),
    ]
    (inside,) = report.fairness
    assert (inside.department, inside.reps, inside.received, inside.min, inside.max) == ("inside", 3, 4, 1.0, 2.0)
    assert inside.mean == pytest.approx(4 / 3)
    assert inside.stddev == pytest.approx((2 / 9) ** 0.5)  # deviations -1/3, 2/3, -1/3
    assert inside.gini == pytest.approx(1 / 6)  # |differences| over ordered pairs 4, / (2 · 3 · 4)
    received = {(r.bucket, r.rep): r.received for r in report.received if r.received}
    assert received == {("2026-11-09", "a"): 1, ("2026-11-02", "b"): 1, ("2026-11-16", "b"): 1, ("2026-11-02", "c"): 1}


def test_gini_of_equal_and_of_one_taking_all() -> None:
    assert gini([3, 3, 3]) == 0
    assert gini([0, 0, 6]) == pytest.approx(2 / 3)  # (n - 1) / n for one of three taking all
    assert gini([]) is None
    assert gini([0, 0]) is None


def test_a_rep_sees_only_their_own_numbers(relay: LeadRelay) -> None:
    report = quality(relay, visibility=Visibility(rep="b"))
    assert (report.totals.leads, report.totals.effective, report.totals.companies) == (2, 2, 2)  # Alpha, Gamma
    assert [m.mqls for m in report.mql_target] == [2]
    assert [(w.rep, w.received, w.department_share) for w in report.workload] == [("b", 2, None)]
    assert report.capacity == []
    assert report.fairness == []


def test_a_manager_sees_their_departments(relay: LeadRelay) -> None:
    report = quality(relay, visibility=Visibility(departments=("inside",)))
    # the disqualified leads belong to nobody: the manager does not see them
    assert (report.totals.leads, report.totals.effective, report.totals.companies) == (4, 4, 3)
    assert [w.rep for w in report.workload] == ["a", "b", "c"]
    assert [i.received for i in report.capacity] == [0, 2, 1, 1, 0, 0]


def test_the_tables_have_totals(relay: LeadRelay) -> None:
    tables = {t.name: t for t in quality(relay).tables()}
    assert list(tables) == ["leads", "disqualified", "mql_target", "capacity", "workload", "fairness", "received"]
    assert tables["leads"].totals is not None
    assert tables["leads"].totals["companies"] == 3  # distinct over the month, not a sum of weeks
    assert tables["mql_target"].totals == {"month": "total", "mqls": 4, "target": 4.0, "attainment": 1.0, "gap": 0.0}
    assert tables["capacity"].totals is not None
    assert tables["capacity"].totals["received"] == 4
