"""SQLite's one writer, queued inside a process: write transactions take turns first come, first
served, and the ones marked first in line (a hand-raiser) go before the others.

SQLite lets one transaction write at a time. Without a queue, the threads of one process that want
to write all wait in SQLite's busy handler, which sleeps (1, 2, 5, 10 ... up to 100 ms at a time)
and wakes in no order: a request that arrived last may write first and one that arrived first may
sleep for a second. With :class:`WriterQueue`, the threads of a process wait on a queue instead and
each is handed the turn the moment the previous writer's transaction ends; only writers of *other*
processes (a worker, another server process) are still waited for in the busy handler.

One queue per database file and process (:func:`queue_for`): two stores of one process on one
file (``leadrelay serve --with-worker``) share it. The turn is re-entrant in its thread, so a
transaction opened while one is held (which SQLite would make wait for itself) is not a deadlock
here. PostgreSQL has no such queue: its writers lock rows, not the database.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: Whether write transactions started in this context go before the others (see :func:`first_in_line`).
_FIRST: ContextVar[bool] = ContextVar("leadrelay_first_in_line", default=False)


@contextmanager
def first_in_line() -> Iterator[None]:
    """Write transactions started inside go ahead of the ordinary ones waiting (not ahead of one
    already writing): for work a person waits on, such as a hand-raiser's form post."""
    token = _FIRST.set(True)
    try:
        yield
    finally:
        _FIRST.reset(token)


class WriterQueue:
    """One writer at a time, in order of arrival, those first in line first."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None  # the thread holding the turn
        self._depth = 0
        self._waiting: list[tuple[int, int, int, threading.Event]] = []  # (rank, arrival, thread, wake-up)
        self._arrivals = itertools.count()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the turn to write while inside (waiting for it first)."""
        self._acquire(0 if _FIRST.get() else 1)
        try:
            yield
        finally:
            self._release()

    @property
    def waiting(self) -> int:
        """How many threads wait for their turn now."""
        with self._mutex:
            return len(self._waiting)

    def _acquire(self, rank: int) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return
            if self._owner is None and not self._waiting:
                self._owner, self._depth = me, 1
                return
            woken = threading.Event()
            heapq.heappush(self._waiting, (rank, next(self._arrivals), me, woken))
        woken.wait()  # the turn is handed over by _release: _owner is already this thread

    def _release(self) -> None:
        with self._mutex:
            self._depth -= 1
            if self._depth:
                return
            if self._waiting:
                _, _, thread, woken = heapq.heappop(self._waiting)
                self._owner, self._depth = thread, 1
                woken.set()
            else:
                self._owner = None


_QUEUES: dict[str, WriterQueue] = {}
_QUEUES_LOCK = threading.Lock()


def queue_for(database: str) -> WriterQueue:
    """The process's queue of writers to the SQLite file ``database`` (an absolute path)."""
    with _QUEUES_LOCK:
        found = _QUEUES.get(database)
        if found is None:
            found = _QUEUES[database] = WriterQueue()
        return found
