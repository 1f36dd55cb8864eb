"""personal-data erasure: erasure records, erased identities, erased leads, rejects files' paths

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("import_runs") as batch:
        batch.add_column(sa.Column("rejects_path", sa.Text(), nullable=True))
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=320), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counts", _JSON, nullable=False),
        sa.Column("files", _JSON, nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_erasures_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasures")),
        sa.UniqueConstraint("ref", name=op.f("uq_erasures_ref")),
        sa.UniqueConstraint("lead_id", name=op.f("uq_erasures_lead_id")),
    )
    op.create_table(
        "erased_identities",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_erased_identities")),
    )


def downgrade() -> None:
    op.drop_table("erased_identities")
    op.drop_table("erasures")
    with op.batch_alter_table("import_runs") as batch:
        batch.drop_column("rejects_path")
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("erased_at")
