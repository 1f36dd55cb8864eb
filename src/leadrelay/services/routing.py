"""Handing qualified leads to sales: routing decisions stored with their reasons.

Every function works inside one :class:`~leadrelay.adapters.store.sql_store.StoreTx` and takes the
routing lock first, so processes routing at the same time take turns: no lead is assigned twice,
no rep goes over capacity, and round-robin turns stay fair (they are stored, not kept in memory).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, overload

import sqlalchemy as sa

from leadrelay.adapters.geo import (
    phone_digits,
    postal_digits,
    prefecture,
    prefecture_of_phone,
    prefecture_of_postal_code,
)
from leadrelay.adapters.store.outbox import Timer, cancel_timers, schedule
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.tables import leads, rep_status, routing_counters
from leadrelay.domain.conditions import Facts, reads_activities
from leadrelay.domain.evaluation import assess
from leadrelay.domain.lifecycle import Stage
from leadrelay.domain.model import Account, Lead
from leadrelay.domain.playbook import Playbook
from leadrelay.domain.routing import (
    Absence,
    Place,
    Rep,
    Routing,
    RoutingDecision,
    RoutingInput,
    RoutingState,
    decide,
    priority_order,
    release,
)
from leadrelay.domain.sla import SlaClock, clock_stage, clocks_for, policy_for
from leadrelay.errors import LeadRelayError
from leadrelay.services.notifications import NotificationContext, notify_all, notify_sales_of_activity
from leadrelay.services.read_models import ReadModel

_ROUTING_LOCK = 4711005  # PostgreSQL advisory lock: one routing transaction at a time
_LOCK_KEY = "lock"


class RoutingUnavailable(LeadRelayError, ValueError):
    """The active playbook has no routing section, or names no such rep."""


@dataclass(frozen=True, slots=True)
class Routed:
    lead_id: int
    lead: str  # the lead's key: its e-mail, or id:<external id>
    decision: RoutingDecision
    previous_rep: str | None = None
    previous_department: str | None = None
    hand_raised: bool = False  # the lead asked for a sales conversation
    level: int | None = None
    stage: Stage = Stage.MQL  # the stage the lead is routed in (a Pre-SQL goes by the handoff rules)

    @property
    def changed(self) -> bool:
        """False when a lead waiting in a queue would wait in the same queue: nothing to record."""
        return not (
            self.decision.rep_id is None
            and self.previous_rep is None
            and self.previous_department == self.decision.department
        )


def place_of(lead: Lead, account: Account | None) -> Place:
    """Where the lead is: its own profile first, then its account, then its postal code, then its
    phone number's area code."""
    country = lead.country or (account.country if account else None)
    found = prefecture(lead.prefecture) or prefecture(account.prefecture if account else None)
    postal = postal_digits(lead.postal_code) if country in (None, "JP") else None
    if found is None and postal is not None:
        found = prefecture_of_postal_code(postal)
    phone = phone_digits(lead.phone) if country in (None, "JP") else None
    if found is None and phone is not None:
        found = prefecture_of_phone(phone)
    region = found.region if found else (account.region.casefold() if account and account.region else None)
    if country is None and found is not None:
        country = "JP"
    return Place(country, found.name_ja if found else None, region, postal, phone)


class Places:
    """:func:`place_of` for many leads, equal to it lead for lead: what a lead's profile, account
    and postal code tell is found once per distinct (country, prefecture, postal code, and the
    account's country, prefecture and region: what ``place_of`` reads of it); only the phone
    number, different for nearly every lead, is read per lead."""

    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: dict[tuple[Any, ...], Place] = {}

    def __call__(self, lead: Lead, account: Account | None) -> Place:
        where = (account.country, account.prefecture, account.region) if account is not None else None
        key = (lead.country, lead.prefecture, lead.postal_code, where)
        base = self._known.get(key)
        if base is None:
            base = self._known[key] = place_of(replace(lead, phone=None), account)
        if not lead.phone or base.country not in (None, "JP"):
            return base
        phone = phone_digits(lead.phone)
        if phone is None:
            return base
        if base.prefecture is None:
            found = prefecture_of_phone(phone)
            if found is not None:  # place_of: a place found means Japan
                country = base.country if base.country is not None else "JP"
                return Place(country, found.name_ja, found.region, base.postal_code, phone)
        return Place(base.country, base.prefecture, base.region, base.postal_code, phone)


def routing_of(playbook: Playbook) -> Routing:
    if playbook.routing is None:
        raise RoutingUnavailable(f"the active playbook '{playbook.id}' has no routing section (see docs/routing.md)")
    return playbook.routing


# Statements of every routing call (thousands of small ones in a day of intake) built once.
_REP_STATUS = sa.select(rep_status)
_COUNTERS = sa.select(routing_counters.c.key, routing_counters.c.value)
#: The open leads of one stage per owner, in the order of ``ix_leads_stage_owner`` (stage,
#: department, rep): one range of that index read alone, grouped as it is read — a statement per
#: stage, because over a list of stages SQLite's planner seeks every owned lead through the rep's
#: index and its rows instead (0.37 s against 0.03 s at a million leads).
_OPEN_LEADS_OF_STAGE = (
    sa.select(leads.c.owner_rep, sa.func.count().label("n"))
    .where(leads.c.stage == sa.bindparam("stage"), leads.c.owner_rep.is_not(None))
    .group_by(leads.c.owner_department, leads.c.owner_rep)
)
_MQL_LEVELS = sa.select(leads.c.id, leads.c.level, leads.c.owner_department).where(
    leads.c.id.in_(sa.bindparam("ids", expanding=True)), leads.c.stage == sa.bindparam("stage")
)


def take_routing_lock(tx: StoreTx) -> None:
    """Wait for other routing transactions to finish; on SQLite, hold the write lock from here."""
    tx.take_turns(_ROUTING_LOCK, _LOCK_KEY)


def effective_routing(tx: StoreTx, routing: Routing) -> Routing:
    """The playbook's reps with what changed since: switched off or on, away for a while, another capacity."""
    changed: dict[str, Rep] = dict(routing.reps)
    for row in tx.execute(_REP_STATUS):
        rep = changed.get(row.rep_id)
        if rep is None:
            continue
        if row.active is not None:
            rep = replace(rep, active=row.active)
        if row.capacity is not None:
            rep = replace(rep, capacity=row.capacity)
        if row.away_from is not None and row.away_to is not None:
            rep = replace(rep, absences=(*rep.absences, Absence(row.away_from, row.away_to, row.note or "")))
        changed[row.rep_id] = rep
    return routing.with_reps(changed)


def load_state(tx: StoreTx, routing: Routing) -> RoutingState:
    state = RoutingState()
    for row in tx.execute(_COUNTERS):
        kind, _, name = row.key.partition(":")
        if kind == "rep":
            state.passes[name] = row.value
        elif kind == "department":
            state.clocks[name] = row.value
    open_leads: dict[str, int] = {}
    for stage in sorted({s.value for s in routing.open_stages}):
        for row in tx.execute(_OPEN_LEADS_OF_STAGE, {"stage": stage}):
            open_leads[row.owner_rep] = open_leads.get(row.owner_rep, 0) + row.n
    state.open_leads = open_leads
    return state


def save_state(tx: StoreTx, state: RoutingState) -> None:
    rows = [(f"rep:{r}", state.passes[r]) for r in sorted(state.touched_reps)]
    rows += [(f"department:{d}", state.clocks[d]) for d in sorted(state.touched_departments)]
    tx.upsert_counters(rows)


def route_leads(
    tx: StoreTx,
    playbook: Playbook,
    lead_ids: Iterable[int],
    now: datetime,
    *,
    kind: str = "route",
    actor: str = "engine",
    exclude: frozenset[str] = frozenset(),
    only_pending: bool = False,
    why: str | Callable[[Routed], str] | None = None,
) -> list[Routed]:
    """Route the given leads (hand-raisers first, then priority leads) and store every decision.
    With ``only_pending``, only those of them that are MQLs without a rep. ``why`` goes before each
    decision's reason (e.g. the level that moved the lead)."""
    ids = sorted(set(lead_ids))
    if not ids:
        return []
    routing = routing_of(playbook)
    take_routing_lock(tx)
    if only_pending:  # read after taking the lock: another process may have routed them meanwhile
        ids = tx.pending_among(ids)
        if not ids:
            return []
    routing = effective_routing(tx, routing)
    state = load_state(tx, routing)
    today = now.astimezone(playbook.timezone).date()
    routed = [r for r in _decide_all(tx, playbook, routing, ids, state, today, now, exclude) if r.changed]
    if why is not None:
        routed = [replace(r, decision=replace(r.decision, reason=_why(why, r))) for r in routed]
    _store(tx, routed, now, kind, actor, playbook)
    save_state(tx, state)
    return routed


def _why(why: str | Callable[[Routed], str], routed: Routed) -> str:
    return why(routed) if callable(why) else f"{why}: {routed.decision.reason}"


def level_ranks(playbook: Playbook) -> dict[str, int]:
    """Each department that owns a level, with the highest level it owns."""
    ranks: dict[str, int] = {}
    for rule in playbook.levels:
        for department in rule.departments:
            ranks[department] = max(ranks.get(department, 0), rule.level)
    return ranks


def hand_over_on_level(tx: StoreTx, playbook: Playbook, lead_ids: Iterable[int], now: datetime) -> list[Routed]:
    """Leads with sales but not yet answered (MQL) whose level rose to one that another department
    owns go to that department, by its routing rules, in the caller's transaction (seed 003: a
    level 2 lead inside sales is calling becomes level 4: field sales takes it).

    Ownership never flaps back: a lead moves only *up* — to a level higher than every level its
    current department owns — and never once sales has answered (SAL and later stay with the rep who
    accepted; they return to marketing only by sales' answer or by recycling).
    """
    ids = sorted(set(lead_ids))
    ranks = level_ranks(playbook)
    if not ids or playbook.routing is None or not ranks:
        return []
    moving: list[int] = []
    levels: dict[int, int] = {}
    for start in range(0, len(ids), 1000):
        for row in tx.execute(_MQL_LEVELS, {"ids": ids[start : start + 1000], "stage": Stage.MQL.value}):
            owners = playbook.owners_at(row.level)
            if owners and row.owner_department not in owners and row.level > ranks.get(row.owner_department, 0):
                moving.append(row.id)
                levels[row.id] = row.level
    if not moving:
        return []

    def why(routed: Routed) -> str:
        rule = playbook.level_rule(levels[routed.lead_id])
        owner = rule.owner if rule is not None else routed.decision.department
        return f"level {levels[routed.lead_id]} reached, owned by {owner}: {routed.decision.reason}"

    return route_leads(tx, playbook, moving, now, kind="level", why=why)


def _decide_all(
    tx: StoreTx,
    playbook: Playbook,
    routing: Routing,
    ids: Sequence[int],
    state: RoutingState,
    today: date,
    now: datetime,
    exclude: frozenset[str],
) -> list[Routed]:
    states = tx.lead_states(ids)
    stored = tx.routing_facts(ids)
    accounts = tx.accounts_by_id(s.account_id for s in states.values() if s.account_id is not None)
    needs_history = any(reads_activities(rule.condition) for rule in routing.rules)
    histories = tx.activities_of(ids) if needs_history else {}
    hand_raisers = {rule.id for rule in playbook.hand_raisers}
    # a Pre-SQL is placed by the handoff rules, among field sales only (services.sales.qualify)
    handoff = playbook.pre_sql.handoff_routing(routing) if playbook.pre_sql is not None else None
    order = priority_order(
        [(i, s.mql_rule in hand_raisers, s.priority, s.mql_at or s.stage_at) for i, s in states.items()]
    )
    out: list[Routed] = []
    places: dict[tuple[Any, ...], Place] = {}  # leads of one office share where they are
    for lead_id in order:
        lead_state = states[lead_id]
        account = accounts.get(lead_state.account_id) if lead_state.account_id is not None else None
        if needs_history:
            judged = assess(lead_state.lead, account, histories.get(lead_id, []), playbook, now)
            scores, activities = judged.scores, histories.get(lead_id, [])
        else:
            scores, activities = dict(stored[lead_id][2]), []
        facts = Facts(lead_state.lead, account, activities, now, scores)
        previous, previous_department = stored[lead_id][0], stored[lead_id][1]
        if previous is not None:
            release(state, previous)
        lead = lead_state.lead
        where = (lead.country, lead.prefecture, lead.postal_code, lead.phone, account)
        place = places.get(where)
        if place is None:
            place = places[where] = place_of(lead, account)
        level = int(scores.get("level") or 0) or None
        if handoff is not None and lead_state.stage == Stage.PRE_SQL:
            decision = decide(handoff, RoutingInput(facts, place, exclude), state, today)
        else:
            owners = playbook.owners_at(level)
            decision = decide(routing, RoutingInput(facts, place, exclude, owners), state, today)
        hand_raised = lead_state.mql_rule in hand_raisers
        out.append(
            Routed(
                lead_id,
                lead_state.lead.key,
                decision,
                previous,
                previous_department,
                hand_raised,
                level,
                lead_state.stage,
            )
        )
    return out


def sla_payload(policy: str, clock: SlaClock, rep: str, department: str, assigned_at: str) -> dict[str, str]:
    """What an SLA timer carries: the policy and clock, the rep and department whose answer it
    waits for, and when the lead was assigned (ISO 8601) — one shape on every routing path."""
    return {
        "policy": policy,
        "clock": clock.kind,
        "rep_id": rep,
        "department": department,
        "assigned_at": assigned_at,
        "due_at": clock.due_at.isoformat(),
    }


def _store(tx: StoreTx, routed: Sequence[Routed], now: datetime, kind: str, actor: str, playbook: Playbook) -> None:
    tx.assign_owners([(r.lead_id, r.decision.rep_id, r.decision.department) for r in routed], now)
    tx.insert_routing_decisions(
        [
            {
                "lead_id": r.lead_id,
                "decided_at": now,
                "kind": kind,
                "rule_id": r.decision.rule_id,
                "department": r.decision.department,
                "strategy": r.decision.strategy,
                "rep_id": r.decision.rep_id,
                "previous_rep": r.previous_rep,
                "reason": r.decision.reason,
                "details": json.dumps(r.decision.details(), ensure_ascii=False),
                "actor": actor,
                "playbook_hash": playbook.hash,
                "level": r.level,
            }
            for r in routed
        ]
    )
    _notify(tx, playbook, routed, now)
    start_clocks(tx, playbook, routed, now)


SLA_TIMERS = ("sla_warning", "sla_breach")


def start_clocks(tx: StoreTx, playbook: Playbook, routed: Sequence[Routed], now: datetime) -> None:
    """Start the SLA clocks of every lead just given to a rep (the clocks of an earlier owner stop):
    a warning and a breach timer per clock, fired by the worker."""
    if not playbook.sla or playbook.routing is None:
        return
    for r in routed:
        if r.previous_rep is not None:
            for kind in SLA_TIMERS:
                cancel_timers(tx, lead_id=r.lead_id, kind=kind, due_after=now)  # due ones fire as no-ops
    departments = playbook.routing.departments
    shared: dict[tuple[str, str], list[SlaClock]] = {}  # one batch, one moment: the same clocks
    timers = []
    for r in routed:
        rep, department = r.decision.rep_id, r.decision.department
        policy = policy_for(playbook.sla, department, r.level, clock_stage(r.stage))
        calendar = departments[department].calendar
        if rep is None or policy is None or calendar is None:
            continue
        clocks = shared.get((policy.id, department))
        if clocks is None:
            clocks = shared[(policy.id, department)] = clocks_for(policy, calendar, now)
        for clock in clocks:
            payload = sla_payload(policy.id, clock, rep, department, now.isoformat())
            for kind, due in (("sla_warning", clock.warn_at), ("sla_breach", clock.due_at)):
                key = f"sla:{r.lead_id}:{now.isoformat()}:{clock.kind}:{kind}"
                timers.append(Timer(key, kind, due, r.lead_id, payload))
    schedule(tx, timers, now)


def release_owners(tx: StoreTx, lead_ids: Sequence[int], now: datetime) -> None:
    """A disqualified lead belongs to nobody: no rep, no department; its SLA clocks stop."""
    if not lead_ids:
        return
    tx.execute(
        sa.update(leads)
        .where(leads.c.id.in_(lead_ids), leads.c.owner_department.is_not(None))
        .values(owner_rep=None, owner_department=None, assigned_at=now)
    )
    for lead_id in lead_ids:
        for kind in SLA_TIMERS:
            cancel_timers(tx, lead_id=lead_id, kind=kind, due_after=now)


def _notify(tx: StoreTx, playbook: Playbook, routed: Sequence[Routed], now: datetime) -> None:
    """Tell the playbook's recipients in the same transaction: ``assigned`` (a hand-raise is told
    by :func:`~leadrelay.services.notifications.notify_sales_of_activity`, once per request)."""
    contexts = {
        r.lead_id: NotificationContext(
            lead_id=r.lead_id,
            rep_id=r.decision.rep_id,
            department=r.decision.department,
            reason=r.decision.reason,
            ref=f"route:{now.isoformat()}:{r.decision.department}:{r.decision.rep_id}",
        )
        for r in routed
    }
    notify_all(tx, playbook, "assigned", list(contexts.values()), now)
    if playbook.notifications is not None:  # the new owner hears what the lead did since its MQL time
        notify_sales_of_activity(tx, playbook, {}, [r.lead_id for r in routed], now)
    if playbook.notifications is None or not playbook.notifications.rules_for("suppression_changed"):
        return  # nobody is told: no contexts to build
    suppressed = [  # a rep owns it now: marketing mail stops
        replace(contexts[r.lead_id], reason="marketing mail stops: sales owns the lead")
        for r in routed
        if r.decision.rep_id is not None and r.previous_rep is None
    ]
    notify_all(tx, playbook, "suppression_changed", suppressed, now)


def explain(tx: StoreTx, playbook: Playbook, lead_id: int, now: datetime) -> Routed:
    """What routing would decide for the lead now, without assigning it or moving any turn."""
    routing = effective_routing(tx, routing_of(playbook))
    state = load_state(tx, routing)
    today = now.astimezone(playbook.timezone).date()
    return _decide_all(tx, playbook, routing, [lead_id], state, today, now, frozenset())[0]


def pending_ids(tx: StoreTx, playbook: Playbook, *, include_assigned: bool = False) -> list[int]:
    """Leads that need an owner: qualified (MQL) or handed to field sales (Pre-SQL) without a rep,
    or with ``include_assigned`` every open lead (to re-route after a playbook change)."""
    routing = routing_of(playbook)
    condition: sa.ColumnElement[bool] = sa.and_(
        leads.c.stage.in_([Stage.MQL.value, Stage.PRE_SQL.value]), leads.c.owner_rep.is_(None)
    )
    if include_assigned:
        condition = leads.c.stage.in_([s.value for s in routing.open_stages])
    return list(tx.execute(sa.select(leads.c.id).where(condition).order_by(leads.c.id)).scalars())


def open_leads_of(tx: StoreTx, playbook: Playbook, rep_id: str) -> list[int]:
    routing = routing_of(playbook)
    query = sa.select(leads.c.id).where(
        leads.c.owner_rep == rep_id, leads.c.stage.in_([s.value for s in routing.open_stages])
    )
    return list(tx.execute(query.order_by(leads.c.id)).scalars())


def reassign(
    tx: StoreTx, playbook: Playbook, rep_id: str, now: datetime, *, to: str | None = None, actor: str = "cli"
) -> list[Routed]:
    """Move a rep's open leads: to one named rep, or through routing again (never back to them)."""
    routing = routing_of(playbook)
    for name in (rep_id, to):
        if name is not None and name not in routing.reps:
            raise RoutingUnavailable(f"no rep '{name}' in the playbook (reps: {', '.join(routing.reps)})")
    take_routing_lock(tx)  # read the rep's open leads only once no one else is routing
    ids = open_leads_of(tx, playbook, rep_id)
    if to is None:
        return route_leads(tx, playbook, ids, now, kind="reassign", actor=actor, exclude=frozenset({rep_id}))
    target = routing.reps[to]
    states = tx.lead_states(ids)
    decision = RoutingDecision(None, target.department, None, to, f"reassigned from {rep_id} to {target.name}")
    # the stored level goes with each lead: it chooses the SLA policy of the new rep's clocks
    levels = {i: int(facts[2]["level"]) or None for i, facts in tx.routing_facts(ids).items()}
    routed = [Routed(i, states[i].lead.key, decision, rep_id, level=levels.get(i), stage=states[i].stage) for i in ids]
    _store(tx, routed, now, "reassign", actor, playbook)
    return routed


def set_rep_status(
    tx: StoreTx,
    playbook: Playbook,
    rep_id: str,
    now: datetime,
    *,
    active: bool | None = None,
    away: tuple[date, date] | None = None,
    back: bool = False,
    note: str | None = None,
    capacity: int | None = None,
    playbook_capacity: bool = False,
) -> None:
    """Switch a rep off or on, mark them away (``back`` clears the away period), or set how many
    open leads they take at most (``capacity``; ``playbook_capacity``: the playbook's again)."""
    routing = routing_of(playbook)
    if rep_id not in routing.reps:
        raise RoutingUnavailable(f"no rep '{rep_id}' in the playbook (reps: {', '.join(routing.reps)})")
    current = tx.execute(sa.select(rep_status).where(rep_status.c.rep_id == rep_id)).one_or_none()
    values: dict[str, Any] = {
        "active": current.active if current else None,
        "away_from": current.away_from if current else None,
        "away_to": current.away_to if current else None,
        "note": current.note if current else None,
        "capacity": current.capacity if current else None,
    }
    if capacity is not None:
        if capacity < 0:
            raise RoutingUnavailable(f"capacity: give 0 or more open leads (got {capacity})")
        values["capacity"] = capacity
    if playbook_capacity:
        values["capacity"] = None
    if active is not None:
        values["active"] = active
    if away is not None:
        values["away_from"], values["away_to"] = away
    if back:
        values["away_from"] = values["away_to"] = None
    if note is not None:
        values["note"] = note
    tx.upsert_rep_status(rep_id, values, now)


class RepRow(ReadModel):
    """One rep as ``leadrelay reps`` shows them."""

    rep: str
    name: str
    department: str
    open: int  # open leads they own
    capacity: int | None
    received_this_week: int
    weight: float
    status: str  # available, or why not (out of office, not a working day, inactive)
    away_until: date | None  # the last day of the absence under way


class PassedOver(ReadModel):
    """A rep routing passed over, and why (a key of ``domain.routing.PASS_REASONS``)."""

    rep: str
    why: str
    detail: str | None


class RuleNotTaken(ReadModel):
    """A routing rule that did not send the lead, and why (a key of ``domain.routing.RULE_MISSES``)."""

    rule: str
    why: str


class RoutedRow(ReadModel):
    """One lead routed (or queued) by ``leadrelay route`` or ``reps reassign``."""

    lead: str
    rule: str | None
    department: str
    strategy: str | None
    rep: str | None  # None: waiting in the department's queue
    previous_rep: str | None
    reason: str
    hand_raised: bool  # the lead asked for a sales conversation
    passed_over: list[PassedOver]
    rules_not_taken: list[RuleNotTaken]

    @classmethod
    def of(cls, routed: Routed) -> RoutedRow:
        """Built without validation (``model_construct``): every value comes typed from the
        decision, and validating a hundred thousand rows with their reps passed over was a third of
        ``leadrelay route``."""
        decision = routed.decision
        return cls.model_construct(
            lead=routed.lead,
            rule=decision.rule_id,
            department=decision.department,
            strategy=decision.strategy,
            rep=decision.rep_id,
            previous_rep=routed.previous_rep,
            reason=decision.reason,
            hand_raised=routed.hand_raised,
            passed_over=[
                PassedOver.model_construct(rep=p.rep_id, why=p.reason, detail=p.detail) for p in decision.passed_over
            ],
            rules_not_taken=[RuleNotTaken.model_construct(rule=m.rule_id, why=m.reason) for m in decision.misses],
        )


class RoutedRows(Sequence[RoutedRow]):
    """The leads one ``route`` call routed, as :class:`RoutedRow` items built when first read: a
    caller that wants only the counts (``leadrelay route``) never builds a hundred thousand rows
    with their reps passed over. Equal to a list of the same rows."""

    __slots__ = ("_built", "_routed")

    def __init__(self, routed: Sequence[Routed]) -> None:
        self._routed = routed
        self._built: list[RoutedRow | None] = [None] * len(routed)

    def __len__(self) -> int:
        return len(self._routed)

    @overload
    def __getitem__(self, index: int) -> RoutedRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[RoutedRow]: ...

    def __getitem__(self, index: int | slice) -> RoutedRow | list[RoutedRow]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        row = self._built[index]
        if row is None:
            row = self._built[index] = RoutedRow.of(self._routed[index])
        return row

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RoutedRows | list | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RoutedRows({list(self)!r})"

    def counts(self) -> dict[tuple[str, str | None], int]:
        """How many leads went to each (department, rep); rep ``None``: the department's queue."""
        out: dict[tuple[str, str | None], int] = {}
        for r in self._routed:
            key = (r.decision.department, r.decision.rep_id)
            out[key] = out.get(key, 0) + 1
        return out


def rep_table(tx: StoreTx, playbook: Playbook, now: datetime) -> list[RepRow]:
    """Every rep: department, open leads against capacity, leads received this week, status."""
    routing = effective_routing(tx, routing_of(playbook))
    state = load_state(tx, routing)
    local = now.astimezone(playbook.timezone)
    today = local.date()
    week_start = datetime.combine(
        date.fromordinal(today.toordinal() - today.weekday()), datetime.min.time(), playbook.timezone
    )
    received = tx.received_since(week_start)
    out = []
    for rep in routing.reps.values():
        why = rep.unavailable(today)
        away = next((a for a in rep.absences if a.starts <= today <= a.ends), None)
        out.append(
            RepRow(
                rep=rep.id,
                name=rep.name,
                department=rep.department,
                open=state.open_leads.get(rep.id, 0),
                capacity=rep.capacity,
                received_this_week=received.get(rep.id, 0),
                weight=rep.weight,
                status=why or "available",
                away_until=away.ends if away else None,
            )
        )
    return out


class DepartmentRow(ReadModel):
    """One department of the playbook's routing: its reps, its manager, and the leads it holds."""

    department: str
    label: dict[str, str]  # by language: en, ja
    manager: str | None  # the manager's name
    reps: list[str]
    open: int  # open leads it owns (with a rep or in its queue)
    queued: int  # open leads waiting in its queue, without a rep
    fallback: bool  # where leads wait when no routing rule places them


def department_table(tx: StoreTx, playbook: Playbook) -> list[DepartmentRow]:
    """Every routing department with its open and queued leads (one grouped count)."""
    routing = routing_of(playbook)
    query = (
        sa.select(
            leads.c.owner_department,
            sa.func.count().label("open"),
            sa.func.sum(sa.case((leads.c.owner_rep.is_(None), 1), else_=0)).label("queued"),
        )
        .where(leads.c.owner_department.is_not(None), leads.c.stage.in_([s.value for s in routing.open_stages]))
        .group_by(leads.c.owner_department)
    )
    counts = {row.owner_department: (int(row.open), int(row.queued or 0)) for row in tx.execute(query)}
    return [
        DepartmentRow(
            department=d.id,
            label={"en": d.label("en"), "ja": d.label("ja")},
            manager=d.manager.name if d.manager is not None else None,
            reps=[r.id for r in routing.reps.values() if r.department == d.id],
            open=counts.get(d.id, (0, 0))[0],
            queued=counts.get(d.id, (0, 0))[1],
            fallback=d.id == routing.fallback,
        )
        for d in routing.departments.values()
    ]
