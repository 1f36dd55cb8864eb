"""routing: lead owners, decision log, round-robin turns, rep status

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_rep", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("owner_department", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_leads_owner_rep"), ["owner_rep"], unique=False)

    op.create_table(
        "routing_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("rule_id", sa.String(length=80), nullable=True),
        sa.Column("department", sa.String(length=80), nullable=False),
        sa.Column("strategy", sa.String(length=40), nullable=True),
        sa.Column("rep_id", sa.String(length=80), nullable=True),
        sa.Column("previous_rep", sa.String(length=80), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "details", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("playbook_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_routing_decisions_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_decisions")),
    )
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_routing_decisions_lead_time", ["lead_id", "decided_at"], unique=False)
        batch_op.create_index("ix_routing_decisions_rep_time", ["rep_id", "decided_at"], unique=False)

    op.create_table(
        "routing_counters",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_routing_counters")),
    )
    op.create_table(
        "rep_status",
        sa.Column("rep_id", sa.String(length=80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("away_from", sa.Date(), nullable=True),
        sa.Column("away_to", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rep_id", name=op.f("pk_rep_status")),
    )


def downgrade() -> None:
    op.drop_table("rep_status")
    op.drop_table("routing_counters")
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_decisions_rep_time")
        batch_op.drop_index("ix_routing_decisions_lead_time")
    op.drop_table("routing_decisions")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leads_owner_rep"))
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("owner_department")
        batch_op.drop_column("owner_rep")
