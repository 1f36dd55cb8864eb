"""indexes for the reports: open leads by stage, owner and assignment time (the status report's
counts read the index alone), leads by creation time with stage, account and owner (the quality
report's effective leads and unique companies), routing decisions by time (intake per department
and leads received per rep)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-14 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_leads_stage_owner", "leads", ["stage", "owner_department", "owner_rep", "assigned_at"])
    op.create_index(
        "ix_leads_created_owner", "leads", ["created_at", "stage", "account_id", "owner_department", "owner_rep"]
    )
    op.create_index(
        "ix_routing_decisions_time", "routing_decisions", ["decided_at", "kind", "department", "rep_id", "lead_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_routing_decisions_time", table_name="routing_decisions")
    op.drop_index("ix_leads_created_owner", table_name="leads")
    op.drop_index("ix_leads_stage_owner", table_name="leads")
