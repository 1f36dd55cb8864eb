"""``leadrelay rescore``: recompute every lead after a playbook change and report what changed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadrelay.entrypoints.cli import render
from leadrelay.entrypoints.cli.common import console, options, relay
from leadrelay.entrypoints.i18n import t

if TYPE_CHECKING:  # re-scoring (NumPy, the bulk path) is loaded by the engine's rescore()
    from leadrelay.services.rescore import RescoreReport


def register(app: typer.Typer) -> None:
    """Add the command to the ``leadrelay`` app."""
    app.command("rescore")(rescore_command)


def rescore_command(
    playbook: Annotated[
        Path | None, typer.Option("--playbook", help="Apply this playbook first (like `playbook apply`).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would change; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Recompute every lead's scores, level and qualification (bulk path) and report what changed."""
    with relay() as engine:
        report = engine.rescore(playbook, dry_run=dry_run)
    if as_json:
        print(render.as_json(report))
    else:
        show(report, options.lang, console)


def show(report: RescoreReport, lang: str, console: Console) -> None:
    head = t("rescore_dry_run", lang) if report.dry_run else t("rescore_done", lang)
    console.print(
        f"{head}: {report.leads_rescored} {t('rescore_leads', lang)} — {report.playbook.id} {report.playbook.version} "
        f"[dim]({report.playbook.hash[:12]})[/], {report.seconds.get('total', 0.0):.2f} s"
    )
    if not report.changed:
        console.print(t("rescore_nothing", lang))
        return
    lines = [
        ("rescore_written", report.leads_written),
        ("rescore_up", report.level_moved_up),
        ("rescore_down", report.level_moved_down),
        ("rescore_became_mql", report.became_mql),
        ("rescore_mql_not_meeting", report.mql_no_longer_meeting_a_rule),
        ("rescore_disqualified", report.disqualified),
        ("rescore_reinstated", report.reinstated),
        ("rescore_routed", report.routed),
    ]
    for key, value in lines:
        console.print(f"  {t(key, lang)}: {value}")
    if report.level_changes:
        table = Table(title=t("rescore_level_table", lang))
        for name in ("from", "to", "count"):
            table.add_column(t(name, lang), justify="right")
        for change in report.level_changes:
            table.add_row(str(change.from_level or "—"), str(change.to_level or "—"), str(change.leads))
        console.print(table)
