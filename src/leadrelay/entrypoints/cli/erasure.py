"""``leadrelay lead erase REF``: erase a person's personal data (an APPI / GDPR request)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from leadrelay.entrypoints.cli import render
from leadrelay.entrypoints.cli.common import UserError, console, errors, options, relay
from leadrelay.entrypoints.i18n import t

if TYPE_CHECKING:
    from leadrelay.services.erasure import ErasureReport


def register(lead_app: typer.Typer) -> None:
    lead_app.command("erase")(lead_erase)


def lead_erase(
    ref: Annotated[
        str,
        typer.Argument(metavar="EMAIL|EXTERNAL_ID", help="The person's e-mail or external id (or an erased- ref)."),
    ],
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask for confirmation (required without a terminal).")
    ] = False,
    actor: Annotated[str, typer.Option("--as", help="Who asked for the erasure (kept in the erasure record).")] = "cli",
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Erase a person's personal data everywhere leadrelay stores it, keeping anonymous counts.

    The lead stays as an anonymous record (a random erased- ref) so reports stay right; its
    e-mail and external id are kept only as keyed hashes, so later records for the person are
    refused. Erasing again is harmless and says so."""
    lang = options.lang
    if not yes:
        if not sys.stdin.isatty():
            raise UserError(t("erase_needs_yes", lang))
        if not typer.confirm(t("erase_confirm", lang).format(ref=ref), default=False, err=True):
            errors.print(t("erase_aborted", lang), markup=False, highlight=False)
            raise typer.Exit(1)
    with relay() as engine:
        report = engine.erase(ref, actor=actor)
    if as_json:
        print(render.as_json(report))
    else:
        show(report, ref, lang)


def show(report: ErasureReport, ref: str, lang: str) -> None:
    if report.already_erased:
        console.print(t("erase_already", lang).format(ref=ref), markup=False, highlight=False)
        if report.erased_at is not None:
            when = report.erased_at.isoformat(timespec="seconds")
            console.print(t("erase_already_at", lang).format(at=when, by=report.requested_by), markup=False)
        if not report.tables:
            return
    else:
        console.print("✓ " + t("erase_done", lang).format(ref=ref, new=report.ref), markup=False, highlight=False)
    table = Table(t("erase_table", lang), t("erase_rows", lang))
    for name, rows in report.tables.items():
        table.add_row(name, str(rows))
    console.print(table)
    if report.messages_cancelled:
        console.print(f"{report.messages_cancelled} {t('erase_cancelled', lang)}", markup=False)
    if report.files:
        files = Table(
            t("erase_file", lang), t("erase_status", lang), t("erase_rows", lang), title=t("erase_files", lang)
        )
        for item in report.files:
            status = t(f"erase_{item.status}", lang) + (f" ({item.error})" if item.error else "")
            files.add_row(item.path, status, str(item.rows_removed))
        console.print(files)
