"""Report ``dependency`` over the hand-made scenario (tests/reports/scenario.py), both databases.

The expected figures are read off the scenario's story by hand: opportunities in September —
person1 (direct, 1,000,000) and person4's first (direct, 300,000); in October person2 (nurture,
2,000,000 without currency, 40 days after its rejection) and person3 (direct, no opportunity
amount: its won deal's 500,000); in November person4's second (nurture, 700,000, 56 days after
the recycle that followed its lost deal) and person5 (nurture, no amount, 92 days after its
rejection in August, before the period).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from leadrelay import LeadRelay
from leadrelay.services.lead_list import EVERYTHING, Visibility
from leadrelay.services.report_dependency import DependencyReport
from leadrelay.services.report_kit import ReportInputError
from tests.reports.pipeline_scenario import AS_OF, END, START, email, relay

__all__ = ["relay"]


def dependency(
    relay: LeadRelay,
    start: str = START,
    end: str = END,
    by: str | None = None,
    visibility: Visibility = EVERYTHING,
    **options: str,
) -> DependencyReport:
    report = relay.report("dependency", start=start, end=end, by=by, options=options, visibility=visibility, now=AS_OF)
    assert isinstance(report, DependencyReport)
    return report


def paths(report: DependencyReport) -> list[tuple[str, int, int, str, str]]:
    return [
        (r.bucket, r.direct.steps, r.nurture.steps, str(r.direct.amount), str(r.nurture.amount)) for r in report.rows
    ]


def test_opportunities_per_month_split_into_direct_and_nurture_with_amounts(relay: LeadRelay) -> None:
    report = dependency(relay)
    assert report.stage == "opportunity" and report.stage_seen
    assert paths(report) == [
        ("2026-09", 2, 0, "1300000.00", "0.00"),
        ("2026-10", 1, 1, "500000.00", "2000000.00"),
        ("2026-11", 0, 2, "0.00", "700000.00"),
    ]
    october, november = report.rows[1], report.rows[2]
    assert (october.nurture_share, october.nurture_amount_share) == (0.5, 0.8)
    assert (november.nurture.with_amount, november.nurture_share, november.nurture_amount_share) == (1, 1.0, 1.0)
    assert report.rows[0].nurture_share == 0.0 and report.rows[0].nurture_days.count == 0
    assert october.nurture_days.median == pytest.approx(40.0)
    # November: 56 and 92 days; p90 by linear interpolation: 56 + 0.9 × 36
    assert november.nurture_days.median == pytest.approx(74.0) and november.nurture_days.p90 == pytest.approx(88.4)
    total = report.total
    assert (total.steps, total.direct.steps, total.nurture.steps) == (6, 3, 3)
    assert (total.direct.amount, total.nurture.amount) == (Decimal("1800000.00"), Decimal("2700000.00"))
    assert total.nurture_share == 0.5 and total.nurture_amount_share == pytest.approx(0.6)
    assert total.nurture_days.count == 3 and total.nurture_days.median == pytest.approx(56.0)
    assert total.nurture_days.p90 == pytest.approx(56 + 0.8 * 36)
    assert report.distribution == {"under_7d": 0, "7_30d": 0, "30_90d": 2, "90_180d": 1, "180d_plus": 0}
    assert report.currencies == ["-", "JPY"]


def test_weeks_start_on_monday(relay: LeadRelay) -> None:
    report = dependency(relay, start="2026-10-01", end="2026-10-31", by="week")
    found = [(r.bucket, r.direct.steps, r.nurture.steps) for r in report.rows if r.steps]
    # opportunities on Tuesday 10-13 (person2, nurture) and Tuesday 10-20 (person3, direct)
    assert found == [("2026-10-12", 0, 1), ("2026-10-19", 1, 0)]
    assert report.rows[0].bucket == "2026-09-28"  # the week of October 1st, clipped to the period


def test_sql_steps_take_the_amount_of_their_loops_opportunity(relay: LeadRelay) -> None:
    report = dependency(relay, stage="sql")
    # SQLs: September person1, person4 (direct; their loops' opportunities 1,000,000 and 300,000);
    # October person2 (nurture, 2,000,000) and person3 (direct, won 500,000); November person4
    # (nurture, 700,000) and person5 (nurture, no amount)
    assert paths(report) == [
        ("2026-09", 2, 0, "1300000.00", "0.00"),
        ("2026-10", 1, 1, "500000.00", "2000000.00"),
        ("2026-11", 0, 2, "0.00", "700000.00"),
    ]
    # person2: rejected 09-03 10:00, SQL 10-06 10:00; person4: recycled 09-15, SQL 11-05;
    # person5: rejected 08-20, SQL 11-18
    assert report.rows[1].nurture_days.median == pytest.approx(33.0)
    assert report.rows[2].nurture_days.median == pytest.approx((51 + 90) / 2)


def test_a_currency_sums_only_its_amounts_and_those_without_one(relay: LeadRelay) -> None:
    usd = dependency(relay, currency="usd")
    assert (str(usd.total.direct.amount), str(usd.total.nurture.amount)) == ("0.00", "2000000.00")
    assert usd.total.steps == 6 and usd.currency == "USD" and usd.currencies == ["-"]
    with pytest.raises(ReportInputError, match="currency"):
        dependency(relay, currency="yen!")


def test_pre_sql_is_shown_as_absent_when_the_history_has_none(relay: LeadRelay) -> None:
    report = dependency(relay, stage="pre_sql")
    assert not report.stage_seen and report.total.steps == 0
    assert report.stage_label == {"en": "Pre-SQL", "ja": "Pre-SQL（IS精査済み）"}


def test_a_rep_sees_only_the_opportunities_of_leads_they_own(relay: LeadRelay) -> None:
    owners = {n: relay.lead(email(n)).owner.rep for n in (1, 2, 3, 4, 5)}
    assert owners == {1: "a", 2: "b", 3: "c", 4: "a", 5: "b"}  # the scenario's round robin
    mine = dependency(relay, visibility=Visibility(rep="a"))
    assert paths(mine) == [
        ("2026-09", 2, 0, "1300000.00", "0.00"),
        ("2026-10", 0, 0, "0.00", "0.00"),
        ("2026-11", 0, 1, "0.00", "700000.00"),
    ]
    theirs = dependency(relay, visibility=Visibility(departments=("marketing",)))
    assert theirs.total.steps == 0


def test_the_tables_carry_the_rows_and_totals(relay: LeadRelay) -> None:
    report = dependency(relay)
    paths_table, duration = report.tables()
    assert paths_table.totals is not None and paths_table.totals["nurture"] == 3
    assert [r["bucket"] for r in paths_table.rows] == ["2026-09", "2026-10", "2026-11"]
    assert paths_table.rows[1]["nurture_amount"] == "2000000.00"
    assert [r["steps"] for r in duration.rows] == [0, 0, 2, 1, 0]
