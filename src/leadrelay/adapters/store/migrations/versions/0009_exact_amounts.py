"""outcome amounts are exact: 15 digits before the point and 4 after (text on SQLite)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MONEY = sa.Numeric(precision=19, scale=4).with_variant(sa.String(24), "sqlite")
_OLD = sa.Numeric(precision=18, scale=2)


def upgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.alter_column("amount", existing_type=_OLD, type_=_MONEY, existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.alter_column("amount", existing_type=_MONEY, type_=_OLD, existing_nullable=True)
