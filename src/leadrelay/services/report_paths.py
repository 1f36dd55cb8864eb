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

from leadrelay.adapters.store.tables import leads, opportunity_amounts, outcomes, transitions
from leadrelay.domain.lifecycle import Stage
from leadrelay.services.report_kit import Period, in_period

#: The optional Pre-SQL stage (inside sales qualified the MQL and handed it to field sales).
PRE_SQL = "pre_sql"
#: The steps a path can lead to, as the ``stage`` option offers them.
STEP_STAGES: tuple[str, ...] = (Stage.OPPORTUNITY.value, PRE_SQL, Stage.SQL.value)
#: Moves that send a lead away from sales: what makes a later step a nurture.
BREAKS: tuple[str, ...] = (Stage.REJECTED.value, Stage.RECYCLED.value)
DIRECT = "direct"
NURTURE = "nurture"


def steps(stage: str, period: Period | None = None) -> sa.Subquery:
    """Every step into ``stage`` (in ``period``, when given) with its path. Columns: ``id`` (the transition), ``lead_id``, ``at``, ``path``, ``nurture_from`` (the
    window's first break; NULL on the direct path), ``amount`` and ``currency``.

    Set-based, with no join between derived tables (whose sizes planners misjudge): the history of
    the leads with a step — steps and breaks only — is numbered by window functions: a row's
    ``turn`` is the number of the lead's steps before it, so a step and the breaks of its window
    share a turn; the step's loop ends at the first break after it. Each step is then joined to
    the base tables of amounts by the lead's index."""
    where = [transitions.c.to_stage == stage]
    if period is not None:
        where.append(in_period(transitions.c.occurred_at, period))
    stepped = sa.select(transitions.c.lead_id).where(*where)
    is_step = sa.case((transitions.c.to_stage == stage, 1), else_=0)
    order = (transitions.c.occurred_at, transitions.c.id)
    marked = (
        sa.select(
            transitions.c.id,
            transitions.c.lead_id,
            transitions.c.occurred_at.label("at"),
            is_step.label("is_step"),
            sa.func.coalesce(
                sa.func.sum(is_step).over(partition_by=transitions.c.lead_id, order_by=order, rows=(None, -1)), 0
            ).label("turn"),
        )
        .where(transitions.c.lead_id.in_(stepped), transitions.c.to_stage.in_((stage, *BREAKS)))
        .subquery("marked")
    )
    break_at = sa.case((marked.c.is_step == 0, marked.c.at), else_=sa.null())
    windows = sa.select(
        marked.c.id,
        marked.c.lead_id,
        marked.c.at,
        marked.c.is_step,
        sa.func.min(break_at).over(partition_by=(marked.c.lead_id, marked.c.turn)).label("nurture_from"),
        sa.func.min(break_at)
        .over(partition_by=marked.c.lead_id, order_by=(marked.c.at, marked.c.id), rows=(1, None))
        .label("loop_end"),
    ).subquery("windows")
    step = (
        sa.select(windows.c.id, windows.c.lead_id, windows.c.at, windows.c.nurture_from, windows.c.loop_end)
        .where(windows.c.is_step == 1, *([] if period is None else [in_period(windows.c.at, period)]))
        .subquery("step")
    )

    def in_loop(moment: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        return sa.and_(moment >= step.c.at, sa.or_(step.c.loop_end.is_(None), moment <= step.c.loop_end))

    oa, won = opportunity_amounts, outcomes
    joined = step.outerjoin(oa, sa.and_(oa.c.lead_id == step.c.lead_id, in_loop(oa.c.occurred_at))).outerjoin(
        won,
        sa.and_(
            won.c.lead_id == step.c.lead_id,
            won.c.outcome == "won",
            won.c.amount.is_not(None),
            in_loop(won.c.closed_at),
        ),
    )
    ranked = (
        sa.select(
            step.c.id,
            step.c.lead_id,
            step.c.at,
            step.c.nurture_from,
            oa.c.amount.label("opp_amount"),
            oa.c.currency.label("opp_currency"),
            won.c.amount.label("won_amount"),
            won.c.currency.label("won_currency"),
            sa.func.row_number()
            .over(partition_by=step.c.id, order_by=(oa.c.occurred_at, oa.c.id, won.c.closed_at, won.c.id))
            .label("rank"),
        )
        .select_from(joined)
        .subquery("ranked")
    )
    return (
        sa.select(
            ranked.c.id,
            ranked.c.lead_id,
            ranked.c.at,
            ranked.c.nurture_from,
            sa.case((ranked.c.nurture_from.is_(None), sa.literal(DIRECT)), else_=sa.literal(NURTURE)).label("path"),
            sa.func.coalesce(ranked.c.opp_amount, ranked.c.won_amount).label("amount"),
            sa.case((ranked.c.opp_amount.is_not(None), ranked.c.opp_currency), else_=ranked.c.won_currency).label(
                "currency"
            ),
        )
        .where(ranked.c.rank == 1)
        .subquery("steps")
    )


def with_owner(found: sa.FromClause, lead_id: sa.ColumnElement[Any], everything: bool) -> sa.FromClause:
    """``found`` joined to the lead of its ``lead_id`` column, for visibility by the lead's current
    owner — or ``found`` alone when the caller sees every lead (the join would only cost)."""
    return found if everything else found.join(leads, leads.c.id == lead_id)
