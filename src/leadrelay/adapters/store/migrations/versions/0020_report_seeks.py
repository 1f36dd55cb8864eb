"""indexes for the reports' seeks into one lead's facts:

- activities by lead, type and time: "touched since" checks (the status report's untouched
  leads and expired clocks, the SLA report's first touch by a touch-type activity) seek the
  lead's touch types instead of reading every activity of the lead after the moment;
- transitions by lead and time also carry the stages moved between, so the reports' reads of a
  lead's history (the funnel's loops, the SLA report's answers, the dependency report's paths)
  read the index alone (it replaces the (lead_id, occurred_at) index of the same name)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index("ix_activities_lead_type_time", ["lead_id", "type", "occurred_at"], unique=False)
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_transitions_lead_time")
        batch_op.create_index(
            "ix_transitions_lead_time", ["lead_id", "occurred_at", "to_stage", "from_stage"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_transitions_lead_time")
        batch_op.create_index("ix_transitions_lead_time", ["lead_id", "occurred_at"], unique=False)
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_lead_type_time")
