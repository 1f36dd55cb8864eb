"""Shared fixtures: a fresh database per test on SQLite and, when configured, PostgreSQL.

PostgreSQL tests take the server URL from ``LEADRELAY_TEST_POSTGRES_URL`` (``.ci/run`` sets it)
and skip with a message without it. Each test gets its own newly created database.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadrelay.adapters.store.scratch import scratch_database
from leadrelay.adapters.store.sql_store import SqlStore

# pytest-xdist's workers run with COLUMNS=80 and LINES=24; a Rich console made while COLUMNS is set
# keeps that width for good, so the command line's output would wrap at 80 columns in the workers
# and not in a plain run. The tests that compare output set the width they want themselves.
for _variable in ("COLUMNS", "LINES"):
    os.environ.pop(_variable, None)

PG_ENV = "LEADRELAY_TEST_POSTGRES_URL"
JST = timezone(timedelta(hours=9), "JST")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=JST)


def postgres_base_url() -> str | None:
    return os.environ.get(PG_ENV) or None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the whole schema, made once per test run (migrating takes a while)."""
    path = tmp_path_factory.mktemp("template") / "leadrelay.db"
    SqlStore.open(f"sqlite:///{path}").close()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str | None]:
    """The name of a PostgreSQL database with the whole schema, made once per test run; each
    test's database is a copy (``CREATE DATABASE … TEMPLATE``), which is much faster than
    migrating it."""
    base = postgres_base_url()
    if base is None:
        yield None
        return
    with scratch_database(base, prefix="leadrelay_template") as url:
        SqlStore.open(url).close()
        yield sa.engine.make_url(url).database


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'leadrelay.db'}"


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A new SQLite database with the current schema (a copy of the template)."""
    target = tmp_path / "leadrelay.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


def _server_or_skip() -> str:
    base = postgres_base_url()
    if base is None:
        if os.environ.get("LEADRELAY_REQUIRE_POSTGRES"):
            pytest.fail(f"LEADRELAY_REQUIRE_POSTGRES is set but {PG_ENV} is not")
        pytest.skip(f"PostgreSQL not configured: set {PG_ENV}=postgresql://user@host:5432/postgres to run this test")
    return base


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    with scratch_database(_server_or_skip(), prefix="leadrelay_test") as url:
        yield url


@pytest.fixture
def postgres_url(postgres_template: str | None) -> Iterator[str]:
    """A new PostgreSQL database with the current schema (a copy of the template)."""
    with scratch_database(_server_or_skip(), prefix="leadrelay_test", template=postgres_template) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh database of each kind, with the current schema and nothing in it."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database of each kind: no tables at all (for the migration tests)."""
    fixture = "empty_sqlite_url" if request.param == "sqlite" else "empty_postgres_url"
    return str(request.getfixturevalue(fixture))


# The HTTP API's fixtures (api, client, make_user): tests/support/http.py.
pytest_plugins = ["tests.support.http"]
