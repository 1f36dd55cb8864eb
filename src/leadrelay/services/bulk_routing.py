"""Routing many leads in one transaction by sets (``leadrelay route``, a rescore's hand-over to
sales): the same decisions, reasons, stored rows, notifications and SLA clocks as
:func:`leadrelay.services.routing.route_leads`, with the per-lead work of ``decide`` shared
between leads (:mod:`leadrelay.bulk.routing`).

Rules whose conditions read a lead's activities need each lead's history judged by the per-lead
engine; with such a rule the batch goes through ``route_leads`` unchanged. Live routing of one
lead at intake stays per lead too.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

from leadrelay.adapters.store.outbox import cancel_timers_of_leads, schedule_in_bulk
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.bulk.routing import decide_many
from leadrelay.domain.conditions import Facts, reads_activities
from leadrelay.domain.lifecycle import Stage
from leadrelay.domain.playbook import Playbook
from leadrelay.domain.routing import (
    PassedOver,
    Routing,
    RoutingDecision,
    RoutingInput,
    RuleMiss,
    priority_order,
)
from leadrelay.domain.sla import SlaClock, SlaPolicy, clock_stage, clocks_for, policy_for
from leadrelay.services.routing import (
    SLA_TIMERS,
    Places,
    Routed,
    _notify,
    _why,
    effective_routing,
    load_state,
    route_leads,
    routing_of,
    save_state,
    sla_payload,
    take_routing_lock,
)


def route_many(
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
    """:func:`~leadrelay.services.routing.route_leads`, decided in sets (see the module)."""
    routing = routing_of(playbook)
    if any(reads_activities(rule.condition) for rule in routing.rules):
        return route_leads(
            tx, playbook, lead_ids, now, kind=kind, actor=actor, exclude=exclude, only_pending=only_pending, why=why
        )
    ids = sorted(set(lead_ids))
    if not ids:
        return []
    take_routing_lock(tx)
    if only_pending:  # read after taking the lock: another process may have routed them meanwhile
        ids = tx.pending_among(ids)
        if not ids:
            return []
    with tx.page_cache(_PAGE_CACHE_MIB), _no_cycle_collection(len(ids)):  # the pages read are those written below
        return _route_set(tx, playbook, routing, ids, now, kind, actor, exclude, why)


#: From this many leads a set is routed with the cyclic garbage collector paused.
_PAUSE_COLLECTOR_FROM = 1_000


@contextmanager
def _no_cycle_collection(leads: int) -> Iterator[None]:
    """The cyclic garbage collector paused while a large set is routed, and on again afterwards.
    A set's leads, inputs and decisions (about 20 objects a lead) all live until it is stored; every
    full collection walked all of them again with nothing to free: 9 of them, 1.4 of the 10.6 CPU s
    of routing 100,000 leads on SQLite. Memory freed by reference counting is freed as before."""
    if leads < _PAUSE_COLLECTOR_FROM or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


#: SQLite's page cache while a set is routed: the lead rows read, then their pages and their indexes'
#: pages written again (100,000 leads: about 60 MB of database).
_PAGE_CACHE_MIB = 64


def _route_set(
    tx: StoreTx,
    playbook: Playbook,
    routing: Routing,
    ids: list[int],
    now: datetime,
    kind: str,
    actor: str,
    exclude: frozenset[str],
    why: str | Callable[[Routed], str] | None,
) -> list[Routed]:
    found = tx.routing_leads(ids)
    if playbook.pre_sql is not None and any(s.stage == Stage.PRE_SQL for s in found.values()):
        # a Pre-SQL goes by the handoff rules among field sales: the one-by-one path knows them
        return route_leads(tx, playbook, ids, now, kind=kind, actor=actor, exclude=exclude, only_pending=False, why=why)
    routing = effective_routing(tx, routing)
    state = load_state(tx, routing)
    today = now.astimezone(playbook.timezone).date()
    accounts = tx.accounts_by_id(s.account_id for s in found.values() if s.account_id is not None)
    hand_raisers = {rule.id for rule in playbook.hand_raisers}
    order = priority_order([(i, s.mql_rule in hand_raisers, s.priority, s.qualified_at) for i, s in found.items()])
    rows = [found[lead_id] for lead_id in order]
    inputs: list[RoutingInput] = []
    levels: list[int | None] = []
    places = Places()  # leads of one office share where they are
    owners_at: dict[int | None, tuple[str, ...]] = {}
    for row in rows:
        lead = row.lead
        account = accounts.get(row.account_id) if row.account_id is not None else None
        place = places(lead, account)
        level = int(row.scores["level"]) or None
        owners = owners_at.get(level)
        if owners is None:
            owners = owners_at[level] = playbook.owners_at(level)
        inputs.append(RoutingInput(Facts(lead, account, [], now, row.scores), place, exclude, owners))
        levels.append(level)
    decisions = decide_many(routing, inputs, state, today, [row.owner_rep for row in rows])
    routed = [
        r
        for r in (
            Routed(
                row.id,
                row.lead.key,
                decision,
                row.owner_rep,
                row.owner_department,
                row.mql_rule in hand_raisers,
                levels[n],
            )
            for n, (row, decision) in enumerate(zip(rows, decisions, strict=True))
        )
        if r.changed
    ]
    if why is not None:
        routed = [replace(r, decision=replace(r.decision, reason=_why(why, r))) for r in routed]
    store_many(tx, routed, now, kind, actor, playbook)
    save_state(tx, state)
    return routed


#: The columns of a stored routing decision, in the order the bulk writers give them.
DECISION_COLUMNS = (
    "lead_id",
    "decided_at",
    "kind",
    "rule_id",
    "department",
    "strategy",
    "rep_id",
    "previous_rep",
    "reason",
    "details",
    "actor",
    "playbook_hash",
    "level",  # the level that chose the SLA policy of the clocks started below
)


def store_many(tx: StoreTx, routed: Sequence[Routed], now: datetime, kind: str, actor: str, playbook: Playbook) -> None:
    """What :func:`~leadrelay.services.routing.route_leads` stores for these decisions — owners,
    the decision log with its reasons, notifications, SLA clocks — with the owners and the log
    written in bulk (``executemany`` on SQLite, ``COPY`` on PostgreSQL), in the caller's transaction."""
    tx.assign_owners_in_bulk([(r.lead_id, r.decision.rep_id, r.decision.department) for r in routed], now)
    details = _Details()
    tx.insert_routing_decisions_in_bulk(
        DECISION_COLUMNS,
        [
            (
                r.lead_id,
                now,
                kind,
                d.rule_id,
                d.department,
                d.strategy,
                d.rep_id,
                r.previous_rep,
                d.reason,
                details(d),
                actor,
                playbook.hash,
                r.level,
            )
            for r in routed
            for d in (r.decision,)
        ],
    )
    if playbook.notifications is not None:  # without a plan, nobody is told anything
        _notify(tx, playbook, routed, now)
    start_clocks_in_bulk(tx, playbook, routed, now)


def start_clocks_in_bulk(tx: StoreTx, playbook: Playbook, routed: Sequence[Routed], now: datetime) -> None:
    """:func:`~leadrelay.services.routing.start_clocks`, timer for timer: the clocks of earlier owners
    stopped a few hundred leads a statement, the policy found once per (department, level, stage),
    each payload encoded once per (policy, clock, rep, department), the timers written in bulk."""
    if not playbook.sla or playbook.routing is None:
        return
    moved = [r.lead_id for r in routed if r.previous_rep is not None]
    if moved:
        cancel_timers_of_leads(tx, moved, SLA_TIMERS, now)  # due ones fire as no-ops
    departments = playbook.routing.departments
    policies: dict[tuple[str, int | None, Stage], SlaPolicy | None] = {}
    shared: dict[tuple[str, str], list[SlaClock]] = {}  # one batch, one moment: the same clocks
    payloads: dict[tuple[str, str, str, str], str] = {}
    moment = now.isoformat()
    timers: list[tuple[str, str, int | None, datetime, str]] = []
    for r in routed:
        rep, department = r.decision.rep_id, r.decision.department
        if rep is None:
            continue
        key = (department, r.level, r.stage)
        if key in policies:
            policy = policies[key]
        else:
            policy = policies[key] = policy_for(playbook.sla, department, r.level, clock_stage(r.stage))
        calendar = departments[department].calendar
        if policy is None or calendar is None:
            continue
        clocks = shared.get((policy.id, department))
        if clocks is None:
            clocks = shared[(policy.id, department)] = clocks_for(policy, calendar, now)
        for clock in clocks:
            text = payloads.get((policy.id, clock.kind, rep, department))
            if text is None:
                payload = sla_payload(policy.id, clock, rep, department, moment)
                text = payloads[(policy.id, clock.kind, rep, department)] = json.dumps(payload, ensure_ascii=False)
            for kind, due in (("sla_warning", clock.warn_at), ("sla_breach", clock.due_at)):
                timers.append((f"sla:{r.lead_id}:{moment}:{clock.kind}:{kind}", kind, r.lead_id, due, text))
    schedule_in_bulk(tx, timers, now)


class _Details:
    """``json.dumps(decision.details(), ensure_ascii=False)``, text for text, with each rep passed
    over and each rule missed encoded once, and each decision's document once per distinct pair
    of its tuples: decisions in a set share them (the same objects, see ``bulk.routing``)."""

    __slots__ = ("_documents", "_parts")

    def __init__(self) -> None:
        self._parts: dict[int, tuple[object, str]] = {}
        self._documents: dict[tuple[int, int], tuple[object, str]] = {}

    def _part(self, item: PassedOver | RuleMiss) -> str:
        found = self._parts.get(id(item))
        if found is None:
            values = (
                [item.rep_id, item.reason, item.detail] if isinstance(item, PassedOver) else [item.rule_id, item.reason]
            )
            found = self._parts[id(item)] = (item, json.dumps(values, ensure_ascii=False))  # the item keeps its id
        return found[1]

    def __call__(self, decision: RoutingDecision) -> str:
        key = (id(decision.passed_over), id(decision.misses))
        found = self._documents.get(key)
        if found is None:
            part = self._part
            passed = ", ".join([part(p) for p in decision.passed_over])
            misses = ", ".join([part(m) for m in decision.misses])
            text = f'{{"passed_over": [{passed}], "misses": [{misses}]}}'
            found = self._documents[key] = ((decision.passed_over, decision.misses), text)  # they keep their ids
        return found[1]
