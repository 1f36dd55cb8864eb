"""What the columnar activity log (services.activity_log) reads from the store: activity rows in
batches straight from the driver (a server-side cursor on PostgreSQL), the high marks it keeps up
with, and the lock that makes its watermark final."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from leadrelay.adapters.store import queries
from leadrelay.adapters.store.sql_store import StoreTx


def row_batches(tx: StoreTx, sql: str, params: tuple[Any, ...], *, name: str, size: int) -> Iterator[list[Any]]:
    """Run ``sql`` on the raw driver; yield its rows ``size`` at a time (named: a server-side cursor
    on PostgreSQL, so a whole table is never held at once)."""
    raw: Any = tx.connection.connection.driver_connection
    cursor = raw.cursor(name=name) if tx.dialect == "postgresql" else raw.cursor()
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


def high_marks(tx: StoreTx) -> tuple[int, int]:
    """The highest activity id and the highest erasure id."""
    row: Any = tx.execute(sa.text(queries.LOG_HIGH_MARKS)).one()
    return int(row[0]), int(row[1])


def activity_key(tx: StoreTx, activity_id: int) -> str | None:
    """What identifies activity ``activity_id`` beyond its id (to notice a table rebuilt under the log)."""
    if activity_id == 0:
        return None
    found: Any = tx.execute(sa.text(queries.ACTIVITY_IDENTITY), {"id": activity_id}).one_or_none()
    return None if found is None else f"{found[0]}:{found[1]}:{found[2]}"


def erased_after(tx: StoreTx, erasure_id: int) -> list[int]:
    """The leads erased since erasure ``erasure_id``."""
    return sorted(set(tx.execute(sa.text(queries.ERASED_AFTER), {"id": erasure_id}).scalars()))


def lock_for_log(tx: StoreTx) -> None:
    """PostgreSQL: wait for writers of activities to end, so nothing below the marks can still arrive."""
    if tx.dialect == "postgresql":
        tx.execute(sa.text(queries.LOCK_FOR_ACTIVITY_LOG))


def max_lead_id(tx: StoreTx) -> int:
    return int(tx.execute(sa.text(queries.MAX_LEAD_ID)).scalar_one())
