"""``leadrelay activity-log``: bring the columnar activity log that ``rescore`` reads up to date."""

from __future__ import annotations

from typing import Annotated

import typer

from leadrelay.entrypoints.cli import render
from leadrelay.entrypoints.cli.common import console, options, relay
from leadrelay.entrypoints.i18n import t


def register(app: typer.Typer) -> None:
    """Add the command to the ``leadrelay`` app."""
    app.command("activity-log")(activity_log_command)


def activity_log_command(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Throw the log away and build it from the table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Refresh the columnar activity log from the activities table (built the first time; a cache
    that rescore reads instead of the table; see docs/activity-log.md)."""
    with relay() as engine:
        status = engine.refresh_activity_log(rebuild=rebuild)
    lang = options.lang
    if status is None:
        console.print(t("activity_log_off", lang))
        return
    if as_json:
        print(render.as_json(status))
        return
    head = t("activity_log_built", lang) if status.rebuilt else t("activity_log_refreshed", lang)
    console.print(f"{head}: {status.folder} ({status.seconds:.2f} s)")
    console.print(
        f"  {t('activity_log_rows', lang)}: {status.rows} · {t('activity_log_added', lang)}: {status.added} · "
        f"{t('activity_log_segments', lang)}: {status.segments} · "
        f"{t('activity_log_erased', lang)}: {status.erased_leads_rewritten}"
    )
