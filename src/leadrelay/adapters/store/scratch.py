"""Throw-away databases for tests and benchmarks: created empty, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from leadrelay.adapters.store import queries
from leadrelay.adapters.store.schema import normalise_url


@contextmanager
def scratch_database(
    server_url: str, prefix: str = "leadrelay_scratch", *, template: str | None = None
) -> Iterator[str]:
    """Create a new database on the server of ``server_url`` (empty, or a copy of the database
    named ``template``); yield its URL; drop it at the end."""
    url = sa.engine.make_url(normalise_url(server_url))
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            create = queries.create_database(name) if template is None else queries.create_database_from(name, template)
            connection.execute(sa.text(create))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(queries.drop_database(name)))
    finally:
        admin.dispose()


@contextmanager
def fresh_database(server: str | None, folder: Path, prefix: str = "leadrelay_bench") -> Iterator[str]:
    """A new empty database: a SQLite file in ``folder`` when ``server`` is ``None``, else a new
    database on that PostgreSQL server (dropped afterwards)."""
    if server is None:
        yield f"sqlite:///{folder / f'{prefix}-{uuid.uuid4().hex[:8]}.db'}"
        return
    with scratch_database(server, prefix=prefix) as url:
        yield url
