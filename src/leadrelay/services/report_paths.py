"""The two paths a lead takes to a pipeline step (Pre-SQL, SQL or Opportunity), as SQL: straight
from marketing's conversion (*direct*), or through inside sales' re-work of a lead sales had
rejected or sent back (*nurture*). Shared by the ``dependency`` and ``campaigns`` reports.

A **step** is one transition of a lead into the chosen stage (a lead that reaches it again after
a recycle has a second step). Its **window** runs from the lead's previous step into the same
stage (or from the lead's beginning) to the step. A **break** is a transition into ``rejected``
or ``recycled``. The step is on the **nurture** path when its window holds a break, and on the
**direct** path when it holds none; the nurture started at the window's first break. Moments are
ordered by ``occurred_at`` and, at the same moment, by the order the transitions were recorded
(their id), so moves made in one answer (rejected and recycled at once) keep their order.

The step's **loop** ends at the lead's first break after it. The step's **amount** is the amount
given when an opportunity was created in its loop (``opportunity_amounts``; the first one at or
after the step) and, when none was given, the amount of the deal won in the loop (``outcomes``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from leadrelay.adapters.store.summaries import PRE_SQL as PRE_SQL
from leadrelay.adapters.store.summaries import STEP_STAGES as STEP_STAGES
from leadrelay.adapters.store.tables import leads, summary_steps
from leadrelay.services.report_kit import Period, in_period

DIRECT = "direct"
NURTURE = "nurture"


def steps(stage: str, period: Period | None = None) -> sa.Subquery:
    """Every step into ``stage`` (in ``period``, when given) with its path, read from the steps'
    summary (``summary_steps``, derived per lead by ``adapters.store.summaries.step_rows`` as the
    facts change). Columns: ``id`` (the transition), ``lead_id``, ``at``, ``path``,
    ``nurture_from`` (the window's first break; NULL on the direct path), ``amount`` and
    ``currency``."""
    s = summary_steps
    where = [s.c.stage == stage]
    if period is not None:
        where.append(in_period(s.c.at, period))
    return (
        sa.select(
            s.c.id,
            s.c.lead_id,
            s.c.at,
            s.c.nurture_from,
            sa.case((s.c.nurture_from.is_(None), sa.literal(DIRECT)), else_=sa.literal(NURTURE)).label("path"),
            s.c.amount,
            s.c.currency,
        )
        .where(*where)
        .subquery("steps")
    )


def with_owner(found: sa.FromClause, lead_id: sa.ColumnElement[Any], everything: bool) -> sa.FromClause:
    """``found`` joined to the lead of its ``lead_id`` column, for visibility by the lead's current
    owner — or ``found`` alone when the caller sees every lead (the join would only cost)."""
    return found if everything else found.join(leads, leads.c.id == lead_id)
