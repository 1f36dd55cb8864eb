"""Users and API keys in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from leadrelay.adapters.store import users as store
from leadrelay.entrypoints.api import LeadRelay
from leadrelay.services.access import (
    AccessError,
    NotAuthenticated,
    Role,
    UserExists,
    hash_password,
    principal_of_key,
    record_use,
)
from tests.conftest import NOW


@pytest.fixture
def relay(db_url: str) -> Iterator[LeadRelay]:
    with LeadRelay.open(db_url) as engine:
        engine.playbook()
        yield engine


def test_a_user_added_twice_at_the_same_moment_is_refused_the_second_time(relay: LeadRelay) -> None:
    relay.add_user("same@example.co.jp", role="admin", actor="cli:a", now=NOW)
    values = {"email": "same@example.co.jp", "role": "admin", "departments": [], "created_at": NOW, "created_by": "b"}
    with relay.store.transaction() as tx:
        assert store.insert_user(tx, values) is None  # the race the check before it cannot see
    with pytest.raises(UserExists):
        relay.add_user("SAME@example.co.jp", role="marketing", actor="cli:b", now=NOW)


def test_a_keys_use_is_written_at_most_once_a_minute(relay: LeadRelay) -> None:
    relay.add_user("ops@example.co.jp", role="admin", actor="cli:a", now=NOW)
    made = relay.create_key("ops@example.co.jp", actor="cli:a", now=NOW)
    relay.authenticate(made.key, now=NOW)
    with relay.store.transaction() as tx:
        record_use(tx, made.info.id, NOW + timedelta(seconds=30))  # within the minute: not written
    (key,) = relay.api_keys()
    assert key.last_used_at == NOW
    relay.authenticate(made.key, now=NOW + timedelta(seconds=90))
    (key,) = relay.api_keys()
    assert key.last_used_at == NOW + timedelta(seconds=90)


def test_a_narrower_key_carries_its_own_role_and_the_users_scope(relay: LeadRelay) -> None:
    relay.add_user("m@example.co.jp", role="manager", departments=["osaka_branch"], actor="cli:a", now=NOW)
    made = relay.create_key("m@example.co.jp", role="manager", actor="cli:a", now=NOW)
    principal = relay.authenticate(made.key, now=NOW)
    assert (principal.role, principal.departments, principal.actor) == (
        Role.manager,
        ("osaka_branch",),
        "m@example.co.jp",
    )
    relay.revoke_key(str(made.info.id), actor="cli:b", now=NOW)
    with relay.store.reading() as tx, pytest.raises(NotAuthenticated) as refused:
        principal_of_key(tx, made.key)
    assert refused.value.reason == "revoked"


def test_a_user_added_with_a_password_hashed_ahead_logs_in_with_that_password(relay: LeadRelay) -> None:
    relay.add_user(
        "ahead@example.co.jp", role="marketing", actor="demo", password_hash=hash_password("s3cret-enough"), now=NOW
    )
    _token, principal = relay.login("ahead@example.co.jp", "s3cret-enough", idle=timedelta(hours=1), now=NOW)
    assert principal.role is Role.marketing
    with pytest.raises(AccessError, match="not both"):
        relay.add_user(
            "both@example.co.jp",
            role="admin",
            actor="demo",
            password="s3cret-enough",
            password_hash=hash_password("s3cret-enough"),
            now=NOW,
        )
    with pytest.raises(AccessError, match="Argon2id"):
        relay.add_user("plain@example.co.jp", role="admin", actor="demo", password_hash="s3cret-enough", now=NOW)
    assert {u.email for u in relay.users()} == {"ahead@example.co.jp"}
