"""The migrations produce exactly the schema the code declares, on every supported database."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from leadrelay.adapters.store.schema import alembic_config, create_db_engine, current_revision, head_revisions, migrate
from leadrelay.adapters.store.tables import metadata

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrations_produce_the_models_schema(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    migrate(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_migrating_twice_changes_nothing(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    migrate(engine)
    first = current_revision(engine)
    migrate(engine)
    assert current_revision(engine) == first == HEAD
    engine.dispose()


def test_upgrading_a_database_with_leads_keeps_them_and_their_activities(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
        lead_id = connection.execute(
            sa.text(
                "INSERT INTO leads (email, list_source, custom, created_at, updated_at, stage, stage_at, anchor_stage,"
                " anchor_check, fit_score, engagement_score, total_score, fit_passed, priority, recycled_count)"
                " VALUES ('k@x.co.jp', 'house', '{}', :at, :at, 'new', :at, 'new', false, 0, 0, 0, false, false, 0)"
                " RETURNING id"
            ),
            {"at": at},
        ).scalar_one()
        connection.execute(
            sa.text(
                "INSERT INTO activities (key, lead_id, type, occurred_at, recorded_at, properties)"
                " VALUES ('k1', :lead, 'form_submitted', :at, :at, '{}')"
            ),
            {"lead": lead_id, "at": at},
        )
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT email, external_id FROM leads")).all() == [("k@x.co.jp", None)]
        assert connection.execute(sa.text("SELECT lead_id FROM activities")).scalar_one() == lead_id
        if engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    engine.dispose()


def test_the_head_read_from_the_scripts_is_alembics_head() -> None:
    assert head_revisions() == frozenset({HEAD})


def test_a_current_database_is_opened_without_loading_alembic(empty_db_url: str, tmp_path: Path) -> None:
    engine = create_db_engine(empty_db_url)
    migrate(engine)
    engine.dispose()
    probe = (
        "import sys\n"
        "from leadrelay.adapters.store.schema import create_db_engine, migrate\n"
        f"migrate(create_db_engine({empty_db_url!r}))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "[]"


def test_a_database_one_migration_behind_is_brought_to_the_head(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0005")
    migrate(engine)
    assert current_revision(engine) == HEAD
    with engine.connect() as connection:
        assert "timers" in sa.inspect(connection).get_table_names()
    engine.dispose()
