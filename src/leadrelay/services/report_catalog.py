"""Every report by name, and running one: what ``leadrelay report NAME`` and
``GET /v1/reports/NAME`` call. Add a report by adding its module's ``SPEC`` to :data:`REPORTS`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.domain.playbook import Playbook
from leadrelay.services import (
    report_aging,
    report_campaigns,
    report_dependency,
    report_funnel,
    report_quality,
    report_sla,
    report_status,
)
from leadrelay.services.lead_list import EVERYTHING, Visibility
from leadrelay.services.read_models import ReadModel
from leadrelay.services.report_kit import Report, ReportContext, ReportSpec, UnknownReport, parse_request

#: The reports, in the order the list shows them: the seeds' questions first (lead status, funnel,
#: SLA), then aging, inside-sales dependency, campaigns, quality and capacity.
REPORTS: dict[str, ReportSpec] = {
    spec.name: spec
    for spec in (
        report_status.SPEC,
        report_funnel.SPEC,
        report_sla.SPEC,
        report_aging.SPEC,
        report_dependency.SPEC,
        report_campaigns.SPEC,
        report_quality.SPEC,
    )
}


class OptionInfo(ReadModel):
    name: str
    kind: str
    default: Any
    choices: list[str]
    help: dict[str, str]


class ReportInfo(ReadModel):
    """A report as the list of reports shows it: what it answers and what it accepts."""

    name: str
    title: dict[str, str]
    description: dict[str, str]
    by: list[str]
    default_days: int
    options: list[OptionInfo]


def spec_of(name: str) -> ReportSpec:
    found = REPORTS.get(name)
    if found is None:
        raise UnknownReport(name, list(REPORTS))
    return found


def info(spec: ReportSpec) -> ReportInfo:
    return ReportInfo(
        name=spec.name,
        title={"en": spec.title[0], "ja": spec.title[1]},
        description={"en": spec.description[0], "ja": spec.description[1]},
        by=list(spec.by),
        default_days=spec.default_days,
        options=[
            OptionInfo(
                name=o.name,
                kind=o.kind,
                default=o.default,
                choices=list(o.choices),
                help={"en": o.help[0], "ja": o.help[1]},
            )
            for o in spec.options
        ],
    )


def catalog() -> list[ReportInfo]:
    return [info(spec) for spec in REPORTS.values()]


def run_report(
    tx: StoreTx,
    playbook: Playbook,
    name: str,
    *,
    now: datetime,
    start: str | None = None,
    end: str | None = None,
    by: str | None = None,
    options: Mapping[str, str | None] | None = None,
    visibility: Visibility = EVERYTHING,
) -> Report:
    """Report ``name`` over the period ``start``..``end`` (local dates, both included; default: the
    report's days up to today), grouped ``by``, with ``options`` (raw text, parsed and checked)."""
    spec = spec_of(name)
    period, grouping, parsed = parse_request(
        spec, start=start, end=end, by=by, options=options or {}, now=now, tz=playbook.timezone
    )
    tx.for_reports()
    context = ReportContext(
        tx=tx,
        playbook=playbook,
        now=now,
        period=period,
        by=grouping,
        options=parsed,
        visibility=visibility,
        report=spec.name,
    )
    return spec.run(context)
