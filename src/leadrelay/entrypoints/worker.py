"""The worker: fires due timers and delivers the outbox, until told to stop.

Several workers may run against one PostgreSQL database (on SQLite, one at a time takes the
write lock, so they take turns). What each guarantees:

- **Timers fire exactly once.** A batch of due timers is locked (``FOR UPDATE SKIP LOCKED``), each
  handler runs in that transaction and the timers are marked fired in it: effect and mark commit
  together or not at all. A worker killed at any line leaves its batch unfired and its effects
  rolled back; the next worker fires them. A handler that raises has its effects undone
  (savepoint), and its timer is tried again after a backoff, then given up (``failed_at``).
- **Messages are sent at least once, and a killed worker makes at most ``concurrency`` of them
  go twice.** A batch is claimed with a lease and committed; then at most ``concurrency``
  messages are under way or delivered and not yet recorded; the ones done are recorded (sent,
  retry later, given up) in one short transaction before their slots are used again. A worker
  killed after delivering and before recording leaves those few claimed; when the lease runs out another worker sends them again —
  with the same ``Idempotency-Key`` header (webhooks) and ``Message-ID`` (e-mail), so receivers
  that honour them can drop the repeat. Failed deliveries are retried with exponential backoff
  and jitter, then given up (``failed_at``, ``last_error``) where ``leadrelay outbox --failed``
  shows them.
- **Expired idempotency keys are deleted in small batches** (``purge_batch`` per transaction,
  every ``purge_every`` seconds, batch after batch while a batch comes back full), so the table
  holds about a day of keys and no purge holds SQLite's write lock for long.
- **A database outage stops nothing for good.** :meth:`Worker.run` waits and retries while the
  database cannot be reached, and goes on where it was; deliveries it could not record meanwhile
  are recorded first when the database is back, so an outage by itself sends nothing twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from leadrelay.adapters.clock import Clock
from leadrelay.adapters.store.outbox import (
    Backoff,
    Delivery,
    OutboxMessage,
    Timer,
    claim_messages,
    due_timers,
    finish_messages,
    lock_timers,
    mark_fired,
    mark_timer_failed,
    messages_due,
    next_due,
    release_messages,
    take_write_lock,
    timers_due,
)
from leadrelay.adapters.store.sql_store import SqlStore, StoreTx, database_unavailable
from leadrelay.adapters.store.wakeups import Wakeup, outbox_wakeup
from leadrelay.config import Settings
from leadrelay.domain.playbook import Playbook
from leadrelay.services.idempotency import purge_expired
from leadrelay.services.sales import recycle_inactive
from leadrelay.services.timers import TimerHandler

log = logging.getLogger("leadrelay.entrypoints.worker")


class Deliverer(Protocol):
    def deliver(self, message: OutboxMessage, now: datetime) -> Delivery: ...

    def close(self) -> None: ...


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How a worker works; :meth:`from_settings` takes them from the validated :class:`Settings`
    (the ``LEADRELAY_WORKER_*`` variables and their defaults)."""

    worker_id: str
    timer_batch: int  # timers fired per transaction
    message_batch: int  # messages claimed per lease
    poll: float  # seconds to wait at most when nothing is due
    lease: timedelta  # a claimed message is someone else's after this
    concurrency: int  # deliveries at the same time
    backoff: Backoff  # for messages
    timer_backoff: Backoff  # for timers whose handler failed
    outage_retry: Backoff  # waits while the database is unavailable (max_attempts unused: never given up)
    wake: float = 0.05  # SQLite: seconds between looks at the newest message id while idle
    purge_batch: int = 500  # expired idempotency keys deleted per transaction
    purge_every: float = 60.0  # seconds between purges (a full batch is followed by the next at once)

    @classmethod
    def from_settings(cls, settings: Settings, worker_id: str | None = None) -> WorkerSettings:
        return cls(
            worker_id=worker_id or default_worker_id(),
            timer_batch=settings.timer_batch,
            message_batch=settings.message_batch,
            poll=settings.poll,
            lease=timedelta(seconds=settings.lease),
            concurrency=settings.concurrency,
            backoff=Backoff(settings.backoff_base, settings.backoff_cap, settings.max_attempts),
            timer_backoff=Backoff(settings.timer_backoff_base, settings.timer_backoff_cap, settings.timer_max_attempts),
            outage_retry=Backoff(settings.outage_retry_base, settings.outage_retry_cap, max_attempts=0),
            wake=settings.wake_ms / 1000,
            purge_batch=settings.purge_batch,
            purge_every=settings.purge_every,
        )


@dataclass(slots=True)
class WorkerReport:
    fired: int = 0
    timer_errors: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    recycled: int = 0
    purged: int = 0  # expired idempotency keys deleted

    def add(self, other: WorkerReport) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def idle(self) -> bool:
        return not any(getattr(self, name) for name in _COUNTS)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in _COUNTS}


_COUNTS = ("fired", "timer_errors", "sent", "retrying", "failed", "recycled", "purged")


class Worker:
    """Fires due timers with ``handlers`` (``{kind: handler}``, see :mod:`leadrelay.services.timers`)
    and delivers the outbox with ``deliverer``; all of them are given, nothing is looked up.

    ``wakeup`` tells an idle worker of new messages (default: :func:`outbox_wakeup` for the
    store's database: LISTEN/NOTIFY on PostgreSQL, a watch of the newest message id on SQLite)."""

    def __init__(
        self,
        store: SqlStore,
        playbook: Callable[[], Playbook],
        clock: Clock,
        deliverer: Deliverer,
        settings: WorkerSettings,
        handlers: Mapping[str, TimerHandler],
        wakeup: Wakeup | None = None,
    ) -> None:
        self.store = store
        self.playbook = playbook
        self.clock = clock
        self.deliverer = deliverer
        self.settings = settings
        self.handlers = dict(handlers)
        self.wakeup = wakeup if wakeup is not None else outbox_wakeup(store, settings.wake)
        self._stop: threading.Event | None = None
        self._owed: list[tuple[OutboxMessage, Delivery]] = []  # delivered, not yet recorded
        self._unstarted: list[int] = []  # claimed, not delivered, not yet given back
        self._next_purge = 0.0  # time.monotonic() of the next purge of expired idempotency keys
        self._pool = ThreadPoolExecutor(max_workers=self.settings.concurrency, thread_name_prefix="leadrelay-send")

    # --- timers ---------------------------------------------------------------------------

    def fire_timers(self) -> WorkerReport:
        """Fire one batch of due timers. Each fires in the transaction that marks it fired."""
        if not self._due(timers_due):
            return WorkerReport()
        playbook = self.playbook()  # before the write lock: reading it may store the default one
        now = self.clock.now()
        try:
            with self.store.transaction() as tx:
                due = due_timers(tx, now, self.settings.timer_batch)
                if not due:
                    return WorkerReport()
                for timer in due:
                    self._handler(timer)(tx, timer, now, playbook)
                mark_fired(tx, [t.key for t in due], self.clock.now(), self.settings.worker_id)
            return WorkerReport(fired=len(due))
        except _TimerFailed:
            pass  # the whole batch rolled back: fire it again timer by timer
        return self._fire_one_by_one([t.id for t in due if t.id is not None], now, playbook)

    def _fire_one_by_one(self, ids: list[int], now: datetime, playbook: Playbook) -> WorkerReport:
        report = WorkerReport()
        with self.store.transaction() as tx:
            fired: list[str] = []
            for timer in lock_timers(tx, ids):
                savepoint = tx.connection.begin_nested()
                try:
                    self._handler(timer)(tx, timer, now, playbook)
                except _TimerFailed as failure:
                    savepoint.rollback()
                    gave_up = mark_timer_failed(tx, timer, failure.reason, now, self.settings.timer_backoff)
                    log.warning(
                        "timer %s (%s) failed%s: %s",
                        timer.key,
                        timer.kind,
                        " for good" if gave_up else "",
                        failure.reason,
                    )
                    report.timer_errors += 1
                else:
                    savepoint.commit()
                    fired.append(timer.key)
            mark_fired(tx, fired, self.clock.now(), self.settings.worker_id)
            report.fired += len(fired)
        return report

    def _handler(self, timer: Timer) -> TimerHandler:
        handler = self.handlers.get(timer.kind)

        def run(tx: StoreTx, item: Timer, now: datetime, playbook: Playbook) -> None:
            if handler is None:
                raise _TimerFailed(
                    f"no handler for timer kind '{item.kind}' (known: {', '.join(sorted(self.handlers))})"
                )
            try:
                handler(tx, item, now, playbook)
            except _TimerFailed:
                raise
            except Exception as exc:
                raise _TimerFailed(f"{type(exc).__name__}: {exc}") from exc

        return run

    # --- recycling ------------------------------------------------------------------------

    def recycle_inactive(self) -> WorkerReport:
        """Send one batch of leads sales left without activity back to marketing."""
        playbook = self.playbook()
        with self.store.transaction() as tx:
            done = recycle_inactive(tx, playbook, self.clock.now(), limit=self.settings.timer_batch)
        return WorkerReport(recycled=len(done))

    # --- expired idempotency keys ---------------------------------------------------------

    def purge_idempotency_keys(self) -> WorkerReport:
        """Delete one batch of expired idempotency keys, every ``purge_every`` seconds: a full batch
        is followed by the next one in the next round, until fewer than a batch are left."""
        if time.monotonic() < self._next_purge:
            return WorkerReport()
        purged = purge_expired(self.store, self.clock.now(), batch=self.settings.purge_batch)
        if purged < self.settings.purge_batch:
            self._next_purge = time.monotonic() + self.settings.purge_every
        return WorkerReport(purged=purged)

    # --- messages -------------------------------------------------------------------------

    def deliver_messages(self) -> WorkerReport:
        """Claim one batch of due messages, deliver them, record how they went.

        At most ``concurrency`` messages are ever under way or delivered and not yet recorded: a
        new delivery starts only in a free slot, and the deliveries done are recorded (in one short
        transaction) when a slot is needed for the next message, or when none is under way any
        more. So a worker killed at any line makes the next one re-send at most ``concurrency``
        messages, not the batch, and a batch of a few messages is recorded in one transaction, not
        one per message (on SQLite each takes the one write lock). What this worker could not record because the database went away it keeps, and
        records first when the database is back (:meth:`_record_owed`)."""
        settings = self.settings
        report = self._record_owed()
        if not self._due(messages_due):
            return report
        with self.store.transaction() as tx:
            claimed = claim_messages(tx, self.clock.now(), settings.message_batch, settings.worker_id, settings.lease)
        if not claimed:
            return report
        deadline = time.monotonic() + settings.lease.total_seconds() * 0.8
        waiting = list(reversed(claimed))
        in_flight: dict[Future[Delivery], OutboxMessage] = {}

        def start_more() -> None:
            while waiting and len(in_flight) + len(self._owed) < settings.concurrency:
                if time.monotonic() > deadline or self._stopping():
                    return  # the lease is running out, or the worker is stopping: give the rest back
                message = waiting.pop()
                in_flight[self._pool.submit(self.deliverer.deliver, message, self.clock.now())] = message

        try:
            start_more()
            while in_flight:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                self._owed.extend((in_flight.pop(future), future.result()) for future in done)
                if not in_flight or (waiting and len(in_flight) + len(self._owed) >= settings.concurrency):
                    report.add(self._record_owed())
                start_more()
        except BaseException:
            # the database went away (or worse) while recording: keep what was delivered and what
            # was not started, to record and give back when it can
            for future, message in in_flight.items():
                self._owed.append((message, future.result()))
            self._unstarted.extend(m.id for m in waiting)
            raise
        self._unstarted.extend(m.id for m in waiting)
        report.add(self._record_owed())
        return report

    def _record_owed(self) -> WorkerReport:
        """Record the deliveries made and not yet recorded, and give back the claimed messages
        not started, in one short transaction; forget them only once it has committed."""
        if not self._owed and not self._unstarted:
            return WorkerReport()
        settings = self.settings
        owed, unstarted = list(self._owed), list(self._unstarted)
        with self.store.transaction() as tx:
            take_write_lock(tx)
            now = self.clock.now()
            finish_messages(tx, [m for m, _ in owed], [d for _, d in owed], now, settings.worker_id, settings.backoff)
            release_messages(tx, unstarted, settings.worker_id)
        del self._owed[: len(owed)]
        del self._unstarted[: len(unstarted)]
        report = WorkerReport()
        for message, result in owed:
            if result.error is None:
                report.sent += 1
            elif result.permanent or message.attempts >= settings.backoff.max_attempts:
                report.failed += 1
                log.warning("message %s given up: %s", result.id, result.error)
            else:
                report.retrying += 1
                log.info("message %s will be retried: %s", result.id, result.error)
        return report

    def _due(self, check: Callable[[StoreTx, datetime], bool]) -> bool:
        """Whether there is work of a kind, found out with a plain read first: on SQLite taking it
        holds the database's one write lock, which an idle worker should not take from the API
        processes on every round."""
        with self.store.reading() as tx:
            return check(tx, self.clock.now())

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    # --- loops ----------------------------------------------------------------------------

    def run_once(self) -> WorkerReport:
        """Fire every due timer and deliver every due message, then return (for cron and tests)."""
        total = WorkerReport()
        while True:
            step = self.fire_timers()
            step.add(self.recycle_inactive())
            step.add(self.deliver_messages())
            step.add(self.purge_idempotency_keys())
            total.add(step)
            if step.idle:
                return total

    def run(self, stop: threading.Event, on_batch: Callable[[WorkerReport], None] | None = None) -> WorkerReport:
        """Work until ``stop`` is set; the deliveries under way when it is set are finished and
        recorded first, the messages not started are given back.

        With nothing to do, the worker waits until the next timer or retry is due, at most
        ``poll`` seconds — or less: a message enqueued meanwhile wakes it at once (``wakeup``).

        When the database cannot be reached (:func:`database_unavailable`: stopped, failing
        over, connection dropped) the worker logs it once, waits — ``outage_retry`` doubling up
        to its cap, with jitter — and tries again until it is back, then logs that once; the
        wake-up connects (and LISTENs) again too. ``stop`` ends the waiting at once. Any other
        error is raised."""
        total = WorkerReport()
        self._stop = stop
        outage: _Outage | None = None
        while not stop.is_set():
            due: datetime | None = None
            try:
                self.wakeup.prime()  # before looking: a message enqueued from here on wakes the wait
                step = self.fire_timers()
                if not stop.is_set():
                    step.add(self.recycle_inactive())
                    step.add(self.deliver_messages())
                    step.add(self.purge_idempotency_keys())
                if step.idle:
                    with self.store.reading() as tx:
                        due = next_due(tx)
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                if outage is None:
                    outage = _Outage(time.monotonic())
                    log.warning("database unavailable: %s; retrying", _one_line(exc))
                self.store.drop_connections()  # none of the old ones is trusted again
                self.wakeup.reset()
                stop.wait(outage.next_wait(self.settings.outage_retry))
                continue
            if outage is not None:
                log.warning("database back after %.1f s", time.monotonic() - outage.started)
                outage = None
            total.add(step)
            if on_batch is not None and not step.idle:
                on_batch(step)
            if step.idle:
                self._idle(stop, due)
        return total

    def _idle(self, stop: threading.Event, due: datetime | None) -> None:
        """Wait for new messages, until ``due`` (the next timer or retry) or ``poll`` at the longest.
        Something due that this worker did not take (another worker holds it) is looked at again
        after ``wake``, not at once."""
        seconds = self.settings.poll
        if due is not None:
            until_due = (due - self.clock.now()).total_seconds()
            seconds = min(seconds, max(until_due, self.settings.wake))
        try:
            self.wakeup.wait(seconds, stop)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            # the next round finds the database gone and waits the outage out

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.deliverer.close()
        self.wakeup.close()


@dataclass(slots=True)
class _Outage:
    started: float  # time.monotonic()
    tries: int = 0

    def next_wait(self, backoff: Backoff) -> float:
        self.tries += 1
        return backoff.delay(self.tries).total_seconds()


def _one_line(exc: BaseException) -> str:
    """The DBAPI's own message, first line (SQLAlchemy's adds the statement and a link)."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__


class _TimerFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
