"""The transactional outbox and durable timers: side effects written with the change that causes them.

A caller that changes state and wants a message sent or a timer set calls :func:`enqueue` or
:func:`schedule` with the same :class:`~leadrelay.adapters.store.sql_store.StoreTx`: the message or timer
commits with the change or not at all. Both are idempotent by key: enqueueing or scheduling the
same key again does nothing.

Workers (:mod:`leadrelay.entrypoints.worker`) take them from here:

- **Timers** are fired by :func:`fire_due_timers`: due rows are locked (PostgreSQL ``FOR UPDATE
  SKIP LOCKED``; SQLite's write lock), each handler runs in that same transaction and the timer
  is marked fired before it commits. A timer's effect and its ``fired_at`` commit together, so
  every timer fires exactly once, whichever worker takes it and wherever a worker dies.
- **Messages** leave the database, so they are claimed with a lease (:func:`claim_messages`,
  committed), delivered, then marked sent or failed (:func:`finish_messages`). A worker that
  dies between delivering and marking leaves the message claimed until the lease runs out; then
  another worker sends it again with the same idempotency key. That is at-least-once, and once in
  every run without such a crash; receivers that honour the key see it once.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leadrelay.adapters.store import queries
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.times import read_time, stored_time

CHANNELS = ("email", "webhook")


@dataclass(frozen=True, slots=True)
class Message:
    """A message to enqueue. ``key`` makes it idempotent: the same key is enqueued once."""

    key: str
    channel: str  # email | webhook
    recipient: str  # an e-mail address; for a webhook, the channel id
    subject: str
    body: str
    lang: str = "ja"
    event: str = "message"
    target: str | None = None  # the playbook channel's id
    payload: dict[str, Any] = field(default_factory=dict)
    lead_id: int | None = None
    due_at: datetime | None = None  # not before (default: at once)

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel '{self.channel}' (channels: {', '.join(CHANNELS)})")


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A stored message, as a worker delivers it."""

    id: int
    key: str
    channel: str
    target: str | None
    recipient: str
    subject: str
    body: str
    payload: dict[str, Any]
    lang: str
    event: str
    lead_id: int | None
    created_at: datetime
    attempts: int  # including this one


@dataclass(frozen=True, slots=True)
class Timer:
    """A timer to schedule; stored, it comes back to its handler with ``id`` and ``attempts``."""

    key: str
    kind: str
    due_at: datetime
    lead_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    attempts: int = 0  # earlier failed tries


@dataclass(frozen=True, slots=True)
class Delivery:
    """How one delivery attempt ended."""

    id: int
    error: str | None = None  # None: delivered
    permanent: bool = False  # an error retrying cannot fix (bad address, 4xx, missing setting)
    retry_after: float | None = None  # seconds the receiver asked us to wait


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: try ``n`` waits ``base * 2**(n-1)`` (at most ``cap``),
    between half and all of it; after ``max_attempts`` tries the row is given up (``failed_at``).
    The worker's come from :class:`leadrelay.config.Settings` (``LEADRELAY_WORKER_*BACKOFF*``)."""

    base: float  # seconds
    cap: float  # seconds
    max_attempts: int

    def delay(self, attempts: int, chance: random.Random | None = None) -> timedelta:
        full = min(self.cap, self.base * 2 ** max(attempts - 1, 0))
        spread = (chance or random).uniform(0.5, 1.0)
        return timedelta(seconds=full * spread)


def message_key(*parts: object) -> str:
    """A stable key from the parts that make a message distinct (64 hex characters)."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


# --- enqueue and schedule (inside the caller's transaction) -------------------------------------


def enqueue(tx: StoreTx, messages: Iterable[Message], now: datetime) -> None:
    """Store messages to send, in the caller's transaction; keys already stored are skipped."""
    time, dumps = tx._time, json.dumps
    stamp = time(now)  # a batch of messages shares its moment: converted once
    rows = [
        (
            m.key if len(m.key) <= 64 else message_key(m.key),
            m.channel,
            m.target,
            m.recipient,
            m.subject,
            m.body,
            dumps(m.payload, ensure_ascii=False) if m.payload else "{}",
            m.lang,
            m.event,
            m.lead_id,
            stamp,
            time(m.due_at) if m.due_at is not None else stamp,
        )
        for m in messages
    ]
    tx._raw_many(queries.enqueue_message(tx.dialect), rows)
    if rows:
        announce_messages(tx)


def announce_messages(tx: StoreTx) -> None:
    """PostgreSQL: tell the listening workers that messages wait (``NOTIFY leadrelay_outbox``); the
    notice is sent when this transaction commits, and not at all if it rolls back. Nothing on
    SQLite, whose workers watch the newest message id (:mod:`leadrelay.adapters.store.wakeups`)."""
    if tx.dialect == queries.POSTGRESQL:
        tx._raw_rows(queries.NOTIFY_OUTBOX, [])


def schedule(tx: StoreTx, items: Iterable[Timer], now: datetime, *, replace: bool = False) -> None:
    """Store timers, in the caller's transaction.

    A key already stored is left as it is — unless ``replace``: then the timer with that key is
    re-armed with the new due time and payload (pending, fired or failed alike), e.g. to push an
    inactivity deadline back after each activity.
    """
    time, dumps = tx._time, json.dumps
    rows = [(t.key, t.kind, t.lead_id, time(t.due_at), dumps(t.payload, ensure_ascii=False), time(now)) for t in items]
    tx._raw_many(queries.schedule_timer(tx.dialect, replace=replace), rows)


def schedule_in_bulk(tx: StoreTx, items: Sequence[tuple[str, str, int | None, datetime, str]], now: datetime) -> None:
    """:func:`schedule` (keys stored already left alone) for many timers given as (key, kind, lead,
    due at, payload as JSON text): each distinct moment converted once, and on PostgreSQL the
    rows copied into a staging table and inserted in their order with one statement."""
    if not items:
        return
    time = tx._time
    stamps: dict[datetime, Any] = {}
    for item in items:
        if item[3] not in stamps:
            stamps[item[3]] = time(item[3])
    created = time(now)
    if tx._copies(items):
        rows = [
            (n, key, kind, lead, stamps[due], payload, created)
            for n, (key, kind, lead, due, payload) in enumerate(items)
        ]
        tx._copy_through(
            queries.CREATE_TIMERS_IN,
            queries.COPY_TIMERS_IN,
            rows,
            queries.INSERT_FROM_TIMERS_IN,
            queries.EMPTY_TIMERS_IN,
        )
        return
    tx._raw_many(
        queries.schedule_timer(tx.dialect, replace=False),
        [(key, kind, lead, stamps[due], payload, created) for key, kind, lead, due, payload in items],
    )


def cancel_timers_of_leads(tx: StoreTx, lead_ids: Sequence[int], kinds: Sequence[str], due_after: datetime) -> int:
    """:func:`cancel_timers` of each lead (``lead_id``, each of ``kinds``, ``due_after``), a few
    hundred leads a statement. Returns how many were removed."""
    removed = 0
    after = tx._time(due_after)
    for start in range(0, len(lead_ids), 500):
        part = list(lead_ids[start : start + 500])
        removed += len(tx._raw_rows(queries.cancel_timers_of_leads(len(part), len(kinds)), [*part, *kinds, after]))
    return removed


def cancel_timers(
    tx: StoreTx,
    keys: Sequence[str] = (),
    *,
    lead_id: int | None = None,
    kind: str | None = None,
    due_after: datetime | None = None,
) -> int:
    """Remove timers that have not fired: by key, or all of a lead's (of one kind, if given);
    with ``due_after``, only those due later (a handler leaves the due ones, itself included, to
    fire). Returns how many were removed. Fired timers stay as the record of what happened."""
    removed = 0
    for start in range(0, len(keys), 500):
        part = list(keys[start : start + 500])
        removed += len(tx._raw_rows(queries.cancel_timers_by_key(len(part)), part))
    if lead_id is not None:
        params: list[Any] = [lead_id]
        if kind is not None:
            params.append(kind)
        if due_after is not None:
            params.append(tx._time(due_after))
        sql = queries.cancel_timers_of_lead(kind=kind is not None, due_after=due_after is not None)
        removed += len(tx._raw_rows(sql, params))
    elif kind is not None:
        raise ValueError("cancel_timers: give keys, or a lead (and optionally a kind)")
    return removed


# --- taking due work (workers) -----------------------------------------------------------------


def take_write_lock(tx: StoreTx) -> None:
    """On SQLite, hold the database's write lock from here (one writer at a time); nothing on
    PostgreSQL, where row locks do the work."""
    if tx.dialect == "sqlite":
        tx._raw_rows(queries.TAKE_WRITE_LOCK, [])


def due_timers(tx: StoreTx, now: datetime, limit: int) -> list[Timer]:
    """Lock and return up to ``limit`` due timers (earliest first) that no other worker holds."""
    take_write_lock(tx)
    rows = tx._raw_rows(queries.due_timers(tx.dialect), [tx._time(now), limit])
    return [
        Timer(key, kind, stored_time(due), lead_id, _json(payload), id_, attempts)
        for id_, key, kind, lead_id, due, payload, attempts in rows
    ]


def lock_timers(tx: StoreTx, ids: Sequence[int]) -> list[Timer]:
    """Lock again the timers of a batch that rolled back: those still unfired and not held by another worker."""
    take_write_lock(tx)
    out: list[Timer] = []
    for start in range(0, len(ids), 500):
        part = list(ids[start : start + 500])
        rows = tx._raw_rows(queries.lock_pending_timers(tx.dialect, len(part)), part)
        out.extend(
            Timer(key, kind, stored_time(due), lead_id, _json(payload), id_, attempts)
            for id_, key, kind, lead_id, due, payload, attempts in rows
        )
    return out


def mark_fired(tx: StoreTx, keys: Sequence[str], now: datetime, worker: str) -> None:
    """Mark timers fired, by key: keys are never reused, while a row id may be (a handler may
    cancel a timer of its lead — even the one firing — and schedule new ones)."""
    for start in range(0, len(keys), 1000):
        part = list(keys[start : start + 1000])
        tx._raw_rows(queries.mark_timers_fired(len(part)), [tx._time(now), worker, *part])


def mark_timer_failed(tx: StoreTx, timer: Timer, error: str, now: datetime, backoff: Backoff) -> bool:
    """Record a failed try; the timer is tried again after a backoff, or given up. True if given up."""
    attempts = timer.attempts + 1
    if attempts >= backoff.max_attempts:
        tx._raw_many(queries.TIMER_GIVEN_UP, [(attempts, error, tx._time(now), timer.id)])
        return True
    tx._raw_many(queries.TIMER_RETRY, [(attempts, error, tx._time(now + backoff.delay(attempts)), timer.id)])
    return False


def timers_due(tx: StoreTx, now: datetime) -> bool:
    """Whether any pending timer is due at ``now`` (a read: it locks nothing)."""
    return bool(tx._raw_rows(queries.ANY_TIMER_DUE, [tx._time(now)]))


def messages_due(tx: StoreTx, now: datetime) -> bool:
    """Whether any message is due at ``now`` and free to claim (a read: it locks nothing)."""
    stamp = tx._time(now)
    return bool(tx._raw_rows(queries.ANY_MESSAGE_DUE, [stamp, stamp]))


def next_due(tx: StoreTx) -> datetime | None:
    """When the next pending timer, or pending message no worker holds (a retry), is due; None
    when nothing is pending. An idle worker sleeps until then at the longest."""
    moments = [read_time(tx._raw_rows(sql, [])[0][0]) for sql in (queries.NEXT_TIMER_DUE, queries.NEXT_MESSAGE_DUE)]
    return min((m for m in moments if m is not None), default=None)


def last_message_id(tx: StoreTx) -> int:
    """The newest message's id (0: none); SQLite's workers watch it to see new messages."""
    return int(tx._raw_rows(queries.LAST_MESSAGE_ID, [])[0][0])


def claim_messages(tx: StoreTx, now: datetime, limit: int, worker: str, lease: timedelta) -> list[OutboxMessage]:
    """Claim up to ``limit`` due messages for ``worker`` until ``now + lease`` (commit before
    delivering). A message whose lease ran out (its worker died) is due again."""
    take_write_lock(tx)
    stamp = tx._time(now)
    rows = tx._raw_rows(queries.due_messages(tx.dialect), [stamp, stamp, limit])
    until = tx._time(now + lease)
    tx._raw_many(queries.CLAIM_MESSAGE, [(worker, until, row[0]) for row in rows])
    return [
        OutboxMessage(
            id_,
            key,
            channel,
            target,
            recipient,
            subject,
            body,
            _json(payload),
            lang,
            event,
            lead_id,
            stored_time(created),
            attempts + 1,
        )
        for id_, key, channel, target, recipient, subject, body, payload, lang, event, lead_id, created, attempts in rows
    ]


def finish_messages(
    tx: StoreTx,
    claimed: Sequence[OutboxMessage],
    results: Sequence[Delivery],
    now: datetime,
    worker: str,
    backoff: Backoff,
    chance: random.Random | None = None,
) -> None:
    """Record how the deliveries went: sent; or due again after a backoff; or given up (failed)."""
    attempts = {m.id: m.attempts for m in claimed}
    time = tx._time
    sent, retry, failed = [], [], []
    for result in results:
        if result.error is None:
            sent.append((time(now), result.id, worker))
        elif result.permanent or attempts[result.id] >= backoff.max_attempts:
            failed.append((result.error, time(now), result.id, worker))
        else:
            wait = backoff.delay(attempts[result.id], chance)
            if result.retry_after is not None:
                wait = max(wait, timedelta(seconds=min(result.retry_after, backoff.cap)))
            retry.append((result.error, time(now + wait), result.id, worker))
    # only the worker holding the claim writes; a message another worker took over after this
    # one's lease ran out is left to that worker
    tx._raw_many(queries.MARK_SENT, sent)
    tx._raw_many(queries.MARK_RETRY, retry)
    tx._raw_many(queries.MARK_FAILED, failed)


def release_messages(tx: StoreTx, ids: Sequence[int], worker: str) -> None:
    """Give back claimed messages this worker did not try (it is stopping, or its lease is short)."""
    tx._raw_many(queries.RELEASE_MESSAGE, [(i, worker) for i in ids])


# --- looking and retrying (``leadrelay outbox``) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    channel: str
    target: str | None
    recipient: str
    subject: str
    event: str
    lead_id: int | None
    created_at: datetime
    due_at: datetime
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    failed_at: datetime | None
    claimed_by: str | None

    @property
    def status(self) -> str:
        if self.sent_at is not None:
            return "sent"
        if self.failed_at is not None:
            return "failed"
        return "sending" if self.claimed_by else "pending"


def outbox_rows(tx: StoreTx, *, failed: bool = False, limit: int = 100) -> list[OutboxRow]:
    """Messages not yet sent (or, with ``failed``, the ones given up), oldest first."""
    rows = tx._raw_rows(queries.outbox_rows(failed=failed), [limit])
    return [
        OutboxRow(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            stored_time(row[7]),
            stored_time(row[8]),
            row[9],
            row[10],
            read_time(row[11]),
            read_time(row[12]),
            row[13],
        )
        for row in rows
    ]


def outbox_counts(tx: StoreTx) -> dict[str, int]:
    """Messages by status (pending includes those being delivered) and timers not yet fired."""
    (pending, failed, sent) = tx._raw_rows(queries.OUTBOX_COUNTS, [])[0]
    (timers_pending, timers_failed) = tx._raw_rows(queries.TIMER_COUNTS, [])[0]
    return {
        "pending": int(pending),
        "failed": int(failed),
        "sent": int(sent),
        "timers_pending": int(timers_pending),
        "timers_failed": int(timers_failed),
    }


def retry_failed(tx: StoreTx, ids: Sequence[int] | None, now: datetime) -> int:
    """Make failed messages due again at once with a fresh count of attempts (all with ``None``).
    Returns how many. The last error is kept until the next attempt."""
    if ids is None:
        count = len(tx._raw_rows(queries.RETRY_ALL_FAILED, [tx._time(now)]))
    else:
        count = sum(len(tx._raw_rows(queries.RETRY_FAILED, [tx._time(now), i])) for i in ids)
    if count:
        announce_messages(tx)
    return count


def _json(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        parsed: dict[str, Any] = json.loads(value)
        return parsed
    return dict(value)
