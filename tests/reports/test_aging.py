"""Report ``aging``: time in the current stage per stage, its distribution and the oldest leads —
on a hand-made book whose ages are written here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from leadrelay import LeadRelay
from leadrelay.services.lead_list import Visibility
from leadrelay.services.report_aging import AgingReport
from leadrelay.services.report_kit import ReportInputError
from tests.conftest import NOW

NEW_40 = "old.new@sakura-mfg.co.jp"  # added 40 days ago, never active: new for 40 days
NURTURE_5 = "reader@sakura-mfg.co.jp"  # a page view 5 days ago: nurture for 5 days
MQL_20 = "asker20@sakura-mfg.co.jp"  # asked for a demo 20 days ago, never answered: MQL for 20 days
SAL_1 = "asker2@sakura-mfg.co.jp"  # asked 2 days ago, accepted exactly 1 day ago: SAL for 1 day
WON_3 = "buyer@sakura-mfg.co.jp"  # won 3 days ago: closed, left out unless stages=all

FIT = {
    "title": "情報システム部 部長",
    "seniority": "manager",
    "country": "JP",
    "prefecture": "東京都",
    "company": {"name": "さくら製作所", "domain": "sakura-mfg.co.jp", "industry": "manufacturing", "employees": 800},
}


def _demo(email: str, days_ago: float) -> dict[str, object]:
    return {
        "email": email,
        "type": "demo_requested",
        "occurred_at": (NOW - timedelta(days=days_ago)).isoformat(),
        "source_id": f"demo-{email}",
        "lead": FIT,
    }


def aging(relay: LeadRelay, **given: Any) -> AgingReport:
    report = relay.report("aging", now=NOW, **given)
    assert isinstance(report, AgingReport)
    return report


@pytest.fixture
def book(db_url: str) -> Iterator[LeadRelay]:
    relay = LeadRelay.open(db_url)
    relay.add_leads([{"email": NEW_40, **FIT}], now=NOW - timedelta(days=40))
    relay.record_activities(
        [
            {
                "email": NURTURE_5,
                "type": "page_viewed",
                "occurred_at": (NOW - timedelta(days=5)).isoformat(),
                "lead": FIT,
            }
        ],
        now=NOW - timedelta(days=5),
    )
    relay.record_activities([_demo(MQL_20, 20)], now=NOW - timedelta(days=20))
    relay.record_activities([_demo(SAL_1, 2)], now=NOW - timedelta(days=2))
    relay.accept(SAL_1, actor="rep", now=NOW - timedelta(days=1))
    relay.record_activities([_demo(WON_3, 30)], now=NOW - timedelta(days=30))
    relay.accept(WON_3, actor="rep", now=NOW - timedelta(days=29))
    relay.advance(WON_3, "sql", actor="rep", now=NOW - timedelta(days=20))
    relay.advance(WON_3, "opportunity", actor="rep", amount="1200000", now=NOW - timedelta(days=10))
    relay.advance(WON_3, "won", actor="rep", amount="1200000", now=NOW - timedelta(days=3))
    yield relay
    relay.close()


def test_each_open_stage_with_its_age_and_step(book: LeadRelay) -> None:
    report = aging(book)
    by_stage = {s.stage: s for s in report.stages}
    assert set(by_stage) == {"new", "nurture", "mql", "sal"}  # won is closed: left out by default
    assert {k: v.leads for k, v in by_stage.items()} == {"new": 1, "nurture": 1, "mql": 1, "sal": 1}
    assert by_stage["new"].days.median == pytest.approx(40)
    assert by_stage["nurture"].days.median == pytest.approx(5)
    assert by_stage["mql"].days.median == pytest.approx(20)
    assert by_stage["sal"].days.median == pytest.approx(1)
    steps = {k: [step for step, n in v.distribution.items() if n] for k, v in by_stage.items()}
    # exactly one day is not "under one day": the steps include their lower bound
    assert steps == {"new": ["30_90d"], "nurture": ["3_7d"], "mql": ["14_30d"], "sal": ["1_3d"]}
    oldest = [(o.stage, o.lead) for o in report.oldest]
    assert oldest == [("new", NEW_40), ("nurture", NURTURE_5), ("mql", MQL_20), ("sal", SAL_1)]
    assert report.oldest[2].since == NOW - timedelta(days=20)


def test_stages_all_adds_the_closed_ones(book: LeadRelay) -> None:
    report = aging(book, options={"stages": "all"})
    won = next(s for s in report.stages if s.stage == "won")
    assert (won.leads, won.distribution["3_7d"]) == (1, 1)
    assert won.days.median == pytest.approx(3)


def test_the_tables_carry_totals(book: LeadRelay) -> None:
    stages, oldest = aging(book).tables()
    assert stages.totals is not None and stages.totals["leads"] == 4
    assert stages.totals["14_30d"] == 1 and stages.totals["30_90d"] == 1
    assert [row["lead"] for row in oldest.rows] == [NEW_40, NURTURE_5, MQL_20, SAL_1]


def test_a_rep_sees_the_age_of_their_own_leads_only(book: LeadRelay) -> None:
    owner = book.lead(MQL_20).owner
    assert owner is not None and owner.rep is not None
    mine = aging(book, visibility=Visibility(rep=owner.rep))
    seen = {o.lead for o in mine.oldest}
    assert MQL_20 in seen and NEW_40 not in seen and NURTURE_5 not in seen
    owners = [book.lead(ref).owner for ref in (MQL_20, SAL_1)]
    expected = len([o for o in owners if o is not None and o.rep == owner.rep])
    assert sum(s.leads for s in mine.stages) == expected
    nobody = aging(book, visibility=Visibility(rep="no-such-rep"))
    assert nobody.stages == [] and nobody.oldest == []


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"oldest": "-1"}, "oldest"),
        ({"oldest": "x"}, "oldest"),
        ({"stages": "some"}, "stages"),
        ({"nope": "1"}, "nope"),
    ],
)
def test_bad_options_name_their_field(book: LeadRelay, options: dict[str, str], field: str) -> None:
    with pytest.raises(ReportInputError) as caught:
        book.report("aging", options=options, now=NOW)
    assert caught.value.field == field
