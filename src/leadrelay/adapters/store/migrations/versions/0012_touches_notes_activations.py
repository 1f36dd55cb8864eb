"""sales' touches and notes on a lead, the last touch on the lead (the inactivity clock), playbook
activations with who activated them, a rep's capacity set at run time

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead_touches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lead_touches_lead_time", "lead_touches", ["lead_id", "occurred_at"])
    op.create_table(
        "lead_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lead_notes_lead_time", "lead_notes", ["lead_id", "created_at"])
    op.create_table(
        "playbook_activations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_by", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(["hash"], ["playbooks.hash"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_playbook_activations_time", "playbook_activations", ["activated_at"])
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("last_touch_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_leads_updated_at", ["updated_at", "id"])
    with op.batch_alter_table("rep_status") as batch:
        batch.add_column(sa.Column("capacity", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rep_status") as batch:
        batch.drop_column("capacity")
    with op.batch_alter_table("leads") as batch:
        batch.drop_index("ix_leads_updated_at")
        batch.drop_column("last_touch_at")
    op.drop_index("ix_playbook_activations_time", table_name="playbook_activations")
    op.drop_table("playbook_activations")
    op.drop_index("ix_lead_notes_lead_time", table_name="lead_notes")
    op.drop_table("lead_notes")
    op.drop_index("ix_lead_touches_lead_time", table_name="lead_touches")
    op.drop_table("lead_touches")
