"""account matching: readings, corroborating fields and name keys of accounts, their extra domains,
aliases and the changes people made, and the match decision on each lead

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(JSONB(astext_type=sa.Text()), "postgresql")
UtcDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("reading", sa.String(200)))
        batch.add_column(sa.Column("phone", sa.String(40)))
        batch.add_column(sa.Column("postal_code", sa.String(20)))
        batch.add_column(sa.Column("website", sa.String(255)))
        batch.add_column(sa.Column("name_key", sa.String(200)))
        batch.add_column(sa.Column("reading_key", sa.String(200)))
        batch.add_column(sa.Column("merged_into", sa.Integer))
        batch.create_index("ix_accounts_name_key", ["name_key"])
        batch.create_index("ix_accounts_reading_key", ["reading_key"])
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("match_tier", sa.Integer))
        batch.add_column(sa.Column("match", _JSON))
        batch.add_column(sa.Column("matched_at", UtcDateTime))
        batch.create_index("ix_leads_match_tier", ["match_tier"])
    op.create_table(
        "account_domains",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_account_domains"),
        sa.UniqueConstraint("domain", name="uq_account_domains_domain"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_account_domains_account_id_accounts"),
    )
    op.create_index("ix_account_domains_account_id", "account_domains", ["account_id"])
    op.create_table(
        "account_aliases",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_account_aliases"),
        sa.UniqueConstraint("account_id", "name_key", name="uq_account_aliases_account_key"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_account_aliases_account_id_accounts"),
    )
    op.create_index("ix_account_aliases_account_id", "account_aliases", ["account_id"])
    op.create_index("ix_account_aliases_name_key", "account_aliases", ["name_key"])
    op.create_table(
        "account_tokens",
        sa.Column("token", sa.String(40), nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("token", "account_id", name="pk_account_tokens"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_account_tokens_account_id_accounts"),
    )
    op.create_index("ix_account_tokens_account_id", "account_tokens", ["account_id"])
    op.create_table(
        "account_changes",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("other_account_id", sa.Integer),
        sa.Column("lead_id", sa.Integer),
        sa.Column("value", sa.Text),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_account_changes"),
    )
    op.create_index("ix_account_changes_kind_lead", "account_changes", ["kind", "lead_id"])


def downgrade() -> None:
    op.drop_table("account_changes")
    op.drop_table("account_tokens")
    op.drop_table("account_aliases")
    op.drop_table("account_domains")
    with op.batch_alter_table("leads") as batch:
        batch.drop_index("ix_leads_match_tier")
        batch.drop_column("matched_at")
        batch.drop_column("match")
        batch.drop_column("match_tier")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index("ix_accounts_reading_key")
        batch.drop_index("ix_accounts_name_key")
        for name in ("merged_into", "reading_key", "name_key", "website", "postal_code", "phone", "reading"):
            batch.drop_column(name)
