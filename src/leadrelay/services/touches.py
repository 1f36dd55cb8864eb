"""What sales did to reach a lead — a call, a meeting, an e-mail, with how it went — and notes.

A touch is a new fact about the lead, recorded by the rep (``leadrelay lead touch``,
``POST /v1/leads/{ref}/touches``): it stops the first-touch SLA clock of the lead's current
assignment (:func:`leadrelay.services.sla.touched_since` reads it) and restarts the inactivity
clock (the lead's ``last_touch_at``, read by ``StoreTx.idle_leads`` for recycling). It moves no
stage and adds no score: scoring reads what the lead did, not what sales did.
"""

from __future__ import annotations

from datetime import datetime

from leadrelay.adapters.records import InputError
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.domain.playbook import Playbook
from leadrelay.services.read_models import Moment, ReadModel, local

#: The kinds of touch and the outcomes each may have.
TOUCH_OUTCOMES: dict[str, tuple[str, ...]] = {
    "call": ("connected", "no_answer", "voicemail", "wrong_number"),
    "meeting": ("held", "no_show", "rescheduled", "cancelled"),
    "email": ("sent", "replied", "bounced"),
}
MAX_NOTE = 10_000  # characters of a note or a touch's note


class TouchView(ReadModel):
    """One touch as the lead's explanation lists it (times in the playbook's zone)."""

    kind: str
    outcome: str
    at: Moment
    note: str | None
    actor: str
    recorded_at: Moment


class NoteView(ReadModel):
    """One note on a lead, with who wrote it and when."""

    text: str
    actor: str
    at: Moment


def _text(value: str | None, field: str, *, required: bool) -> str | None:
    text = value.strip() if value is not None else ""
    if not text:
        if required:
            raise InputError(field, "must not be empty")
        return None
    if len(text) > MAX_NOTE:
        raise InputError(field, f"at most {MAX_NOTE:,} characters (got {len(text):,})")
    return text


def check_touch(kind: str, outcome: str) -> None:
    """:class:`InputError` naming ``kind`` or ``outcome`` when they are not a touch this engine knows."""
    outcomes = TOUCH_OUTCOMES.get(kind)
    if outcomes is None:
        raise InputError("kind", f"'{kind}' is not a kind of touch (kinds: {', '.join(TOUCH_OUTCOMES)})")
    if outcome not in outcomes:
        raise InputError("outcome", f"'{outcome}' is not an outcome of a {kind} (outcomes: {', '.join(outcomes)})")


def record_touch(
    tx: StoreTx,
    playbook: Playbook,
    lead_id: int,
    now: datetime,
    *,
    kind: str,
    outcome: str,
    actor: str,
    at: datetime | None = None,
    note: str | None = None,
) -> TouchView:
    """Record a touch at ``at`` (default: now); a touch cannot be in the future."""
    check_touch(kind, outcome)
    when = at or now
    if when.tzinfo is None:
        raise InputError("at", "give a time with its zone, e.g. 2026-11-25T10:30:00+09:00")
    if when > now:
        raise InputError("at", f"{when.isoformat()} is in the future (now is {now.isoformat()})")
    text = _text(note, "note", required=False)
    tx.insert_touch(
        {"lead_id": lead_id, "kind": kind, "outcome": outcome, "occurred_at": when, "note": text, "actor": actor}, now
    )
    tz = playbook.timezone
    return TouchView(kind=kind, outcome=outcome, at=local(when, tz), note=text, actor=actor, recorded_at=local(now, tz))


def add_note(tx: StoreTx, playbook: Playbook, lead_id: int, text: str, now: datetime, *, actor: str) -> NoteView:
    said = _text(text, "text", required=True)
    assert said is not None
    tx.insert_note(lead_id, said, actor, now)
    return NoteView(text=said, actor=actor, at=local(now, playbook.timezone))


def touches_of(tx: StoreTx, playbook: Playbook, lead_id: int) -> list[TouchView]:
    tz = playbook.timezone
    return [
        TouchView(
            kind=row.kind,
            outcome=row.outcome,
            at=local(row.occurred_at, tz),
            note=row.note,
            actor=row.actor,
            recorded_at=local(row.recorded_at, tz),
        )
        for row in tx.touches_of(lead_id)
    ]


def notes_of(tx: StoreTx, playbook: Playbook, lead_id: int) -> list[NoteView]:
    tz = playbook.timezone
    return [NoteView(text=row.text, actor=row.actor, at=local(row.created_at, tz)) for row in tx.notes_of(lead_id)]
