"""Opening a database: URL handling, SQLite pragmas, and migrating to the current schema."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from leadrelay.adapters.store import queries
from leadrelay.errors import LeadRelayError

DEFAULT_URL = "sqlite:///leadrelay.db"
_MIGRATION_LOCK = 4711004  # PostgreSQL advisory lock: one process migrates at a time


class StoreError(LeadRelayError, RuntimeError):
    pass


def normalise_url(url: str) -> str:
    """Accept plain paths and the usual PostgreSQL spellings; use psycopg 3 for PostgreSQL."""
    if "://" not in url:
        return f"sqlite:///{url}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in queries.SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def create_db_engine(url: str) -> Engine:
    url = normalise_url(url)
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise StoreError(f"not a database URL: {url}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            folder = Path(database).expanduser().resolve().parent
            if not folder.is_dir():
                raise StoreError(f"folder does not exist for the database file: {folder}")
        engine = sa.create_engine(url)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("leadrelay.adapters.store").joinpath("migrations")))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Bring the database to the current schema (idempotent; safe when several processes start)."""
    with engine.connect() as connection:
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(sa.text(queries.ADVISORY_XACT_LOCK), {"key": _MIGRATION_LOCK})
            command.upgrade(alembic_config(connection), "head")
        if engine.dialect.name == "sqlite":  # a migration that rebuilds a table turns them off
            connection.exec_driver_sql(queries.SQLITE_FOREIGN_KEYS_ON)
            connection.commit()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
