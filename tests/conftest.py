"""Shared fixtures: a fresh database per test on SQLite and, when configured, PostgreSQL.

PostgreSQL tests take the server URL from ``LEADRELAY_TEST_POSTGRES_URL`` (``.ci/run`` sets it)
and skip with a message without it. Each test gets its own newly created database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from leadrelay.adapters.store.scratch import scratch_database

PG_ENV = "LEADRELAY_TEST_POSTGRES_URL"
JST = timezone(timedelta(hours=9), "JST")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=JST)


def postgres_base_url() -> str | None:
    return os.environ.get(PG_ENV) or None


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'leadrelay.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    base = postgres_base_url()
    if base is None:
        if os.environ.get("LEADRELAY_REQUIRE_POSTGRES"):
            pytest.fail(f"LEADRELAY_REQUIRE_POSTGRES is set but {PG_ENV} is not")
        pytest.skip(f"PostgreSQL not configured: set {PG_ENV}=postgresql://user@host:5432/postgres to run this test")
    with scratch_database(base, prefix="leadrelay_test") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database of each kind."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


# The HTTP API's fixtures (api, client, make_user): tests/support/http.py.
pytest_plugins = ["tests.support.http"]
