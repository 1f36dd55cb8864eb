"""Who may ask what: users, their roles, API keys, and which leads each role sees.

- **Roles**: ``admin`` (everything, users and keys), ``marketing`` (every lead, the playbook),
  ``manager`` (the leads owned by their departments), ``rep`` (their own leads only).
- **Users** are added by e-mail with one role; a manager names their departments, a rep user
  names their rep id in the active playbook. A user may have a password (argon2id) for the
  dashboard; API keys do not need one. A disabled user's keys are refused.
- **API keys** are ``lr_`` and 32 random bytes (URL-safe base64). Only their SHA-256 is stored (a
  key has 256 bits of entropy, so a fast hash is enough, and it can be looked up by its hash); the
  key itself is shown once, when created. A key belongs to a user and carries the user's role or a
  narrower one; it can be revoked; when it was last used is recorded, at most once a minute.
- **Visibility**: :func:`can_see_lead` for one lead, :func:`lead_filter` for lists (SQL-side).

Every change records who made it (``actor``: the e-mail of the acting user, or ``cli:<login>``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from leadrelay.adapters.records import InputError, parse_email
from leadrelay.adapters.store import users as store
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.tables import leads
from leadrelay.domain.playbook import Playbook
from leadrelay.errors import LeadRelayError
from leadrelay.services.read_models import Moment, ReadModel, local

#: An API key starts with this; the rest is 32 random bytes, URL-safe base64 (43 characters).
KEY_PREFIX = "lr_"
#: How many of a key's first characters are stored in clear, to tell keys apart in lists.
SHOWN_CHARS = 11
#: ``last_used_at`` is written at most this often per key.
TOUCH_EVERY = timedelta(minutes=1)
#: The shortest password a user may be given.
PASSWORD_MIN = 12
_KEY_MAX = 100  # a longer bearer token is not one of ours: refused without a query


class Role(StrEnum):
    admin = "admin"
    marketing = "marketing"
    manager = "manager"
    rep = "rep"


#: From the widest role to the narrowest: a key may carry its user's role or one to the right of it.
ROLE_ORDER = (Role.admin, Role.marketing, Role.manager, Role.rep)


class AccessError(LeadRelayError, ValueError):
    """A user or key that cannot be added or changed as asked; ``str()`` names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UserExists(AccessError):
    """A user with this e-mail already exists."""


class UnknownUser(AccessError, LookupError):
    """No user with this e-mail."""


class UnknownKey(AccessError, LookupError):
    """No key with this prefix or id."""


class NotAuthenticated(LeadRelayError):
    """A request without a usable API key; ``reason``: missing, unknown, revoked or disabled."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"API key {reason}")
        self.reason = reason


class Principal(ReadModel):
    """Who is asking: the user behind an API key, with the key's role."""

    user_id: int
    email: str
    role: Role
    departments: tuple[str, ...] = ()  # a manager's departments
    rep: str | None = None  # a rep user's playbook rep id
    key_id: int | None = None  # the API key the request came with

    @property
    def actor(self) -> str:
        """Who acted, as services record it: the user's e-mail."""
        return self.email


class UserView(ReadModel):
    """A user as ``users list`` and the API show them (never the password hash)."""

    id: int
    email: str
    name: str | None
    role: Role
    departments: tuple[str, ...]
    rep: str | None
    has_password: bool
    disabled_at: Moment | None
    disabled_by: str | None
    created_at: Moment
    created_by: str


class KeyView(ReadModel):
    """An API key as ``keys list`` shows it: its first characters, never the key."""

    id: int
    prefix: str
    user: str  # the user's e-mail
    name: str | None
    role: Role
    created_at: Moment
    created_by: str
    last_used_at: Moment | None
    revoked_at: Moment | None
    revoked_by: str | None


class NewKey(ReadModel):
    """A key just created: the only time the key itself is shown."""

    key: str
    info: KeyView


# --- visibility ---------------------------------------------------------------------------------


def can_see_lead(principal: Principal, owner_rep: str | None, owner_department: str | None) -> bool:
    """Whether ``principal`` may see a lead held by ``owner_rep`` in ``owner_department``."""
    if principal.role in (Role.admin, Role.marketing):
        return True
    if principal.role is Role.manager:
        return owner_department is not None and owner_department in principal.departments
    return principal.rep is not None and owner_rep == principal.rep


def lead_filter(principal: Principal, table: sa.Table = leads) -> sa.ColumnElement[bool]:
    """The SQL condition on ``table`` (``leads`` or a table with its ``owner_rep`` and
    ``owner_department`` columns) that keeps the leads ``principal`` may see."""
    if principal.role in (Role.admin, Role.marketing):
        return sa.true()
    if principal.role is Role.manager:
        if not principal.departments:
            return sa.false()
        return table.c.owner_department.in_(principal.departments)
    if principal.rep is None:
        return sa.false()
    return table.c.owner_rep == principal.rep


# --- users --------------------------------------------------------------------------------------


def parse_role(value: str, field: str = "role") -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise AccessError(field, f"'{value}' is not one of {', '.join(ROLE_ORDER)}") from None


def _email(value: str, field: str = "email") -> str:
    try:
        return parse_email(value, field)
    except InputError as exc:
        raise AccessError(exc.field, exc.message) from None


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    if len(password) < PASSWORD_MIN:
        raise AccessError("password", f"must have at least {PASSWORD_MIN} characters")
    return PasswordHasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def add_user(
    tx: StoreTx,
    playbook: Playbook,
    *,
    email: str,
    role: str,
    actor: str,
    now: datetime,
    departments: Sequence[str] = (),
    rep: str | None = None,
    name: str | None = None,
    password: str | None = None,
    password_hash: str | None = None,
) -> UserView:
    """Add a user. A manager needs at least one department of the playbook; a rep user needs a rep
    id of the playbook; only those roles take them. ``password_hash`` is a password already hashed
    by :func:`hash_password` (instead of ``password``), for callers that hash ahead of time."""
    address = _email(email)
    if password is not None and password_hash is not None:
        raise AccessError("password", "give a password or its hash, not both")
    if password_hash is not None and not password_hash.startswith("$argon2id$"):
        raise AccessError("password_hash", "is not a hash made by hash_password (Argon2id)")
    kind = parse_role(role)
    wanted = tuple(dict.fromkeys(d.strip() for d in departments if d.strip()))
    routing = playbook.routing
    if kind is Role.manager:
        if not wanted:
            raise AccessError("department", "a manager needs at least one department (--department)")
        known = routing.departments if routing is not None else {}
        for department in wanted:
            if department not in known:
                raise AccessError(
                    "department", f"'{department}' is not a department of the active playbook ({_listed(known)})"
                )
    elif wanted:
        raise AccessError("department", f"only a manager has departments, not a {kind.value} user")
    rep_id = rep.strip() if rep and rep.strip() else None
    if kind is Role.rep:
        reps = routing.reps if routing is not None else {}
        if rep_id is None:
            raise AccessError("rep", "a rep user needs the rep id of the active playbook (--rep)")
        if rep_id not in reps:
            raise AccessError("rep", f"'{rep_id}' is not a rep of the active playbook ({_listed(reps)})")
    elif rep_id is not None:
        raise AccessError("rep", f"only a rep user has a rep id, not a {kind.value} user")
    shown_name = name.strip() if name and name.strip() else None
    if store.user_by_email(tx, address) is not None:
        raise UserExists("email", f"a user with e-mail {address} already exists")
    values: dict[str, Any] = {
        "email": address,
        "name": shown_name,
        "role": kind.value,
        "departments": list(wanted),
        "rep": rep_id,
        "password_hash": hash_password(password) if password is not None else password_hash,
        "created_at": now,
        "created_by": actor,
    }
    user_id = store.insert_user(tx, values)
    if user_id is None:  # added by someone else since the check above
        raise UserExists("email", f"a user with e-mail {address} already exists")
    return _user_view(store.user_by_id(tx, user_id), playbook.timezone)


def _listed(known: Iterable[str]) -> str:
    names = sorted(known)
    return "known: " + ", ".join(names) if names else "it has none"


def list_users(tx: StoreTx, tz: tzinfo) -> list[UserView]:
    return [_user_view(row, tz) for row in store.all_users(tx)]


def disable_user(tx: StoreTx, email: str, *, actor: str, now: datetime, tz: tzinfo) -> UserView:
    """Disable a user: every key of theirs is refused from now on (disabling twice keeps the first time)."""
    row = _user(tx, email)
    store.disable_user(tx, row.id, now, actor)
    return _user_view(store.user_by_id(tx, row.id), tz)


def _user(tx: StoreTx, email: str, field: str = "email") -> Any:
    address = _email(email, field)
    row = store.user_by_email(tx, address)
    if row is None:
        raise UnknownUser(field, f"no user with e-mail {address}")
    return row


def _user_view(row: Any, tz: tzinfo) -> UserView:
    return UserView(
        id=row.id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        departments=tuple(row.departments or ()),
        rep=row.rep,
        has_password=row.password_hash is not None,
        disabled_at=local(row.disabled_at, tz),
        disabled_by=row.disabled_by,
        created_at=local(row.created_at, tz),
        created_by=row.created_by,
    )


# --- keys ---------------------------------------------------------------------------------------


def key_hash(key: str) -> str:
    """What is stored of a key: its SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    tx: StoreTx,
    *,
    email: str,
    actor: str,
    now: datetime,
    tz: tzinfo,
    name: str | None = None,
    role: str | None = None,
) -> NewKey:
    """A new key for the user ``email``, with the user's role or a narrower ``role``."""
    user = _user(tx, email, "user")
    if user.disabled_at is not None:
        raise AccessError("user", f"{user.email} is disabled: a disabled user gets no keys")
    user_role = Role(user.role)
    key_role = user_role if role is None else parse_role(role)
    if ROLE_ORDER.index(key_role) < ROLE_ORDER.index(user_role):
        raise AccessError("role", f"a key of a {user_role.value} user cannot have the wider role {key_role.value}")
    if key_role is Role.manager and not user.departments:
        raise AccessError("role", f"{user.email} has no departments: a manager key would see no lead")
    if key_role is Role.rep and not user.rep:
        raise AccessError("role", f"{user.email} has no rep id: a rep key would see no lead")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    values = {
        "user_id": user.id,
        "name": name.strip() if name and name.strip() else None,
        "prefix": key[:SHOWN_CHARS],
        "hash": key_hash(key),
        "role": key_role.value,
        "created_at": now,
        "created_by": actor,
    }
    key_id = store.insert_key(tx, values)
    view = next(v for v in list_keys(tx, tz) if v.id == key_id)
    return NewKey(key=key, info=view)


def list_keys(tx: StoreTx, tz: tzinfo) -> list[KeyView]:
    return [_key_view(row, tz) for row in store.all_keys(tx)]


def revoke_key(tx: StoreTx, ref: str, *, actor: str, now: datetime, tz: tzinfo) -> KeyView:
    """Revoke the key whose prefix (as ``keys list`` shows it) or id is ``ref``."""
    text = ref.strip()
    found = store.keys_matching(tx, text) if text else []
    if not found:
        raise UnknownKey("key", f"no key with prefix or id '{text}'")
    if len(found) > 1:
        raise AccessError("key", f"'{text}' matches {len(found)} keys: give the key's id")
    store.revoke_key(tx, found[0].id, now, actor)
    return next(v for v in list_keys(tx, tz) if v.id == found[0].id)


def _key_view(row: Any, tz: tzinfo) -> KeyView:
    return KeyView(
        id=row.id,
        prefix=row.prefix,
        user=row.email,
        name=row.name,
        role=Role(row.role),
        created_at=local(row.created_at, tz),
        created_by=row.created_by,
        last_used_at=local(row.last_used_at, tz),
        revoked_at=local(row.revoked_at, tz),
        revoked_by=row.revoked_by,
    )


# --- authentication -----------------------------------------------------------------------------


def principal_of_key(tx: StoreTx, key: str | None) -> tuple[Principal, datetime | None]:
    """The principal of ``key``, and when the key's use was last recorded (see :func:`due_for_touch`). Raises :class:`NotAuthenticated` for a missing, unknown or revoked key
    and for a key of a disabled user."""
    if not key:
        raise NotAuthenticated("missing")
    if not key.startswith(KEY_PREFIX) or len(key) > _KEY_MAX:
        raise NotAuthenticated("unknown")
    row = store.key_principal(tx, key_hash(key))
    if row is None:
        raise NotAuthenticated("unknown")
    if row.revoked_at is not None:
        raise NotAuthenticated("revoked")
    if row.disabled_at is not None:
        raise NotAuthenticated("disabled")
    principal = Principal(
        user_id=row.user_id,
        email=row.email,
        role=Role(row.key_role),
        departments=tuple(row.departments or ()),
        rep=row.rep,
        key_id=row.key_id,
    )
    return principal, row.last_used_at


def due_for_touch(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a key last used at ``last_used_at`` should have its use recorded at ``now``."""
    return last_used_at is None or last_used_at < now - TOUCH_EVERY


def record_use(tx: StoreTx, key_id: int, now: datetime) -> None:
    """Record that key ``key_id`` was used at ``now`` (a no-op when recorded less than a minute ago,
    also by another process)."""
    store.touch_key(tx, key_id, now, now - TOUCH_EVERY)
