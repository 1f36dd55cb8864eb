"""Waking a waiting worker as soon as messages are enqueued, instead of at its next poll.

- **PostgreSQL**: :func:`~leadrelay.adapters.store.outbox.enqueue` notifies the channel
  ``leadrelay_outbox`` inside the enqueuing transaction, so the notice goes out when (and only if)
  that transaction commits; :class:`OutboxListener` LISTENs for it on a connection of its own.
- **SQLite** has no notifications: :class:`OutboxWatch` reads the newest message id every
  ``interval`` seconds (one indexed ``MAX(id)``) and wakes the worker when it changed.

A worker uses either the same way (:class:`Wakeup`): :meth:`~Wakeup.prime` before it looks for
work, then, when it found none, :meth:`~Wakeup.wait` returns True as soon as a message was enqueued
after the prime (or may have been), False when the time is up or ``stop`` is set. A notice can only
wake a worker early; the worker still looks for work at least every poll interval, so a lost
notice (the listening connection dropped) delays a message by at most that.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

from leadrelay.adapters.store import queries
from leadrelay.adapters.store.outbox import last_message_id
from leadrelay.adapters.store.sql_store import SqlStore

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("leadrelay.adapters.store.wakeups")


class Wakeup(Protocol):
    def prime(self) -> None:
        """Mark "now": a message enqueued from here on makes the next :meth:`wait` return True."""

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Up to ``seconds``: True when messages were (or may have been) enqueued since the prime."""

    def reset(self) -> None:
        """Forget the database connection (after an outage): the next prime connects again."""

    def close(self) -> None: ...


class OutboxListener:
    """PostgreSQL: ``LISTEN leadrelay_outbox`` on a connection of its own (autocommit, outside the
    store's pool). When that connection is lost — an outage, a restart, a failover — :meth:`wait`
    returns True (look for work: what was enqueued meanwhile was not heard) and the next prime
    connects and LISTENs again."""

    #: the longest wait on the socket before looking at ``stop`` again (seconds)
    SLICE = 0.25
    #: seconds between tries to connect again while the database cannot be reached
    RECONNECT = 0.5

    def __init__(self, store: SqlStore) -> None:
        self._engine = store.engine
        self._connection: psycopg.Connection[Any] | None = None

    def _connect(self) -> bool:
        if self._connection is not None:
            return True
        import psycopg

        args, params = self._engine.dialect.create_connect_args(self._engine.url)
        params = {"connect_timeout": 10, **params}
        try:
            connection = psycopg.connect(*args, **params, autocommit=True)
        except psycopg.Error as exc:
            log.debug("cannot listen for new messages yet: %s", exc)
            return False
        try:
            connection.execute(queries.LISTEN_OUTBOX)
        except psycopg.Error as exc:
            connection.close()
            log.debug("cannot listen for new messages yet: %s", exc)
            return False
        self._connection = connection
        return True

    def prime(self) -> None:
        import psycopg

        if not self._connect():
            return
        assert self._connection is not None
        try:  # notices of messages committed before now: the search about to start finds those
            for _ in self._connection.notifies(timeout=0):
                pass
        except psycopg.Error:
            self.reset()

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        import psycopg

        deadline = time.monotonic() + seconds
        while self._connection is None:  # not listening (the database was away): connect again
            if self._connect():
                return True  # listening again: messages enqueued while it was not were not heard
            left = deadline - time.monotonic()
            if left <= 0 or stop.wait(min(left, self.RECONNECT)):
                return False
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                for _ in self._connection.notifies(timeout=min(left, self.SLICE), stop_after=1):
                    return True
            except psycopg.Error as exc:
                log.debug("stopped listening for new messages: %s", exc)
                self.reset()
                return True  # look for work now (and find out whether the database is there)
        return False

    def reset(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception as exc:  # a broken connection may fail to close; it is dropped anyway
                log.debug("closing the listening connection: %s", exc)

    def close(self) -> None:
        self.reset()


class OutboxWatch:
    """SQLite: the newest message id, read every ``interval`` seconds; a new one wakes the worker.

    A message made due again (``leadrelay outbox --retry``) adds no row, so it waits for the next
    poll; so does a message enqueued after the newest one was erased (its id is then used again)."""

    def __init__(self, store: SqlStore, interval: float) -> None:
        self._store = store
        self._interval = interval
        self._seen: int | None = None

    def _newest(self) -> int:
        with self._store.reading() as tx:
            return last_message_id(tx)

    def prime(self) -> None:
        self._seen = self._newest()

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or stop.wait(min(left, self._interval)):
                return False
            if self._newest() != self._seen:
                return True

    def reset(self) -> None:
        self._seen = None

    def close(self) -> None:
        pass


def outbox_wakeup(store: SqlStore, interval: float) -> Wakeup:
    """The wake-up for ``store``'s database: a listener on PostgreSQL, a watch on SQLite."""
    if store.engine.dialect.name == queries.POSTGRESQL:
        return OutboxListener(store)
    return OutboxWatch(store, interval)
