"""Dashboard sessions and the wrong-password count in the database: rows in, rows out (the rules
are in ``services.web_sessions``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.tables import users, web_sessions


def insert_session(tx: StoreTx, token_hash: str, user_id: int, now: datetime, expires_at: datetime) -> None:
    tx.execute(
        web_sessions.insert().values(
            token_hash=token_hash, user_id=user_id, created_at=now, last_seen_at=now, expires_at=expires_at
        )
    )


def session_user(tx: StoreTx, token_hash: str) -> Any:
    """The session with its user's row (role, departments, rep, disabled), or None."""
    return tx.execute(
        sa.select(
            web_sessions.c.id.label("session_id"),
            web_sessions.c.last_seen_at,
            web_sessions.c.expires_at,
            web_sessions.c.ended_at,
            users.c.id.label("user_id"),
            users.c.email,
            users.c.name,
            users.c.role,
            users.c.departments,
            users.c.rep,
            users.c.disabled_at,
        )
        .select_from(web_sessions.join(users, users.c.id == web_sessions.c.user_id))
        .where(web_sessions.c.token_hash == token_hash)
    ).one_or_none()


def extend_session(tx: StoreTx, session_id: int, now: datetime, expires_at: datetime) -> None:
    tx.execute(
        web_sessions.update()
        .where(web_sessions.c.id == session_id, web_sessions.c.ended_at.is_(None))
        .values(last_seen_at=now, expires_at=expires_at)
    )


def end_session(tx: StoreTx, token_hash: str, now: datetime) -> None:
    tx.execute(
        web_sessions.update()
        .where(web_sessions.c.token_hash == token_hash, web_sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_sessions_of(tx: StoreTx, user_id: int, now: datetime) -> None:
    tx.execute(
        web_sessions.update()
        .where(web_sessions.c.user_id == user_id, web_sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )


def record_failure(tx: StoreTx, user_id: int, locked_until: datetime | None) -> int:
    """One more wrong password in a row; lock until ``locked_until`` if given. The new count."""
    values: dict[str, Any] = {"failed_logins": users.c.failed_logins + 1}
    if locked_until is not None:
        values["locked_until"] = locked_until
    tx.execute(users.update().where(users.c.id == user_id).values(**values))
    return int(tx.execute(sa.select(users.c.failed_logins).where(users.c.id == user_id)).scalar_one())


def clear_failures(tx: StoreTx, user_id: int) -> None:
    tx.execute(users.update().where(users.c.id == user_id).values(failed_logins=0, locked_until=None))
