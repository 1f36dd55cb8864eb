"""Report ``quality``: lead quality, MQL volume against what was agreed, and rep workload and fairness.

Over the period, grouped ``by`` month (default) or week:

- ``leads``: leads created in each step, how many are *effective* (not disqualified now), their
  share, and the unique companies among them — distinct accounts: ten people of one company are
  one company; a lead without an account (a free-mail address that named no known company, a card
  without a domain) is no company. The totals row counts distinct companies over the whole period.
- ``disqualified``: the leads created in the period that are disqualified now, by reason.
- ``mql_target``: MQLs delivered each month (moves into MQL, a re-qualified lead counted again)
  against the playbook's ``targets.mqls_per_month``, prorated for months the period cuts.
- ``capacity``: each week, the MQLs each department received (distinct leads handed to it by a
  ``route`` or ``level`` routing decision) against its ``targets.weekly_intake``, prorated for
  weeks the period cuts.
- ``workload``: each rep's open leads (the routing's open stages) against capacity now, and the
  leads routing gave them in the period (every decision naming them: route, level, reassign).
- ``fairness``: per department, the spread of leads received per unit of routing weight over its
  reps: min, max, mean, population standard deviation and Gini coefficient.
- ``received``: the leads routing gave each rep in each step.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from leadrelay.adapters.store.tables import leads, routing_decisions, transitions
from leadrelay.domain.lifecycle import Stage
from leadrelay.services.read_models import ReadModel
from leadrelay.services.report_kit import (
    Bucket,
    Report,
    ReportContext,
    ReportSpec,
    Table,
    bucket_of,
    buckets,
    col,
    in_period,
    share,
    title,
)
from leadrelay.services.report_paths import with_owner
from leadrelay.services.report_status import rep_statuses
from leadrelay.services.routing import effective_routing, load_state

#: Routing decisions that hand a department a lead it did not hold (``reassign`` moves it inside).
INTAKE_KINDS = ("route", "level")


class LeadQuality(ReadModel):
    bucket: str
    leads: int  # created in the step
    effective: int  # of them, not disqualified now
    effective_ratio: float | None
    disqualified: int
    companies: int  # distinct accounts of the leads
    effective_companies: int  # distinct accounts of the effective leads
    without_company: int  # leads with no account


class DisqualifiedReason(ReadModel):
    reason: str
    leads: int
    share: float | None  # of the leads created in the period


class MqlTarget(ReadModel):
    month: str
    mqls: int
    target: float | None  # prorated to the days of the month in the period
    attainment: float | None  # mqls / target
    gap: float | None  # mqls - target


class Intake(ReadModel):
    week: str
    department: str
    received: int
    capacity: float | None  # targets.weekly_intake, prorated to the days of the week in the period
    load: float | None  # received / capacity


class RepWorkload(ReadModel):
    department: str
    rep: str
    status: str  # available, inactive, out_of_office
    weight: float
    open: int
    capacity: int | None
    utilisation: float | None  # open / capacity
    received: int  # leads routing gave the rep in the period
    department_share: float | None  # of the leads the department's reps received


class Fairness(ReadModel):
    department: str
    reps: int
    received: int
    min: float | None  # of received / weight per rep
    max: float | None
    mean: float | None
    stddev: float | None  # population standard deviation
    gini: float | None  # 0: every rep got the same per unit of weight; towards 1: one rep got all


class RepReceived(ReadModel):
    bucket: str
    department: str
    rep: str
    received: int


class QualityReport(Report):
    leads: list[LeadQuality]
    totals: LeadQuality  # over the whole period: companies counted once
    disqualified: list[DisqualifiedReason]
    mql_target: list[MqlTarget]
    mqls_per_month: int | None
    capacity: list[Intake]
    workload: list[RepWorkload]
    fairness: list[Fairness]
    received: list[RepReceived]

    def tables(self) -> list[Table]:
        mql_total = sum(m.mqls for m in self.mql_target)
        target_total = sum(m.target for m in self.mql_target if m.target is not None) if self.mqls_per_month else None
        received_total = sum(i.received for i in self.capacity)
        capacity_total = (
            sum(i.capacity for i in self.capacity if i.capacity is not None)
            if any(i.capacity is not None for i in self.capacity)
            else None
        )
        return [
            Table(
                name="leads",
                title=title("Effective leads and unique companies", "有効リードとユニーク社数"),
                columns=[
                    col("bucket", "Period", "期間"),
                    col("leads", "Leads", "リード数", "int"),
                    col("effective", "Effective", "有効リード", "int"),
                    col("effective_ratio", "Effective ratio", "有効リード率", "percent"),
                    col("disqualified", "Disqualified", "対象外", "int"),
                    col("companies", "Unique companies", "ユニーク社数", "int"),
                    col("effective_companies", "Companies (effective)", "ユニーク社数（有効）", "int"),
                    col("without_company", "No company", "会社なし", "int"),
                ],
                rows=[q.model_dump(mode="json") for q in self.leads],
                totals={**self.totals.model_dump(mode="json"), "bucket": "total"},
            ),
            Table(
                name="disqualified",
                title=title("Disqualified leads by reason", "対象外リードの理由"),
                columns=[
                    col("reason", "Reason", "理由"),
                    col("leads", "Leads", "リード数", "int"),
                    col("share", "Share of leads", "リードに占める割合", "percent"),
                ],
                rows=[d.model_dump(mode="json") for d in self.disqualified],
                totals={
                    "reason": "total",
                    "leads": sum(d.leads for d in self.disqualified),
                    "share": share(sum(d.leads for d in self.disqualified), self.totals.leads),
                },
            ),
            Table(
                name="mql_target",
                title=title("MQLs delivered against the monthly target", "月間MQL目標に対する実績"),
                columns=[
                    col("month", "Month", "月"),
                    col("mqls", "MQLs", "MQL数", "int"),
                    col("target", "Target", "目標", "float"),
                    col("attainment", "Attainment", "達成率", "percent"),
                    col("gap", "Gap", "差", "float"),
                ],
                rows=[m.model_dump(mode="json") for m in self.mql_target],
                totals={
                    "month": "total",
                    "mqls": mql_total,
                    "target": target_total,
                    "attainment": share(mql_total, target_total) if target_total is not None else None,
                    "gap": None if target_total is None else mql_total - target_total,
                },
            ),
            Table(
                name="capacity",
                title=title("Weekly MQL intake against capacity", "週次MQL受け入れ数と処理能力"),
                columns=[
                    col("week", "Week", "週"),
                    col("department", "Department", "部署"),
                    col("received", "MQLs received", "受け入れMQL", "int"),
                    col("capacity", "Weekly capacity", "週次処理能力", "float"),
                    col("load", "Load", "負荷率", "percent"),
                ],
                rows=[i.model_dump(mode="json") for i in self.capacity],
                totals={
                    "week": "total",
                    "received": received_total,
                    "capacity": capacity_total,
                    "load": share(received_total, capacity_total) if capacity_total is not None else None,
                },
            ),
            Table(
                name="workload",
                title=title("Rep workload", "担当者の負荷"),
                columns=[
                    col("department", "Department", "部署"),
                    col("rep", "Rep", "担当者"),
                    col("status", "Status", "状態"),
                    col("weight", "Weight", "重み", "float"),
                    col("open", "Open", "保有", "int"),
                    col("capacity", "Capacity", "上限", "int"),
                    col("utilisation", "Utilisation", "使用率", "percent"),
                    col("received", "Received", "受け取り", "int"),
                    col("department_share", "Share of department", "部署内シェア", "percent"),
                ],
                rows=[w.model_dump(mode="json") for w in self.workload],
                totals={
                    "department": "total",
                    "open": sum(w.open for w in self.workload),
                    "received": sum(w.received for w in self.workload),
                },
            ),
            Table(
                name="fairness",
                title=title("Fairness of distribution (per unit of weight)", "配分の公平性（重みあたり）"),
                columns=[
                    col("department", "Department", "部署"),
                    col("reps", "Reps", "担当者数", "int"),
                    col("received", "Received", "受け取り", "int"),
                    col("min", "Min", "最小", "float"),
                    col("max", "Max", "最大", "float"),
                    col("mean", "Mean", "平均", "float"),
                    col("stddev", "Std. dev.", "標準偏差", "float"),
                    col("gini", "Gini", "ジニ係数", "float"),
                ],
                rows=[f.model_dump(mode="json") for f in self.fairness],
            ),
            Table(
                name="received",
                title=title("Leads received per rep", "担当者別の受け取り数"),
                columns=[
                    col("bucket", "Period", "期間"),
                    col("department", "Department", "部署"),
                    col("rep", "Rep", "担当者"),
                    col("received", "Received", "受け取り", "int"),
                ],
                rows=[r.model_dump(mode="json") for r in self.received],
                totals={"bucket": "total", "received": sum(r.received for r in self.received)},
            ),
        ]


# --- arithmetic -----------------------------------------------------------------------------------


def gini(values: list[float]) -> float | None:
    """The Gini coefficient: the mean absolute difference over all ordered pairs, divided by twice
    the mean (0 for equal values; None without values or when they are all 0)."""
    n = len(values)
    total = sum(values)
    if n == 0 or total == 0:
        return None
    differences = sum(abs(a - b) for a in values for b in values)
    return differences / (2 * n * total)


def spread(values: list[float]) -> tuple[float | None, float | None, float | None, float | None]:
    """Min, max, mean and population standard deviation."""
    if not values:
        return None, None, None, None
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / len(values)
    return min(values), max(values), mean, variance**0.5


def prorated(per_step: int | None, step: Bucket, full_days: int) -> float | None:
    """A target for a whole step (month, week), for the days of the step inside the period."""
    if per_step is None:
        return None
    days = (step.ends_at - step.starts_at) / timedelta(days=1)
    return per_step * round(days) / full_days


def _month_days(step: Bucket) -> int:
    first = step.start
    following = (first + timedelta(days=32)).replace(day=1)
    return (following - first).days


# --- the report -----------------------------------------------------------------------------------


def run(ctx: ReportContext) -> QualityReport:
    tx, playbook = ctx.tx, ctx.playbook
    steps = ctx.buckets()
    visible = ctx.visible(leads.c.owner_rep, leads.c.owner_department)
    created = in_period(leads.c.created_at, ctx.period)
    disqualified = leads.c.stage == Stage.DISQUALIFIED.value
    effective = sa.not_(disqualified)

    # effective leads and unique companies
    def quality(group: sa.ColumnElement[Any] | None) -> dict[Any, LeadQuality]:
        key = group if group is not None else sa.literal("total")
        query = (
            sa.select(
                key.label("g"),
                sa.func.count().label("leads"),
                sa.func.count(sa.case((effective, 1))).label("effective"),
                sa.func.count(sa.distinct(leads.c.account_id)).label("companies"),
                sa.func.count(sa.distinct(sa.case((effective, leads.c.account_id)))).label("effective_companies"),
                sa.func.count(sa.case((leads.c.account_id.is_(None), 1))).label("without_company"),
            )
            .where(created, visible)
            .group_by(key)
        )
        return {
            r.g: LeadQuality(
                bucket=str(r.g),
                leads=r.leads,
                effective=r.effective,
                effective_ratio=share(r.effective, r.leads),
                disqualified=r.leads - r.effective,
                companies=r.companies,
                effective_companies=r.effective_companies,
                without_company=r.without_company,
            )
            for r in tx.execute(query)
            if r.g is not None
        }

    empty = {"leads": 0, "effective": 0, "effective_ratio": None, "disqualified": 0}
    nothing = {**empty, "companies": 0, "effective_companies": 0, "without_company": 0}
    by_step = quality(bucket_of(leads.c.created_at, steps))
    lead_rows = [by_step.get(s.key) or LeadQuality(bucket=s.key, **nothing) for s in steps]
    totals = quality(None).get("total") or LeadQuality(bucket="total", **nothing)

    reasons = [
        DisqualifiedReason(reason=r.reason or "-", leads=r.n, share=share(r.n, totals.leads))
        for r in tx.execute(
            sa.select(leads.c.dq_reason.label("reason"), sa.func.count().label("n"))
            .where(created, visible, disqualified)
            .group_by(leads.c.dq_reason)
            .order_by(sa.func.count().desc(), leads.c.dq_reason)
        )
    ]

    # MQLs delivered per month against the target
    months = buckets(ctx.period, "month", ctx.tz)
    month = bucket_of(transitions.c.occurred_at, months)
    mqls = {
        r.g: r.n
        for r in tx.execute(
            sa.select(month.label("g"), sa.func.count().label("n"))
            # the lead's owner only for a view of some leads: marketing's counts one index range
            .select_from(with_owner(transitions, transitions.c.lead_id, ctx.visibility.everything))
            .where(transitions.c.to_stage == Stage.MQL.value, in_period(transitions.c.occurred_at, ctx.period), visible)
            .group_by(month)
        )
    }
    per_month = playbook.targets.mqls_per_month
    targets = []
    for step in months:
        n = mqls.get(step.key, 0)
        target = prorated(per_month, step, _month_days(step))
        targets.append(
            MqlTarget(
                month=step.key,
                mqls=n,
                target=target,
                attainment=share(n, target) if target is not None else None,
                gap=None if target is None else n - target,
            )
        )

    # weekly intake per department against capacity
    weeks = buckets(ctx.period, "week", ctx.tz)
    week = bucket_of(routing_decisions.c.decided_at, weeks)
    decisions_visible = ctx.visible(routing_decisions.c.rep_id, routing_decisions.c.department)
    in_range = in_period(routing_decisions.c.decided_at, ctx.period)
    received_by: dict[tuple[str, str], int] = {
        (r.g, r.department): r.n
        for r in tx.execute(
            sa.select(
                week.label("g"),
                routing_decisions.c.department,
                sa.func.count(sa.distinct(routing_decisions.c.lead_id)).label("n"),
            )
            .where(routing_decisions.c.kind.in_(INTAKE_KINDS), in_range, decisions_visible)
            .group_by(week, routing_decisions.c.department)
        )
    }
    routing = effective_routing(tx, playbook.routing) if playbook.routing is not None else None
    intake_targets = playbook.targets.weekly_intake
    declared = list(routing.departments) if routing is not None else []
    taking = {d for _, d in received_by} | set(intake_targets)
    taking |= {r.department for r in routing.reps.values()} if routing is not None else set()
    departments = [d for d in declared if d in taking and _sees_department(ctx, d)]
    departments += sorted({d for _, d in received_by if _sees_department(ctx, d)} - set(departments))
    capacity = []
    for step in weeks:
        for department in departments:
            n = received_by.get((step.key, department), 0)
            weekly = prorated(intake_targets.get(department), step, 7)
            capacity.append(
                Intake(
                    week=step.key,
                    department=department,
                    received=n,
                    capacity=weekly,
                    load=share(n, weekly) if weekly is not None else None,
                )
            )

    # rep workload, fairness and leads received
    workload: list[RepWorkload] = []
    fairness: list[Fairness] = []
    received_rows: list[RepReceived] = []
    if routing is not None:
        state = load_state(tx, routing)
        statuses = rep_statuses(routing, ctx.now.astimezone(ctx.tz).date())
        given = {
            r.rep_id: r.n
            for r in tx.execute(
                sa.select(routing_decisions.c.rep_id, sa.func.count().label("n"))
                .where(routing_decisions.c.rep_id.is_not(None), in_range)
                .group_by(routing_decisions.c.rep_id)
            )
        }
        step_of = bucket_of(routing_decisions.c.decided_at, steps)
        given_by_step = {
            (r.g, r.rep_id): r.n
            for r in tx.execute(
                sa.select(step_of.label("g"), routing_decisions.c.rep_id, sa.func.count().label("n"))
                .where(routing_decisions.c.rep_id.is_not(None), in_range)
                .group_by(step_of, routing_decisions.c.rep_id)
            )
        }
        reps = [r for r in routing.reps.values() if ctx.visibility.sees(r.id, r.department)]
        department_received: dict[str, int] = {}
        for rep in routing.reps.values():
            department_received[rep.department] = department_received.get(rep.department, 0) + given.get(rep.id, 0)
        for rep in sorted(reps, key=lambda r: (r.department, r.id)):
            open_now = state.open_leads.get(rep.id, 0)
            workload.append(
                RepWorkload(
                    department=rep.department,
                    rep=rep.id,
                    status=statuses.get(rep.id, "available"),
                    weight=rep.weight,
                    open=open_now,
                    capacity=rep.capacity,
                    utilisation=share(open_now, rep.capacity) if rep.capacity else None,
                    received=given.get(rep.id, 0),
                    department_share=share(given.get(rep.id, 0), department_received.get(rep.department, 0))
                    if _sees_department(ctx, rep.department)
                    else None,
                )
            )
            for step in steps:
                received_rows.append(
                    RepReceived(
                        bucket=step.key,
                        department=rep.department,
                        rep=rep.id,
                        received=given_by_step.get((step.key, rep.id), 0),
                    )
                )
        for department in routing.departments:
            members = [r for r in routing.reps.values() if r.department == department]
            if not members or not _sees_department(ctx, department):
                continue
            per_weight = [given.get(r.id, 0) / r.weight for r in members if r.weight > 0]
            low, high, mean, stddev = spread(per_weight)
            fairness.append(
                Fairness(
                    department=department,
                    reps=len(members),
                    received=sum(given.get(r.id, 0) for r in members),
                    min=low,
                    max=high,
                    mean=mean,
                    stddev=stddev,
                    gini=gini(per_weight),
                )
            )
    return QualityReport(
        **ctx.base(),
        leads=lead_rows,
        totals=totals,
        disqualified=reasons,
        mql_target=targets,
        mqls_per_month=per_month,
        capacity=capacity,
        workload=workload,
        fairness=fairness,
        received=received_rows,
    )


def _sees_department(ctx: ReportContext, department: str) -> bool:
    """Whether the caller sees a department's own figures (intake, fairness): marketing and admin
    every department's, a manager their departments'; a rep only their own numbers."""
    return ctx.visibility.everything or department in ctx.visibility.departments


SPEC = ReportSpec(
    name="quality",
    title=("Quality and capacity", "リードの質と処理能力"),
    description=(
        "Effective-lead ratio and unique companies over time, MQLs against the monthly target and "
        "the departments' weekly capacity, rep workload and fairness.",
        "有効リード率とユニーク社数の推移、月間MQL目標と部署の週次処理能力に対する実績、担当者の負荷と配分の公平性。",
    ),
    run=run,
    model=QualityReport,
    by=("month", "week"),
)
