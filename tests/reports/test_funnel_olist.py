"""Report ``funnel`` on real data: the Olist marketing funnel (8,000 MQLs, 842 won deals) loaded
with the example mappings and playbook of docs/examples/olist/, checked against the same figures
computed here straight from the CSV files with the csv module.

Loading the files makes this test slow: 52 s on SQLite and 77 s on PostgreSQL on the project's two
shared cores, up to two minutes each when they are busy. It is in the suite on both databases.
"""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from leadrelay import FakeClock, LeadRelay
from leadrelay.services.report_funnel import FunnelReport
from tests.conftest import NOW
from tests.support.olist import DEALS, EXAMPLES, MQLS, load

pytestmark = pytest.mark.skipif(
    not MQLS.exists() or not DEALS.exists(), reason=f"the Olist data set is not at {MQLS.parent}"
)
BRAZIL = ZoneInfo("America/Sao_Paulo")


def from_csv() -> tuple[Counter[str | None], Counter[str | None], Counter[str], list[float]]:
    """MQLs and won deals per origin (blank: None), won deals per month of first contact, and the
    days from first contact to won of every deal — from the files alone.

    A moment is the file's local time in São Paulo (a date is its midnight). One deal is won before
    its first contact; leadrelay keeps a lead's history in order and records it at the first
    contact, so it counts 0 days here too."""
    first: dict[str, datetime] = {}
    origin: dict[str, str | None] = {}
    with MQLS.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            first[row["mql_id"]] = datetime.strptime(row["first_contact_date"], "%Y-%m-%d").replace(tzinfo=BRAZIL)
            origin[row["mql_id"]] = row["origin"] or None
    won_by_origin: Counter[str | None] = Counter()
    won_by_month: Counter[str] = Counter()
    days: list[float] = []
    with DEALS.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            mql = row["mql_id"]
            won = datetime.strptime(row["won_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=BRAZIL)
            won_by_origin[origin[mql]] += 1
            won_by_month[first[mql].strftime("%Y-%m")] += 1
            seconds = (won.astimezone(UTC) - first[mql].astimezone(UTC)).total_seconds()
            days.append(max(seconds, 0.0) / 86400)
    return Counter(origin.values()), won_by_origin, won_by_month, days


def test_the_olist_funnel_by_origin_and_the_days_to_won_match_the_csv_files(db_url: str, tmp_path: Path) -> None:
    mqls, won, won_by_month, days = from_csv()
    assert (sum(mqls.values()), sum(won.values()), len(days)) == (8000, 842, 842)

    with LeadRelay.open(db_url, clock=FakeClock(NOW)) as relay:
        relay.use_playbook(EXAMPLES / "playbook.yaml")
        load(MQLS, "leads.yaml", "leads", relay.add_leads_numbered, tmp_path / "l.csv")
        load(MQLS, "activities.yaml", "activities", relay.record_activities_numbered, tmp_path / "a.csv")
        load(DEALS, "outcomes.yaml", "outcomes", relay.record_outcomes_numbered, tmp_path / "o.csv")
        start, end = "2017-06-01", "2018-05-31"
        overall = relay.report("funnel", start=start, end=end, by="month")
        by_origin = relay.report("funnel", start=start, end=end, by="month", options={"split": "channel"})
    assert isinstance(overall, FunnelReport) and isinstance(by_origin, FunnelReport)

    steps = {s.step: s for s in overall.steps}
    assert (steps["mql"].reached, steps["won"].reached) == (8000, 842)
    assert steps["won"].of_mql == pytest.approx(0.10525)
    assert (steps["sal"].reached, steps["sal"].dropped, steps["sal"].in_flight) == (0, 842, 8000 - 842)
    assert steps["won"].days_from_mql.count == 842
    assert steps["won"].days_from_mql.median == pytest.approx(statistics.median(days), abs=1e-6)
    assert steps["won"].days_from_mql.p90 == pytest.approx(
        statistics.quantiles(days, n=10, method="inclusive")[-1], abs=1e-6
    )
    assert {g.cohort: g.steps[-1].reached for g in overall.groups if g.steps[-1].reached} == dict(won_by_month)

    origins: dict[str | None, tuple[int, int]] = {}
    for g in by_origin.groups:
        count, deals = origins.get(g.split, (0, 0))
        origins[g.split] = (count + g.mqls, deals + g.steps[-1].reached)
    assert origins == {o: (mqls[o], won[o]) for o in mqls}
