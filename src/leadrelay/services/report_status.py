"""Report ``status``: lead status and the lost-lead audit — who owns what, and the leads nobody follows.

A picture of now (``as_of``): the period does not filter it. Open leads are those in a stage sales
works (MQL, Pre-SQL when the playbook has it, SAL, SQL, Opportunity). Every check is a count (exact)
and a list of its leads, oldest first, at most ``limit`` long:

- ``untouched``: open leads with a rep and no touch since they were assigned (a touch sales
  recorded, or an activity of the playbook's ``sales.touch_types``, at or after ``assigned_at``),
  read from the assignments summary (``summary_assignments``: the lead's current assignment);
- ``waiting``: MQLs (and Pre-SQLs) with a rep who has neither accepted nor rejected them;
- ``silent``: SAL, SQL and Opportunity leads whose last sign of life — the later of the stage move,
  the last activity and the last touch — is more than ``inactive_days`` old (default: the
  playbook's ``sales.recycle.inactive_days``, else 14);
- ``away_owner``: open leads owned by a rep who is switched off, out of office today, or not in
  the playbook's routing;
- ``queued``: open leads without a rep (in a department's queue, the routing fallback's, or no
  owner at all), and open leads in the fallback department;
- ``sla_expired``: SLA clocks past their due time that still run (one row per clock: the lead is
  still an MQL with the rep of that assignment, and for a first-touch clock, still untouched);
- ``skewed``: reps whose open leads differ from their department's mean by more than ``skew``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from leadrelay.adapters.store.tables import UtcDateTime, activities, lead_touches, leads, summary_assignments, timers
from leadrelay.domain.lifecycle import Stage
from leadrelay.domain.routing import Rep, Routing
from leadrelay.services.read_models import Moment, ReadModel, local
from leadrelay.services.report_kit import (
    Report,
    ReportContext,
    ReportOption,
    ReportSpec,
    Table,
    col,
    title,
)
from leadrelay.services.routing import effective_routing

#: The optional Pre-SQL stage (inside sales qualified the lead, field sales has not answered yet).
PRE_SQL = "pre_sql"
#: Stages sales works, in funnel order (Pre-SQL shown only where leads are in it).
OPEN_STAGES: tuple[str, ...] = (
    Stage.MQL.value,
    PRE_SQL,
    Stage.SAL.value,
    Stage.SQL.value,
    Stage.OPPORTUNITY.value,
)
WAITING_STAGES: tuple[str, ...] = (Stage.MQL.value, PRE_SQL)
WORKED_STAGES: tuple[str, ...] = (Stage.SAL.value, Stage.SQL.value, Stage.OPPORTUNITY.value)
DEFAULT_INACTIVE_DAYS = 14.0
HOUR = 3600.0

#: Why a lead's owner cannot follow it (``away_owner``) or why it waits in a queue (``queued``).
REASONS: dict[str, tuple[str, str]] = {
    "inactive": ("rep switched off", "担当者が無効"),
    "out_of_office": ("rep out of office", "担当者が不在"),
    "not_in_playbook": ("rep not in the playbook", "プレイブックにない担当者"),
    "fallback": ("routing fallback queue", "ルーティングのフォールバック"),
    "no_active_rep": ("department has no active rep", "有効な担当者がいない部署"),
    "queued": ("waiting in the department's queue", "部署のキューで待機"),
    "no_owner": ("no owner", "担当なし"),
}


@dataclass(frozen=True, slots=True)
class CheckDef:
    key: str
    title: tuple[str, str]
    since: tuple[str, str]  # what the list's moment is
    unit: Literal["days", "hours"]  # how long since that moment


CHECKS: tuple[CheckDef, ...] = (
    CheckDef(
        "untouched",
        ("Not touched since assignment", "割り当て後に未接触"),
        ("Assigned at", "割り当て日時"),
        "days",
    ),
    CheckDef(
        "waiting",
        ("Waiting for accept or reject", "受入／差し戻し待ち"),
        ("Assigned at", "割り当て日時"),
        "days",
    ),
    CheckDef(
        "silent",
        ("With sales, no activity or touch", "営業保有・活動も接触もなし"),
        ("Last sign of life", "最終活動"),
        "days",
    ),
    CheckDef(
        "away_owner",
        ("Owned by an inactive or away rep", "無効・不在の担当者が保有"),
        ("Assigned at", "割り当て日時"),
        "days",
    ),
    CheckDef(
        "queued",
        ("Stuck in a queue", "キューで滞留"),
        ("In queue since", "キュー投入日時"),
        "days",
    ),
    CheckDef(
        "sla_expired",
        ("Expired SLA clocks", "期限切れのSLA"),
        ("Due at", "期限"),
        "hours",
    ),
)


class LeadLine(ReadModel):
    """One lead of a check's list."""

    lead_id: int
    lead: str | None  # e-mail or external id (None once erased)
    company: str | None
    stage: str
    level: int | None
    owner_department: str | None
    owner_rep: str | None
    since: Moment | None  # what the check counts from (see the check's ``since`` label)
    elapsed: float | None  # days (or hours for SLA clocks) from ``since`` to ``as_of``
    detail: str | None  # why: a REASONS key, or the SLA policy and clock


class Check(ReadModel):
    check: str
    label: dict[str, str]
    total: int  # exact, whatever ``limit`` is
    leads: list[LeadLine]  # oldest first, at most ``limit``


class Holding(ReadModel):
    """The open leads one holder has: a rep of a department, a department's queue (rep None) or
    nobody (both None)."""

    department: str | None
    rep: str | None
    rep_status: str | None  # available, inactive, out_of_office, not_in_playbook (None: a queue)
    stages: dict[str, int]
    open: int


class RepLoad(ReadModel):
    department: str
    rep: str
    open: int  # in the routing's open stages (what counts against capacity)
    department_mean: float  # mean open leads of the department's reps
    deviation: float | None  # open / mean - 1 (None when the mean is 0)
    skewed: bool


class StatusReport(Report):
    stages: list[str]  # the open stages shown
    inactive_days: float
    holdings: list[Holding]
    checks: list[Check]
    reps: list[RepLoad]
    reasons: dict[str, dict[str, str]]  # the ``detail`` keys of the lists: en and ja labels

    def check(self, key: str) -> Check:
        return next(c for c in self.checks if c.check == key)

    def tables(self) -> list[Table]:
        stage_columns = [col(s, s.upper().replace("_", "-"), s.upper().replace("_", "-"), "int") for s in self.stages]
        holdings = Table(
            name="ownership",
            title=title("Open leads by owner", "担当別の対応中リード"),
            columns=[
                col("department", "Department", "部署"),
                col("rep", "Rep", "担当者"),
                col("rep_status", "Rep status", "担当者の状態"),
                *stage_columns,
                col("open", "Open", "対応中", "int"),
            ],
            rows=[
                {
                    "department": h.department,
                    "rep": h.rep,
                    "rep_status": h.rep_status,
                    **{s: h.stages.get(s, 0) for s in self.stages},
                    "open": h.open,
                }
                for h in self.holdings
            ],
            totals={
                "department": "total",
                **{s: sum(h.stages.get(s, 0) for h in self.holdings) for s in self.stages},
                "open": sum(h.open for h in self.holdings),
            },
        )
        counts = Table(
            name="checks",
            title=title("Leads nobody follows: counts", "フォロー漏れの件数"),
            columns=[
                col("check", "Check", "項目キー"),
                col("label_en", "What", "内容（英語）"),
                col("label_ja", "What (Japanese)", "内容"),
                col("count", "Count", "件数", "int"),
            ],
            rows=[
                *(
                    {"check": c.check, "label_en": c.label["en"], "label_ja": c.label["ja"], "count": c.total}
                    for c in self.checks
                ),
                {
                    "check": "skewed",
                    "label_en": "Reps with skewed open leads",
                    "label_ja": "保有数に偏りのある担当者",
                    "count": sum(1 for r in self.reps if r.skewed),
                },
            ],
        )
        out = [holdings, counts]
        present = {c.check: c for c in self.checks}
        for definition in CHECKS:
            found = present.get(definition.key)
            if found is None:  # a trimmed answer (the OpenAPI example) shows the checks it has
                continue
            unit = ("Days", "日数") if definition.unit == "days" else ("Hours", "時間")
            out.append(
                Table(
                    name=definition.key,
                    title={"en": definition.title[0], "ja": definition.title[1]},
                    columns=[
                        col("lead", "Lead", "リード"),
                        col("company", "Company", "会社"),
                        col("stage", "Stage", "ステージ"),
                        col("level", "Level", "確度", "int"),
                        col("owner_department", "Department", "部署"),
                        col("owner_rep", "Rep", "担当者"),
                        col("since", *definition.since, "moment"),
                        col("elapsed", *unit, definition.unit),
                        col("detail", "Why", "理由"),
                    ],
                    rows=[line.model_dump(mode="json", exclude={"lead_id"}) for line in found.leads],
                )
            )
        out.append(
            Table(
                name="skewed",
                title=title("Open leads per rep against the department mean", "担当者別の保有数（部署平均比）"),
                columns=[
                    col("department", "Department", "部署"),
                    col("rep", "Rep", "担当者"),
                    col("open", "Open", "保有", "int"),
                    col("department_mean", "Department mean", "部署平均", "float"),
                    col("deviation", "Deviation", "乖離", "percent"),
                    col("skewed", "Skewed", "偏り"),
                ],
                rows=[r.model_dump(mode="json") for r in self.reps],
            )
        )
        return out


# --- the facts ------------------------------------------------------------------------------------


def _latest(dialect: str, *columns: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The latest of non-NULL moments, as SQL (SQLite's ``max`` of several values is a scalar)."""
    if dialect == "sqlite":
        return sa.func.max(*columns)
    return sa.func.greatest(*columns)


def _touched_since(ctx: ReportContext, since: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """The lead has a touch at or after ``since``: recorded by sales, or a touch-type activity."""
    by_sales = sa.exists().where(lead_touches.c.lead_id == leads.c.id, lead_touches.c.occurred_at >= since)
    types = sorted(ctx.playbook.sales.touch_types)
    if not types:
        return by_sales
    # one seek of the (lead_id, type, occurred_at) index per type: with an IN list over the middle
    # column PostgreSQL read every activity of the lead since ``since`` and filtered the types
    by_activity = [
        sa.exists().where(
            activities.c.lead_id == leads.c.id, activities.c.type == kind, activities.c.occurred_at >= since
        )
        for kind in types
    ]
    return sa.or_(by_sales, *by_activity)


def rep_statuses(routing: Routing | None, today: date) -> dict[str, str]:
    """Each rep of the playbook's routing (with what changed since): available, or why not."""
    if routing is None:
        return {}
    out = {}
    for rep in routing.reps.values():
        why = rep.unavailable(today)
        out[rep.id] = why if why in ("inactive", "out_of_office") else "available"
    return out


def _lines(
    ctx: ReportContext,
    where: sa.ColumnElement[bool],
    since: sa.ColumnElement[Any],
    *,
    unit: str,
    detail: sa.ColumnElement[Any] | None = None,
    source: sa.FromClause = leads,
    total: int | None = None,
    lead: sa.ColumnElement[int] = leads.c.id,
) -> tuple[int, list[Any]]:
    """The exact count of the rows matching ``where`` and the oldest ``limit`` of them: one pass
    over the rows (the count is a window over them all, beside the oldest ones). With ``total``
    (counted already, from the owners' counts), only the oldest rows are read — none when it is 0."""
    limit = int(ctx.options["limit"])
    if total is not None and (total == 0 or limit == 0):
        return total, []
    if limit == 0:
        return ctx.tx.execute(sa.select(sa.func.count()).select_from(source).where(where)).scalar_one(), []
    counted = sa.func.count().over() if total is None else sa.literal(total)
    # the oldest rows first, from what ``where`` reads (the owner index), then their leads' details
    oldest = (
        sa.select(
            lead.label("lead_id"),
            sa.type_coerce(since, UtcDateTime).label("since"),
            (detail if detail is not None else sa.null()).label("detail"),
            counted.label("total"),
        )
        .select_from(source)
        .where(where)
        .order_by(since, lead)
        .limit(limit)
        .subquery()
    )
    query = (
        sa.select(
            leads.c.id,
            leads.c.email,
            leads.c.external_id,
            leads.c.company_name,
            leads.c.stage,
            leads.c.level,
            leads.c.owner_department,
            leads.c.owner_rep,
            oldest.c.since,
            oldest.c.detail,
            oldest.c.total,
        )
        .join_from(oldest, leads, leads.c.id == oldest.c.lead_id)
        .order_by(oldest.c.since, oldest.c.lead_id)
    )
    scale = 86400.0 if unit == "days" else HOUR
    found = ctx.tx.execute(query).all()
    if total is None:
        total = int(found[0].total) if found else 0
    rows = [
        LeadLine(
            lead_id=r.id,
            lead=r.email or r.external_id,
            company=r.company_name,
            stage=r.stage,
            level=r.level,
            owner_department=r.owner_department,
            owner_rep=r.owner_rep,
            since=local(r.since, ctx.tz),
            elapsed=None if r.since is None else (ctx.now - r.since).total_seconds() / scale,
            detail=r.detail,
        )
        for r in found
    ]
    return total, rows


def _check(key: str, total: int, lines: list[LeadLine]) -> Check:
    definition = next(c for c in CHECKS if c.key == key)
    return Check(check=key, label={"en": definition.title[0], "ja": definition.title[1]}, total=total, leads=lines)


def _with_detail(lines: list[LeadLine], statuses: dict[str, str]) -> list[LeadLine]:
    """The lines with why their rep cannot follow them (a REASONS key)."""
    return [line.model_copy(update={"detail": statuses.get(line.owner_rep or "", "not_in_playbook")}) for line in lines]


def _department_reps(routing: Routing | None) -> dict[str, list[Rep]]:
    out: dict[str, list[Rep]] = {}
    if routing is None:
        return out
    for department in routing.departments:
        out[department] = []
    for rep in routing.reps.values():
        out.setdefault(rep.department, []).append(rep)
    return out


def run(ctx: ReportContext) -> StatusReport:
    tx, now, playbook = ctx.tx, ctx.now, ctx.playbook
    routing = effective_routing(tx, playbook.routing) if playbook.routing is not None else None
    today = now.astimezone(ctx.tz).date()
    statuses = rep_statuses(routing, today)
    visible = ctx.visible(leads.c.owner_rep, leads.c.owner_department)
    is_open = leads.c.stage.in_(OPEN_STAGES)
    at_now = sa.literal(now, UtcDateTime)

    # who owns what
    held: dict[tuple[str | None, str | None], dict[str, int]] = {}
    # the same counts of leads with an assignment moment (the checks of leads with a rep count those)
    assigned: dict[tuple[str | None, str | None], dict[str, int]] = {}
    for r in tx.execute(
        sa.select(
            leads.c.owner_department,
            leads.c.owner_rep,
            leads.c.stage,
            sa.func.count().label("n"),
            sa.func.count(leads.c.assigned_at).label("n_assigned"),
        )
        .where(is_open, visible)
        .group_by(leads.c.owner_department, leads.c.owner_rep, leads.c.stage)
    ):
        held.setdefault((r.owner_department, r.owner_rep), {})[r.stage] = r.n
        assigned.setdefault((r.owner_department, r.owner_rep), {})[r.stage] = r.n_assigned

    def owned(keys: Any, stages: tuple[str, ...] = OPEN_STAGES, of: Any = assigned) -> int:
        """Leads of the owners ``keys`` lets through (department, rep), in ``stages``, from the counts."""
        return sum(n for key, counts in of.items() if keys(*key) for stage, n in counts.items() if stage in stages)

    shown = [s for s in OPEN_STAGES if s != PRE_SQL or any(PRE_SQL in v for v in held.values())]
    holdings = [
        Holding(
            department=department,
            rep=rep,
            rep_status=None if rep is None else statuses.get(rep, "not_in_playbook"),
            stages=counts,
            open=sum(counts.values()),
        )
        for (department, rep), counts in sorted(held.items(), key=lambda kv: (kv[0][0] or "~", kv[0][1] or "~"))
    ]

    checks: list[Check] = []
    with_rep = sa.and_(is_open, visible, leads.c.owner_rep.is_not(None), leads.c.assigned_at.is_not(None))

    # untouched since assignment
    if tx.summary_touch_types() == tuple(sorted(playbook.sales.touch_types)):
        # the leads' current assignments without a touch, in the assignments summary (its index of them)
        c = summary_assignments
        total, lines = _lines(
            ctx,
            sa.and_(
                c.c.until.is_(None),
                c.c.touched_at.is_(None),
                c.c.touch_activity_at.is_(None),
                c.c.stage_now.in_(OPEN_STAGES),
                ctx.visible(c.c.rep_id, c.c.department),
            ),
            c.c.decided_at,
            unit="days",
            source=c,
            lead=c.c.lead_id,
        )
    else:  # derived with other touch types than the playbook's: from the facts
        total, lines = _lines(
            ctx, sa.and_(with_rep, sa.not_(_touched_since(ctx, leads.c.assigned_at))), leads.c.assigned_at, unit="days"
        )
    checks.append(_check("untouched", total, lines))

    # waiting for accept or reject
    with_a_rep = owned(lambda _, rep: rep is not None, WAITING_STAGES)
    total, lines = _lines(
        ctx, sa.and_(with_rep, leads.c.stage.in_(WAITING_STAGES)), leads.c.assigned_at, unit="days", total=with_a_rep
    )
    checks.append(_check("waiting", total, lines))

    # with sales, silent for N days
    days = ctx.options["inactive_days"]
    inactive_days = float(days if days is not None else (playbook.sales.inactive_days or DEFAULT_INACTIVE_DAYS))
    last_seen = _latest(
        tx.dialect,
        leads.c.stage_at,
        sa.func.coalesce(leads.c.last_activity_at, leads.c.stage_at),
        sa.func.coalesce(leads.c.last_touch_at, leads.c.stage_at),
    )
    cutoff = sa.literal(now - timedelta(days=inactive_days), UtcDateTime)
    total, lines = _lines(
        ctx,
        sa.and_(visible, leads.c.stage.in_(WORKED_STAGES), leads.c.owner_department.is_not(None), last_seen < cutoff),
        last_seen,
        unit="days",
    )
    checks.append(_check("silent", total, lines))

    # owned by an inactive or away rep
    # (the reps that cannot follow their leads, among the owners counted: their leads by the owner index)
    unfit = sorted({rep for _, rep in held if rep is not None and statuses.get(rep, "not_in_playbook") != "available"})
    total, lines = _lines(
        ctx,
        sa.and_(with_rep, leads.c.owner_rep.in_(unfit)),
        leads.c.assigned_at,
        unit="days",
        total=owned(lambda _, rep: rep in unfit),
    )
    checks.append(_check("away_owner", total, _with_detail(lines, statuses)))

    # stuck in a queue
    fallback = routing.fallback if routing is not None else None
    staffed = sorted(
        {rep.department for rep in routing.reps.values() if statuses.get(rep.id) != "inactive"} if routing else set()
    )
    queue_why = sa.case(
        (leads.c.owner_department.is_(None), sa.literal("no_owner")),
        (leads.c.owner_department == (fallback or ""), sa.literal("fallback")),
        (leads.c.owner_department.not_in(staffed) if staffed else sa.true(), sa.literal("no_active_rep")),
        else_=sa.literal("queued"),
    )
    in_queue = sa.or_(leads.c.owner_rep.is_(None), leads.c.owner_department == (fallback or ""))
    total, lines = _lines(
        ctx,
        sa.and_(is_open, visible, in_queue),
        sa.func.coalesce(leads.c.assigned_at, leads.c.stage_at),
        unit="days",
        detail=queue_why,
        total=owned(lambda department, rep: rep is None or department == (fallback or ""), of=held),
    )
    checks.append(_check("queued", total, lines))

    # expired SLA clocks: breach timers past due whose clock still runs
    clock = timers.c.payload["clock"].as_string()
    policy = timers.c.payload["policy"].as_string()
    running = sa.and_(
        timers.c.kind == "sla_breach",
        timers.c.due_at <= at_now,
        leads.c.stage == Stage.MQL.value,
        leads.c.owner_rep.is_not(None),
        leads.c.owner_rep == timers.c.payload["rep_id"].as_string(),
        timers.c.created_at >= leads.c.assigned_at,
        sa.or_(clock != "touch", sa.not_(_touched_since(ctx, leads.c.assigned_at))),
        visible,
    )
    source = timers.join(leads, leads.c.id == timers.c.lead_id)
    total, lines = _lines(ctx, running, timers.c.due_at, unit="hours", detail=policy + ": " + clock, source=source)
    checks.append(_check("sla_expired", total, lines))

    # skewed open leads per rep
    counted = [s.value for s in routing.open_stages] if routing is not None else list(OPEN_STAGES)
    per_rep: dict[tuple[str, str], int] = {}
    for (department, rep), counts in held.items():
        if department is not None and rep is not None:
            per_rep[(department, rep)] = sum(n for s, n in counts.items() if s in counted)
    members: dict[str, set[str]] = {d: {r.id for r in reps} for d, reps in _department_reps(routing).items()}
    for department, rep in per_rep:
        members.setdefault(department, set()).add(rep)
    threshold = float(ctx.options["skew"])
    loads: list[RepLoad] = []
    for department in sorted(members):
        reps = sorted(r for r in members[department] if ctx.visibility.sees(r, department))
        if not reps:
            continue
        everyone = sorted(members[department])
        mean = sum(per_rep.get((department, r), 0) for r in everyone) / len(everyone)
        for rep in reps:
            n = per_rep.get((department, rep), 0)
            deviation = None if mean == 0 else n / mean - 1
            loads.append(
                RepLoad(
                    department=department,
                    rep=rep,
                    open=n,
                    department_mean=mean,
                    deviation=deviation,
                    skewed=deviation is not None and abs(deviation) > threshold,
                )
            )
    return StatusReport(
        **ctx.base(),
        stages=shown,
        inactive_days=inactive_days,
        holdings=holdings,
        checks=checks,
        reps=loads,
        reasons={key: {"en": en, "ja": ja} for key, (en, ja) in REASONS.items()},
    )


SPEC = ReportSpec(
    name="status",
    title=("Lead status and lost-lead audit", "リード状況とフォロー漏れ監査"),
    description=(
        "Who owns which open leads, and the leads nobody follows: untouched, unanswered, silent, "
        "with away reps, stuck in queues, past their SLA; reps with skewed loads.",
        "対応中リードの担当状況と、フォロー漏れ（未接触・未回答・放置・不在担当・キュー滞留・SLA超過）、担当者の偏り。",
    ),
    run=run,
    model=StatusReport,
    default_days=1,
    options=(
        ReportOption(
            "limit",
            "int",
            50,
            ("Leads listed per check (counts stay exact)", "項目ごとに表示するリード数（件数は常に全件）"),
            minimum=0,
            maximum=10000,
        ),
        ReportOption(
            "inactive_days",
            "float",
            None,
            (
                "Days without activity or touch that make a lead with sales silent "
                "(default: the playbook's sales.recycle.inactive_days, else 14)",
                "営業保有リードを放置とみなす無活動日数（既定：プレイブックの sales.recycle.inactive_days、なければ14）",
            ),
            minimum=0.01,
            maximum=3650,
        ),
        ReportOption(
            "skew",
            "float",
            0.5,
            (
                "Flag a rep whose open leads differ from the department mean by more than this share",
                "部署平均からの乖離がこの割合を超える担当者を偏りとして表示",
            ),
            minimum=0,
            maximum=100,
        ),
    ),
)
