"""The summary tables the reports read, kept equal to a recount of the facts.

Each summary is a set of rows per lead derived from that lead's facts by one set-based query
(SQLAlchemy Core, the same on SQLite and PostgreSQL). A unit of work records which leads' facts it
changed (``StoreTx.stale``) and, just before it commits, derives their rows again — deletes them and
inserts what the query gives now — so a summary is never behind the facts it was committed with,
and a process that dies mid-way loses the summary's change together with the facts' (one
transaction). ``rebuild`` derives every lead's rows (the migration that adds a summary runs it), and
``recount`` gives what the rows must be, for the test that proves they always are.

- ``loops`` (:data:`summary_loops`): one row per loop of a lead — from an MQL move up to its next
  MQL move — with the moment it reached each later stage, whether it ended, the reasons, its owner
  (the loop's last routing decision) and the campaign of the activity that made the MQL. Facts:
  the lead's moves, its routing decisions, its activities (an erasure).
- ``steps`` (:data:`summary_steps`): one row per move into Pre-SQL, SQL or Opportunity with its
  path (direct, or through a rejection or recycle: nurture) and its amount. Facts: the lead's
  moves, the amounts given for its opportunities, its won deals.
- ``credits`` (:data:`summary_credits`): one row per conversion (a move into MQL or Opportunity, a
  won deal) and campaign that touched it within :data:`CREDIT_WINDOW_DAYS` — its first-touch,
  last-touch and linear credit. Facts: the lead's moves, won deals, activities of a campaign, and
  the paths of its steps (``steps``, derived before it).
- ``assignments`` (:data:`summary_assignments`): one row per routing decision that gave a lead to
  a rep, up to the lead's next decision, with its answer, first touches, end and the MQL it came
  from. Facts: the lead's routing decisions, moves, recorded touches and activities of the touch
  types — the types are the active playbook's, recorded in the setting :data:`TOUCH_TYPES` when
  a playbook is put to use (:func:`retouch` derives the rows again when they change).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.dml import ReturningInsert

from leadrelay.adapters.store.sql_time import days_before, seconds_between
from leadrelay.adapters.store.tables import (
    activities,
    lead_touches,
    opportunity_amounts,
    outcomes,
    routing_decisions,
    settings,
    summary_assignments,
    summary_credits,
    summary_loops,
    summary_steps,
    transitions,
)
from leadrelay.adapters.store.times import stored_time
from leadrelay.domain.lifecycle import Stage

if TYPE_CHECKING:
    from leadrelay.adapters.store.sql_store import StoreTx

LOOPS = "loops"
STEPS = "steps"
ASSIGNMENTS = "assignments"
CREDITS = "credits"
#: Every summary, in the order they are derived (the credits read the steps' paths).
KINDS: tuple[str, ...] = (LOOPS, STEPS, ASSIGNMENTS, CREDITS)
#: The influence window the credits are derived with: touches up to this many days before a
#: conversion (the campaigns report's default; another window is counted from the facts).
CREDIT_WINDOW_DAYS = 90
#: The setting that holds the touch types (a JSON list) the assignments' ``touch_activity_at`` is
#: derived with: the active playbook's ``sales.touch_types`` (none recorded: no touch activity).
TOUCH_TYPES = "summary_touch_types"
#: Answers to an MQL: the triggers of an accept or a reject (a move into Pre-SQL answers it too).
ANSWERS: tuple[str, ...] = ("accepted", "rejected")
#: Leads per refreshing statement (a bound list of ids).
CHUNK = 500
#: Leads per statement of a routing set's in-place upkeep (fewer, larger statements: 4 index seeks a lead).
ROUTED_CHUNK = 5000
#: Routing decisions from which the assignments summary is kept in place (fewer: derived when settling).
IN_PLACE_FROM = 200

#: The optional Pre-SQL stage (inside sales qualified the MQL and handed it to field sales).
PRE_SQL = "pre_sql"
#: The stages after MQL a loop can reach, in order; each has a ``<stage>_at`` column.
LOOP_STAGES: tuple[str, ...] = (
    PRE_SQL,
    Stage.SAL.value,
    Stage.SQL.value,
    Stage.OPPORTUNITY.value,
    Stage.WON.value,
)
#: Stages a loop ends in (besides the next MQL).
EXITS: tuple[str, ...] = (
    Stage.REJECTED.value,
    Stage.LOST.value,
    Stage.RECYCLED.value,
    Stage.DISQUALIFIED.value,
    Stage.NURTURE.value,
    Stage.WON.value,
)
#: The stages a step can be a move into.
STEP_STAGES: tuple[str, ...] = (Stage.OPPORTUNITY.value, PRE_SQL, Stage.SQL.value)
#: Moves that send a lead away from sales: what makes a later step a nurture.
BREAKS: tuple[str, ...] = (Stage.REJECTED.value, Stage.RECYCLED.value)

LeadFilter = Callable[[sa.ColumnElement[Any]], list[sa.ColumnElement[bool]]]


def _stage(only: LeadFilter, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The ``to_stage`` column to compare: as it is for every lead (the ``(to_stage, occurred_at)``
    index reads each stage's moves), and as an expression no index serves when the rows are of a
    few leads — otherwise SQLite's planner reads every MQL move ever made through that index instead
    of the few leads' histories through ``(lead_id, …)``."""
    return column if only is _every else sa.func.coalesce(column, column)


def after_in_order(
    time: sa.ColumnElement[Any],
    id_: sa.ColumnElement[Any],
    than_time: sa.ColumnElement[Any],
    than_id: sa.ColumnElement[Any],
) -> sa.ColumnElement[bool]:
    """The row (``time``, ``id_``) comes after (``than_time``, ``than_id``) in (time, id) order: the
    next row of a lead's history is the least one for which this holds (one seek of its index)."""
    return sa.or_(time > than_time, sa.and_(time == than_time, id_ > than_id))


def _every(_: sa.ColumnElement[Any]) -> list[sa.ColumnElement[bool]]:
    return []


def _among(column: sa.ColumnElement[Any]) -> list[sa.ColumnElement[bool]]:
    """The leads of the ``lead_ids`` list given when the statement runs."""
    return [column.in_(sa.bindparam("lead_ids", expanding=True))]


def loop_rows(only: LeadFilter = _every) -> sa.Select[Any]:
    """The rows of :data:`summary_loops` for the leads ``only`` lets through, in its column order."""
    t = transitions
    following = t.alias("following")
    until = (
        sa.select(sa.func.min(following.c.occurred_at))
        .where(
            following.c.lead_id == t.c.lead_id,
            following.c.to_stage == Stage.MQL.value,
            after_in_order(following.c.occurred_at, following.c.id, t.c.occurred_at, t.c.id),
        )
        .scalar_subquery()
    )
    mqls = (
        sa.select(
            t.c.id.label("loop_id"),
            t.c.lead_id,
            t.c.occurred_at.label("start"),
            until.label("until"),
            t.c.level,
            t.c.activity_key,
        )
        .where(_stage(only, t.c.to_stage) == Stage.MQL.value, *only(t.c.lead_id))
        .cte("mqls")
        .prefix_with("MATERIALIZED")  # each loop's end found once, not once per use of it
    )
    rd = routing_decisions.alias("rd")
    decided_in_loop = sa.and_(
        rd.c.lead_id == mqls.c.lead_id,
        rd.c.decided_at >= mqls.c.start,
        sa.or_(mqls.c.until.is_(None), rd.c.decided_at < mqls.c.until),
    )
    latest = (rd.c.decided_at.desc(), rd.c.id.desc())
    owned = (
        sa.select(
            mqls.c.loop_id,
            mqls.c.lead_id,
            mqls.c.start,
            mqls.c.until,
            mqls.c.level,
            activities.c.campaign_id,
            sa.select(rd.c.rep_id).where(decided_in_loop).order_by(*latest).limit(1).scalar_subquery().label("rep_id"),
            sa.select(rd.c.department)
            .where(decided_in_loop)
            .order_by(*latest)
            .limit(1)
            .scalar_subquery()
            .label("department"),
        )
        .select_from(mqls.outerjoin(activities, activities.c.key == mqls.c.activity_key))
        .cte("owned")
        .prefix_with("MATERIALIZED")  # each loop's owner found once
    )
    s = transitions.alias("s")
    in_loop = sa.and_(
        s.c.lead_id == owned.c.lead_id,
        s.c.occurred_at >= owned.c.start,
        sa.or_(owned.c.until.is_(None), s.c.occurred_at < owned.c.until),
    )
    why = sa.case(
        (s.c.from_stage == Stage.REJECTED.value, "after_rejection"),
        (s.c.from_stage == Stage.LOST.value, "after_lost"),
        (s.c.actor == "engine", "inactive"),
        else_="by_sales",
    )
    grouped = (
        owned.c.loop_id,
        owned.c.lead_id,
        owned.c.start,
        owned.c.until,
        owned.c.level,
        owned.c.campaign_id,
        owned.c.rep_id,
        owned.c.department,
    )
    return (
        sa.select(
            *grouped,
            *[sa.func.min(sa.case((s.c.to_stage == stage, s.c.occurred_at))) for stage in LOOP_STAGES],
            sa.func.max(sa.case((s.c.to_stage.in_(EXITS), 1), else_=0)) == 1,
            sa.func.min(sa.case((s.c.to_stage == Stage.REJECTED.value, s.c.rule_id))),
            sa.func.min(sa.case((s.c.to_stage == Stage.RECYCLED.value, why))),
        )
        .select_from(owned.outerjoin(s, in_loop))  # every loop, even one with no move of its own
        .group_by(*grouped)
    )


def step_rows(stage: str, only: LeadFilter = _every) -> sa.Select[Any]:
    """The rows of :data:`summary_steps` into ``stage`` for the leads ``only`` lets through.

    Set-based, with no join between derived tables (whose sizes planners misjudge): the history of
    the leads with a step — steps and breaks only — is numbered by window functions: a row's
    ``turn`` is the number of the lead's steps before it, so a step and the breaks of its window
    share a turn; the step's loop ends at the first break after it. Each step is then joined to
    the base tables of amounts by the lead's index."""
    to_stage = _stage(only, transitions.c.to_stage)
    stepped = sa.select(transitions.c.lead_id).where(to_stage == stage, *only(transitions.c.lead_id))
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
        .where(transitions.c.lead_id.in_(stepped), *only(transitions.c.lead_id), to_stage.in_((stage, *BREAKS)))
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
        .where(windows.c.is_step == 1)
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
    return sa.select(
        ranked.c.id,
        sa.literal(stage, sa.String).label("stage"),
        ranked.c.lead_id,
        ranked.c.at,
        ranked.c.nurture_from,
        sa.func.coalesce(ranked.c.opp_amount, ranked.c.won_amount).label("amount"),
        sa.case((ranked.c.opp_amount.is_not(None), ranked.c.opp_currency), else_=ranked.c.won_currency).label(
            "currency"
        ),
    ).where(ranked.c.rank == 1)


def earliest(values: Sequence[sa.ColumnElement[Any]]) -> sa.ColumnElement[Any]:
    """The earliest of moments that may be NULL, as SQL (NULL if all are): a fold of CASEs, since
    SQLite's ``min`` of several values is NULL when one is and PostgreSQL's ``least`` is not."""
    if not values:
        return sa.null()
    out = values[0]
    for value in values[1:]:
        out = sa.case((out.is_(None), value), (sa.or_(value.is_(None), out <= value), out), else_=value)
    return out


def touch_activity_seeks(
    lead: sa.ColumnElement[Any],
    start: sa.ColumnElement[Any],
    until: sa.ColumnElement[Any],
    touch_types: Collection[str],
) -> list[sa.ScalarSelect[Any]]:
    """The first activity of each touch type of the lead in [start, until) (until NULL: open), as
    scalar subqueries — one seek of the (lead_id, type, occurred_at) index each (an IN list over the
    middle column made PostgreSQL read every later activity of the lead and filter the types)."""
    window = sa.and_(
        activities.c.lead_id == lead,
        activities.c.occurred_at >= start,
        sa.or_(until.is_(None), activities.c.occurred_at < until),
    )
    return [
        sa.select(sa.func.min(activities.c.occurred_at)).where(window, activities.c.type == kind).scalar_subquery()
        for kind in sorted(touch_types)
    ]


def _newest_move(column: sa.ColumnElement[Any], *where: sa.ColumnElement[bool]) -> sa.ScalarSelect[Any]:
    """``column`` of the newest move (in (occurred_at, id) order) of those ``where`` lets through:
    one backward seek of the lead's (lead_id, occurred_at) index."""
    h = column.table
    return sa.select(column).where(*where).order_by(h.c.occurred_at.desc(), h.c.id.desc()).limit(1).scalar_subquery()


def _assignment_row(
    source: Any,
    *,
    at_mql: sa.ColumnElement[Any],
    until: sa.ColumnElement[Any],
    answered: sa.ColumnElement[Any],
    leaving: sa.ColumnElement[Any],
    touched: sa.ColumnElement[Any],
    touch_activity: sa.ColumnElement[Any],
    stage_now: sa.ColumnElement[Any],
) -> sa.Select[Any]:
    """A row of :data:`summary_assignments` in its column order, from ``source`` (a decision's id,
    lead_id, decided_at, rep_id, department, level and the id of its MQL move ``mql_id``) and the
    moments given: the level is the decision's, else the MQL's; the MQL's moment and its activity's
    are joined here."""
    mql = transitions.alias("mql")
    made_by = activities.alias("made_by")  # the activity that made the lead an MQL
    return sa.select(
        source.c.id,
        source.c.lead_id,
        source.c.decided_at,
        source.c.rep_id,
        source.c.department,
        sa.func.coalesce(source.c.level, mql.c.level).label("level"),
        at_mql.label("at_mql"),
        until.label("until"),
        answered.label("answered_at"),
        leaving.label("leaving_at"),
        touched.label("touched_at"),
        touch_activity.label("touch_activity_at"),
        mql.c.occurred_at.label("mql_at"),
        made_by.c.occurred_at.label("activity_at"),
        stage_now.label("stage_now"),
    ).select_from(
        source.outerjoin(mql, mql.c.id == source.c.mql_id).outerjoin(made_by, made_by.c.key == mql.c.activity_key)
    )


def assignment_rows(touch_types: Collection[str], only: LeadFilter = _every) -> sa.Select[Any]:
    """The rows of :data:`summary_assignments` for the leads ``only`` lets through, in its column
    order: each decision with a rep, its end (the lead's next decision in (decided_at, id) order)
    and, within it, the first answer, move out of MQL, recorded touch and touch-type activity —
    each one seek of its table's (lead_id, [type,] time) index."""
    rd = routing_decisions
    later = rd.alias("later")
    until = (
        sa.select(sa.func.min(later.c.decided_at))
        .where(
            later.c.lead_id == rd.c.lead_id,
            after_in_order(later.c.decided_at, later.c.id, rd.c.decided_at, rd.c.id),
        )
        .scalar_subquery()
    )
    a = (
        sa.select(
            rd.c.id,
            rd.c.lead_id,
            rd.c.decided_at,
            rd.c.rep_id,
            rd.c.department,
            rd.c.level,
            until.label("until"),
        )
        .where(rd.c.rep_id.is_not(None), *only(rd.c.lead_id))
        .cte("assignments")
        .prefix_with("MATERIALIZED")  # each assignment's end found once, not once per use of it
    )

    def within(lead: Any, moment: Any) -> sa.ColumnElement[bool]:
        return sa.and_(lead == a.c.lead_id, moment >= a.c.decided_at, sa.or_(a.c.until.is_(None), moment < a.c.until))

    t = transitions.alias("t")
    leaving = sa.select(sa.func.min(t.c.occurred_at)).where(
        within(t.c.lead_id, t.c.occurred_at), t.c.from_stage == Stage.MQL.value
    )
    answered = leaving.where(sa.or_(t.c.trigger.in_(ANSWERS), t.c.to_stage == PRE_SQL))
    touched = sa.select(sa.func.min(lead_touches.c.occurred_at)).where(
        within(lead_touches.c.lead_id, lead_touches.c.occurred_at)
    )
    # the lead's history up to the decision, newest first: its last move (the stage it was in) and
    # its last MQL move (lower() keeps SQLite from scanning the to_stage index instead); on its
    # current assignment, the lead's stage now: its last move (any move after a lead's first marks
    # its assignments to be derived again)
    h = transitions.alias("h")
    before = (h.c.lead_id == a.c.lead_id, h.c.occurred_at <= a.c.decided_at)
    stage_then = _newest_move(h.c.to_stage, *before)
    mql_id = _newest_move(h.c.id, *before, sa.func.lower(h.c.to_stage) == Stage.MQL.value)
    stage_now = _newest_move(h.c.to_stage, h.c.lead_id == a.c.lead_id)
    seeks = touch_activity_seeks(a.c.lead_id, a.c.decided_at, a.c.until, touch_types)
    inner = (
        sa.select(
            a.c.id,
            a.c.lead_id,
            a.c.decided_at,
            a.c.rep_id,
            a.c.department,
            a.c.level,
            sa.func.coalesce(stage_then == Stage.MQL.value, False).label("at_mql"),
            a.c.until,
            answered.scalar_subquery().label("answered_at"),
            leaving.scalar_subquery().label("leaving_at"),
            touched.scalar_subquery().label("touched_at"),
            *[seek.label(f"touch_activity_{i}") for i, seek in enumerate(seeks)],
            mql_id.label("mql_id"),
            sa.case((a.c.until.is_(None), stage_now), else_=sa.null()).label("stage_now"),
        )
        .cte("assigned")
        .prefix_with("MATERIALIZED")
    )  # each seek made once (the earliest touch reads them twice)
    return _assignment_row(
        inner,
        at_mql=inner.c.at_mql,
        until=inner.c.until,
        answered=inner.c.answered_at,
        leaving=inner.c.leaving_at,
        touched=inner.c.touched_at,
        touch_activity=earliest([inner.c[f"touch_activity_{i}"] for i in range(len(seeks))]),
        stage_now=inner.c.stage_now,
    )


def credit_rows(only: LeadFilter = _every) -> sa.Select[Any]:
    """The rows of :data:`summary_credits` for the leads ``only`` lets through: each conversion's
    touches (the lead's activities of a campaign from :data:`CREDIT_WINDOW_DAYS` days before its
    anchor up to it, both included) numbered in (time, id) order, the first and the last marked,
    grouped by campaign. A conversion's anchor is its moment; a won deal's, the lead's last move
    into Opportunity at or before the close (the close when there is none)."""
    t, o = transitions, outcomes
    null_amount = sa.cast(sa.null(), o.c.amount.type)
    null_currency = sa.cast(sa.null(), o.c.currency.type)
    mqls = sa.select(
        sa.literal("mql", sa.String).label("kind"),
        t.c.id.label("conversion"),
        t.c.lead_id,
        t.c.occurred_at.label("at"),
        t.c.occurred_at.label("anchor"),
        null_amount.label("amount"),
        null_currency.label("currency"),
        sa.literal(0).label("direct"),
    ).where(_stage(only, t.c.to_stage) == Stage.MQL.value, *only(t.c.lead_id))
    s_ = summary_steps
    opportunities = sa.select(
        sa.literal("opportunity", sa.String).label("kind"),
        s_.c.id.label("conversion"),
        s_.c.lead_id,
        s_.c.at,
        s_.c.at.label("anchor"),
        null_amount.label("amount"),
        null_currency.label("currency"),
        sa.case((s_.c.nurture_from.is_(None), 1), else_=0).label("direct"),
    ).where(_stage(only, s_.c.stage) == Stage.OPPORTUNITY.value, *only(s_.c.lead_id))
    last_opportunity = (
        sa.select(sa.func.max(t.c.occurred_at))
        .where(t.c.lead_id == o.c.lead_id, t.c.to_stage == Stage.OPPORTUNITY.value, t.c.occurred_at <= o.c.closed_at)
        .scalar_subquery()
    )
    won = sa.select(
        sa.literal("won", sa.String).label("kind"),
        o.c.id.label("conversion"),
        o.c.lead_id,
        o.c.closed_at.label("at"),
        sa.func.coalesce(last_opportunity, o.c.closed_at).label("anchor"),
        o.c.amount,
        o.c.currency,
        sa.literal(0).label("direct"),
    ).where(o.c.outcome == "won", *only(o.c.lead_id))
    conversions = sa.union_all(mqls, opportunities, won).subquery("conversions")
    a = activities
    window = CREDIT_WINDOW_DAYS
    partition = (conversions.c.kind, conversions.c.conversion)
    in_order = (a.c.occurred_at, a.c.id)
    touches = (
        sa.select(
            conversions,
            a.c.campaign_id,
            sa.func.row_number().over(partition_by=partition, order_by=in_order).label("position"),
            sa.func.count().over(partition_by=partition, order_by=in_order, rows=(None, None)).label("n"),
        )
        .select_from(
            conversions.join(
                a,
                sa.and_(
                    a.c.lead_id == conversions.c.lead_id,
                    a.c.campaign_id.is_not(None),
                    a.c.occurred_at <= conversions.c.anchor,
                    # a bound the index ranges over (a day early: never too late), then the exact window
                    a.c.occurred_at >= days_before(conversions.c.anchor, sa.literal(window + 1)),
                    seconds_between(a.c.occurred_at, conversions.c.anchor) <= window * 86400.0,
                ),
            )
        )
        .subquery("touches")
    )
    c = touches.c
    return sa.select(
        c.kind,
        c.conversion,
        c.campaign_id,
        c.lead_id,
        c.at,
        sa.func.max(sa.case((c.position == 1, 1), else_=0)).label("first"),
        sa.func.max(sa.case((c.position == c.n, 1), else_=0)).label("last"),
        (sa.cast(sa.func.count(), sa.Float) / sa.cast(c.n, sa.Float)).label("share"),
        c.amount,
        c.currency,
        c.direct,
    ).group_by(c.kind, c.conversion, c.campaign_id, c.lead_id, c.at, c.amount, c.currency, c.direct, c.n)


def credited_again(tx: StoreTx, stored: Iterable[Iterable[Mapping[str, Any]]]) -> set[int]:
    """Of the leads given activities of a campaign (``stored``: lists of activity rows), those whose
    credits they can change: a touch counts only up to its conversion, so an activity after every
    conversion of its lead — the usual case, an activity arriving as it happens — changes none
    (a conversion in the same transaction marks its lead through its move). Conservative: a lead
    with a move into MQL or Opportunity, or a won deal, at or after the earliest such activity."""
    earliest: dict[int, Any] = {}
    for rows in stored:
        for r in rows:
            if r["campaign_id"] is not None:
                lead, at = r["lead_id"], r["occurred_at"]
                if lead not in earliest or at < earliest[lead]:
                    earliest[lead] = at
    if not earliest:
        return set()
    since = min(earliest.values())
    ids = sorted(earliest)
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        part = {"lead_ids": ids[start : start + CHUNK], "since": since}
        converted: list[Any] = list(tx.execute(_CONVERTED_SINCE, part))
        for converted_lead, at in converted:
            if stored_time(at) >= earliest[converted_lead]:
                found.add(converted_lead)
    return found


def _converted_since() -> sa.Select[Any]:
    """The latest conversion moment (MQL or Opportunity move, won deal's close) at or after
    ``since`` of each of the ``lead_ids`` that has one."""
    since = sa.bindparam("since", type_=transitions.c.occurred_at.type)
    t, o = transitions, outcomes
    moves = sa.select(t.c.lead_id, t.c.occurred_at.label("at")).where(
        *_among(t.c.lead_id),
        sa.func.coalesce(t.c.to_stage, t.c.to_stage).in_((Stage.MQL.value, Stage.OPPORTUNITY.value)),
        t.c.occurred_at >= since,
    )
    deals = sa.select(o.c.lead_id, o.c.closed_at.label("at")).where(
        *_among(o.c.lead_id), o.c.outcome == "won", o.c.closed_at >= since
    )
    both = sa.union_all(moves, deals).subquery("converted")
    return sa.select(both.c.lead_id, sa.func.max(both.c.at)).group_by(both.c.lead_id)


_CONVERTED_SINCE = _converted_since()


def _derivations(
    kind: str, only: LeadFilter, touch_types: tuple[str, ...] = ()
) -> list[tuple[sa.Table, sa.Select[Any]]]:
    if kind == LOOPS:
        return [(summary_loops, loop_rows(only))]
    if kind == ASSIGNMENTS:
        return [(summary_assignments, assignment_rows(touch_types, only))]
    if kind == CREDITS:
        return [(summary_credits, credit_rows(only))]
    return [(summary_steps, step_rows(stage, only)) for stage in STEP_STAGES]


_TABLES = {LOOPS: summary_loops, STEPS: summary_steps, ASSIGNMENTS: summary_assignments, CREDITS: summary_credits}


def table_of(kind: str) -> sa.Table:
    """The table of the ``kind`` summary."""
    return _TABLES[kind]


_RECORDED_TOUCH_TYPES = sa.select(settings.c.value).where(settings.c.key == TOUCH_TYPES)


def recorded_touch_types(connection: sa.Connection | StoreTx) -> tuple[str, ...] | None:
    """The touch types the assignments summary is derived with (None: none recorded yet)."""
    value = connection.execute(_RECORDED_TOUCH_TYPES).scalar_one_or_none()
    return None if value is None else tuple(sorted(json.loads(value)))


def retouch(tx: StoreTx, touch_types: Collection[str]) -> bool:
    """Record ``touch_types`` (the playbook put to use) as the ones the assignments summary is
    derived with; if they differ from those recorded, derive every assignment again (the first
    touch-type activity of each changes). True if they did."""
    wanted = tuple(sorted(touch_types))
    if tx.summary_touch_types() == wanted:
        return False
    tx.set_summary_touch_types(wanted)
    tx.execute(summary_assignments.delete())
    tx.execute(_insert(summary_assignments, assignment_rows(wanted)))
    tx.stale[ASSIGNMENTS].clear()  # every lead's rows are derived: nothing is left to refresh
    return True


def _insert(target: sa.Table, rows: sa.Select[Any]) -> sa.Insert:
    return target.insert().from_select([c.name for c in target.columns], rows)


@cache
def _refreshing(kind: str, touch_types: tuple[str, ...]) -> tuple[sa.Executable, ...]:
    """The statements that derive the ``kind`` rows of the ``lead_ids`` again, built once."""
    table = table_of(kind)
    delete = table.delete().where(*_among(table.c.lead_id))
    return (delete, *[_insert(target, rows) for target, rows in _derivations(kind, _among, touch_types)])


def touched_by_moves(moves: Iterable[tuple[int, str, str]]) -> dict[str, set[int]]:
    """The leads whose rows of each summary the moves (``(lead_id, from_stage, to_stage)``, written
    or removed) can change. A lead's first move (from ``new``) into anything but MQL is before any
    loop — the move most leads make, into nurture — so it changes no loop and no assignment
    (routing gives only MQL and Pre-SQL leads to reps: a lead's first move is before its first
    assignment); a step's rows depend only on the lead's steps and breaks; a lead's credits only on
    its MQL moves and its steps (and its won deals and campaign activities, marked where stored)."""
    loops: set[int] = set()
    steps: set[int] = set()
    mqls: set[int] = set()
    for lead_id, from_stage, to_stage in moves:
        if to_stage == Stage.MQL.value:
            mqls.add(lead_id)
        if to_stage == Stage.MQL.value or from_stage != Stage.NEW.value:
            loops.add(lead_id)
        if to_stage in STEP_STAGES or to_stage in BREAKS:
            steps.add(lead_id)
    # credits: the MQL moves are conversions; the steps' moves give the opportunities, their paths
    # and a won deal's anchor (its last opportunity)
    return {LOOPS: loops, STEPS: steps, ASSIGNMENTS: set(loops), CREDITS: mqls | steps}


def _owner_update() -> sa.Update:
    """A routing decision (lead, moment, rep, department) made the owner of the loop it falls in,
    unless that loop already holds a later decision (the owner is the loop's last one; a decision
    stored now has the largest id, so it comes last among those at its moment)."""
    loop = summary_loops
    rd = routing_decisions
    lead: sa.BindParameter[int] = sa.bindparam("d_lead", type_=sa.Integer)
    at: sa.BindParameter[Any] = sa.bindparam("d_at", type_=loop.c.start.type)
    later = (
        sa.select(rd.c.id)
        .where(
            rd.c.lead_id == lead,
            rd.c.decided_at > at,
            rd.c.decided_at >= loop.c.start,
            sa.or_(loop.c.until.is_(None), rd.c.decided_at < loop.c.until),
        )
        .exists()
    )
    return (
        loop.update()
        .where(loop.c.lead_id == lead, loop.c.start <= at, sa.or_(loop.c.until.is_(None), loop.c.until > at), ~later)
        .values(rep_id=sa.bindparam("d_rep"), department=sa.bindparam("d_department"))
    )


_OWNER_UPDATE = _owner_update()


def decided(tx: StoreTx, decisions: Iterable[tuple[int, Any, str | None, str]]) -> None:
    """Routing decisions just stored (``(lead_id, decided_at, rep_id, department)``, in the order
    they were stored): each loop's owner follows them in place — one indexed update per decision
    instead of deriving the lead's loops again. (A loop that does not exist yet because its MQL
    move is in this same transaction is derived whole when the transaction settles.)"""
    rows = [
        {"d_lead": lead, "d_at": at, "d_rep": rep, "d_department": department}
        for lead, at, rep, department in decisions
    ]
    if rows:
        tx.execute(_OWNER_UPDATE, rows)
        _assigned(tx, [(lead, at) for lead, at, _, _ in decisions])


def _nothing_after(at: sa.BindParameter[Any]) -> list[sa.ColumnElement[bool]]:
    """Conditions on a routing decision (a row of ``routing_decisions`` at ``at``): nothing of its
    lead follows it that an assignment times — no move, recorded touch or touch-type activity (types
    ``touch_types``) at or after it — and no other routing decision of the lead at or after it."""
    rd = routing_decisions
    lead = rd.c.lead_id
    other = rd.alias("other")
    return [
        ~sa.select(transitions.c.id).where(transitions.c.lead_id == lead, transitions.c.occurred_at >= at).exists(),
        ~sa.select(lead_touches.c.id).where(lead_touches.c.lead_id == lead, lead_touches.c.occurred_at >= at).exists(),
        ~sa.select(activities.c.id)
        .where(
            activities.c.lead_id == lead,
            activities.c.type.in_(sa.bindparam("touch_types", expanding=True)),
            activities.c.occurred_at >= at,
        )
        .exists(),
        ~sa.select(other.c.id).where(other.c.lead_id == lead, other.c.decided_at >= at, other.c.id != rd.c.id).exists(),
    ]


def _queued() -> sa.Select[tuple[int]]:
    """Of the ``lead_ids``, those given to a queue (no rep) at ``d_at`` that nothing follows
    (:func:`_nothing_after`): their current assignment just ends there."""
    at: sa.BindParameter[Any] = sa.bindparam("d_at", type_=routing_decisions.c.decided_at.type)
    rd = routing_decisions
    return sa.select(rd.c.lead_id).where(
        *_among(rd.c.lead_id), rd.c.decided_at == at, rd.c.rep_id.is_(None), *_nothing_after(at)
    )


def _opened() -> ReturningInsert[tuple[int]]:
    """The rows of the decisions at ``d_at`` of the ``lead_ids`` that nothing follows — no move,
    recorded touch or touch-type activity (types ``touch_types``) at or after it, no other routing
    decision of the lead at or after it — returning their leads: for them the derivation of
    :func:`assignment_rows` gives no end, answer or touch, the stage then is the stage now (the
    lead's last move), and the MQL its last MQL move (the common case: a lead routed now)."""
    at: sa.BindParameter[Any] = sa.bindparam("d_at", type_=routing_decisions.c.decided_at.type)
    rd = routing_decisions
    lead = rd.c.lead_id
    h = transitions.alias("h")
    decisions = (
        sa.select(
            rd.c.id,
            rd.c.lead_id,
            rd.c.decided_at,
            rd.c.rep_id,
            rd.c.department,
            rd.c.level,
            _newest_move(h.c.to_stage, h.c.lead_id == lead).label("stage"),
            _newest_move(h.c.id, h.c.lead_id == lead, sa.func.lower(h.c.to_stage) == Stage.MQL.value).label("mql_id"),
        )
        .where(*_among(lead), rd.c.decided_at == at, rd.c.rep_id.is_not(None), *_nothing_after(at))
        .cte("opened")
        .prefix_with("MATERIALIZED")
    )
    none = sa.null()
    rows = _assignment_row(
        decisions,
        at_mql=sa.func.coalesce(decisions.c.stage == Stage.MQL.value, False),
        until=none,
        answered=none,
        leaving=none,
        touched=none,
        touch_activity=none,
        stage_now=decisions.c.stage,
    )
    return _insert(summary_assignments, rows).returning(summary_assignments.c.lead_id)


_OPENED = _opened()
_QUEUED = _queued()
#: The assignments the decisions at ``d_at`` just opened (:data:`_OPENED`) follow end there.
_CLOSE = (
    summary_assignments.update()
    .where(
        *_among(summary_assignments.c.lead_id),
        summary_assignments.c.until.is_(None),
        summary_assignments.c.decided_at < sa.bindparam("d_at", type_=summary_assignments.c.decided_at.type),
    )
    .values(until=sa.bindparam("d_at"), stage_now=None)
)


def _assigned(tx: StoreTx, decisions: Sequence[tuple[int, Any]]) -> None:
    """Routing decisions just stored (``(lead_id, decided_at)``): the assignments summary follows
    them — in place for the leads with nothing at or after the decision (the new assignment opens
    empty and the one before ends there: :data:`_OPENED`, :data:`_CLOSE`), derived again when the transaction
    settles for the others. Either way the rows equal :func:`assignment_rows` (the recount tests)."""
    pending = tx.stale[ASSIGNMENTS]  # derived again at the end anyway (moves of theirs were written)
    fresh = [(lead, at) for lead, at in decisions if lead not in pending]
    if len(fresh) < IN_PLACE_FROM:  # a few: two statements when it settles cost less than three now
        tx.changed((ASSIGNMENTS,), (lead for lead, _ in fresh))
        return
    by_moment: dict[Any, list[int]] = {}
    for lead, at in fresh:
        by_moment.setdefault(at, []).append(lead)
    types = list(tx.summary_touch_types() or ()) or [""]  # (an IN list needs a value: no type is "")
    others: set[int] = set()
    for at, ids in by_moment.items():
        unique = sorted(set(ids))
        for start in range(0, len(unique), ROUTED_CHUNK):
            part = unique[start : start + ROUTED_CHUNK]
            given = {"d_at": at, "touch_types": types}
            opened = set(tx.execute(_OPENED, {"lead_ids": part, **given}).scalars())
            rest = sorted(set(part) - opened)
            queued = set(tx.execute(_QUEUED, {"lead_ids": rest, **given}).scalars()) if rest else set()
            others.update(set(rest) - queued)  # something follows the decision: derived when settling
            if opened or queued:
                tx.execute(_CLOSE, {"lead_ids": sorted(opened | queued), "d_at": at})
    tx.changed((ASSIGNMENTS,), others)


def refresh(tx: StoreTx, kind: str, lead_ids: Iterable[int]) -> None:
    """Derive the ``kind`` rows of ``lead_ids`` again from their facts as this transaction sees them."""
    ids = sorted(set(lead_ids))
    if not ids:
        return
    statements = _refreshing(kind, (tx.summary_touch_types() or ()) if kind == ASSIGNMENTS else ())
    for start in range(0, len(ids), CHUNK):
        part = {"lead_ids": ids[start : start + CHUNK]}
        for statement in statements:
            tx.execute(statement, part)


def rebuild(connection: sa.Connection, kinds: Iterable[str] = KINDS) -> None:
    """Derive every lead's rows of the ``kinds`` summaries again (on a connection inside a transaction)."""
    touch_types = recorded_touch_types(connection) or ()
    for kind in kinds:
        connection.execute(table_of(kind).delete())
        for target, rows in _derivations(kind, _every, touch_types):
            connection.execute(_insert(target, rows))


def recount(connection: sa.Connection, kind: str) -> list[tuple[Any, ...]]:
    """The rows the ``kind`` summary must hold now, derived from the facts (sorted by key)."""
    out: list[tuple[Any, ...]] = []
    for _, rows in _derivations(kind, _every, recorded_touch_types(connection) or ()):
        out.extend(tuple(r) for r in connection.execute(rows))
    width = len(table_of(kind).primary_key.columns)  # the key's columns come first
    return sorted(out, key=lambda r: r[:width])


def stored(connection: sa.Connection, kind: str) -> list[tuple[Any, ...]]:
    """The rows the ``kind`` summary holds (sorted by key), in :func:`recount`'s form."""
    table = table_of(kind)
    return [tuple(r) for r in connection.execute(sa.select(table).order_by(*table.primary_key.columns))]
