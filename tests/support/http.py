"""The HTTP API under test: FastAPI's TestClient on a fresh database of each kind.

Fixtures (registered for every test by ``tests/conftest.py``):

- ``api``: an :class:`ApiHarness` — the app started (database migrated, default playbook
  loaded) on a fresh SQLite database and, when ``LEADRELAY_TEST_POSTGRES_URL`` is set, on a fresh
  PostgreSQL one; the clock stands at :data:`tests.conftest.NOW`;
- ``client``: its TestClient; ``make_user``: its :meth:`ApiHarness.make_user`.

::

    def test_a_rep_sees_their_own_lead(client: TestClient, make_user: MakeUser) -> None:
        _, key = make_user(Role.rep, rep="rep-tanaka")
        response = client.get("/v1/me", headers=auth(key))
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadrelay.config import Settings
from leadrelay.entrypoints.api import LeadRelay
from leadrelay.entrypoints.http.app import create_app
from leadrelay.services.access import Principal, Role, principal_of_key
from tests.conftest import NOW

#: Who creates the users and keys of a test.
ACTOR = "cli:test"

MakeUser = Callable[..., tuple[Principal, str]]


def auth(key: str) -> dict[str, str]:
    """The header that sends ``key``."""
    return {"Authorization": f"Bearer {key}"}


@dataclass
class ApiHarness:
    client: TestClient
    settings: Settings
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def relay(self) -> LeadRelay:
        """The engine the app opened (the same database, the same clock)."""
        engine: LeadRelay = self.client.app.state.relay  # type: ignore[attr-defined]
        return engine

    def make_user(
        self,
        role: Role | str,
        departments: Sequence[str] = (),
        rep: str | None = None,
        *,
        email: str | None = None,
        key_role: Role | str | None = None,
    ) -> tuple[Principal, str]:
        """A new user of ``role`` (a manager of ``departments``, a rep user of playbook rep ``rep``)
        and an API key of theirs (with ``key_role``, narrower, if given): the principal the API will
        see for that key, and the key."""
        role = Role(role)
        address = email or f"{role.value}{next(self._numbers)}@users.example.co.jp"
        self.relay.add_user(address, role=role.value, actor=ACTOR, departments=departments, rep=rep)
        made = self.relay.create_key(address, actor=ACTOR, role=None if key_role is None else Role(key_role).value)
        with self.relay.store.reading() as tx:
            principal, _ = principal_of_key(tx, made.key)
        return principal, made.key


@contextmanager
def make_harness(url: str, **settings: Any) -> Iterator[ApiHarness]:
    """The app on ``url`` (started; stopped after), with the test clock and ``settings`` over the defaults."""
    chosen = Settings(db=url, now=NOW, **settings)
    with TestClient(create_app(chosen), raise_server_exceptions=False) as client:
        yield ApiHarness(client, chosen)


@pytest.fixture
def api(db_url: str) -> Iterator[ApiHarness]:
    with make_harness(db_url) as harness:
        yield harness


@pytest.fixture
def client(api: ApiHarness) -> TestClient:
    return api.client


@pytest.fixture
def make_user(api: ApiHarness) -> MakeUser:
    return api.make_user
