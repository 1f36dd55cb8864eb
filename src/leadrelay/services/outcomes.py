"""Closed deals from a CRM: store each outcome and move its lead to Won or Lost."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from leadrelay.adapters.records import OutcomeInput
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.domain.evaluation import StageChange
from leadrelay.domain.lifecycle import (
    IllegalTransition,
    Trigger,
    next_stage,
)
from leadrelay.domain.playbook import Playbook
from leadrelay.services.intake import BatchResult, Rejection, move_row


def record_outcomes(
    tx: StoreTx, playbook: Playbook, items: Sequence[tuple[int, OutcomeInput]], now: datetime
) -> BatchResult:
    """Store closed deals and move each lead to Won or Lost — in one transaction.

    An outcome for a lead that is not known is refused (by record number). An outcome seen before
    (same source id, or same content) is skipped. The stage move is a fixed point of the lead's
    history (its new anchor), made at the deal's date — or at the lead's last move if the CRM's
    date is earlier, so the history stays in order. An outcome the lifecycle does not allow as a
    move (e.g. for a lead that is already Won) is stored without moving the lead.
    """
    rejected: list[Rejection] = []
    moves: list[tuple[str, StageChange]] = []
    duplicates = 0
    lead_ids = tx.lead_ids(item.lead_key for _, item in items)
    fresh: dict[str, tuple[int, OutcomeInput]] = {}
    for number, item in items:
        if item.lead_key not in lead_ids:
            field, value = ("email", item.email) if item.email else ("external_id", item.external_id)
            rejected.append(Rejection(number, field, f"no lead with {field} '{value}' (import the leads first)"))
        elif item.key in fresh:
            first = fresh[item.key][1]
            differs = _differences(_content(lead_ids[first.lead_key], first), _content(lead_ids[item.lead_key], item))
            if item.source_id is not None and differs:
                rejected.append(_conflict(number, item.source_id, differs))
            else:
                duplicates += 1
        else:
            fresh[item.key] = (number, item)
    existing = tx.existing_outcome_keys(fresh)
    resent = [key for key in existing if fresh[key][1].source_id is not None]
    stored = tx.outcomes_by_key(resent) if resent else {}
    for key in existing:
        number, item = fresh[key]
        differs = _differences(stored[key], _content(lead_ids[item.lead_key], item)) if key in stored else []
        if differs:
            assert item.source_id is not None
            rejected.append(_conflict(number, item.source_id, differs))
        else:
            duplicates += 1
    new = [item for key, (_, item) in fresh.items() if key not in existing]
    tx.insert_outcomes(
        [
            {
                "key": item.key,
                "lead_id": lead_ids[item.lead_key],
                "outcome": item.outcome,
                "closed_at": item.closed_at,
                "recorded_at": now,
                "amount": item.amount,
                "currency": item.currency,
                "product": item.product,
                "lost_reason": item.lost_reason,
                "sdr": item.sdr,
                "sr": item.sr,
                "source_id": item.source_id,
                "properties": dict(item.properties),
            }
            for item in new
        ]
    )
    by_lead: dict[int, list[OutcomeInput]] = {}
    for item in new:
        by_lead.setdefault(lead_ids[item.lead_key], []).append(item)
    states = tx.lead_states(by_lead)
    rows: list[dict[str, Any]] = []
    for lead_id in sorted(by_lead):
        state = states[lead_id]
        stage, stage_at = state.stage, state.stage_at
        for item in sorted(by_lead[lead_id], key=lambda o: (o.closed_at, o.key)):
            trigger = Trigger.WON_IMPORTED if item.outcome == "won" else Trigger.LOST_IMPORTED
            try:
                target = next_stage(stage, trigger)
            except IllegalTransition:
                continue
            at = max(item.closed_at, stage_at)
            move = StageChange(trigger, stage, target, at, None, _outcome_reason(item, at), actor="import")
            rows.append(move_row(lead_id, move, now, playbook, derived=False))
            moves.append((state.lead.key, move))
            stage, stage_at = target, at
        if stage != state.stage:
            values = {"stage": stage.value, "stage_at": stage_at, "anchor_stage": stage.value}
            tx.update_profile(lead_id, {**values, "anchor_at": stage_at, "anchor_check": False}, now)
    tx.insert_transitions(rows)
    return BatchResult.of(
        playbook.timezone, moves=moves, rejected=rejected, outcomes_inserted=len(new), duplicates=duplicates
    )


def _content(lead_id: int, item: OutcomeInput) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "outcome": item.outcome,
        "closed_at": item.closed_at,
        "amount": item.amount,
        "currency": item.currency,
        "product": item.product,
    }


def _differences(stored: Mapping[str, Any], given: Mapping[str, Any]) -> list[str]:
    """The fields in which two outcomes with one ``source_id`` differ (none: the same deal sent again)."""
    names = {"lead_id": "lead"}
    return [names.get(name, name) for name, value in given.items() if not _same(stored[name], value)]


def _same(stored: Any, given: Any) -> bool:
    if isinstance(given, Decimal) and stored is not None:
        return Decimal(str(stored)) == given
    return bool(stored == given)


def _conflict(record: int, source_id: str, differs: Sequence[str]) -> Rejection:
    return Rejection(
        record,
        "source_id",
        f"{source_id!r} already names another deal (it differs in {', '.join(differs)}); not recorded",
    )


def _outcome_reason(item: OutcomeInput, at: datetime) -> str:
    parts = [f"{item.outcome} deal imported from CRM, closed {item.closed_at.date().isoformat()}"]
    if at != item.closed_at:
        parts.append("recorded at the lead's last move (the CRM's date is earlier)")
    if item.amount is not None:
        parts.append(f"amount {item.amount:,} {item.currency or ''}".rstrip())
    if item.product:
        parts.append(f"product {item.product}")
    if item.lost_reason:
        parts.append(f"lost reason: {item.lost_reason}")
    if item.sdr:
        parts.append(f"SDR {item.sdr}")
    if item.sr:
        parts.append(f"SR {item.sr}")
    if item.source_id:
        parts.append(f"source id {item.source_id}")
    return "; ".join(parts)
