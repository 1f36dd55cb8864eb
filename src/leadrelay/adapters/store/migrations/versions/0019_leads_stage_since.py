"""leads by stage and the moment they entered it: the aging report's counts, quantiles and
oldest leads read this index instead of the whole table

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index("ix_leads_stage_since", ["stage", "stage_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_stage_since")
