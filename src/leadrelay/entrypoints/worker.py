"""The worker: fires due timers and delivers the outbox, until told to stop.

Several workers may run against one PostgreSQL database (on SQLite, one at a time takes the
write lock, so they take turns). What each guarantees:

- **Timers fire exactly once.** A batch of due timers is locked (``FOR UPDATE SKIP LOCKED``), each
  handler runs in that transaction and the timers are marked fired in it: effect and mark commit
  together or not at all. A worker killed at any line leaves its batch unfired and its effects
  rolled back; the next worker fires them. A handler that raises has its effects undone
  (savepoint), and its timer is tried again after a backoff, then given up (``failed_at``).
- **Messages are sent at least once, and once unless a worker dies mid-batch.** A batch is
  claimed with a lease and committed, delivered, then marked sent in one more transaction. A
  worker killed after delivering and before marking leaves the batch claimed; when the lease runs
  out another worker sends those messages again — with the same ``Idempotency-Key`` header
  (webhooks) and ``Message-ID`` (e-mail), so receivers can drop the repeat. Failed deliveries are
  retried with exponential backoff and jitter, then given up (``failed_at``, ``last_error``)
  where ``leadrelay outbox --failed`` shows them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
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
    release_messages,
    take_write_lock,
)
from leadrelay.adapters.store.sql_store import SqlStore, StoreTx
from leadrelay.config import Settings
from leadrelay.domain.playbook import Playbook
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
    poll: float  # seconds to wait when nothing is due
    lease: timedelta  # a claimed message is someone else's after this
    concurrency: int  # deliveries at the same time
    backoff: Backoff  # for messages
    timer_backoff: Backoff  # for timers whose handler failed

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
        )


@dataclass(slots=True)
class WorkerReport:
    fired: int = 0
    timer_errors: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    recycled: int = 0

    def add(self, other: WorkerReport) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def idle(self) -> bool:
        return not any(getattr(self, name) for name in _COUNTS)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in _COUNTS}


_COUNTS = ("fired", "timer_errors", "sent", "retrying", "failed", "recycled")


class Worker:
    """Fires due timers with ``handlers`` (``{kind: handler}``, see :mod:`leadrelay.services.timers`)
    and delivers the outbox with ``deliverer``; all of them are given, nothing is looked up."""

    def __init__(
        self,
        store: SqlStore,
        playbook: Callable[[], Playbook],
        clock: Clock,
        deliverer: Deliverer,
        settings: WorkerSettings,
        handlers: Mapping[str, TimerHandler],
    ) -> None:
        self.store = store
        self.playbook = playbook
        self.clock = clock
        self.deliverer = deliverer
        self.settings = settings
        self.handlers = dict(handlers)
        self._pool = ThreadPoolExecutor(max_workers=self.settings.concurrency, thread_name_prefix="leadrelay-send")

    # --- timers ---------------------------------------------------------------------------

    def fire_timers(self) -> WorkerReport:
        """Fire one batch of due timers. Each fires in the transaction that marks it fired."""
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

    # --- messages -------------------------------------------------------------------------

    def deliver_messages(self) -> WorkerReport:
        """Claim one batch of due messages, deliver them, record how each went."""
        settings = self.settings
        with self.store.transaction() as tx:
            claimed = claim_messages(tx, self.clock.now(), settings.message_batch, settings.worker_id, settings.lease)
        if not claimed:
            return WorkerReport()
        started = time.monotonic()
        deadline = started + settings.lease.total_seconds() * 0.8

        def attempt(message: OutboxMessage) -> Delivery | None:
            if time.monotonic() > deadline:  # the lease is running out: leave it for the next claim
                return None
            return self.deliverer.deliver(message, self.clock.now())

        outcomes = list(self._pool.map(attempt, claimed))
        results = [r for r in outcomes if r is not None]
        untried = [m.id for m, r in zip(claimed, outcomes, strict=True) if r is None]
        with self.store.transaction() as tx:
            take_write_lock(tx)
            finish_messages(tx, claimed, results, self.clock.now(), settings.worker_id, settings.backoff)
            release_messages(tx, untried, settings.worker_id)
        attempts = {m.id: m.attempts for m in claimed}
        report = WorkerReport()
        for result in results:
            if result.error is None:
                report.sent += 1
            elif result.permanent or attempts[result.id] >= settings.backoff.max_attempts:
                report.failed += 1
                log.warning("message %s given up: %s", result.id, result.error)
            else:
                report.retrying += 1
                log.info("message %s will be retried: %s", result.id, result.error)
        return report

    # --- loops ----------------------------------------------------------------------------

    def run_once(self) -> WorkerReport:
        """Fire every due timer and deliver every due message, then return (for cron and tests)."""
        total = WorkerReport()
        while True:
            step = self.fire_timers()
            step.add(self.recycle_inactive())
            step.add(self.deliver_messages())
            total.add(step)
            if step.idle:
                return total

    def run(self, stop: threading.Event, on_batch: Callable[[WorkerReport], None] | None = None) -> WorkerReport:
        """Work until ``stop`` is set; the batch under way when it is set is finished first."""
        total = WorkerReport()
        while not stop.is_set():
            step = self.fire_timers()
            if not stop.is_set():
                step.add(self.recycle_inactive())
                step.add(self.deliver_messages())
            total.add(step)
            if on_batch is not None and not step.idle:
                on_batch(step)
            if step.idle:
                stop.wait(self.settings.poll)
        return total

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.deliverer.close()


class _TimerFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
