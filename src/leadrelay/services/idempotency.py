"""Idempotency keys on intake calls, with Stripe's semantics.

A caller that sends ``Idempotency-Key: K`` may send the same request again (after a timeout, a
dropped connection, a crash on its side) without it being processed twice:

- the first request with ``K`` is processed and its answer (status, headers, body) is stored
  with ``K`` in the same transaction as the work, for 24 hours;
- a repeat with ``K`` and the same body (SHA-256) gets the stored answer, marked replayed, and
  nothing is processed;
- a repeat with ``K`` and another body is refused (:class:`IdempotencyKeyReused`, 422);
- two requests with ``K`` at the same time: the second waits until the first commits, then gets
  its answer (the unique constraint on the key decides; never both are processed).

Keys are scoped (a user and a route, a form, a hook source): two callers never see each other's
answers. The worker deletes expired keys in small batches (:func:`purge_expired`); until it does,
an expired key is only taken afresh by a new request with it. Requests without a key are still deduplicated record by record (source id or content).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leadrelay.adapters.store import idempotency
from leadrelay.adapters.store.sql_store import SqlStore, StoreTx
from leadrelay.errors import LeadRelayError

#: How long an answer is kept (and a key cannot be used for another request).
KEEP = timedelta(hours=24)
KEY_MAX = 255


class IdempotencyKeyReused(LeadRelayError, ValueError):
    """The key was first used with another request body."""


class IdempotencyKeyInUse(LeadRelayError, ValueError):
    """A request with the key is being processed now (it did not finish while this one waited)."""


class IdempotencyKeyInvalid(LeadRelayError, ValueError):
    """The key is empty or longer than 255 characters."""


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer as stored with a key: status, the headers that matter, the body's text, and
    the leads it mentions (so erasing a lead's personal data can drop the stored answer)."""

    status: int
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)
    lead_ids: Sequence[int] = ()
    replayed: bool = False


def request_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def check_key(key: str) -> str:
    text = key.strip()
    if not text or len(text) > KEY_MAX:
        raise IdempotencyKeyInvalid(f"Idempotency-Key must be 1 to {KEY_MAX} characters")
    return text


def once(
    store: SqlStore,
    *,
    scope: str,
    key: str | None,
    body: bytes,
    now: datetime,
    work: Callable[[StoreTx], Answer],
) -> Answer:
    """``work``'s answer, run in one transaction; with ``key``, at most once per key (see the module).

    ``work`` may be run again when the database aborts the transaction for a deadlock: it must
    keep no effect outside the transaction."""
    if key is None:
        return store.retrying(work)
    key = check_key(key)
    digest = request_hash(body)

    def attempt(tx: StoreTx) -> Answer:
        if not idempotency.claim(tx, scope, key, digest, now, now + KEEP):
            found = idempotency.stored(tx, scope, key)
            if found is None or found.status_code is None or found.body is None:  # pragma: no cover - see claim
                raise IdempotencyKeyInUse("a request with this Idempotency-Key is still being processed")
            if found.request_hash != digest:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was used with another request body: send a new key for a new request"
                )
            return Answer(found.status_code, found.body, found.headers, (), replayed=True)
        answer = work(tx)
        idempotency.answer(tx, scope, key, answer.status, answer.headers, answer.body, answer.lead_ids)
        return answer

    return store.retrying(attempt)


#: Expired keys deleted per transaction by :func:`purge_expired` (a short hold of SQLite's one write lock).
PURGE_BATCH = 500


def purge_expired(store: SqlStore, now: datetime, *, batch: int = PURGE_BATCH) -> int:
    """Delete one batch (at most ``batch``) of the answers kept longer than 24 hours, in one
    transaction; returns how many. Fewer than ``batch``: none is left expired at ``now``.

    A plain read looks first, so that when nothing has expired no write lock is taken."""
    with store.reading() as tx:
        if not idempotency.any_expired(tx, now):
            return 0
    with store.transaction() as tx:
        return idempotency.purge(tx, now, batch)
