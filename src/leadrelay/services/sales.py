"""Sales' answers and the loop back to marketing: accept, reject with a reason, qualify (inside
sales hands an MQL to field sales as a Pre-SQL, when the playbook uses that stage), advance a lead
through SAL → SQL → Opportunity → Won/Lost, and recycle it to marketing when sales lets it go.

Every move is a fixed point of the lead's history (its new anchor): activities after it are
judged from there, so a recycled lead becomes an MQL again only through new activity.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

import pycountry
import sqlalchemy as sa
from pydantic import Field

from leadrelay.adapters.records import InputError, parse_amount
from leadrelay.adapters.store.outbox import cancel_timers
from leadrelay.adapters.store.sql_store import LeadState, StoreTx
from leadrelay.adapters.store.tables import leads
from leadrelay.domain.evaluation import StageChange
from leadrelay.domain.lifecycle import AWAITING_ANSWER, IllegalTransition, Stage, Trigger, next_stage
from leadrelay.domain.playbook import Playbook
from leadrelay.domain.recycling import WATCHED_STAGES, Inactivity, inactive_before, inactivity
from leadrelay.errors import LeadRelayError
from leadrelay.services.notifications import NotificationContext, notify
from leadrelay.services.read_models import Moment, ReadModel, StageMove, local
from leadrelay.services.routing import SLA_TIMERS, RoutedRow, route_leads, take_routing_lock

#: Where sales owns the lead: it is on the suppression list (no marketing e-mail) while here.
SALES_STAGES = frozenset({Stage.MQL, Stage.PRE_SQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY})
ADVANCES = {
    "sql": Trigger.SALES_QUALIFIED,
    "opportunity": Trigger.OPPORTUNITY_CREATED,
    "won": Trigger.WON,
    "lost": Trigger.LOST,
}


class FeedbackError(LeadRelayError, ValueError):
    """A sales answer that cannot be taken (one clear line for the user); ``field``: the input at
    fault, when one is (``message`` then says what is wrong with it)."""

    def __init__(self, text: str, *, field: str | None = None, message: str | None = None) -> None:
        super().__init__(text)
        self.field = field
        self.message = message if message is not None else text


class IllegalMove(FeedbackError):
    """The lead's stage does not allow this answer (e.g. accepting a lead that is already won).
    ``lead``, ``trigger`` and ``allowed`` (the stages the answer is allowed from) let an entry point
    say it in another language."""

    def __init__(
        self, text: str, *, stage: str, lead: str = "", trigger: str = "", allowed: tuple[str, ...] = ()
    ) -> None:
        super().__init__(text, field="stage", message=text)
        self.stage = stage
        self.lead = lead
        self.trigger = trigger
        self.allowed = allowed


class UnknownReason(FeedbackError):
    """A reject reason code the playbook does not have; ``codes``: the ones it has."""

    def __init__(self, code: str, codes: tuple[str, ...]) -> None:
        said = f"unknown reason '{code}' (reasons: {', '.join(codes)})"
        super().__init__(said, field="reason", message=said)
        self.code = code
        self.codes = codes


class ReasonNeedsText(FeedbackError):
    """A reject reason that must be explained in words, given without them."""

    def __init__(self, code: str) -> None:
        super().__init__(f"reason '{code}' needs a text (--text) saying why", field="text")
        self.code = code


class PreSqlRefused(FeedbackError):
    """Qualify cannot be taken for this lead in this playbook: the playbook has no Pre-SQL stage,
    or the lead is not with inside sales (HTTP 409)."""


class Feedback(ReadModel):
    """What a sales answer (or recycling) did to one lead: its moves and the stage it is in now."""

    lead_id: int = Field(exclude=True)
    lead: str  # the lead's key: its e-mail, or id:<external id>
    stage: str
    moves: tuple[StageMove, ...]

    @classmethod
    def of(cls, state: LeadState, moves: Sequence[StageChange], tz: tzinfo) -> Feedback:
        return cls(
            lead_id=state.id,
            lead=state.lead.key,
            stage=moves[-1].to_stage.value,
            moves=tuple(StageMove.of(m, tz) for m in moves),
        )


class Handoff(Feedback):
    """``qualify``: the move to Pre-SQL and the routing decision that gave the lead to field sales."""

    handoff: RoutedRow


class RecycleReport(ReadModel):
    """``leadrelay recycle-inactive``: the leads sent back to marketing (or, in a dry run, the
    leads that would be), after ``inactive_days`` without activity."""

    dry_run: bool
    as_of: Moment
    inactive_days: float | None  # None: the playbook does not recycle inactive leads
    recycled: list[Feedback]


class SuppressionRow(ReadModel):
    """A lead sales owns now: marketing must not e-mail it."""

    email: str | None
    external_id: str | None
    stage: str
    owner_rep: str | None
    owner_department: str | None
    assigned_at: Moment | None


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
        raise IllegalMove(
            f"{state.lead.key}: {exc}",
            stage=state.stage.value,
            lead=state.lead.key,
            trigger=trigger.value,
            allowed=exc.allowed,
        ) from None
    at = max(now, state.stage_at)
    move = StageChange(trigger, state.stage, target, at, rule_id, reason, actor=actor)
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
    if state.stage in AWAITING_ANSWER:  # sales answered: the SLA clocks stop
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
    fields: dict[str, Any] = {"stage": last.to_stage.value, "stage_at": last.at, "anchor_stage": last.to_stage.value}
    fields |= {"anchor_at": last.at, "anchor_check": False, **values}
    statement = _lead_update(tuple((k, v if isinstance(v, sa.ColumnElement) else None) for k, v in fields.items()))
    params = {f"set_{k}": v for k, v in fields.items() if not isinstance(v, sa.ColumnElement)}
    tx.execute(statement, {"lead": state.id, **params})


#: A lead's row counted as recycled once more (a value of ``_recycled_values``).
_ONE_MORE_RECYCLE = leads.c.recycled_count + 1
_LEAD_UPDATES: dict[tuple[tuple[str, sa.ColumnElement[Any] | None], ...], sa.Update] = {}
_OWNER_OF = sa.select(leads.c.owner_rep).where(leads.c.id == sa.bindparam("lead"))


def _lead_update(shape: tuple[tuple[str, sa.ColumnElement[Any] | None], ...]) -> sa.Update:
    """The UPDATE of one lead setting these columns: bound ``set_<column>`` parameters, or the SQL
    expression given (a module constant). Built once per shape — a sales answer sets one of a few
    sets of columns, thousands of times."""
    statement = _LEAD_UPDATES.get(shape)
    if statement is None:
        values = {k: sa.bindparam(f"set_{k}", type_=leads.c[k].type) if v is None else v for k, v in shape}
        statement = leads.update().where(leads.c.id == sa.bindparam("lead")).values(**values)
        if len(_LEAD_UPDATES) < 64:  # a few shapes in practice; an expression made per call is not kept
            _LEAD_UPDATES[shape] = statement
    return statement


def _owner(tx: StoreTx, lead_id: int) -> str | None:
    owner: str | None = tx.execute(_OWNER_OF, {"lead": lead_id}).scalar_one_or_none()
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
    return Feedback.of(state, [move[0]], playbook.timezone)


def qualify(
    tx: StoreTx, playbook: Playbook, lead_id: int, now: datetime, *, actor: str, note: str | None = None
) -> Handoff:
    """Inside sales qualifies the lead (seed 001: BANT checked, worth field sales' time): MQL →
    Pre-SQL, and in the same transaction the lead goes to field sales by the playbook's handoff
    rules (a routing decision of kind ``handoff``), whose rep gets the ``assigned`` notification and
    the Pre-SQL SLA clocks; inside sales' clocks stop.

    Only an MQL held by an inside-sales department (``pre_sql.inside_sales``) qualifies. A lead
    inside sales has already accepted (SAL) stays on the direct path — SAL is sales' acceptance
    and the waterfall does not go back to Pre-SQL — and an MQL routed straight to field sales is
    answered by its rep with accept or reject.
    """
    policy = playbook.pre_sql
    if policy is None:
        raise PreSqlRefused(
            f"the active playbook '{playbook.id}' does not use the Pre-SQL stage (add a pre_sql section;"
            " see docs/playbook-reference.md)",
            field="stage",
        )
    # routing's lock before the lead's row: a routing transaction that holds the lock and moves this
    # lead (a level rise) is waited for, never deadlocked with
    take_routing_lock(tx)
    state = _state(tx, lead_id)
    move = _fixed_move(
        state,
        Trigger.PRE_SQL_QUALIFIED,
        playbook,
        now,
        actor,
        "qualified by inside sales, handed to field sales" + (f": {note}" if note else ""),
    )
    department = tx.execute(sa.select(leads.c.owner_department).where(leads.c.id == lead_id)).scalar_one()
    if department not in policy.inside_sales:
        inside = ", ".join(sorted(policy.inside_sales))
        held = f"it is with {department}" if department else "it has no department"
        said = (
            f"{state.lead.key}: only inside sales ({inside}) qualifies a lead to Pre-SQL; {held}"
            " — its rep accepts or rejects it"
        )
        raise PreSqlRefused(said, field="owner_department", message=said)
    _apply(tx, playbook, state, [move], {"updated_at": now}, now)
    routed = route_leads(
        tx,
        playbook,
        [lead_id],
        now,
        kind="handoff",
        actor=actor,
        why=f"Pre-SQL qualified by {actor}",
    )
    feedback = Feedback.of(state, [move[0]], playbook.timezone)
    return Handoff(**dict(feedback), handoff=RoutedRow.of(routed[0]))


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
        raise UnknownReason(code, tuple(reasons))
    if reason.needs_text and not (text and text.strip()):
        raise ReasonNeedsText(code)
    state = _state(tx, lead_id)
    said = f"rejected by sales: {reason.label_en}" + (f" — {text.strip()}" if text and text.strip() else "")
    moves = [_fixed_move(state, Trigger.REJECTED, playbook, now, actor, said, rule_id=code)]
    values: dict[str, Any] = {"updated_at": now}
    if reason.recycle:
        rejected = _moved(state, moves[-1][0])
        moves.append(
            _fixed_move(rejected, Trigger.RECYCLED, playbook, now, actor, f"recycled: rejected as {reason.label_en}")
        )
        values.update(_recycled_values(state, playbook, moves[-1][0].at))
    _apply(tx, playbook, state, moves, values, now)
    return Feedback.of(state, [m for m, _ in moves], playbook.timezone)


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
        raise FeedbackError(f"unknown stage '{to}' (choose one of: {', '.join(ADVANCES)})", field="to")
    value = _amount(amount)
    if currency is not None and pycountry.currencies.get(alpha_3=currency.strip().upper()) is None:
        raise FeedbackError(
            f"--currency: '{currency}' is not an ISO currency code (e.g. JPY, USD)",
            field="currency",
            message=f"'{currency}' is not an ISO currency code (e.g. JPY, USD)",
        )
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
    if trigger == Trigger.OPPORTUNITY_CREATED and value is not None:
        tx.insert_opportunity_amount(
            {
                "lead_id": state.id,
                "occurred_at": moves[-1][0].at,
                "recorded_at": now,
                "amount": value,
                "currency": currency.strip().upper() if currency else None,
                "actor": actor,
            }
        )
    if trigger == Trigger.LOST and playbook.sales.recycle_on_lost:
        lost = _moved(state, moves[-1][0])
        moves.append(_fixed_move(lost, Trigger.RECYCLED, playbook, now, actor, "recycled: the deal was lost"))
        values.update(_recycled_values(state, playbook, moves[-1][0].at))
    _apply(tx, playbook, state, moves, values, now)
    return Feedback.of(state, [m for m, _ in moves], playbook.timezone)


def _amount(text: str | None) -> Decimal | None:
    """``--amount``, checked as the outcomes import checks ``amount`` (:func:`parse_amount`)."""
    try:
        return parse_amount(text, "--amount")
    except InputError as exc:
        raise FeedbackError(str(exc), field="amount", message=exc.message) from None


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


def _recycled_values(state: LeadState, playbook: Playbook, at: datetime) -> dict[str, Any]:
    """Back with marketing: no rep, marketing's queue (since ``at``, the recycle), counted as
    recycled, off suppression."""
    queue = playbook.routing.fallback if playbook.routing is not None else None
    return {
        "owner_rep": None,
        "owner_department": queue,
        "assigned_at": at,
        "recycled_count": _ONE_MORE_RECYCLE,
        "mql_rule": None,
        "mql_at": None,
        "mql_product": None,
        "priority": False,
    }


def recycle(tx: StoreTx, playbook: Playbook, lead_id: int, now: datetime, *, actor: str, reason: str) -> Feedback:
    """Send a lead with sales (rejected, SAL, SQL or lost) back to marketing."""
    state = _state(tx, lead_id)
    move = _fixed_move(state, Trigger.RECYCLED, playbook, now, actor, f"recycled: {reason}")
    _apply(tx, playbook, state, [move], {"updated_at": now, **_recycled_values(state, playbook, move[0].at)}, now)
    return Feedback.of(state, [move[0]], playbook.timezone)


def inactive_leads(
    tx: StoreTx, playbook: Playbook, now: datetime, *, limit: int | None = None
) -> list[tuple[int, Inactivity]]:
    """Leads with sales (SAL, SQL) with no recorded activity and no move for ``inactive_days``,
    each with why it is inactive. The store picks the candidates by the rule's cut-off; the
    domain's rule decides."""
    days = playbook.sales.inactive_days
    if days is None:
        return []
    found: list[tuple[int, Inactivity]] = []
    for lead in tx.idle_leads(WATCHED_STAGES, inactive_before(now, days), limit=limit):
        check = inactivity(lead.stage, lead.stage_at, lead.last_activity_at, now, days)
        if check.inactive:
            found.append((lead.id, check))
    return found


def inactive_ids(tx: StoreTx, playbook: Playbook, now: datetime, *, limit: int | None = None) -> list[int]:
    """Leads with sales (SAL, SQL) with no recorded activity and no move for ``inactive_days``."""
    return [lead_id for lead_id, _ in inactive_leads(tx, playbook, now, limit=limit)]


def recycle_inactive(tx: StoreTx, playbook: Playbook, now: datetime, *, limit: int | None = None) -> list[Feedback]:
    """Recycle every lead sales has left without activity for the playbook's ``inactive_days``."""
    return [
        recycle(tx, playbook, lead_id, now, actor="engine", reason=check.reason)
        for lead_id, check in inactive_leads(tx, playbook, now, limit=limit)
    ]


def suppression_rows(tx: StoreTx, playbook: Playbook) -> list[SuppressionRow]:
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
    tz = playbook.timezone
    return [
        SuppressionRow(
            email=row.email,
            external_id=row.external_id,
            stage=row.stage,
            owner_rep=row.owner_rep,
            owner_department=row.owner_department,
            assigned_at=local(row.assigned_at, tz),
        )
        for row in tx.execute(query)
    ]
