"""Sales' answers and the loop back to marketing: accept, reject with a reason, advance a lead
through SAL → SQL → Opportunity → Won/Lost, and recycle it to marketing when sales lets it go.

Every move is a fixed point of the lead's history (its new anchor): activities after it are
judged from there, so a recycled lead becomes an MQL again only through new activity.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry
import sqlalchemy as sa

from leadrelay.adapters.store.outbox import cancel_timers
from leadrelay.adapters.store.sql_store import LeadState, StoreTx
from leadrelay.adapters.store.tables import leads
from leadrelay.domain.evaluation import StageChange
from leadrelay.domain.lifecycle import IllegalTransition, Stage, Trigger, next_stage
from leadrelay.domain.playbook import Playbook
from leadrelay.errors import LeadRelayError
from leadrelay.services.notifications import NotificationContext, notify
from leadrelay.services.routing import SLA_TIMERS

#: Where sales owns the lead: it is on the suppression list (no marketing e-mail) while here.
SALES_STAGES = frozenset({Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY})
#: Stages the inactivity rule watches (an opportunity is a deal: sales closes it as won or lost).
WATCHED_STAGES = (Stage.SAL, Stage.SQL)
ADVANCES = {
    "sql": Trigger.SALES_QUALIFIED,
    "opportunity": Trigger.OPPORTUNITY_CREATED,
    "won": Trigger.WON,
    "lost": Trigger.LOST,
}


class FeedbackError(LeadRelayError, ValueError):
    """A sales answer that cannot be taken (one clear line for the user)."""


@dataclass(frozen=True, slots=True)
class Feedback:
    lead_id: int
    lead: str
    moves: tuple[StageChange, ...]


def _fixed_move(
    state: LeadState,
    trigger: Trigger,
    playbook: Playbook,
    now: datetime,
    actor: str,
    reason: str,
    rule_id: str | None = None,
) -> tuple[StageChange, dict[str, Any]]:
    """A move sales (or the engine, recycling) makes: the stage it leads to and its history row."""
    try:
        target = next_stage(state.stage, trigger)
    except IllegalTransition as exc:
        raise FeedbackError(f"{state.lead.key}: {exc}") from None
    at = max(now, state.stage_at)
    move = StageChange(trigger, state.stage, target, at, None, reason, actor=actor)
    row = {
        "lead_id": state.id,
        "occurred_at": at,
        "recorded_at": now,
        "from_stage": state.stage.value,
        "to_stage": target.value,
        "trigger": trigger.value,
        "actor": actor,
        "rule_id": rule_id,
        "reason": reason,
        "derived": False,
        "level": None,
        "score": None,
        "product": None,
        "priority": False,
        "activity_key": None,
        "playbook_hash": playbook.hash,
    }
    return move, row


def _apply(
    tx: StoreTx,
    playbook: Playbook,
    state: LeadState,
    moves: list[tuple[StageChange, dict[str, Any]]],
    values: dict[str, Any],
    now: datetime,
) -> None:
    tx.insert_transitions([row for _, row in moves])
    last = moves[-1][0]
    if state.stage == Stage.MQL:  # sales answered: the SLA clocks stop
        for kind in SLA_TIMERS:
            cancel_timers(tx, lead_id=state.id, kind=kind)
    if last.to_stage == Stage.RECYCLED:
        context = NotificationContext(
            lead_id=state.id,
            rep_id=_owner(tx, state.id),
            reason=last.reason,
            ref=f"recycled:{last.at.isoformat()}",
        )
        notify(tx, playbook, "recycled", context, now)
        notify(tx, playbook, "suppression_changed", replace(context, reason="marketing mail resumes"), now)
    tx.execute(
        leads.update()
        .where(leads.c.id == state.id)
        .values(
            stage=last.to_stage.value,
            stage_at=last.at,
            anchor_stage=last.to_stage.value,
            anchor_at=last.at,
            anchor_check=False,
            **values,
        )
    )


def _owner(tx: StoreTx, lead_id: int) -> str | None:
    owner: str | None = tx.execute(sa.select(leads.c.owner_rep).where(leads.c.id == lead_id)).scalar_one_or_none()
    return owner


def _state(tx: StoreTx, lead_id: int) -> LeadState:
    return tx.lead_states([lead_id])[lead_id]


def accept(
    tx: StoreTx, playbook: Playbook, lead_id: int, now: datetime, *, actor: str, note: str | None = None
) -> Feedback:
    """Sales accepts the lead: MQL → SAL."""
    state = _state(tx, lead_id)
    reason = "accepted by sales" + (f": {note}" if note else "")
    move = _fixed_move(state, Trigger.ACCEPTED, playbook, now, actor, reason)
    _apply(tx, playbook, state, [move], {"updated_at": now}, now)
    return Feedback(lead_id, state.lead.key, (move[0],))


def reject(
    tx: StoreTx,
    playbook: Playbook,
    lead_id: int,
    code: str,
    now: datetime,
    *,
    actor: str,
    text: str | None = None,
) -> Feedback:
    """Sales rejects the lead with a reason from the playbook's list; a recyclable reason sends it
    straight back to marketing (Recycled)."""
    reasons = playbook.sales.reject_reasons
    reason = reasons.get(code)
    if reason is None:
        raise FeedbackError(f"unknown reason '{code}' (reasons: {', '.join(reasons)})")
    if reason.needs_text and not (text and text.strip()):
        raise FeedbackError(f"reason '{code}' needs a text (--text) saying why")
    state = _state(tx, lead_id)
    said = f"rejected by sales: {reason.label_en}" + (f" — {text.strip()}" if text and text.strip() else "")
    moves = [_fixed_move(state, Trigger.REJECTED, playbook, now, actor, said, rule_id=code)]
    values: dict[str, Any] = {"updated_at": now}
    if reason.recycle:
        rejected = _moved(state, moves[-1][0])
        moves.append(
            _fixed_move(rejected, Trigger.RECYCLED, playbook, now, actor, f"recycled: rejected as {reason.label_en}")
        )
        values.update(_recycled_values(state, playbook))
    _apply(tx, playbook, state, moves, values, now)
    return Feedback(lead_id, state.lead.key, tuple(m for m, _ in moves))


def advance(
    tx: StoreTx,
    playbook: Playbook,
    lead_id: int,
    to: str,
    now: datetime,
    *,
    actor: str,
    amount: str | None = None,
    currency: str | None = None,
    lost_reason: str | None = None,
) -> Feedback:
    """SAL → SQL → Opportunity → Won or Lost (with amount and lost reason); a lost lead goes back
    to marketing when the playbook says so."""
    trigger = ADVANCES.get(to)
    if trigger is None:
        raise FeedbackError(f"unknown stage '{to}' (choose one of: {', '.join(ADVANCES)})")
    value = _amount(amount)
    if currency is not None and pycountry.currencies.get(alpha_3=currency.strip().upper()) is None:
        raise FeedbackError(f"--currency: '{currency}' is not an ISO currency code (e.g. JPY, USD)")
    if (value is not None or currency) and trigger not in (Trigger.WON, Trigger.LOST, Trigger.OPPORTUNITY_CREATED):
        raise FeedbackError("an amount belongs to an opportunity, a won or a lost deal")
    if lost_reason and trigger != Trigger.LOST:
        raise FeedbackError("a lost reason belongs to a lost deal")
    state = _state(tx, lead_id)
    detail = [f"{value} {currency.upper() if currency else ''}".strip()] if value is not None else []
    detail += [lost_reason] if lost_reason else []
    reason = {
        Trigger.SALES_QUALIFIED: "sales qualified the lead",
        Trigger.OPPORTUNITY_CREATED: "opportunity created",
        Trigger.WON: "deal won",
        Trigger.LOST: "deal lost",
    }[trigger] + (f" ({'; '.join(detail)})" if detail else "")
    moves = [_fixed_move(state, trigger, playbook, now, actor, reason)]
    values: dict[str, Any] = {"updated_at": now}
    if trigger in (Trigger.WON, Trigger.LOST):
        _record_outcome(tx, state, trigger, moves[-1][0].at, now, actor, value, currency, lost_reason)
    if trigger == Trigger.LOST and playbook.sales.recycle_on_lost:
        lost = _moved(state, moves[-1][0])
        moves.append(_fixed_move(lost, Trigger.RECYCLED, playbook, now, actor, "recycled: the deal was lost"))
        values.update(_recycled_values(state, playbook))
    _apply(tx, playbook, state, moves, values, now)
    return Feedback(lead_id, state.lead.key, tuple(m for m, _ in moves))


def _amount(text: str | None) -> Decimal | None:
    if text is None or not str(text).strip():
        return None
    try:
        value = Decimal(str(text).replace(",", "").strip())
    except InvalidOperation:
        raise FeedbackError(f"--amount: '{text}' is not a number") from None
    if not value.is_finite() or value < 0:
        raise FeedbackError(f"--amount: '{text}' must be zero or more")
    return value


def _record_outcome(
    tx: StoreTx,
    state: LeadState,
    trigger: Trigger,
    at: datetime,
    now: datetime,
    actor: str,
    amount: Decimal | None,
    currency: str | None,
    lost_reason: str | None,
) -> None:
    outcome = "won" if trigger == Trigger.WON else "lost"
    key = hashlib.sha256(f"sales\x1f{state.id}\x1f{outcome}\x1f{at.isoformat()}".encode()).hexdigest()[:32]
    tx.insert_outcomes(
        [
            {
                "key": key,
                "lead_id": state.id,
                "outcome": outcome,
                "closed_at": at,
                "recorded_at": now,
                "amount": amount,
                "currency": currency.upper() if currency else None,
                "product": None,
                "lost_reason": lost_reason,
                "sdr": None,
                "sr": actor,
                "source_id": None,
                "properties": {},
            }
        ]
    )


def _moved(state: LeadState, move: StageChange) -> LeadState:
    return replace(state, stage=move.to_stage, stage_at=move.at)


def _recycled_values(state: LeadState, playbook: Playbook) -> dict[str, Any]:
    """Back with marketing: no rep, marketing's queue, counted as recycled, off suppression."""
    queue = playbook.routing.fallback if playbook.routing is not None else None
    return {
        "owner_rep": None,
        "owner_department": queue,
        "recycled_count": leads.c.recycled_count + 1,
        "mql_rule": None,
        "mql_at": None,
        "mql_product": None,
        "priority": False,
    }


def recycle(tx: StoreTx, playbook: Playbook, lead_id: int, now: datetime, *, actor: str, reason: str) -> Feedback:
    """Send a lead with sales (rejected, SAL, SQL or lost) back to marketing."""
    state = _state(tx, lead_id)
    move = _fixed_move(state, Trigger.RECYCLED, playbook, now, actor, f"recycled: {reason}")
    _apply(tx, playbook, state, [move], {"updated_at": now, **_recycled_values(state, playbook)}, now)
    return Feedback(lead_id, state.lead.key, (move[0],))


def inactive_ids(tx: StoreTx, playbook: Playbook, now: datetime, *, limit: int | None = None) -> list[int]:
    """Leads with sales (SAL, SQL) with no recorded activity and no move for ``inactive_days``."""
    days = playbook.sales.inactive_days
    if days is None:
        return []
    since = now - timedelta(days=days)
    last_seen = sa.func.coalesce(leads.c.last_activity_at, leads.c.stage_at)
    query = (
        sa.select(leads.c.id)
        .where(
            leads.c.stage.in_([s.value for s in WATCHED_STAGES]),
            leads.c.stage_at < since,
            last_seen < since,
        )
        .order_by(leads.c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    if tx.dialect == "postgresql":  # two workers never take the same lead
        query = query.with_for_update(skip_locked=True)
    return list(tx.execute(query).scalars())


def recycle_inactive(tx: StoreTx, playbook: Playbook, now: datetime, *, limit: int | None = None) -> list[Feedback]:
    """Recycle every lead sales has left without activity for the playbook's ``inactive_days``."""
    days = playbook.sales.inactive_days
    return [
        recycle(tx, playbook, lead_id, now, actor="engine", reason=f"no activity for {days:g} days while with sales")
        for lead_id in inactive_ids(tx, playbook, now, limit=limit)
    ]


def suppression_rows(tx: StoreTx) -> list[dict[str, Any]]:
    """Leads sales owns now: marketing must not e-mail them (the list an e-mail tool imports)."""
    query = (
        sa.select(
            leads.c.email,
            leads.c.external_id,
            leads.c.stage,
            leads.c.owner_rep,
            leads.c.owner_department,
            leads.c.assigned_at,
        )
        .where(leads.c.stage.in_([s.value for s in SALES_STAGES]), leads.c.owner_rep.is_not(None))
        .order_by(leads.c.email, leads.c.external_id)
    )
    rows = [dict(row._mapping) for row in tx.execute(query)]
    for row in rows:
        row["assigned_at"] = row["assigned_at"].isoformat() if row["assigned_at"] else None
    return rows
