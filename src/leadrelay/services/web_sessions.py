"""Logging in to the dashboard: sessions, their CSRF tokens and the lockout after wrong passwords.

- A session is a random token in an HTTP-only cookie; only its SHA-256 is stored. It ends when the
  user logs out, is disabled, or leaves it idle longer than the idle time (moved on as it is used,
  at most once a minute).
- The CSRF token of a session is an HMAC of the session token: a form must send it back; nothing
  more is stored.
- After :data:`MAX_FAILURES` wrong passwords in a row the user is locked out for :data:`LOCKOUT`
  (the count starts again after a successful log-in). An unknown e-mail and a wrong password get the
  same answer, so the form does not tell who has an account.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from leadrelay.adapters.store import users as user_store
from leadrelay.adapters.store import web_sessions as store
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.domain.errors import LeadRelayError
from leadrelay.services.access import NotAuthenticated, Principal, Role, hash_password, verify_password

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
TOUCH_EVERY = timedelta(minutes=1)
_TOKEN_BYTES = 32


class LoginFailed(LeadRelayError):
    """A log-in refused: ``reason`` is ``wrong`` (unknown e-mail or wrong password), ``locked``
    (too many wrong passwords; ``until`` says until when) or ``disabled``."""

    def __init__(self, reason: str, until: datetime | None = None) -> None:
        super().__init__(f"log-in refused: {reason}")
        self.reason = reason
        self.until = until


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: what its forms must send back."""
    return hmac.new(session_token.encode(), b"leadrelay-csrf", hashlib.sha256).hexdigest()


def csrf_ok(session_token: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(csrf_token(session_token), given)


@functools.cache
def _stand_in_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def login(
    tx: StoreTx, email: str, password: str, now: datetime, idle: timedelta
) -> tuple[str, Principal] | LoginFailed:
    """A new session for the user with ``email`` and ``password`` (its token and the principal), or
    why not. A refusal is returned, not raised, so that the caller commits the wrong-password count."""
    row = user_store.user_by_email(tx, email.strip().lower())
    if row is None or row.password_hash is None:
        verify_password(_stand_in_hash(), password)  # the same work as a wrong password: the time tells nothing
        return LoginFailed("wrong")
    if row.disabled_at is not None:
        return LoginFailed("disabled")
    if row.locked_until is not None and row.locked_until > now:
        return LoginFailed("locked", row.locked_until)
    if not verify_password(row.password_hash, password):
        failures = (row.failed_logins or 0) + 1
        locked = now + LOCKOUT if failures >= MAX_FAILURES else None
        store.record_failure(tx, row.id, locked)
        return LoginFailed("locked", locked) if locked is not None else LoginFailed("wrong")
    store.clear_failures(tx, row.id)
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    store.insert_session(tx, token_hash(token), row.id, now, now + idle)
    return token, _principal(row.id, row.email, row.role, row.departments, row.rep)


def session_principal(tx: StoreTx, token: str | None, now: datetime, idle: timedelta) -> Principal:
    """The user of a session token; :class:`NotAuthenticated` if it is unknown, ended, idle too long
    or its user disabled. Moves the idle expiry on (at most once a minute)."""
    if not token or len(token) > 100:
        raise NotAuthenticated("missing")
    row = store.session_user(tx, token_hash(token))
    if row is None or row.ended_at is not None or row.expires_at <= now:
        raise NotAuthenticated("unknown")
    if row.disabled_at is not None:
        raise NotAuthenticated("disabled")
    if now - row.last_seen_at >= TOUCH_EVERY:
        store.extend_session(tx, row.session_id, now, now + idle)
    return _principal(row.user_id, row.email, row.role, row.departments, row.rep)


def logout(tx: StoreTx, token: str | None, now: datetime) -> None:
    if token:
        store.end_session(tx, token_hash(token), now)


def _principal(user_id: int, email: str, role: str, departments: list[str] | None, rep: str | None) -> Principal:
    return Principal(user_id=user_id, email=email, role=Role(role), departments=tuple(departments or ()), rep=rep)
