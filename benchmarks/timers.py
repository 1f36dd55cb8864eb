"""Timer firing: rate per worker and lateness, with many timers pending.

    python benchmarks/timers.py                                   # PostgreSQL at LEADRELAY_TEST_POSTGRES_URL, 100,000 pending
    python benchmarks/timers.py --full                            # 1,000,000 pending
    python benchmarks/timers.py --db sqlite                       # a SQLite file instead
    python benchmarks/timers.py --pending 300000 --rate 8000 --seconds 20

Three phases, each on the same table of ``--pending`` timers due days from now:

1. **backlog**: ``--backlog`` timers already due; one worker drains them. The rate is what one
   worker fires per second when it never waits.
2. **steady**: timers due at ``--rate`` per second over ``--seconds`` seconds from now, fired by one
   worker polling every 50 ms with the real clock. Lateness is the time from a timer's due time to
   the moment its batch was marked fired (just before the commit): p50, p99 and max.

Each firing runs a handler that writes one row (the effect) in the firing transaction, like the
real handlers do. Figures go to stdout and ``benchmarks/results/timers-<db>.json``.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _shared import database, machine, positive, publish

from leadrelay.adapters.clock import SystemClock
from leadrelay.adapters.playbook.loader import default_playbook_path, load_playbook
from leadrelay.adapters.store import queries
from leadrelay.adapters.store.outbox import Timer, schedule
from leadrelay.adapters.store.sql_store import SqlStore, StoreTx
from leadrelay.config import Settings
from leadrelay.domain.playbook import Playbook
from leadrelay.entrypoints.worker import Worker, WorkerSettings


class NoDeliveries:
    def deliver(self, message: Any, now: Any) -> Any:
        raise AssertionError("no messages in this benchmark")

    def close(self) -> None:
        pass


def effect(tx: StoreTx, timer: Timer, now: datetime, playbook: Playbook) -> None:
    tx._raw_many(queries.INSERT_BENCH_EFFECT, [(timer.id, tx._time(now))])


def fill_pending(store: SqlStore, count: int, now: datetime) -> float:
    """``count`` timers due 1 to 30 days from now (the crowd the due ones must be found among)."""
    started = time.perf_counter()
    with store.transaction() as tx:
        tx.execute(sa.text(queries.CREATE_BENCH_EFFECTS))
        if tx.dialect == "postgresql":
            tx.execute(sa.text(queries.GENERATE_PENDING_TIMERS), {"now": now, "count": count})
        else:
            for start in range(0, count, 50_000):
                items = [
                    Timer(f"pending:{i}", "effect", now + timedelta(days=1 + i % 30, milliseconds=i), lead_id=i)
                    for i in range(start, min(count, start + 50_000))
                ]
                schedule(tx, items, now)
    with store.transaction() as tx:
        if tx.dialect == "postgresql":
            tx.execute(sa.text(queries.analyze("timers")))
    return time.perf_counter() - started


def backlog(store: SqlStore, worker: Worker, count: int) -> dict[str, float]:
    now = datetime.now(UTC)
    with store.transaction() as tx:
        schedule(tx, [Timer(f"backlog:{i}", "effect", now - timedelta(milliseconds=i)) for i in range(count)], now)
    started = time.perf_counter()
    fired = 0
    while True:
        step = worker.fire_timers().fired
        if not step:
            break
        fired += step
    seconds = time.perf_counter() - started
    return {"timers": fired, "seconds": round(seconds, 3), "per_second": round(fired / seconds, 1)}


def steady(store: SqlStore, worker: Worker, rate: int, seconds: float) -> dict[str, Any]:
    count = int(rate * seconds)
    start = datetime.now(UTC) + timedelta(seconds=2)
    step = timedelta(seconds=1 / rate)
    with store.transaction() as tx:
        schedule(tx, [Timer(f"steady:{i}", "effect", start + i * step) for i in range(count)], datetime.now(UTC))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + seconds + 120
    with store.reading() as tx:
        query = sa.text(queries.COUNT_UNFIRED_TIMERS)
        while time.monotonic() < deadline:
            if tx.execute(query, {"prefix": "steady:"}).scalar_one() == 0:
                break
            tx.connection.commit()
            time.sleep(0.2)
    stop.set()
    thread.join()
    with store.reading() as tx:
        rows = tx.connection.execute(sa.text(queries.TIMER_TIMES), {"prefix": "steady:"}).all()
    late = sorted((_moment(fired) - _moment(due)).total_seconds() for due, fired in rows if fired is not None)
    missing = sum(1 for _, fired in rows if fired is None)
    span = (_moment(max(r[1] for r in rows if r[1])) - start).total_seconds()
    return {
        "timers": count,
        "due_per_second": rate,
        "not_fired": missing,
        "lateness_p50_s": round(statistics.median(late), 4),
        "lateness_p99_s": round(late[int(len(late) * 0.99) - 1], 4),
        "lateness_max_s": round(late[-1], 4),
        "achieved_per_second": round(len(late) / span, 1) if span > 0 else None,
    }


def _moment(value: datetime | str) -> datetime:
    """A stored time as an aware datetime: SQLite gives text, PostgreSQL a datetime; naive means UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgresql", help="postgresql (LEADRELAY_TEST_POSTGRES_URL), a URL, or sqlite")
    parser.add_argument("--full", action="store_true", help="1,000,000 pending timers")
    parser.add_argument("--pending", type=positive, default=None)
    parser.add_argument("--backlog", type=positive, default=50_000)
    parser.add_argument("--rate", type=positive, default=5_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=positive, default=1000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    pending = args.pending or (1_000_000 if args.full else 100_000)
    playbook = load_playbook(default_playbook_path()).playbook
    with database(args.db) as url:
        store = SqlStore.open(url)
        kind = store.engine.dialect.name
        fill = fill_pending(store, pending, datetime.now(UTC))
        settings = WorkerSettings.from_settings(Settings(timer_batch=args.batch, poll=0.05), "bench")
        worker = Worker(store, lambda: playbook, SystemClock(), NoDeliveries(), settings, {"effect": effect})
        first = backlog(store, worker, args.backlog)
        second = steady(store, worker, args.rate, args.seconds)
        worker.close()
        store.close()
    result = {
        "benchmark": "timers",
        "database": kind,
        "pending_timers": pending,
        "fill_seconds": round(fill, 1),
        "batch": args.batch,
        "backlog": first,
        "steady": second,
        "machine": machine(),
    }
    publish(result, args.out, f"timers-{kind}{'-full' if args.full else ''}")


if __name__ == "__main__":
    main()
