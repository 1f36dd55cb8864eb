"""``leadrelay route …`` and ``leadrelay reps …``: who gets which lead, and the reps' status."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from leadrelay.entrypoints.cli import render
from leadrelay.entrypoints.cli.common import UserError, console, options, relay
from leadrelay.entrypoints.i18n import t

if TYPE_CHECKING:
    from collections.abc import Sequence

    from leadrelay.services.routing import RoutedRow

route_app = typer.Typer(help="Hand qualified leads to departments and reps.", invoke_without_command=True)
reps_app = typer.Typer(help="Reps: workload, status, reassigning.", invoke_without_command=True)


def _print_routed(routed: Sequence[RoutedRow], as_json: bool) -> None:
    if as_json:
        print(render.as_json(routed))
        return
    lang = options.lang
    if not routed:
        console.print(t("nothing_to_route", lang))
        return
    from leadrelay.services.routing import RoutedRows

    # the counts without building every row (``LeadRelay.route`` builds them when read)
    by_owner = routed.counts() if isinstance(routed, RoutedRows) else _counts(routed)
    queued = sum(n for (_, rep), n in by_owner.items() if rep is None)
    console.print(f"{len(routed) - queued} {t('routed', lang)}, {queued} {t('queued', lang)}")
    counts: dict[tuple[str, str], int] = {}
    for (department, rep_id), n in by_owner.items():
        key = (department, rep_id or t("queue", lang))
        counts[key] = counts.get(key, 0) + n
    for (department, rep), count in sorted(counts.items()):
        console.print(f"  {department} / {rep}: {count}")


def _counts(routed: Sequence[RoutedRow]) -> dict[tuple[str, str | None], int]:
    out: dict[tuple[str, str | None], int] = {}
    for r in routed:
        out[(r.department, r.rep)] = out.get((r.department, r.rep), 0) + 1
    return out


@route_app.callback()
def route(
    ctx: typer.Context,
    all_open: Annotated[
        bool,
        typer.Option(
            "--all", help="Re-route every open lead too (they may change owner), not only MQLs without a rep."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print every decision as JSON.")] = False,
) -> None:
    """Route every MQL that has no rep yet (queued, or qualified before routing was set up)."""
    if ctx.invoked_subcommand is not None:
        return
    with relay() as instance:
        _print_routed(instance.route(include_assigned=all_open, actor="cli"), as_json)


@route_app.command("explain")
def route_explain(
    lead_ref: Annotated[str, typer.Argument(metavar="EMAIL|EXTERNAL_ID", help="The lead's e-mail or external id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Where routing would send the lead now, and why — without assigning it or using a turn."""
    with relay() as instance:
        view = instance.route_explain(lead_ref)
    if as_json:
        print(render.as_json(view))
    elif not view.would_route:
        console.print(f"[bold]{escape(view.lead)}[/]: {t('not_routed', options.lang)}: {escape(view.why_not or '')}")
        if view.stage != "disqualified":
            console.print(f"[dim]{t('if_qualified', options.lang)}:[/]")
            render.decision_panel(console, view, options.lang)
    else:
        render.decision_panel(console, view, options.lang)


@reps_app.callback()
def reps_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Every rep: open leads against capacity, leads received this week, status."""
    if ctx.invoked_subcommand is not None:
        return
    with relay() as instance:
        rows = instance.reps()
        owners = instance.summary(top=0).owners
    if as_json:
        print(render.as_json(rows))
    else:
        render.reps(console, rows, options.lang)
        render.queues(console, owners, options.lang)


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{name}: '{value}' is not a date (YYYY-MM-DD)") from None


@reps_app.command("away")
def reps_away(
    rep: Annotated[str, typer.Argument(help="Rep id.")],
    start: Annotated[str, typer.Option("--from", help="First day away (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last day away, inclusive (YYYY-MM-DD).")],
    note: Annotated[str | None, typer.Option("--note", help="Why (shown in reps).")] = None,
) -> None:
    """Mark a rep out of office: no new leads from --from to --to."""
    first, last = _date(start, "--from"), _date(end, "--to")
    if last < first:
        raise UserError("--to: the last day is before --from")
    with relay() as instance:
        instance.set_rep(rep, away=(first, last), note=note)
    console.print(f"✓ {rep}: {t('out_of_office', options.lang)} {first} → {last}")


@reps_app.command("back")
def reps_back(rep: Annotated[str, typer.Argument(help="Rep id.")]) -> None:
    """Clear a rep's out-of-office period."""
    with relay() as instance:
        instance.set_rep(rep, back=True)
    console.print(f"✓ {rep}: {t('available', options.lang)}")


@reps_app.command("deactivate")
def reps_deactivate(
    rep: Annotated[str, typer.Argument(help="Rep id.")],
    note: Annotated[str | None, typer.Option("--note", help="Why (shown in reps).")] = None,
) -> None:
    """Stop all new assignments to a rep (their open leads stay; see reassign)."""
    with relay() as instance:
        instance.set_rep(rep, active=False, note=note)
    console.print(f"✓ {rep}: {t('inactive', options.lang)}")


@reps_app.command("activate")
def reps_activate(rep: Annotated[str, typer.Argument(help="Rep id.")]) -> None:
    """Let a rep receive leads again."""
    with relay() as instance:
        instance.set_rep(rep, active=True)
    console.print(f"✓ {rep}: {t('available', options.lang)}")


@reps_app.command("reassign")
def reps_reassign(
    rep: Annotated[str, typer.Argument(help="Rep id whose open leads move.")],
    to: Annotated[
        str | None, typer.Option("--to", help="Give them all to this rep (default: route them again).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print every decision as JSON.")] = False,
) -> None:
    """Move a rep's open leads: to one rep, or through routing again to everyone else."""
    with relay() as instance:
        _print_routed(instance.reassign(rep, to=to, actor="cli"), as_json)
