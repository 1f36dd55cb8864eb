"""Read models of one lead: what ``lead show`` and ``route explain`` print, built from stored facts.

Counts are plain SQL over the stored rows; explanations re-run the pure scoring with the exact
playbook version that made the stored decision (its hash is on the lead).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

import sqlalchemy as sa

from leadrelay.adapters.playbook.loader import LoadedPlaybook
from leadrelay.adapters.store.sql_store import StoreTx, account_from_row
from leadrelay.adapters.store.tables import accounts, leads
from leadrelay.domain.evaluation import assess
from leadrelay.domain.identity import key_email, key_external_id
from leadrelay.domain.lifecycle import Stage
from leadrelay.errors import LeadRelayError
from leadrelay.services.routing import Routed

PlaybookByHash = Callable[[str], LoadedPlaybook]


class LeadNotFound(LeadRelayError, LookupError):
    pass


def iso(moment: datetime | None, tz: Any) -> str | None:
    return moment.astimezone(tz).isoformat(timespec="seconds") if moment else None


def _lead_row(tx: StoreTx, key: str) -> Any:
    email, external_id = key_email(key), key_external_id(key)
    where = leads.c.email == email if email is not None else leads.c.external_id == external_id
    return tx.execute(sa.select(leads).where(where)).one_or_none()


def lead_report(
    tx: StoreTx, key: str, now: datetime, playbook_by_hash: PlaybookByHash, active: LoadedPlaybook
) -> dict[str, Any]:
    """One lead by its key: an e-mail, or ``id:`` and its external id (see ``domain.identity.lead_key``)."""
    row = _lead_row(tx, key)
    if row is None:
        raise LeadNotFound(key_email(key) or key_external_id(key))
    loaded = playbook_by_hash(row.playbook_hash) if row.playbook_hash else active
    playbook = loaded.playbook
    tz = playbook.timezone
    account = None
    account_row = None
    if row.account_id is not None:
        account_row = tx.execute(sa.select(accounts).where(accounts.c.id == row.account_id)).one()
        account = account_from_row(account_row)
    state = tx.lead_states([row.id])[row.id]
    history = tx.activities_of([row.id]).get(row.id, [])
    judged = assess(state.lead, account, history, playbook, now, explain=True)
    moves = tx.history(row.id)
    return {
        "email": row.email,
        "external_id": row.external_id,
        "profile": {
            "name": state.lead.name or None,
            "first_name": row.first_name,
            "last_name": row.last_name,
            "title": row.title,
            "seniority": row.seniority,
            "department": row.department,
            "phone": row.phone,
            "country": row.country,
            "prefecture": row.prefecture,
            "postal_code": row.postal_code,
            "source_channel": row.source_channel,
            "list_source": row.list_source,
            "custom": row.custom or {},
            "created_at": iso(row.created_at, tz),
        },
        "account": None
        if account_row is None
        else {
            "domain": account_row.domain,
            "name": account_row.name,
            "industry": account_row.industry,
            "employees": account_row.employees,
            "country": account_row.country,
            "prefecture": account_row.prefecture,
            "tier": account_row.tier,
            "owner": account_row.owner,
        },
        "stage": row.stage,
        "stage_label": {
            "en": playbook.stage_label(Stage(row.stage), "en"),
            "ja": playbook.stage_label(Stage(row.stage), "ja"),
        },
        "stage_since": iso(row.stage_at, tz),
        "recycled_count": row.recycled_count,
        "history": [
            {
                "at": iso(m.occurred_at, tz),
                "from": m.from_stage,
                "to": m.to_stage,
                "trigger": m.trigger,
                "actor": m.actor,
                "rule": m.rule_id,
                "reason": m.reason,
                "level": m.level,
                "score": None if m.score is None else round(m.score, 2),
                "playbook": m.playbook_hash[:12] if m.playbook_hash else None,
                "recorded_at": iso(m.recorded_at, tz),
            }
            for m in moves
        ],
        "as_of": iso(now, tz),
        "playbook": {"id": playbook.id, "version": playbook.version, "hash": playbook.hash},
        "disqualification": None
        if judged.disqualification is None
        else {
            "rule": judged.disqualification.rule_id,
            "reason": judged.disqualification.reason,
            "label": judged.disqualification.label,
        },
        "scores": {
            "fit": round(judged.fit.total, 2),
            "engagement": round(judged.engagement.total, 2),
            "total": round(judged.scores["total"], 2),
            "by_product": {k: round(v, 2) for k, v in judged.engagement.by_product.items()},
            "fit_gate_passed": judged.fit_passed,
            "fit_gate_min": playbook.fit_gate.min_score,
        },
        "fit": [{"rule": c.rule_id, "label": c.label, "points": c.points} for c in judged.fit.contributions],
        "engagement": [
            {
                "activity": c.activity_type,
                "at": iso(c.occurred_at, tz),
                "campaign": c.campaign,
                "product": c.product,
                "rule": c.rule_id,
                "label": c.label,
                "base": c.base,
                "counted": c.counted,
                "decay": round(c.factor, 4),
                "points": round(c.points, 2) + 0.0,
                "note": c.note,
            }
            for c in judged.engagement.contributions
        ],
        "level": None
        if judged.level is None
        else {
            "level": judged.level.level,
            "rule": judged.level.rule_id,
            "label": judged.level.label,
            "owner": judged.level.owner,
        },
        "mql": None
        if row.mql_at is None
        else {"rule": row.mql_rule, "at": iso(row.mql_at, tz), "product": row.mql_product, "priority": row.priority},
        "activities": len(history),
        "outcomes": [
            {
                "outcome": o.outcome,
                "closed_at": iso(o.closed_at, tz),
                "amount": None if o.amount is None else str(o.amount),
                "currency": o.currency,
                "product": o.product,
                "lost_reason": o.lost_reason,
                "sdr": o.sdr,
                "sr": o.sr,
                "source_id": o.source_id,
                "properties": o.properties or {},
                "recorded_at": iso(o.recorded_at, tz),
            }
            for o in tx.outcomes_of(row.id)
        ],
        "owner": None
        if row.owner_department is None
        else {"rep": row.owner_rep, "department": row.owner_department, "assigned_at": iso(row.assigned_at, tz)},
        "routing": [routing_view(d, tz) for d in tx.routing_decisions_of(row.id)],
    }


def routing_view(decision: Any, tz: tzinfo) -> dict[str, Any]:
    """A stored routing decision as ``lead show`` and ``route explain`` print it."""
    details = decision.details or {}
    return {
        "at": iso(decision.decided_at, tz) if decision.decided_at else None,
        "kind": decision.kind,
        "rule": decision.rule_id,
        "department": decision.department,
        "strategy": decision.strategy,
        "rep": decision.rep_id,
        "previous_rep": decision.previous_rep,
        "reason": decision.reason,
        "actor": decision.actor,
        "passed_over": [{"rep": r, "why": why, "detail": detail} for r, why, detail in details.get("passed_over", [])],
        "rules_not_taken": [{"rule": r, "why": why} for r, why in details.get("misses", [])],
    }


def explained_view(routed: Routed, now: datetime, tz: tzinfo) -> dict[str, Any]:
    """What ``route explain`` found: the decision routing would make now, in the shape of a
    stored one."""
    decision = routed.decision
    return {
        "lead": routed.lead,
        "at": iso(now, tz),
        "kind": "explain",
        "rule": decision.rule_id,
        "department": decision.department,
        "strategy": decision.strategy,
        "rep": decision.rep_id,
        "previous_rep": routed.previous_rep,
        "reason": decision.reason,
        "actor": None,
        "passed_over": [{"rep": p.rep_id, "why": p.reason, "detail": p.detail} for p in decision.passed_over],
        "rules_not_taken": [{"rule": m.rule_id, "why": m.reason} for m in decision.misses],
    }
