"""The ``idempotency_keys`` table: claim a key, read the first answer to it, store an answer.

A key is claimed at the start of the transaction that does the work and its answer is stored at
the end of the same transaction, so a key is never stored without its work nor the work without
its key. Claiming inserts the row under the unique constraint (scope, key): a second transaction
claiming the same key waits for the first (PostgreSQL waits on the index entry; SQLite has one
writer at a time) and then finds the committed row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.tables import idempotency_keys


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """A key's row: the hash of the body it was first used with, and the answer (None while the
    claiming transaction is still at work — only that transaction sees it so)."""

    request_hash: str
    status_code: int | None
    headers: Mapping[str, str]
    body: str | None


def claim(tx: StoreTx, scope: str, key: str, request_hash: str, now: datetime, expires_at: datetime) -> bool:
    """Claim ``key`` in ``scope`` for this transaction; False when it is taken (and unexpired).

    A key whose row has expired is taken afresh."""
    tx.execute(
        idempotency_keys.delete().where(
            idempotency_keys.c.scope == scope, idempotency_keys.c.key == key, idempotency_keys.c.expires_at <= now
        )
    )
    values = {
        "scope": scope,
        "key": key,
        "request_hash": request_hash,
        "lead_ids": [],
        "created_at": now,
        "expires_at": expires_at,
    }
    insert: Any = (postgresql.insert if tx.dialect == "postgresql" else sqlite.insert)(idempotency_keys)
    statement = insert.values(**values).on_conflict_do_nothing(index_elements=["scope", "key"])
    # RETURNING, not the row count: psycopg does not count the rows of an INSERT ... ON CONFLICT
    return tx.execute(statement.returning(idempotency_keys.c.id)).first() is not None


def stored(tx: StoreTx, scope: str, key: str) -> StoredAnswer | None:
    query = sa.select(
        idempotency_keys.c.request_hash,
        idempotency_keys.c.status_code,
        idempotency_keys.c.response_headers,
        idempotency_keys.c.response_body,
    ).where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
    row = tx.execute(query).one_or_none()
    if row is None:
        return None
    headers = row.response_headers
    if isinstance(headers, str):  # JSON kept as text by a driver
        headers = json.loads(headers)
    return StoredAnswer(row.request_hash, row.status_code, dict(headers or {}), row.response_body)


def answer(
    tx: StoreTx,
    scope: str,
    key: str,
    status_code: int,
    headers: Mapping[str, str],
    body: str,
    lead_ids: Sequence[int],
) -> None:
    """Store the answer to the key this transaction claimed."""
    tx.execute(
        idempotency_keys.update()
        .where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
        .values(status_code=status_code, response_headers=dict(headers), response_body=body, lead_ids=list(lead_ids))
    )


def purge(tx: StoreTx, now: datetime, limit: int) -> int:
    """Delete at most ``limit`` keys that have expired (the oldest first); returns how many.

    A key a request is claiming at the same time is taken afresh by it (:func:`claim` deletes an
    expired row of its own key first): whichever deletes it first wins, the other deletes nothing."""
    expired = (
        sa.select(idempotency_keys.c.id)
        .where(idempotency_keys.c.expires_at <= now)
        .order_by(idempotency_keys.c.expires_at, idempotency_keys.c.id)
        .limit(limit)
    )
    result = tx.execute(idempotency_keys.delete().where(idempotency_keys.c.id.in_(expired.scalar_subquery())))
    return int(result.rowcount or 0)


def any_expired(tx: StoreTx, now: datetime) -> bool:
    """Whether a key has expired (one index lookup, a plain read)."""
    query = sa.select(idempotency_keys.c.id).where(idempotency_keys.c.expires_at <= now).limit(1)
    return tx.execute(query).first() is not None
