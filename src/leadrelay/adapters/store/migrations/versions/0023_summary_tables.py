"""summary tables the reports read: the funnel's loops and the pipeline steps, derived per lead

Both are derived from the facts (moves, routing decisions, amounts, won deals) and kept up to date in
the same transaction as the facts (``adapters.store.summaries``). The upgrade fills them from the
facts already stored.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leadrelay.adapters.store.tables import Money, UtcDateTime

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "summary_loops",
        sa.Column("loop_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("lead_id", sa.Integer, nullable=False),
        sa.Column("start", UtcDateTime, nullable=False),
        sa.Column("until", UtcDateTime),
        sa.Column("level", sa.Integer),
        sa.Column("campaign_id", sa.Integer),
        sa.Column("rep_id", sa.String(80)),
        sa.Column("department", sa.String(80)),
        sa.Column("pre_sql_at", UtcDateTime),
        sa.Column("sal_at", UtcDateTime),
        sa.Column("sql_at", UtcDateTime),
        sa.Column("opportunity_at", UtcDateTime),
        sa.Column("won_at", UtcDateTime),
        sa.Column("exited", sa.Boolean, nullable=False),
        sa.Column("rejected", sa.String(80)),
        sa.Column("recycled", sa.String(20)),
        sa.PrimaryKeyConstraint("loop_id", name="pk_summary_loops"),
    )
    op.create_index("ix_summary_loops_start", "summary_loops", ["start"])
    op.create_index("ix_summary_loops_lead", "summary_loops", ["lead_id"])
    op.create_table(
        "summary_steps",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("lead_id", sa.Integer, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("nurture_from", UtcDateTime),
        sa.Column("amount", Money),
        sa.Column("currency", sa.String(3)),
        sa.PrimaryKeyConstraint("id", name="pk_summary_steps"),
    )
    op.create_index("ix_summary_steps_stage_time", "summary_steps", ["stage", "at"])
    op.create_index("ix_summary_steps_lead", "summary_steps", ["lead_id"])
    from leadrelay.adapters.store.summaries import LOOPS, STEPS, rebuild

    rebuild(op.get_bind(), (LOOPS, STEPS))  # the summaries this revision creates (later ones come later)


def downgrade() -> None:
    op.drop_table("summary_steps")
    op.drop_table("summary_loops")
