"""fewer index entries written per routing decision: two indexes whose every query another index serves

* ``ix_routing_decisions_rep_time`` (rep_id, decided_at): the queries that read decisions by rep —
  leads received per rep since a moment (the weekly caps), the quality report's leads received per
  rep and per step — all bound the time, and ``ix_routing_decisions_time`` (decided_at, kind,
  department, rep_id, lead_id) carries the rep: a range of that index, read alone. Each decision
  wrote one entry more for nothing (on SQLite a decision's entry lands at a random place in it).
* ``ix_leads_stage`` (stage): the first column of ``ix_leads_stage_since`` (stage, stage_at, id) and
  of ``ix_leads_stage_owner``; every query by stage seeks those. On PostgreSQL an owner update
  (not HOT: the owner is indexed) writes an entry in every index of ``leads``, this one included.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 19:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_routing_decisions_rep_time", table_name="routing_decisions")
    op.drop_index("ix_leads_stage", table_name="leads")


def downgrade() -> None:
    op.create_index("ix_leads_stage", "leads", ["stage"])
    op.create_index("ix_routing_decisions_rep_time", "routing_decisions", ["rep_id", "decided_at"])
