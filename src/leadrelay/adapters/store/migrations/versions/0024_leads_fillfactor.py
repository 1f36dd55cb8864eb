"""PostgreSQL keeps 20 % of each page of ``leads`` free (fillfactor 80), so a rescore's score
updates stay HOT:

none of the columns a rescore writes (scores, level, fit gate, disqualification, playbook hash,
scored at) is indexed, so an update that finds room on the row's own page writes no index entry;
on a full page (the default fillfactor, 100) it writes one in each of the table's 11 indexes.
Rows stored before this revision keep their full pages until they move (an update, or a
``VACUUM FULL``, ``CLUSTER`` or ``pg_repack``); new and moved rows get the room. Measured on 100,000
leads rewritten by ``VACUUM FULL`` (shared cores): the rescore's write 3.4–4.9 s before, 2.0–2.8 s
after. SQLite has no such setting; nothing changes there.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 19:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE leads SET (fillfactor = 80)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE leads RESET (fillfactor)")
