"""``leadrelay summaries``: check (or rebuild) the summary tables the reports read."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from leadrelay.entrypoints.cli import render
from leadrelay.entrypoints.cli.common import console, options, relay
from leadrelay.entrypoints.i18n import t


def register(app: typer.Typer) -> None:
    """Add the command to the ``leadrelay`` app."""
    app.command("summaries")(summaries_command)


def summaries_command(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Derive every summary again from the facts, then check.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Compare the summary tables the reports read with a recount from the facts; exit 1 when
    they differ (see docs/reports.md, "Summary tables")."""
    with relay() as engine:
        status = engine.check_summaries(rebuild=rebuild)
    lang = options.lang
    if as_json:
        print(render.as_json(status))
    else:
        head = t("summaries_title", lang) + (f" — {t('summaries_rebuilt', lang)}" if status.rebuilt else "")
        table = Table(title=f"{head} ({status.seconds:.2f} s)")
        for key in (
            "summaries_summary",
            "summaries_rows",
            "summaries_recounted",
            "summaries_differing",
            "summaries_leads",
        ):
            table.add_column(t(key, lang), justify="left" if key == "summaries_summary" else "right")
        for s in status.summaries:
            table.add_row(
                f"{s.summary} ({s.table})", f"{s.rows:,}", f"{s.recounted:,}", f"{s.differing:,}", f"{s.leads:,}"
            )
        console.print(table)
        if status.touch_types is None or status.touch_types != status.playbook_touch_types:
            recorded = ", ".join(status.touch_types) if status.touch_types else "—"
            wanted = ", ".join(status.playbook_touch_types) or "—"
            console.print(t("summaries_touch_types", lang).format(recorded=recorded, wanted=wanted))
        if status.zone != status.playbook_zone:
            console.print(t("summaries_zone", lang).format(recorded=status.zone or "—", wanted=status.playbook_zone))
        console.print(t("summaries_equal" if status.equal else "summaries_differ", lang))
    if not status.equal:
        raise typer.Exit(1)
