"""Rich tables for the CLI: leads, summaries and playbooks, in English or Japanese."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from leadrelay.domain.lifecycle import Stage
from leadrelay.entrypoints.i18n import t

# The read models (pydantic), the services and the playbook loader are the commands' to import: this
# module is loaded with the command line, and names them for annotations only. The domain's tables
# (operators, routing reasons, SLA clocks) are imported by the functions that print them.
if TYPE_CHECKING:
    from leadrelay.adapters.playbook.loader import LoadedPlaybook
    from leadrelay.domain.playbook import Playbook
    from leadrelay.services.leads import LeadReport, RoutingView
    from leadrelay.services.read_models import ReadModel
    from leadrelay.services.reports import OwnerCount, Summary
    from leadrelay.services.routing import RepRow
    from leadrelay.services.sla import SlaRow
    from leadrelay.services.touches import TouchView


def _when(moment: datetime | None) -> str:
    """``2026-11-20T15:00:00+09:00`` → ``2026-11-20 15:00`` (read models carry the playbook's zone)."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


def _stamp(moment: datetime | None) -> str:
    """A time as the JSON writes it (ISO 8601 with the playbook zone's offset)."""
    from leadrelay.services.read_models import iso_time

    return iso_time(moment) if moment else "—"


def _fmt(points: float) -> str:
    return f"{points:+.1f}" if points else "0"


def as_json(value: ReadModel | Sequence[ReadModel]) -> str:
    """What ``--json`` prints: the read model's own serialisation (a list for several)."""
    from leadrelay.services.read_models import ReadModel

    data: Any = value.as_json() if isinstance(value, ReadModel) else [item.as_json() for item in value]
    return json.dumps(data, ensure_ascii=False, indent=2)


def lead(console: Console, report: LeadReport, lang: str) -> None:
    profile = report.profile
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("E-mail", report.email or "—")
    if report.external_id:
        head.add_row("External id", escape(report.external_id))
    for key in (
        "name",
        "title",
        "seniority",
        "department",
        "phone",
        "country",
        "prefecture",
        "postal_code",
        "source_channel",
        "company_name",
        "list_source",
    ):
        value = getattr(profile, key)
        if key == "company_name" and report.account is not None:
            continue  # the account says it
        if value:
            head.add_row(key.replace("_", " "), escape(str(value)))
    if profile.custom:
        head.add_row("custom", ", ".join(f"{k}={v}" for k, v in profile.custom.items()))
    account = report.account
    if account:
        parts = [account.name or "", account.domain]
        extra = [
            str(getattr(account, k))
            for k in ("industry", "employees", "country", "prefecture", "tier", "owner")
            if getattr(account, k)
        ]
        head.add_row(
            t("account", lang), " / ".join(p for p in parts if p) + (f"  ({', '.join(extra)})" if extra else "")
        )
    else:
        head.add_row(t("account", lang), "—")
    match = report.match
    if match is not None:
        evidence = "; ".join(f"{e.text[lang]} ({escape(e.lead)} → {escape(e.account)})" for e in match.evidence)
        head.add_row(
            t("match", lang),
            f"{t('match_tier', lang)} {match.tier} — {match.tier_label[lang]}"
            + (f": {evidence}" if evidence else f": {t('match_no_account', lang)}"),
        )
        for candidate in match.passed_over:
            head.add_row(
                f"  {t('match_passed_over', lang)}",
                f"{escape(candidate.account)} [dim]({t('match_tier', lang)} {candidate.tier}"
                + (f", {candidate.score:g}" if candidate.tier == 3 else "")
                + f": {candidate.why_text[lang] or '—'})[/]",
            )
    stage = report.stage_label[lang]
    head.add_row(t("stage", lang), f"[bold cyan]{stage}[/] ({t('since', lang)} {_stamp(report.stage_since)})")
    level = report.level
    head.add_row(
        t("level", lang),
        f"{level.level} — {escape(level.label)} [dim]({level.rule}; {t('level_owner', lang)}: {level.owner or '—'})[/]"
        if level
        else "—",
    )
    if report.mql:
        mql = report.mql
        product = f", product {mql.product}" if mql.product else ""
        head.add_row(
            t("mql", lang), f"{_stamp(mql.at)} [dim]({mql.rule}{product}{', priority' if mql.priority else ''})[/]"
        )
    dq = report.disqualification
    head.add_row(
        t("disqualified", lang),
        f"[red]{escape(dq.label)}[/] [dim]({dq.rule}: {dq.reason})[/]" if dq else t("none", lang),
    )
    scores = report.scores
    gate = t("passed", lang) if scores.fit_gate_passed else f"[yellow]{t('not_passed', lang)}[/]"
    head.add_row(
        t("scores", lang),
        f"{t('fit', lang)} {scores.fit:.1f} + {t('engagement', lang)} {scores.engagement:.1f} = "
        f"[bold]{scores.total:.1f}[/]  ({t('fit_gate', lang)}: {gate}, as of {_stamp(report.as_of)})",
    )
    console.print(Panel(head, title=f"{t('profile', lang)} — playbook {report.playbook.id} {report.playbook.version}"))

    history = Table(title=t("history", lang), show_lines=False)
    for key in ("time", "from", "to", "trigger", "actor", "rule", "reason"):
        history.add_column(t(key, lang))
    for move in report.history:
        history.add_row(
            _when(move.at),
            move.from_stage,
            move.to_stage,
            move.trigger,
            move.actor,
            move.rule or "—",
            escape(move.reason),
        )
    console.print(history)

    fit = Table(title=f"{t('fit', lang)} = {scores.fit:.1f}")
    fit.add_column(t("rule", lang))
    fit.add_column(t("label", lang))
    fit.add_column(t("points", lang), justify="right")
    for row in report.fit:
        fit.add_row(row.rule, escape(row.label), _fmt(row.points))
    console.print(fit)

    engagement = Table(title=f"{t('engagement', lang)} = {scores.engagement:.1f}")
    for key, justify in (
        ("time", "left"),
        ("activity", "left"),
        ("campaign", "left"),
        ("rule", "left"),
        ("counted", "right"),
        ("decay", "right"),
        ("points", "right"),
        ("note", "left"),
    ):
        engagement.add_column(t(key, lang), justify=justify)  # type: ignore[arg-type]
    for item in report.engagement:
        engagement.add_row(
            _when(item.at),
            item.activity,
            item.campaign or "—",
            item.rule or "—",
            f"{item.counted:g}/{item.base:g}" if item.rule else "—",
            f"×{item.decay:.3f}" if item.rule else "—",
            _fmt(item.points),
            escape(item.note),
        )
    console.print(engagement)

    routing(console, report, lang)
    if report.sla:
        sla(console, report.sla, lang)

    if report.outcomes:
        closed = Table(title=t("outcomes", lang))
        for key in ("closed_at", "outcome", "amount", "product", "reason"):
            closed.add_column(t(key, lang), justify="right" if key == "amount" else "left")
        closed.add_column("SDR")
        closed.add_column("SR")
        for outcome in report.outcomes:
            amount = f"{outcome.amount} {outcome.currency or ''}".strip() if outcome.amount is not None else "—"
            closed.add_row(
                _when(outcome.closed_at),
                outcome.outcome,
                amount,
                escape(outcome.product or "—"),
                escape(outcome.lost_reason or "—"),
                escape(outcome.sdr or "—"),
                escape(outcome.sr or "—"),
            )
        console.print(closed)

    if report.touches:
        touches = Table(title=t("touches", lang))
        for key in ("time", "touch_kind", "touch_outcome", "actor", "note"):
            touches.add_column(t(key, lang))
        for touch in report.touches:
            touches.add_row(_when(touch.at), touch.kind, touch.outcome, escape(touch.actor), escape(touch.note or "—"))
        console.print(touches)
    for note in report.notes:
        console.print(f"[bold]{t('lead_note', lang)}[/] {_when(note.at)} {escape(note.actor)}: {escape(note.text)}")


def touch(console: Console, lead: str, view: TouchView, lang: str) -> None:
    console.print(
        f"✓ {escape(lead)}: {t('touch_recorded', lang)} — {view.kind} {view.outcome} {_when(view.at)}"
        f" ({escape(view.actor)})",
        soft_wrap=True,
    )


def routing(console: Console, report: LeadReport, lang: str) -> None:
    """The lead's owner and every routing decision, with who was passed over and why."""
    owner = report.owner
    if owner.holder == "nobody":
        who = t("owner_nobody", lang)
    else:
        department = (owner.department_label or {}).get(lang) or owner.department or "—"
        rep = f"{owner.rep_name} ({owner.rep})" if owner.rep_name else (owner.rep or "")
        if owner.holder == "sales" and not owner.rep:
            rep = t("queue", lang)
        who = f"{escape(department)}" + (f" / {escape(rep)}" if rep else "")
        if owner.assigned_at is not None:
            who += f" ({t('since', lang)} {_when(owner.assigned_at)})"
    console.print(f"[bold]{t('owner_now', lang)}[/]: {who}")
    console.print(f"  [dim]{escape(owner.why)}[/]", soft_wrap=True)
    for decision in report.routing:
        decision_panel(console, decision, lang)


def decision_panel(console: Console, decision: RoutingView, lang: str) -> None:
    from leadrelay.domain.routing import PASS_REASONS, RULE_MISSES, STRATEGIES

    strategy = STRATEGIES.get(decision.strategy or "", ("", ""))
    head = (
        f"[bold]{t('routing', lang)}[/] {_when(decision.at)} {escape(f'[{decision.kind}]')} "
        f"{escape(decision.rule or '—')} → {escape(decision.department)}"
        f" / [bold]{escape(decision.rep or t('queue', lang))}[/]"
    )
    if decision.strategy:
        head += f" ({strategy[1] if lang == 'ja' else strategy[0]})"
    console.print(head)
    console.print(f"  {escape(decision.reason)}", soft_wrap=True)
    if decision.previous_rep and decision.previous_rep != decision.rep:
        console.print(f"  {t('previous_rep', lang)}: {escape(decision.previous_rep)}")
    if decision.passed_over:
        table = Table(box=None, padding=(0, 2), show_header=True)
        table.add_column(t("passed_over", lang))
        table.add_column(t("why", lang))
        table.add_column("")
        for item in decision.passed_over:
            why = PASS_REASONS.get(item.why, (item.why, item.why))
            table.add_row(escape(item.rep), why[1] if lang == "ja" else why[0], escape(item.detail or ""))
        console.print(table)
    if decision.rules_not_taken:
        misses = ", ".join(
            f"{m.rule} ({(RULE_MISSES.get(m.why, (m.why, m.why))[1 if lang == 'ja' else 0])})"
            for m in decision.rules_not_taken
        )
        console.print(f"  {t('rules_not_taken', lang)}: {escape(misses)}", soft_wrap=True)


def sla(console: Console, rows: Sequence[SlaRow], lang: str) -> None:
    """Running SLA clocks: lead, rep, policy and clock, when due, business hours left, state."""
    from leadrelay.domain.sla import CLOCKS

    table = Table(title=t("sla_title", lang))
    for key in ("lead", "rep", "sla_clock", "sla_due", "sla_left", "status"):
        table.add_column(t(key, lang), justify="right" if key == "sla_left" else "left")
    for row in rows:
        state = t(f"sla_{row.state}", lang)
        style = {"breached": "red", "warning": "yellow"}.get(row.state, "green")
        clock = CLOCKS[row.clock][1 if lang == "ja" else 0]
        table.add_row(
            row.lead,
            row.rep,
            f"{row.policy} / {clock}",
            _when(row.due_at),
            f"{row.business_hours_left:.1f} h",
            f"[{style}]{state}[/]",
        )
    console.print(table)


def reps(console: Console, rows: Sequence[RepRow], lang: str) -> None:
    table = Table(title=t("reps", lang))
    for key, justify in (
        ("rep", "left"),
        ("name", "left"),
        ("department", "left"),
        ("open_capacity", "right"),
        ("received_this_week", "right"),
        ("weight", "right"),
        ("status", "left"),
    ):
        table.add_column(t(key, lang), justify=justify)  # type: ignore[arg-type]
    for row in rows:
        capacity = f"{row.open}/{row.capacity}" if row.capacity is not None else str(row.open)
        status = t(row.status, lang)
        if row.away_until:
            status += f" (→ {row.away_until.isoformat()})"
        style = "green" if row.status == "available" else "yellow"
        table.add_row(
            escape(row.rep),
            escape(row.name),
            escape(row.department),
            capacity,
            str(row.received_this_week),
            f"{row.weight:g}",
            f"[{style}]{escape(status)}[/]",
        )
    console.print(table)


def queues(console: Console, owners: Sequence[OwnerCount], lang: str) -> None:
    """Leads a sales department holds without a rep: they wait in its queue."""
    waiting = [o for o in owners if o.holder == "sales" and o.queued]
    for holder in waiting:
        name = (holder.label or {}).get(lang) or holder.department or "—"
        console.print(f"{t('queue_of', lang)} {escape(name)}: [yellow]{holder.queued}[/]")


def summary(console: Console, data: Summary, playbook: Playbook, lang: str) -> None:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row(t("leads", lang), str(data.leads))
    head.add_row(t("unique_companies", lang), str(data.unique_companies))
    head.add_row(t("mqls_this_week", lang), f"{data.mqls_this_week}  [dim](since {_stamp(data.week_start)})[/]")
    closed = data.outcomes
    if closed.won or closed.lost:
        amounts = "; ".join(
            f"{currency}: won {sums.won}, lost {sums.lost}" for currency, sums in closed.amounts.items()
        )
        head.add_row(
            t("won_lost", lang),
            f"{closed.won} / {closed.lost}" + (f"  [dim]({escape(amounts)})[/]" if amounts else ""),
        )
    head.add_row("Playbook", f"{data.playbook.id} {data.playbook.version} [dim]{data.playbook.hash[:12]}[/]")
    console.print(Panel(head, title=f"leadrelay — {_stamp(data.as_of)}"))

    stages = Table(title=t("by_stage", lang))
    stages.add_column(t("stage", lang))
    stages.add_column(t("count", lang), justify="right")
    for stage, count in data.by_stage.items():
        if count:
            stages.add_row(playbook.stage_label(Stage(stage), lang), str(count))
    levels = Table(title=t("by_level", lang))
    levels.add_column(t("level", lang))
    levels.add_column(t("count", lang), justify="right")
    for level, count in data.by_level.items():
        levels.add_row(level, str(count))
    reasons = Table(title=t("dq_reasons", lang))
    reasons.add_column(t("reason", lang))
    reasons.add_column(t("count", lang), justify="right")
    for reason, count in data.disqualified_by_reason.items():
        reasons.add_row(reason, str(count))
    owners = Table(title=t("owners", lang))
    owners.add_column(t("owner_now", lang))
    owners.add_column(t("with_rep", lang), justify="right")
    owners.add_column(t("no_rep", lang), justify="right")
    for holder in data.owners:
        if holder.holder == "nobody":
            name = t("owner_nobody", lang)
        else:
            name = escape((holder.label or {}).get(lang) or holder.department or "—")
            if holder.holder == "marketing":
                name += f" [dim]({t('nurture_no_rep', lang)})[/]"
        owners.add_row(name, str(holder.with_rep) if holder.holder == "sales" else "—", str(holder.queued))
    console.print(Group(stages, levels, reasons, owners))

    top = Table(title=t("top_leads", lang))
    for key in ("leads", "company", "stage", "level", "score", "why"):
        top.add_column(t(key, lang), justify="right" if key in ("level", "score") else "left")
    for row in data.top_leads:
        top.add_row(
            f"{row.name or ''}\n[dim]{row.email or row.external_id}[/]",
            row.company or "—",
            playbook.stage_label(Stage(row.stage), lang),
            str(row.level or "—"),
            f"{row.score:.1f}",
            escape("\n".join(row.why)),
        )
    console.print(top)


def _limits(rule: Any) -> str:
    parts = []
    if rule.repeat is not None:
        if rule.repeat.unique_by:
            parts.append(f"once per {rule.repeat.unique_by}")
        if rule.repeat.max_times:
            parts.append(f"at most {rule.repeat.max_times}×")
    if rule.cap is not None:
        parts.append(f"≤ {rule.cap.points:g} per {rule.cap.per}")
    return ", ".join(parts) or "—"


def playbook(console: Console, loaded: LoadedPlaybook, lang: str) -> None:
    pb = loaded.playbook
    doc = loaded.document
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("Playbook", f"{pb.name} [dim]({pb.id} {pb.version}, {pb.hash[:12]})[/]")
    if doc.description:
        head.add_row("", doc.description.strip())
    head.add_row("Time zone", str(pb.timezone))
    window = f"{pb.window_days:g} {t('days', lang)}" if pb.window_days else "—"
    head.add_row(t("window", lang), f"{window}; {t('decay', lang)}: {escape(pb.decay.describe(lang))}")
    gate = []
    if pb.fit_gate.min_score is not None:
        gate.append(f"{t('fit', lang)} ≥ {pb.fit_gate.min_score:g}")
    gate_text = escape(pb.fit_gate.condition.describe(lang))
    if gate_text not in ("always", "常に"):
        gate.append(gate_text)
    head.add_row(t("fit_gate", lang), " and ".join(gate) or "—")
    console.print(Panel(head, title=loaded.source))

    dq = Table(title=t("pb_disqualify", lang))
    for key in ("rule", "reason", "label", "condition"):
        dq.add_column(t(key, lang))
    for dq_rule in pb.disqualifications:
        dq.add_row(
            dq_rule.id,
            dq_rule.reason,
            escape(dq_rule.label),
            escape(dq_rule.text_ja if lang == "ja" else dq_rule.text_en),
        )
    console.print(dq)

    fit = Table(title=t("pb_fit", lang))
    for key in ("rule", "label", "condition", "points"):
        fit.add_column(t(key, lang), justify="right" if key == "points" else "left")
    for fit_rule in pb.fit_rules:
        fit.add_row(
            fit_rule.id, escape(fit_rule.label), escape(fit_rule.condition.describe(lang)), _fmt(fit_rule.points)
        )
    console.print(fit)

    engagement = Table(title=t("pb_engagement", lang))
    for key in ("rule", "label", "activity", "condition", "points", "limits", "decay"):
        engagement.add_column(t(key, lang), justify="right" if key == "points" else "left")
    docs = {r.id: r for r in doc.engagement.rules}
    for rule in pb.engagement_rules:
        condition = escape(rule.where.describe(lang))
        engagement.add_row(
            rule.id,
            escape(rule.label),
            " / ".join(sorted(rule.types)),
            "—" if condition in ("always", "常に") else condition,
            _fmt(rule.points),
            _limits(docs[rule.id]),
            escape(rule.decay.describe(lang)) if rule.decay else "—",
        )
    console.print(engagement)

    levels = Table(title=t("pb_levels", lang))
    for key in ("level", "rule", "label", "condition", "owner"):
        levels.add_column(t(key, lang))
    for level in pb.levels:
        levels.add_row(
            str(level.level), level.id, escape(level.label), escape(level.condition.describe(lang)), level.owner or "—"
        )
    console.print(levels)

    mql = Table(title=t("pb_mql", lang))
    for key in ("rule", "label", "condition", "product", "priority"):
        mql.add_column(t(key, lang))
    for mql_rule in pb.mql_rules:
        mql.add_row(
            mql_rule.id,
            escape(mql_rule.label),
            escape(mql_rule.condition.describe(lang)),
            mql_rule.product or "—",
            t("yes" if mql_rule.priority else "no", lang),
        )
    console.print(mql)

    hands = Table(title=t("pb_hand_raisers", lang))
    for key in ("rule", "label", "activity", "condition"):
        hands.add_column(t(key, lang))
    for hr in pb.hand_raisers:
        condition = escape(hr.where.describe(lang))
        hands.add_row(
            hr.id, escape(hr.label), " / ".join(sorted(hr.types)), "—" if condition in ("always", "常に") else condition
        )
    console.print(hands)

    if pb.calendars:
        calendars = Table(title=t("pb_calendars", lang))
        for key in ("calendar", "label", "business_hours", "departments"):
            calendars.add_column(t(key, lang))
        departments = pb.routing.departments.values() if pb.routing else ()
        for calendar in pb.calendars.values():
            users = [d.label(lang) for d in departments if d.calendar is calendar]
            calendars.add_row(
                calendar.id,
                escape(calendar.label or "—"),
                escape(calendar.describe(lang)),
                escape(("、" if lang == "ja" else ", ").join(users) or "—"),
            )
        console.print(calendars)


def operators(console: Console, lang: str) -> None:
    from leadrelay.domain.conditions import OPERATORS

    table = Table(title="Condition operators")
    for key in ("operator", "value", "meaning"):
        table.add_column(t(key, lang))
    for op in OPERATORS.values():
        table.add_row(op.name, op.value, op.text_ja if lang == "ja" else op.text_en)
    console.print(table)
