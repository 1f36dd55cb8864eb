"""summary of the leads each campaign reached, by local day, for the campaigns report

One row per campaign, local day and previous day of a lead–campaign pair (``adapters.store.
campaign_reach``): the distinct leads a campaign reached in a period become one range sum. The
days are local to the active playbook's time zone (the bundled default's when none was activated
yet, or when the stored one cannot be read): the upgrade records it in the setting
``summary_campaign_zone`` and fills the table from the activities already stored.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leadrelay.adapters.store.tables import settings

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTING = "summary_campaign_zone"


def upgrade() -> None:
    op.create_table(
        "summary_campaign_reach",
        sa.Column("campaign_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("day", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("since", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("lead_count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "day", "since", name="pk_summary_campaign_reach"),
    )
    op.create_index(
        "ix_summary_campaign_reach_day", "summary_campaign_reach", ["day", "since", "campaign_id", "lead_count"]
    )
    from leadrelay.adapters.store.campaign_reach import rebuild
    from leadrelay.adapters.store.migrations.stored_playbook import active_playbook
    from leadrelay.adapters.store.sql_store import StoreTx

    connection = op.get_bind()
    zone = str(active_playbook(connection).timezone)
    connection.execute(settings.insert().values(key=SETTING, value=zone))
    rebuild(StoreTx(connection), zone)


def downgrade() -> None:
    op.get_bind().execute(settings.delete().where(settings.c.key == SETTING))
    op.drop_table("summary_campaign_reach")
