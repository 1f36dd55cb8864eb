"""Opening a database: URL handling, SQLite pragmas, and migrating to the current schema."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadrelay.adapters.store import queries
from leadrelay.errors import LeadRelayError

if TYPE_CHECKING:
    from alembic.config import Config

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


#: the databases leadrelay runs on, as a user writes their URLs
SUPPORTED_URLS = "sqlite:///PATH (or a plain file path), postgresql://USER@HOST:PORT/DATABASE"


def create_db_engine(url: str) -> Engine:
    url = normalise_url(url)
    try:
        parsed = sa.engine.make_url(url)
        parsed.port  # noqa: B018  (a port that is not a number fails here, not at the first query)
    except (sa.exc.ArgumentError, ValueError):
        raise StoreError(f"not a database URL: {_shown(url)} (supported: {SUPPORTED_URLS})") from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if (backend, driver) not in {("sqlite", "pysqlite"), ("postgresql", "psycopg")}:
        raise StoreError(f"unsupported database '{parsed.drivername}' in {_shown(url)} (supported: {SUPPORTED_URLS})")
    if backend == "sqlite" and parsed.database and (parsed.host or parsed.username):
        raise StoreError(
            f"a SQLite URL names a file, not a host: {_shown(url)} (sqlite:///relative or sqlite:////absolute)"
        )
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            folder = Path(database).expanduser().resolve().parent
            if not folder.is_dir():
                raise StoreError(f"folder does not exist for the database file: {folder}")
        engine = sa.create_engine(url)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _shown(url: str) -> str:
    """The URL as it may be printed: without its password."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def alembic_config(connection: sa.Connection | None = None) -> Config:
    from alembic.config import Config  # Alembic is loaded only to migrate: opening a current database skips it

    config = Config()
    config.set_main_option("script_location", str(resources.files("leadrelay.adapters.store").joinpath("migrations")))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


#: ``revision = "0006"`` and ``down_revision = "0005"`` (or ``None``) lines of a migration script.
_REVISION_LINE = re.compile(r"""^(revision|down_revision)\b[^=\n]*=\s*(?:"([^"]*)"|'([^']*)'|(None))\s*$""", re.M)


def head_revisions() -> frozenset[str] | None:
    """The newest revisions of the migration scripts, read from their ``revision`` and ``down_revision``
    lines without loading Alembic; ``None`` when a script does not spell them as plain literals (then
    Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    folder = resources.files("leadrelay.adapters.store").joinpath("migrations", "versions")
    for script in folder.iterdir():
        if not script.name.endswith(".py") or script.name.startswith("_"):
            continue
        found: dict[str, str | None] = {}
        for key, double, single, none in _REVISION_LINE.findall(script.read_text(encoding="utf-8")):
            found.setdefault(key, None if none else (double or single))
        if "down_revision" not in found or not found.get("revision"):
            return None
        revisions.add(str(found["revision"]))
        if found["down_revision"] is not None:
            parents.add(found["down_revision"])
    return frozenset(revisions - parents) or None


def _is_current(connection: sa.Connection) -> bool:
    """Whether the database already has the newest schema: one cheap query instead of running Alembic."""
    heads = head_revisions()
    if heads is None:
        return False
    try:
        with connection.begin():
            stored = connection.exec_driver_sql(queries.ALEMBIC_VERSIONS).scalars().all()
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # no alembic_version table yet: a new database
        return False
    return frozenset(stored) == heads


def migrate(engine: Engine) -> None:
    """Bring the database to the current schema (idempotent; safe when several processes start)."""
    with engine.connect() as connection:
        if _is_current(connection):
            return
        from alembic import command

        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(sa.text(queries.ADVISORY_XACT_LOCK), {"key": _MIGRATION_LOCK})
            command.upgrade(alembic_config(connection), "head")
        if engine.dialect.name == "sqlite":  # a migration that rebuilds a table turns them off
            connection.exec_driver_sql(queries.SQLITE_FOREIGN_KEYS_ON)
            connection.commit()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
