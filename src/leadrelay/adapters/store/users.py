"""Users and API keys in the database: rows in, rows out (the rules are in ``services.access``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from leadrelay.adapters.store import queries
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.tables import JsonType, UtcDateTime, api_keys, users

_KEY_PRINCIPAL = sa.text(queries.KEY_PRINCIPAL).columns(
    key_id=sa.Integer,
    key_role=sa.String,
    revoked_at=UtcDateTime,
    last_used_at=UtcDateTime,
    user_id=sa.Integer,
    email=sa.String,
    user_role=sa.String,
    departments=JsonType,
    rep=sa.String,
    disabled_at=UtcDateTime,
)
_TOUCH_KEY = sa.text(queries.TOUCH_KEY).bindparams(
    sa.bindparam("now", type_=UtcDateTime), sa.bindparam("since", type_=UtcDateTime)
)


def insert_user(tx: StoreTx, values: dict[str, Any]) -> int | None:
    """The new user's id; None when a user with the e-mail exists (also one added at the same moment)."""
    insert: Any = postgresql.insert(users) if tx.dialect == "postgresql" else sqlite.insert(users)
    statement = insert.values(**values).on_conflict_do_nothing(index_elements=["email"]).returning(users.c.id)
    found = tx.execute(statement).scalar_one_or_none()
    return None if found is None else int(found)


def user_by_email(tx: StoreTx, email: str) -> Any:
    return tx.execute(sa.select(users).where(users.c.email == email)).one_or_none()


def user_by_id(tx: StoreTx, user_id: int) -> Any:
    return tx.execute(sa.select(users).where(users.c.id == user_id)).one_or_none()


def all_users(tx: StoreTx) -> Sequence[Any]:
    return tx.execute(sa.select(users).order_by(users.c.email)).all()


def disable_user(tx: StoreTx, user_id: int, now: datetime, actor: str) -> None:
    tx.execute(
        users.update()
        .where(users.c.id == user_id, users.c.disabled_at.is_(None))
        .values(disabled_at=now, disabled_by=actor)
    )


def insert_key(tx: StoreTx, values: dict[str, Any]) -> int:
    return int(tx.execute(api_keys.insert().values(**values).returning(api_keys.c.id)).scalar_one())


def all_keys(tx: StoreTx) -> Sequence[Any]:
    """Every key with its user's e-mail, newest first."""
    query = (
        sa.select(api_keys, users.c.email)
        .join(users, users.c.id == api_keys.c.user_id)
        .order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc())
    )
    return tx.execute(query).all()


def keys_matching(tx: StoreTx, ref: str) -> Sequence[Any]:
    """The keys whose id is ``ref`` (a number) or whose prefix is ``ref``."""
    condition = api_keys.c.prefix == ref
    if ref.isdigit():
        condition = sa.or_(condition, api_keys.c.id == int(ref))
    return tx.execute(sa.select(api_keys).where(condition)).all()


def revoke_key(tx: StoreTx, key_id: int, now: datetime, actor: str) -> None:
    tx.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=actor)
    )


def key_principal(tx: StoreTx, digest: str) -> Any:
    """The key whose SHA-256 hex is ``digest``, with its user's fields, or None."""
    return tx.execute(_KEY_PRINCIPAL, {"hash": digest}).one_or_none()


def touch_key(tx: StoreTx, key_id: int, now: datetime, since: datetime) -> None:
    tx.execute(_TOUCH_KEY, {"id": key_id, "now": now, "since": since})
