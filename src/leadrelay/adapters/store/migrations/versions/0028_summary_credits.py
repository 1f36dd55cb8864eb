"""summary of the campaigns report's credits: each conversion's first-touch, last-touch and linear credit per campaign

One row per conversion (a move into MQL or Opportunity, a won deal) and campaign that touched it
within the report's default influence window of 90 days (``adapters.store.summaries.credit_rows``),
kept in the same transaction as the facts; the upgrade fills it from the facts already stored.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leadrelay.adapters.store.tables import Money, UtcDateTime

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "summary_credits",
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("conversion", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("campaign_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("lead_id", sa.Integer, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("first", sa.Integer, nullable=False),
        sa.Column("last", sa.Integer, nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("amount", Money),
        sa.Column("currency", sa.String(3)),
        sa.Column("direct", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("kind", "conversion", "campaign_id", name="pk_summary_credits"),
    )
    op.create_index("ix_summary_credits_time", "summary_credits", ["at"])
    op.create_index("ix_summary_credits_lead", "summary_credits", ["lead_id"])
    from leadrelay.adapters.store.summaries import CREDITS, rebuild

    rebuild(op.get_bind(), (CREDITS,))


def downgrade() -> None:
    op.drop_table("summary_credits")
