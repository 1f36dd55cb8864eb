"""Looking at the outbox (``leadrelay outbox``): messages waiting or given up, and counts.

Read models over :mod:`leadrelay.adapters.store.outbox`, with times in the playbook's zone.
"""

from __future__ import annotations

from datetime import tzinfo

from leadrelay.adapters.store.outbox import OutboxRow, outbox_counts, outbox_rows
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.services.read_models import Moment, ReadModel, local


class OutboxMessage(ReadModel):
    """A stored message as ``leadrelay outbox`` lists it."""

    id: int
    channel: str  # email | webhook
    target: str | None  # the playbook channel's id
    recipient: str
    subject: str
    event: str
    lead_id: int | None
    created_at: Moment
    due_at: Moment
    attempts: int
    last_error: str | None
    sent_at: Moment | None
    failed_at: Moment | None
    claimed_by: str | None
    status: str  # pending | sending | sent | failed

    @classmethod
    def of(cls, row: OutboxRow, tz: tzinfo) -> OutboxMessage:
        return cls(
            id=row.id,
            channel=row.channel,
            target=row.target,
            recipient=row.recipient,
            subject=row.subject,
            event=row.event,
            lead_id=row.lead_id,
            created_at=local(row.created_at, tz),
            due_at=local(row.due_at, tz),
            attempts=row.attempts,
            last_error=row.last_error,
            sent_at=local(row.sent_at, tz),
            failed_at=local(row.failed_at, tz),
            claimed_by=row.claimed_by,
            status=row.status,
        )


class OutboxCounts(ReadModel):
    """Messages by status (pending includes those being delivered) and timers not yet fired."""

    pending: int
    failed: int
    sent: int
    timers_pending: int
    timers_failed: int


class OutboxReport(ReadModel):
    counts: OutboxCounts
    messages: list[OutboxMessage]


def outbox_report(tx: StoreTx, tz: tzinfo, *, failed: bool = False, limit: int = 100) -> OutboxReport:
    """The counts, and the messages not yet sent (or, with ``failed``, given up), oldest first."""
    return OutboxReport(
        counts=OutboxCounts(**outbox_counts(tx)),
        messages=[OutboxMessage.of(row, tz) for row in outbox_rows(tx, failed=failed, limit=limit)],
    )
