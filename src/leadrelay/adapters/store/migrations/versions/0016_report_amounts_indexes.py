"""the amount sales gives when it creates an opportunity (the pipeline amount the dependency report
sums); two partial indexes of campaign activities the campaigns report reads by (a lead's touches
before a conversion; the leads a campaign reached in a period), covering so no table row is read

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CAMPAIGN_INDEXES = {
    "ix_activities_campaign_touches": ["lead_id", "occurred_at", "campaign_id"],
    "ix_activities_campaign_time": ["occurred_at", "campaign_id", "lead_id"],
}
_MONEY = sa.Numeric(precision=19, scale=4).with_variant(sa.String(24), "sqlite")


def upgrade() -> None:
    op.create_table(
        "opportunity_amounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", _MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_opportunity_amounts_lead_time", "opportunity_amounts", ["lead_id", "occurred_at"])
    for name, columns in _CAMPAIGN_INDEXES.items():
        op.create_index(
            name,
            "activities",
            columns,
            postgresql_where=sa.text("campaign_id IS NOT NULL"),
            sqlite_where=sa.text("campaign_id IS NOT NULL"),
        )


def downgrade() -> None:
    for name in _CAMPAIGN_INDEXES:
        op.drop_index(name, table_name="activities")
    op.drop_index("ix_opportunity_amounts_lead_time", table_name="opportunity_amounts")
    op.drop_table("opportunity_amounts")
