"""``leadrelay report NAME``: any report of the catalog as tables (with totals), JSON or CSV.

The command is generic over the catalog: every report answers with its typed model (``--json``)
and the display tables of its ``tables()`` (printed, or one of them as CSV with ``--csv``)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table as RichTable

from leadrelay.entrypoints.cli import render
from leadrelay.entrypoints.cli.common import UserError, console, options, relay
from leadrelay.entrypoints.i18n import t

if TYPE_CHECKING:
    from leadrelay.services.report_catalog import ReportInfo
    from leadrelay.services.report_kit import Column, Report, Table


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)


def report_command(
    name: Annotated[str | None, typer.Argument(help="The report (leave it out to list them).")] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD, the playbook's zone). Default: per report.")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, included (YYYY-MM-DD). Default: today.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Grouping: day, week or month (as the report allows).")] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", "-o", help="A report option as NAME=VALUE (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report's model as JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print one table as CSV (see --table).")] = False,
    table: Annotated[str | None, typer.Option("--table", help="With --csv: which table (default: the first).")] = None,
) -> None:
    """Reports: lead status, funnel, SLA, aging, inside-sales dependency, campaigns, quality."""
    if as_json and as_csv:
        raise UserError("--json and --csv: choose one")
    if table is not None and not as_csv:
        raise UserError("--table: only with --csv")
    lang = options.lang
    if name is None:
        from leadrelay.entrypoints.api import LeadRelay

        catalog = LeadRelay.reports()
        if as_json:
            print(render.as_json(catalog))
        else:
            show_catalog(catalog, lang)
        return
    raw: dict[str, str] = {}
    for item in option or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--option: '{item}' is not NAME=VALUE")
        raw[key.strip()] = value
    with relay() as engine:
        found = engine.report(name, start=start, end=end, by=by, options=raw)
    if as_json:
        print(render.as_json(found))
        return
    tables = found.tables()
    if as_csv:
        from leadrelay.services.report_kit import csv_text

        sys.stdout.write(csv_text(_table(tables, table)))
        return
    show_report(found, tables, lang)


def _table(tables: list[Table], name: str | None) -> Table:
    if name is None:
        return tables[0]
    for candidate in tables:
        if candidate.name == name:
            return candidate
    raise UserError(f"--table: no table '{name}' (tables: {', '.join(x.name for x in tables)})")


def show_catalog(catalog: list[ReportInfo], lang: str) -> None:
    table = RichTable(title=t("reports_title", lang))
    table.add_column(t("report_name", lang))
    table.add_column(t("report_what", lang))
    table.add_column(t("report_by", lang))
    table.add_column(t("report_options", lang))
    for info in catalog:
        table.add_row(
            info.name,
            escape(f"{info.title[lang]}\n{info.description[lang]}"),
            ", ".join(info.by) or "—",
            escape("\n".join(f"{o.name}={o.default}  {o.help[lang]}" for o in info.options) or "—"),
        )
    console.print(table)
    console.print(t("report_hint", lang))


def show_report(found: Report, tables: list[Table], lang: str) -> None:
    period = found.period
    console.print(
        f"[bold]{escape(found.report)}[/]  {period.start.isoformat()} – {period.end.isoformat()} ({period.timezone})"
        + (f"  {t('report_by', lang)}: {found.by}" if found.by else "")
        + f"  {t('report_as_of', lang)}: {found.as_of.isoformat(timespec='minutes')}"
    )
    for each in tables:
        rich = RichTable(title=escape(each.title.get(lang, each.title["en"])))
        body = [*each.rows, *([each.totals] if each.totals else [])]
        cells = [[cell(column, row.get(column.key)) for column in each.columns] for row in body]
        for i, column in enumerate(each.columns):
            numeric = column.kind in ("int", "float", "percent", "hours", "days", "amount")
            widest = max((len(row[i]) for row in cells), default=1)
            rich.add_column(
                escape(column.label.get(lang, column.label["en"])),
                justify="right" if numeric else "left",
                # figures and times are never cut (the heading wraps instead); text folds
                min_width=widest if numeric or column.kind == "moment" else None,
                overflow="fold" if column.kind == "text" else "ellipsis",
            )
        for n, row in enumerate(cells):
            rich.add_row(*[escape(c) for c in row], style="bold" if each.totals and n == len(cells) - 1 else None)
        if not each.rows:
            rich.caption = t("report_empty", lang)
        target = console
        needed = Measurement.get(console, console.options.update(width=1000, max_width=1000), rich).maximum
        if not console.is_terminal and needed > console.width:  # a file or a pipe: no reason to squeeze
            target = Console(width=needed, file=console.file, force_terminal=False, no_color=True)
        target.print(rich)


def cell(column: Column, value: Any) -> str:
    """A value as the table shows it, by the column's kind."""
    if value is None or value == "":
        return "—"
    kind = column.kind
    if kind == "percent":
        return f"{float(value) * 100:.1f} %"
    if kind in ("hours", "days", "float"):
        return f"{float(value):,.1f}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "amount":
        return f"{float(value):,.0f}"
    if kind == "moment":
        text = value.isoformat() if isinstance(value, datetime) else str(value)
        return text[:16].replace("T", " ")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
