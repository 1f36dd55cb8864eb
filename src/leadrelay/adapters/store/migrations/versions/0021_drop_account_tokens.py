"""drop account_tokens: the blocking index of close-name matching lives in each process's memory
(``domain.matching.MatchIndex``, kept current by the accounts' change log), so the table was
written on every account change and never read

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 14:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_account_tokens_account_id", table_name="account_tokens")
    op.drop_table("account_tokens")


def downgrade() -> None:
    op.create_table(
        "account_tokens",
        sa.Column("token", sa.String(40), nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("token", "account_id", name="pk_account_tokens"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_account_tokens_account_id_accounts"),
    )
    op.create_index("ix_account_tokens_account_id", "account_tokens", ["account_id"])
