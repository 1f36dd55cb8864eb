"""summary of assignments the SLA and status reports read: each routing decision to a rep, timed

One row per routing decision that gave a lead to a rep, derived from the facts (decisions, moves,
recorded touches, touch-type activities) and kept in the same transaction as them
(``adapters.store.summaries``). The first touch-type activity depends on the active playbook's
``sales.touch_types``: the upgrade records those of the active playbook (the bundled default's
when none was activated yet, or when the stored one cannot be read) and fills the table from the
facts already stored.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 01:30:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leadrelay.adapters.store.tables import UtcDateTime, settings

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTING = "summary_touch_types"


def _touch_types(connection: sa.Connection) -> list[str]:
    """The active playbook's touch types (the default playbook's when it has none or cannot be read)."""
    from leadrelay.adapters.store.migrations.stored_playbook import active_playbook

    return sorted(active_playbook(connection).sales.touch_types)


def upgrade() -> None:
    op.create_table(
        "summary_assignments",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("lead_id", sa.Integer, nullable=False),
        sa.Column("decided_at", UtcDateTime, nullable=False),
        sa.Column("rep_id", sa.String(80), nullable=False),
        sa.Column("department", sa.String(80), nullable=False),
        sa.Column("level", sa.Integer),
        sa.Column("at_mql", sa.Boolean, nullable=False),
        sa.Column("until", UtcDateTime),
        sa.Column("answered_at", UtcDateTime),
        sa.Column("leaving_at", UtcDateTime),
        sa.Column("touched_at", UtcDateTime),
        sa.Column("touch_activity_at", UtcDateTime),
        sa.Column("mql_at", UtcDateTime),
        sa.Column("activity_at", UtcDateTime),
        sa.Column("stage_now", sa.String(20)),
        sa.PrimaryKeyConstraint("id", name="pk_summary_assignments"),
    )
    op.create_index("ix_summary_assignments_time", "summary_assignments", ["decided_at"])
    op.create_index("ix_summary_assignments_lead", "summary_assignments", ["lead_id", "decided_at"])
    untouched = sa.text("until IS NULL AND touched_at IS NULL AND touch_activity_at IS NULL")
    op.create_index(
        "ix_summary_assignments_untouched",
        "summary_assignments",
        ["decided_at", "stage_now", "department", "rep_id", "lead_id"],
        postgresql_where=untouched,
        sqlite_where=untouched,
    )
    connection = op.get_bind()
    connection.execute(settings.insert().values(key=SETTING, value=json.dumps(_touch_types(connection))))
    from leadrelay.adapters.store.summaries import ASSIGNMENTS, rebuild

    rebuild(connection, (ASSIGNMENTS,))


def downgrade() -> None:
    op.get_bind().execute(settings.delete().where(settings.c.key == SETTING))
    op.drop_table("summary_assignments")
