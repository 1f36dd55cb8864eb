"""Sales' answers from the command line: ``leadrelay lead accept|qualify|reject|advance|recycle|touch|note``,
``leadrelay recycle-inactive`` and ``leadrelay suppression export``."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from leadrelay.entrypoints.cli import render
from leadrelay.entrypoints.cli.common import UserError, console, options, relay
from leadrelay.entrypoints.i18n import t

if TYPE_CHECKING:
    from leadrelay.services.sales import Feedback

suppression_app = typer.Typer(
    help="The suppression list: leads sales owns, not to be e-mailed by marketing.", no_args_is_help=True
)

Ref = Annotated[str, typer.Argument(metavar="EMAIL|EXTERNAL_ID", help="The lead's e-mail or external id.")]
Actor = Annotated[str, typer.Option("--as", help="Who answers (a rep id or name); stored with the move.")]


JsonOpt = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


def _show(feedback: Feedback) -> None:
    for move in feedback.moves:
        console.print(
            f"✓ {feedback.lead}: {move.from_stage} → [bold]{move.to_stage}[/] ({move.trigger}) — {move.reason}",
            soft_wrap=True,
        )


def _run(call: Callable[[], Feedback], as_json: bool) -> None:
    from leadrelay.services.sales import FeedbackError

    try:
        feedback = call()
    except FeedbackError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        print(render.as_json(feedback))
    else:
        _show(feedback)


def register(lead_app: typer.Typer, app: typer.Typer) -> None:
    """Add the sales commands under ``lead`` and the top-level ones to the app."""
    lead_app.command("accept")(lead_accept)
    lead_app.command("qualify")(lead_qualify)
    lead_app.command("reject")(lead_reject)
    lead_app.command("advance")(lead_advance)
    lead_app.command("recycle")(lead_recycle)
    lead_app.command("touch")(lead_touch)
    lead_app.command("note")(lead_note)
    app.command("recycle-inactive")(recycle_inactive)
    app.command("sla")(sla_list)
    app.add_typer(suppression_app, name="suppression")


def lead_accept(
    ref: Ref,
    actor: Actor = "cli",
    note: Annotated[str | None, typer.Option("--note", help="A note kept with the move.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Sales accepts the lead: MQL → SAL."""
    with relay() as engine:
        _run(lambda: engine.accept(ref, actor=actor, note=note), as_json)


def lead_qualify(
    ref: Ref,
    actor: Actor = "cli",
    note: Annotated[
        str | None, typer.Option("--note", help="What inside sales found (BANT); kept with the move.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Inside sales qualifies the lead: MQL → Pre-SQL, handed to field sales by the playbook's pre_sql rules."""
    from leadrelay.services.sales import FeedbackError

    with relay() as engine:
        try:
            handoff = engine.qualify(ref, actor=actor, note=note)
        except FeedbackError as exc:
            raise UserError(str(exc)) from None
    if as_json:
        print(render.as_json(handoff))
        return
    _show(handoff)
    routed, lang = handoff.handoff, options.lang
    owner = f"{routed.department} / {routed.rep or t('queue', lang)}"
    console.print(f"→ {t('handed_to', lang)}: [bold]{owner}[/] — {routed.reason}", soft_wrap=True)


def lead_reject(
    ref: Ref,
    reason: Annotated[str, typer.Option("--reason", help="A reason code from the playbook (sales.reject_reasons).")],
    text: Annotated[str | None, typer.Option("--text", help="Why, in words (required for some reasons).")] = None,
    actor: Actor = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Sales rejects the lead with a reason; recyclable reasons send it back to marketing at once."""
    with relay() as engine:
        _run(lambda: engine.reject(ref, reason, text=text, actor=actor), as_json)


def lead_advance(
    ref: Ref,
    to: Annotated[str, typer.Option("--to", help="sql, opportunity, won or lost.")],
    amount: Annotated[str | None, typer.Option("--amount", help="Deal amount (opportunity, won, lost).")] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="ISO currency code, e.g. JPY.")] = None,
    lost_reason: Annotated[str | None, typer.Option("--lost-reason", help="Why the deal was lost.")] = None,
    actor: Actor = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Move a lead with sales on: SAL → SQL → Opportunity → Won or Lost."""
    with relay() as engine:
        _run(
            lambda: engine.advance(ref, to, amount=amount, currency=currency, lost_reason=lost_reason, actor=actor),
            as_json,
        )


def lead_recycle(
    ref: Ref,
    reason: Annotated[str, typer.Option("--reason", help="Why it goes back to marketing.")],
    actor: Actor = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Send a lead sales has let go (rejected, SAL, SQL, lost) back to marketing."""
    with relay() as engine:
        _run(lambda: engine.recycle(ref, reason=reason, actor=actor), as_json)


def lead_touch(
    ref: Ref,
    kind: Annotated[str, typer.Option("--kind", help="call, meeting or email.")],
    outcome: Annotated[
        str,
        typer.Option(
            "--outcome",
            help="call: connected, no_answer, voicemail, wrong_number; meeting: held, no_show, rescheduled, "
            "cancelled; email: sent, replied, bounced.",
        ),
    ],
    at: Annotated[
        str | None, typer.Option("--at", help="When (ISO 8601 with zone; default: now). Not in the future.")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="What was said.")] = None,
    actor: Actor = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Record a touch by sales (a call, meeting or e-mail and how it went): it stops the first-touch
    SLA clock and restarts the inactivity clock."""
    from leadrelay.adapters.records import parse_time

    with relay() as engine:
        when = parse_time(at, "--at", engine.clock.now()) if at is not None else None
        view = engine.touch(ref, kind=kind, outcome=outcome, at=when, note=note, actor=actor)
    if as_json:
        print(render.as_json(view))
    else:
        render.touch(console, ref, view, options.lang)


def lead_note(
    ref: Ref,
    text: Annotated[str, typer.Argument(help="The note.")],
    actor: Actor = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Keep a note on a lead, with who wrote it and when (``lead show`` lists the notes)."""
    with relay() as engine:
        view = engine.note(ref, text, actor=actor)
    if as_json:
        print(render.as_json(view))
    else:
        console.print(f"✓ {ref}: {t('note_kept', options.lang)}")


def recycle_inactive(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the leads that would be recycled; change nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Recycle every lead sales has left without activity for the playbook's sales.recycle.inactive_days
    (the worker does this on its own; this runs it once, e.g. from cron)."""
    with relay() as engine:
        report = engine.recycle_inactive(dry_run=dry_run)
    if as_json:
        print(render.as_json(report))
        return
    for feedback in report.recycled:
        _show(feedback)
    lang = options.lang
    console.print(f"{len(report.recycled)} {t('recycled_would' if dry_run else 'recycled_count', lang)}")


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
            handle.write(render.as_json(rows) + "\n")
        else:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                values = row.as_json()
                writer.writerow(["" if values[c] is None else values[c] for c in columns])
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
    with relay() as engine:
        rows = engine.sla(everything=everything)
    if as_json:
        print(render.as_json(rows))
        return
    if not rows:
        console.print(t("sla_nothing", options.lang))
        return
    render.sla(console, rows, options.lang)
