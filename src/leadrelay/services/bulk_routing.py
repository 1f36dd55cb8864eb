"""Routing many leads in one transaction by sets (``leadrelay route``, a rescore's hand-over to
sales): the same decisions, reasons, stored rows, notifications and SLA clocks as
:func:`leadrelay.services.routing.route_leads`, with the per-lead work of ``decide`` shared
between leads (:mod:`leadrelay.bulk.routing`).

Rules whose conditions read a lead's activities need each lead's history judged by the per-lead
engine; with such a rule the batch goes through ``route_leads`` unchanged. Live routing of one
lead at intake stays per lead too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.bulk.routing import decide_many
from leadrelay.domain.conditions import Facts, reads_activities
from leadrelay.domain.lifecycle import Stage
from leadrelay.domain.playbook import Playbook
from leadrelay.domain.routing import Place, RoutingInput, priority_order
from leadrelay.services.routing import (
    Routed,
    _store,
    _why,
    effective_routing,
    load_state,
    place_of,
    route_leads,
    routing_of,
    save_state,
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
    states = tx.lead_states(ids)
    if playbook.pre_sql is not None and any(s.stage == Stage.PRE_SQL for s in states.values()):
        # a Pre-SQL goes by the handoff rules among field sales: the one-by-one path knows them
        return route_leads(tx, playbook, ids, now, kind=kind, actor=actor, exclude=exclude, only_pending=False, why=why)
    routing = effective_routing(tx, routing)
    state = load_state(tx, routing)
    today = now.astimezone(playbook.timezone).date()
    stored = tx.routing_facts(ids)
    accounts = tx.accounts_by_id(s.account_id for s in states.values() if s.account_id is not None)
    hand_raisers = {rule.id for rule in playbook.hand_raisers}
    order = priority_order(
        [(i, s.mql_rule in hand_raisers, s.priority, s.mql_at or s.stage_at) for i, s in states.items()]
    )
    inputs: list[RoutingInput] = []
    previous: list[str | None] = []
    levels: list[int | None] = []
    places: dict[tuple[Any, ...], Place] = {}  # leads of one office share where they are
    owners_at: dict[int | None, tuple[str, ...]] = {}
    for lead_id in order:
        lead_state = states[lead_id]
        lead = lead_state.lead
        account = accounts.get(lead_state.account_id) if lead_state.account_id is not None else None
        scores = dict(stored[lead_id][2])
        where = (lead.country, lead.prefecture, lead.postal_code, lead.phone, account)
        place = places.get(where)
        if place is None:
            place = places[where] = place_of(lead, account)
        level = int(scores.get("level") or 0) or None
        owners = owners_at.get(level)
        if owners is None:
            owners = owners_at[level] = playbook.owners_at(level)
        inputs.append(RoutingInput(Facts(lead, account, [], now, scores), place, exclude, owners))
        previous.append(stored[lead_id][0])
        levels.append(level)
    decisions = decide_many(routing, inputs, state, today, previous)
    routed = [
        r
        for r in (
            Routed(
                lead_id,
                states[lead_id].lead.key,
                decision,
                previous[n],
                stored[lead_id][1],
                states[lead_id].mql_rule in hand_raisers,
                levels[n],
            )
            for n, (lead_id, decision) in enumerate(zip(order, decisions, strict=True))
        )
        if r.changed
    ]
    if why is not None:
        routed = [replace(r, decision=replace(r.decision, reason=_why(why, r))) for r in routed]
    _store(tx, routed, now, kind, actor, playbook)
    save_state(tx, state)
    return routed
