"""Which errors make the worker wait out an outage instead of stopping: a dropped or refused
connection — wrapped by SQLAlchemy or bare from the raw-cursor fast paths — but not a wrong query."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
import sqlalchemy as sa

from leadrelay.adapters.store.sql_store import database_unavailable


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.OperationalError("connection refused"),
        sqlite3.OperationalError("database is locked"),
        sa.exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("server closed the connection")),
    ],
    ids=["bare-admin-shutdown", "bare-refused", "bare-sqlite-locked", "wrapped-operational"],
)
def test_a_lost_or_busy_database_is_an_outage(error: BaseException) -> None:
    assert database_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("no such table: leads"),
        psycopg.errors.UndefinedTable('relation "leads" does not exist'),
        sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such column: x")),
        ValueError("a bug"),
    ],
    ids=["sqlite-no-table", "pg-undefined-table", "wrapped-sqlite-no-column", "plain-bug"],
)
def test_a_wrong_query_is_not_an_outage(error: BaseException) -> None:
    assert not database_unavailable(error)
