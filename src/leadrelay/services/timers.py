"""What a fired timer does: the handler type, and the built-in ``notify`` timer.

A handler is called by the worker as ``handler(tx, timer, now, playbook)`` inside the transaction
that marks the timer fired, so its effect and the mark commit together or not at all; raising
fails this try (its effects are undone) and the timer is tried again later. The worker is given
its handlers as a mapping ``{kind: handler}``, built by :func:`leadrelay.bootstrap.timer_handlers`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from leadrelay.adapters.store.outbox import Timer
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.domain.playbook import Playbook
from leadrelay.services.notifications import NotificationContext, notify

#: ``handler(tx, timer, now, playbook)``: the timer's effect, written with ``tx`` — the transaction
#: that marks the timer fired. Raise to fail the try (its effects are undone).
TimerHandler = Callable[[StoreTx, Timer, datetime, Playbook], None]


def notify_timer(tx: StoreTx, timer: Timer, now: datetime, playbook: Playbook) -> None:
    """A built-in timer: send a notification when it fires. Payload: ``event`` and optionally
    ``reason``, ``page``, ``due_at`` (ISO 8601), ``rep_id``, ``department``, ``details``."""
    payload = timer.payload
    due = payload.get("due_at")
    context = NotificationContext(
        lead_id=timer.lead_id,
        rep_id=payload.get("rep_id"),
        department=payload.get("department"),
        reason=payload.get("reason"),
        due_at=datetime.fromisoformat(due) if due else None,
        page=payload.get("page"),
        ref=f"timer:{timer.key}",
        details={str(k): str(v) for k, v in (payload.get("details") or {}).items()},
    )
    notify(tx, playbook, str(payload["event"]), context, now)
