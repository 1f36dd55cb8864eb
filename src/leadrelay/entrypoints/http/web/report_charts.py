"""What each report page draws: chart specifications made from a report's typed model.

A specification is plain data (JSON in the page); ``static/charts.js`` turns it into an Apache
ECharts option::

    {"categories": [...], "horizontal": false, "height": 320,
     "axes": [{"name": "...", "unit": "count" | "percent" | "hours" | "days"}],
     "series": [{"name": "...", "type": "bar" | "line", "axis": 0, "data": [...],
                 "stack": null, "labels": null | [...], "dashed": false}]}

Percent series hold shares (0–1); ``None`` is a gap. Each chart has a title and a caption saying
what it shows; the numbers are in the table under it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from leadrelay.entrypoints.http.web.texts import text
from leadrelay.services.report_kit import Report

if TYPE_CHECKING:  # the report modules themselves are imported when a chart is made
    from leadrelay.services.report_aging import AgingReport
    from leadrelay.services.report_campaigns import CampaignsReport
    from leadrelay.services.report_dependency import DependencyReport
    from leadrelay.services.report_funnel import FunnelReport
    from leadrelay.services.report_quality import QualityReport
    from leadrelay.services.report_sla import SlaReport
    from leadrelay.services.report_status import StatusReport

Chart = dict[str, Any]


def charts_of(report: Report, lang: str, stage_label: Callable[[str], str]) -> list[Chart]:
    """The charts of ``report`` (none for a report without one)."""
    from leadrelay.services import (
        report_aging,
        report_campaigns,
        report_dependency,
        report_funnel,
        report_quality,
        report_sla,
        report_status,
    )

    def t(key: str) -> str:
        return text(key, lang)

    if isinstance(report, report_funnel.FunnelReport):
        return [_funnel(report, t, stage_label)]
    if isinstance(report, report_status.StatusReport):
        return [_status(report, lang, t)]
    if isinstance(report, report_sla.SlaReport):
        return _sla(report, t)
    if isinstance(report, report_aging.AgingReport):
        return [_aging(report, lang, t, stage_label)]
    if isinstance(report, report_dependency.DependencyReport):
        return [_dependency(report, lang, t)]
    if isinstance(report, report_campaigns.CampaignsReport):
        return [_campaigns(report, t)]
    if isinstance(report, report_quality.QualityReport):
        return _quality(report, t)
    return []


def _chart(
    name: str,
    table: str,
    title: str,
    caption: str,
    categories: list[str],
    axes: list[dict[str, str]],
    series: list[dict[str, Any]],
    *,
    horizontal: bool = False,
    height: int = 320,
) -> Chart:
    return {
        "id": f"chart-{name}",
        "table": table,
        "title": title,
        "caption": caption,
        "spec": {
            "categories": categories,
            "horizontal": horizontal,
            "height": height,
            "axes": axes,
            "series": [{"axis": 0, "stack": None, "labels": None, "dashed": False, **s} for s in series],
        },
    }


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _funnel(report: FunnelReport, t: Callable[[str], str], stage_label: Callable[[str], str]) -> Chart:
    steps = report.steps
    labels = [
        str(s.reached) if i == 0 else f"{s.reached} ({_share(s.of_previous)})"  # the share of the step before
        for i, s in enumerate(steps)
    ]
    return _chart(
        "funnel",
        "steps",
        t("chart_funnel"),
        t("chart_funnel_caption"),
        [stage_label(s.step) for s in steps],
        [{"name": t("chart_loops"), "unit": "count"}],
        [{"name": t("chart_reached"), "type": "bar", "data": [s.reached for s in steps], "labels": labels}],
    )


def _status(report: StatusReport, lang: str, t: Callable[[str], str]) -> Chart:
    checks = report.checks
    return _chart(
        "checks",
        "checks",
        t("chart_checks"),
        t("chart_checks_caption"),
        [c.label[lang] for c in checks],
        [{"name": t("chart_leads"), "unit": "count"}],
        [{"name": t("chart_leads"), "type": "bar", "data": [c.total for c in checks]}],
        horizontal=True,
        height=100 + 40 * len(checks),
    )


def _sla(report: SlaReport, t: Callable[[str], str]) -> list[Chart]:
    periods = report.by_period
    keys = [g.key or "" for g in periods]
    compliance = _chart(
        "sla-compliance",
        "by_period",
        t("chart_sla"),
        t("chart_sla_caption"),
        keys,
        [{"name": t("chart_in_sla"), "unit": "percent"}],
        [
            {"name": t("chart_answer_in_sla"), "type": "line", "data": [g.accept.within_sla for g in periods]},
            {
                "name": t("chart_touch_in_sla"),
                "type": "line",
                "data": [g.touch.within_sla for g in periods],
                "dashed": True,
            },
        ],
    )
    speed = _chart(
        "sla-speed",
        "by_period",
        t("chart_speed"),
        t("chart_speed_caption"),
        keys,
        [{"name": t("chart_business_hours"), "unit": "hours"}],
        [
            {"name": t("chart_median"), "type": "bar", "data": [g.touch.business_hours.median for g in periods]},
            {"name": t("chart_p90"), "type": "bar", "data": [g.touch.business_hours.p90 for g in periods]},
        ],
    )
    return [compliance, speed]


def _aging(report: AgingReport, lang: str, t: Callable[[str], str], stage_label: Callable[[str], str]) -> Chart:
    from leadrelay.services.report_aging import STEP_LABELS

    stages = report.stages
    return _chart(
        "aging",
        "stages",
        t("chart_aging"),
        t("chart_aging_caption"),
        [stage_label(s.stage) for s in stages],
        [{"name": t("chart_leads"), "unit": "count"}],
        [
            {
                "name": labels[1] if lang == "ja" else labels[0],
                "type": "bar",
                "stack": "age",
                "data": [s.distribution.get(key, 0) for s in stages],
            }
            for key, labels in STEP_LABELS.items()
        ],
        height=360,
    )


def _dependency(report: DependencyReport, lang: str, t: Callable[[str], str]) -> Chart:
    rows = report.rows
    return _chart(
        "dependency",
        "paths",
        t("chart_dependency").format(stage=report.stage_label[lang]),
        t("chart_dependency_caption"),
        [r.bucket for r in rows],
        [{"name": report.stage_label[lang], "unit": "count"}, {"name": t("chart_nurture_share"), "unit": "percent"}],
        [
            {"name": t("chart_direct"), "type": "bar", "stack": "path", "data": [r.direct.steps for r in rows]},
            {"name": t("chart_nurture"), "type": "bar", "stack": "path", "data": [r.nurture.steps for r in rows]},
            {
                "name": t("chart_nurture_share"),
                "type": "line",
                "axis": 1,
                "dashed": True,
                "data": [r.nurture_share for r in rows],
            },
        ],
    )


def _campaigns(report: CampaignsReport, t: Callable[[str], str]) -> Chart:
    rows = report.campaigns
    return _chart(
        "campaigns",
        "linear",
        t("chart_campaigns"),
        t("chart_campaigns_caption"),
        [c.name or c.code for c in rows],
        [{"name": t("chart_credits"), "unit": "count"}],
        [
            {"name": t("chart_mqls"), "type": "bar", "data": [round(c.linear.mqls, 1) for c in rows]},
            {
                "name": t("chart_opportunities"),
                "type": "bar",
                "data": [round(c.linear.opportunities, 1) for c in rows],
            },
        ],
        horizontal=True,
        height=120 + 46 * len(rows),
    )


def _quality(report: QualityReport, t: Callable[[str], str]) -> list[Chart]:
    steps = report.leads
    quality = _chart(
        "quality",
        "leads",
        t("chart_quality"),
        t("chart_quality_caption"),
        [q.bucket for q in steps],
        [{"name": t("chart_companies"), "unit": "count"}, {"name": t("chart_effective_ratio"), "unit": "percent"}],
        [
            {"name": t("chart_companies"), "type": "bar", "data": [q.companies for q in steps]},
            {
                "name": t("chart_effective_ratio"),
                "type": "line",
                "axis": 1,
                "data": [q.effective_ratio for q in steps],
            },
        ],
    )
    months = report.mql_target
    target = _chart(
        "mql-target",
        "mql_target",
        t("chart_mql_target"),
        t("chart_mql_target_caption"),
        [m.month for m in months],
        [{"name": t("chart_mqls"), "unit": "count"}],
        [
            {"name": t("chart_mqls"), "type": "bar", "data": [m.mqls for m in months]},
            {
                "name": t("chart_target"),
                "type": "line",
                "dashed": True,
                "data": [None if m.target is None else round(m.target, 1) for m in months],
            },
        ],
    )
    return [quality, target]
