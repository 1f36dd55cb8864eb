"""leads identified by a CRM id: optional external_id (unique), e-mail optional

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # SQLite rebuilds the table to drop NOT NULL; dropping the old one must not trip the
        # foreign keys of activities and transitions (ids are copied unchanged). The PRAGMA only
        # takes effect outside a transaction; migrate() turns the checks back on afterwards.
        op.execute("PRAGMA foreign_keys=OFF")
    with op.batch_alter_table("leads") as batch:
        batch.alter_column("email", existing_type=sa.String(length=320), nullable=True)
        batch.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch.create_unique_constraint(op.f("uq_leads_external_id"), ["external_id"])
        batch.create_check_constraint("ck_leads_identity", "email IS NOT NULL OR external_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_constraint("ck_leads_identity", type_="check")
        batch.drop_constraint(op.f("uq_leads_external_id"), type_="unique")
        batch.drop_column("external_id")
        batch.alter_column("email", existing_type=sa.String(length=320), nullable=False)
