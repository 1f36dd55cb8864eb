"""Report ``campaigns`` over the hand-made scenario (tests/reports/scenario.py), both databases.

The credits are counted by hand from the scenario's touches (activities with a campaign, up to
90 days before the conversion):

MQLs (7): person1 09-03 [ads 08-25, sep 09-03]; person2 09-02 [ads]; person2 10-01 [ads 09-02,
oct 09-20, oct 10-01]; person3 10-05 [ads]; person4 09-01 [sep]; person4 11-02 [sep 09-01,
oct 11-02]; person5 11-16 [oct] (its August demo request had no campaign).
Opportunities (6): person1 09-10 [ads, sep]; person2 10-13 [ads, oct, oct]; person3 10-20 [ads];
person4 09-08 [sep]; person4 11-10 [sep, oct]; person5 11-20 [oct].
Won (1): person3 10-30, 500,000 JPY, from its opportunity of 10-20 [ads].
Direct opportunities: person1 (last touch sep), person3 (ads), person4's first (sep).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from leadrelay import LeadRelay
from leadrelay.services.lead_list import EVERYTHING, Visibility
from leadrelay.services.report_campaigns import CampaignRow, CampaignsReport
from leadrelay.services.report_kit import ReportInputError
from tests.reports.pipeline_scenario import AS_OF, END, START, relay

__all__ = ["relay"]


def campaigns(relay: LeadRelay, visibility: Visibility = EVERYTHING, **options: str) -> CampaignsReport:
    report = relay.report("campaigns", start=START, end=END, options=options, visibility=visibility, now=AS_OF)
    assert isinstance(report, CampaignsReport)
    return report


def by_code(report: CampaignsReport) -> dict[str, CampaignRow]:
    return {r.code: r for r in report.campaigns}


def credits(report: CampaignsReport, model: str, field: str) -> dict[str, float]:
    return {r.code: getattr(getattr(r, model), field) for r in report.campaigns}


def test_leads_and_conversions_per_campaign_by_each_attribution_model(relay: LeadRelay) -> None:
    report = campaigns(relay)
    rows = by_code(report)
    assert list(rows) == ["ads-search", "seminar-oct", "seminar-sep"]
    assert {code: r.leads for code, r in rows.items()} == {"ads-search": 3, "seminar-oct": 3, "seminar-sep": 2}
    assert credits(report, "first_touch", "mqls") == {"ads-search": 4, "seminar-oct": 1, "seminar-sep": 2}
    assert credits(report, "last_touch", "mqls") == {"ads-search": 2, "seminar-oct": 3, "seminar-sep": 2}
    linear = credits(report, "linear", "mqls")
    assert linear == {
        "ads-search": pytest.approx(1 / 2 + 1 + 1 / 3 + 1),
        "seminar-oct": pytest.approx(2 / 3 + 1 / 2 + 1),
        "seminar-sep": pytest.approx(1 / 2 + 1 + 1 / 2),
    }
    assert credits(report, "first_touch", "opportunities") == {"ads-search": 3, "seminar-oct": 1, "seminar-sep": 2}
    assert credits(report, "last_touch", "opportunities") == {"ads-search": 1, "seminar-oct": 3, "seminar-sep": 2}
    assert credits(report, "linear", "opportunities") == {
        "ads-search": pytest.approx(1 / 2 + 1 / 3 + 1),
        "seminar-oct": pytest.approx(2 / 3 + 1 / 2 + 1),
        "seminar-sep": pytest.approx(1 / 2 + 1 + 1 / 2),
    }
    for model in ("first_touch", "last_touch", "linear"):
        assert credits(report, model, "won") == {"ads-search": 1, "seminar-oct": 0, "seminar-sep": 0}
        assert credits(report, model, "won_amount") == {
            "ads-search": Decimal("500000.00"),
            "seminar-oct": Decimal("0.00"),
            "seminar-sep": Decimal("0.00"),
        }
    totals = report.totals
    assert (totals.mqls, totals.opportunities, totals.won, totals.won_amount) == (7, 6, 1, Decimal("500000.00"))
    assert (report.unattributed.mqls, report.unattributed.opportunities, report.unattributed.won) == (0, 0, 0)


def test_a_pipeline_campaign_without_a_direct_conversion_is_flagged(relay: LeadRelay) -> None:
    rows = by_code(campaigns(relay))
    assert {code: r.direct_opportunities for code, r in rows.items()} == {
        "ads-search": 1,
        "seminar-oct": 0,
        "seminar-sep": 2,
    }
    # seminar-oct is a pipeline campaign whose opportunities all came through nurture
    assert {code: r.flagged for code, r in rows.items()} == {
        "ads-search": False,
        "seminar-oct": True,
        "seminar-sep": False,
    }


def test_the_influence_window_limits_the_touches_counted(relay: LeadRelay) -> None:
    report = campaigns(relay, window_days="30")
    # person2's opportunity loses its 09-02 touch (41 days), person4's second its 09-01 touch (70 days)
    assert credits(report, "first_touch", "opportunities") == {"ads-search": 2, "seminar-oct": 3, "seminar-sep": 1}
    one_day = campaigns(relay, window_days="1")
    # no opportunity has a campaign touch in the day before it; nor has the won deal's opportunity
    assert (one_day.unattributed.opportunities, one_day.unattributed.won) == (6, 1)
    assert one_day.unattributed.won_amount == Decimal("500000.00")
    assert one_day.unattributed.mqls == 0  # each MQL's own activity carried a campaign
    with pytest.raises(ReportInputError, match="window_days"):
        campaigns(relay, window_days="-1")


def test_a_currency_sums_only_its_won_amounts(relay: LeadRelay) -> None:
    report = campaigns(relay, currency="USD")
    assert report.totals.won == 1 and report.totals.won_amount == Decimal("0.00")


def test_a_rep_sees_the_campaigns_of_the_leads_they_own(relay: LeadRelay) -> None:
    report = campaigns(relay, visibility=Visibility(rep="a"))  # rep a owns person1 and person4
    rows = by_code(report)
    assert {code: r.leads for code, r in rows.items()} == {"ads-search": 0, "seminar-oct": 1, "seminar-sep": 2}
    assert credits(report, "last_touch", "opportunities") == {"ads-search": 0, "seminar-oct": 1, "seminar-sep": 2}
    assert {code: r.flagged for code, r in rows.items()} == {
        "ads-search": False,
        "seminar-oct": True,
        "seminar-sep": False,
    }
    assert (report.totals.mqls, report.totals.opportunities, report.totals.won) == (3, 3, 0)


def test_each_model_is_a_table_with_a_row_for_conversions_without_a_touch(relay: LeadRelay) -> None:
    tables = campaigns(relay).tables()
    assert [t.name for t in tables] == ["first_touch", "last_touch", "linear"]
    last = tables[1]
    assert [r["code"] for r in last.rows] == ["ads-search", "seminar-oct", "seminar-sep", "-"]
    assert last.rows[1]["flag"] == "⚑" and last.rows[1]["opportunities"] == 3
    assert last.totals is not None and last.totals["opportunities"] == 6 and last.totals["won_amount"] == "500000.00"


@pytest.mark.parametrize("currency", ["", "JPY", "USD"])
def test_the_credits_summary_gives_what_the_touches_counted_one_by_one_give(
    relay: LeadRelay, monkeypatch: pytest.MonkeyPatch, currency: str
) -> None:
    """The default window reads the credits summary; with the summary's window set apart the same
    report counts the activities: every figure is the same (linear shares up to rounding)."""
    from leadrelay.adapters.store import summaries

    summed = campaigns(relay, currency=currency)
    monkeypatch.setattr(summaries, "CREDIT_WINDOW_DAYS", -1)  # no window is the summary's: count the touches
    counted = campaigns(relay, currency=currency)
    assert [r.code for r in summed.campaigns] == [r.code for r in counted.campaigns]
    for a, b in zip(summed.campaigns, counted.campaigns, strict=True):
        assert (a.leads, a.direct_opportunities, a.flagged) == (b.leads, b.direct_opportunities, b.flagged)
        for model in ("first_touch", "last_touch", "linear"):
            x, y = getattr(a, model), getattr(b, model)
            assert (x.mqls, x.opportunities, x.won) == pytest.approx((y.mqls, y.opportunities, y.won)), model
            assert abs(x.won_amount - y.won_amount) <= Decimal("0.01"), model
    assert summed.totals == counted.totals and summed.unattributed == counted.unattributed
