"""The migrations produce exactly the schema the code declares, on every supported database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from leadrelay.store.schema import alembic_config, create_db_engine, current_revision, migrate
from leadrelay.store.tables import metadata


def test_migrations_produce_the_models_schema(db_url: str) -> None:
    engine = create_db_engine(db_url)
    migrate(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_migrating_twice_changes_nothing(db_url: str) -> None:
    engine = create_db_engine(db_url)
    migrate(engine)
    first = current_revision(engine)
    migrate(engine)
    assert current_revision(engine) == first == _head()
    engine.dispose()


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
