"""Sales' answers from the command line: ``leadrelay lead accept|reject|advance|recycle``,
``leadrelay recycle-inactive`` and ``leadrelay suppression export``."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from leadrelay.entrypoints.cli.common import UserError, console, options, relay
from leadrelay.entrypoints.i18n import t

if TYPE_CHECKING:
    from leadrelay.services.sales import Feedback

suppression_app = typer.Typer(
    help="The suppression list: leads sales owns, not to be e-mailed by marketing.", no_args_is_help=True
)

Ref = Annotated[str, typer.Argument(metavar="EMAIL|EXTERNAL_ID", help="The lead's e-mail or external id.")]
Actor = Annotated[str, typer.Option("--as", help="Who answers (a rep id or name); stored with the move.")]


def _show(feedback: Feedback) -> None:
    for move in feedback.moves:
        console.print(
            f"✓ {feedback.lead}: {move.from_stage.value} → [bold]{move.to_stage.value}[/] ({move.trigger.value}) — {move.reason}",
            soft_wrap=True,
        )


def _run(call: Callable[[], Feedback]) -> None:
    from leadrelay.services.sales import FeedbackError

    try:
        _show(call())
    except FeedbackError as exc:
        raise UserError(str(exc)) from None


def register(lead_app: typer.Typer, app: typer.Typer) -> None:
    """Add the sales commands under ``lead`` and the top-level ones to the app."""
    lead_app.command("accept")(lead_accept)
    lead_app.command("reject")(lead_reject)
    lead_app.command("advance")(lead_advance)
    lead_app.command("recycle")(lead_recycle)
    app.command("recycle-inactive")(recycle_inactive)
    app.command("sla")(sla_list)
    app.add_typer(suppression_app, name="suppression")


def lead_accept(
    ref: Ref,
    actor: Actor = "cli",
    note: Annotated[str | None, typer.Option("--note", help="A note kept with the move.")] = None,
) -> None:
    """Sales accepts the lead: MQL → SAL."""
    with relay() as engine:
        _run(lambda: engine.accept(ref, actor=actor, note=note))


def lead_reject(
    ref: Ref,
    reason: Annotated[str, typer.Option("--reason", help="A reason code from the playbook (sales.reject_reasons).")],
    text: Annotated[str | None, typer.Option("--text", help="Why, in words (required for some reasons).")] = None,
    actor: Actor = "cli",
) -> None:
    """Sales rejects the lead with a reason; recyclable reasons send it back to marketing at once."""
    with relay() as engine:
        _run(lambda: engine.reject(ref, reason, text=text, actor=actor))


def lead_advance(
    ref: Ref,
    to: Annotated[str, typer.Option("--to", help="sql, opportunity, won or lost.")],
    amount: Annotated[str | None, typer.Option("--amount", help="Deal amount (opportunity, won, lost).")] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="ISO currency code, e.g. JPY.")] = None,
    lost_reason: Annotated[str | None, typer.Option("--lost-reason", help="Why the deal was lost.")] = None,
    actor: Actor = "cli",
) -> None:
    """Move a lead with sales on: SAL → SQL → Opportunity → Won or Lost."""
    with relay() as engine:
        _run(lambda: engine.advance(ref, to, amount=amount, currency=currency, lost_reason=lost_reason, actor=actor))


def lead_recycle(
    ref: Ref,
    reason: Annotated[str, typer.Option("--reason", help="Why it goes back to marketing.")],
    actor: Actor = "cli",
) -> None:
    """Send a lead sales has let go (rejected, SAL, SQL, lost) back to marketing."""
    with relay() as engine:
        _run(lambda: engine.recycle(ref, reason=reason, actor=actor))


def recycle_inactive() -> None:
    """Recycle every lead sales has left without activity for the playbook's sales.recycle.inactive_days
    (the worker does this on its own; this runs it once, e.g. from cron)."""
    with relay() as engine:
        done = engine.recycle_inactive()
    for feedback in done:
        _show(feedback)
    console.print(f"{len(done)} {t('recycled_count', options.lang)}")


@suppression_app.command("export")
def suppression_export(
    out: Annotated[Path | None, typer.Option("--out", help="CSV file to write (default: standard output).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of CSV.")] = False,
) -> None:
    """Write the current suppression list (CSV: email, external_id, stage, owner_rep, owner_department, assigned_at)."""
    with relay() as engine:
        rows = engine.suppression()
    columns = ["email", "external_id", "stage", "owner_rep", "owner_department", "assigned_at"]
    if out is not None and out.parent and not out.parent.is_dir():
        raise UserError(f"--out: folder does not exist: {out.parent}")
    handle = out.open("w", encoding="utf-8", newline="") if out else sys.stdout
    try:
        if as_json:
            handle.write(json.dumps(rows, ensure_ascii=False, indent=2, default=str) + "\n")
        else:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow(["" if row[c] is None else row[c] for c in columns])
    finally:
        if out is not None:
            handle.close()
    if out is not None:
        console.print(f"✓ {len(rows)} {t('suppressed', options.lang)} → {out}")


def sla_list(
    everything: Annotated[
        bool, typer.Option("--all", help="Every running clock, not only those near or past breach.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Leads waiting for sales' answer whose SLA clock is near (warning) or past breach."""
    from leadrelay.domain.sla import CLOCKS

    with relay() as engine:
        rows = engine.sla(everything=everything)
        tz = engine.playbook().playbook.timezone
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2))
        return
    lang = options.lang
    if not rows:
        console.print(t("sla_nothing", lang))
        return
    table = Table(title=t("sla_title", lang))
    for key in ("lead", "rep", "sla_clock", "sla_due", "sla_left", "status"):
        table.add_column(t(key, lang), justify="right" if key == "sla_left" else "left")
    for row in rows:
        state = t(f"sla_{row.reading.state}", lang)
        style = {"breached": "red", "warning": "yellow"}.get(row.reading.state, "green")
        clock = CLOCKS[row.clock.kind][1 if lang == "ja" else 0]
        table.add_row(
            row.lead,
            row.rep,
            f"{row.policy} / {clock}",
            row.clock.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            f"{row.reading.left / timedelta(hours=1):.1f} h",
            f"[{style}]{state}[/]",
        )
    console.print(table)
