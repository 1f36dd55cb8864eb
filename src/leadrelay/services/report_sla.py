"""Report ``sla``: SLA compliance and speed-to-lead, per assignment of a lead to a rep.

The unit is an **assignment**: a routing decision (route, reroute or reassign) that gave a lead to
a rep while it was an MQL, made in the period (a reassigned SAL or SQL lead starts no SLA clock,
as in the engine). It lasts until the lead's next routing decision (or now). Within it:

- **answered**: the first accept or reject (or Pre-SQL qualify) — the ``accept`` clock;
- **first touch**: the first of a touch sales recorded (call, meeting, e-mail), a touch activity
  (the playbook's ``sales.touch_types``) or the answer — the ``touch`` clock. Response time is
  counted from owner assignment to the first touch, as HubSpot's "lead response time";
- the clock **ends unanswered** when the lead leaves MQL otherwise (disqualified, a deal imported)
  or is given to someone else.

Each clock's limit is the SLA policy that applies to the department and the lead's level at the
assignment (the first policy of the playbook that applies, as the engine starts the clocks; a
decision stored before the level was kept with it takes the level at the MQL), in business
time of the department's calendar. A clock is **met** when answered in less than its limit,
**breached** when its limit ran out before an answer (answered late, never answered, or ended
unanswered after the limit), **open** while it still runs within its limit, **stopped** when it
ended unanswered within the limit. Within SLA = met / (met + breached).

Business hours come from a cumulative index over the calendar's working spans
(:class:`~leadrelay.bulk.business_time.BusinessIndex`): one ``searchsorted`` for the whole column,
no loop over leads. The delay is split in the system's part — from the activity that made the lead
an MQL to the MQL (the engine qualifies at the activity's own moment, so this is zero unless a
playbook change qualified it later) and from the MQL to the assignment (the time the activity took
to reach leadrelay, the queue) — and the rep's part, from the assignment to the first touch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from leadrelay.adapters.store import summaries
from leadrelay.adapters.store.columns import read_columns
from leadrelay.adapters.store.tables import summary_assignments
from leadrelay.bulk.business_time import BusinessIndex
from leadrelay.domain.lifecycle import Stage
from leadrelay.domain.sla import SlaPolicy
from leadrelay.services.read_models import ReadModel
from leadrelay.services.report_kit import (
    Column,
    Quantiles,
    Report,
    ReportContext,
    ReportSpec,
    Table,
    bucket_of,
    col,
    epoch_seconds,
    in_period,
    quantiles,
    share,
    title,
)

HOUR = 3600.0
CLOCKS = ("accept", "touch")

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


class ClockFigures(ReadModel):
    clock: str  # accept | touch
    with_policy: int  # assignments an SLA policy applies to
    met: int
    breached: int
    open: int
    stopped: int
    within_sla: float | None  # met / (met + breached)
    business_hours: Quantiles  # assignment → answer (accept) or first touch (touch), business time
    wall_hours: Quantiles  # the same, wall-clock


class SlaGroup(ReadModel):
    key: str | None  # the period step, department or rep (None: every assignment)
    assignments: int
    accept: ClockFigures
    touch: ClockFigures
    system_hours: Quantiles  # the MQL-making activity → assignment
    activity_to_mql_hours: Quantiles
    mql_to_assignment_hours: Quantiles
    rep_hours: Quantiles  # assignment → first touch (wall-clock)


class SlaReport(Report):
    overall: SlaGroup
    by_period: list[SlaGroup]
    by_department: list[SlaGroup]
    by_rep: list[SlaGroup]

    def tables(self) -> list[Table]:
        o = self.overall

        def rows(groups: list[SlaGroup], key: str) -> list[dict[str, Any]]:
            return [{key: g.key, **_figures(g)} for g in groups]

        return [
            Table(
                name="by_period",
                title=title("SLA compliance over time", "SLA遵守率の推移"),
                columns=[col("period", "Period", "期間"), *_COLUMNS],
                rows=rows(self.by_period, "period"),
                totals={"period": "total", **_figures(self.overall)},
            ),
            Table(
                name="by_department",
                title=title("SLA compliance by department", "部署別のSLA遵守率"),
                columns=[col("department", "Department", "部署"), *_COLUMNS],
                rows=rows(self.by_department, "department"),
                totals={"department": "total", **_figures(self.overall)},
            ),
            Table(
                name="by_rep",
                title=title("SLA compliance by rep", "担当者別のSLA遵守率"),
                columns=[col("rep", "Rep", "担当者"), *_COLUMNS],
                rows=rows(self.by_rep, "rep"),
                totals={"rep": "total", **_figures(self.overall)},
            ),
            Table(
                name="speed",
                title=title("Speed to lead and where the delay is", "リード対応スピードと遅延の内訳"),
                columns=[
                    col("part", "Part", "区分"),
                    col("measure", "From → to", "区間"),
                    col("unit", "Hours", "時間の種類"),
                    col("label_ja", "In Japanese", "内容"),
                    col("count", "Assignments", "件数", "int"),
                    col("median_hours", "Median (hours)", "中央値（時間）", "hours"),
                    col("p90_hours", "p90 (hours)", "90%（時間）", "hours"),
                    col("mean_hours", "Mean (hours)", "平均（時間）", "hours"),
                ],
                rows=[
                    _speed("rep", "assignment → answer", "business", o.accept.business_hours),
                    _speed("rep", "assignment → answer", "wall-clock", o.accept.wall_hours),
                    _speed("rep", "assignment → first touch", "business", o.touch.business_hours),
                    _speed("rep", "assignment → first touch", "wall-clock", o.touch.wall_hours),
                    _speed("system", "activity → assignment", "wall-clock", o.system_hours),
                    _speed("system", "activity → MQL", "wall-clock", o.activity_to_mql_hours),
                    _speed("system", "MQL → assignment", "wall-clock", o.mql_to_assignment_hours),
                ],
            ),
        ]


_COLUMNS: list[Column] = [
    col("assignments", "Assignments", "割り当て", "int"),
    col("accept_met", "Answer: met", "回答：遵守", "int"),
    col("accept_breached", "Answer: breached", "回答：超過", "int"),
    col("accept_open", "Answer: open", "回答：計測中", "int"),
    col("accept_within", "Answer: in SLA", "回答：遵守率", "percent"),
    col("touch_met", "Touch: met", "初回接触：遵守", "int"),
    col("touch_breached", "Touch: breached", "初回接触：超過", "int"),
    col("touch_open", "Touch: open", "初回接触：計測中", "int"),
    col("touch_within", "Touch: in SLA", "初回接触：遵守率", "percent"),
    col("touch_median_bh", "To touch, median (bus. h)", "初回接触まで中央値（営業時間）", "hours"),
    col("touch_p90_bh", "p90 (bus. h)", "90%（営業時間）", "hours"),
    col("touch_median_h", "median (h)", "中央値（時間）", "hours"),
    col("system_median_h", "System delay, median (h)", "システム遅延の中央値（時間）", "hours"),
]


def _figures(g: SlaGroup) -> dict[str, Any]:
    return {
        "assignments": g.assignments,
        "accept_met": g.accept.met,
        "accept_breached": g.accept.breached,
        "accept_open": g.accept.open,
        "accept_within": g.accept.within_sla,
        "touch_met": g.touch.met,
        "touch_breached": g.touch.breached,
        "touch_open": g.touch.open,
        "touch_within": g.touch.within_sla,
        "touch_median_bh": g.touch.business_hours.median,
        "touch_p90_bh": g.touch.business_hours.p90,
        "touch_median_h": g.touch.wall_hours.median,
        "system_median_h": g.system_hours.median,
    }


#: The speed table's words in Japanese: its parts, spans and kinds of hours.
_SPEED_JA = {
    "rep": "営業担当",
    "system": "システム",
    "assignment → answer": "割り当て → 回答",
    "assignment → first touch": "割り当て → 初回接触",
    "activity → assignment": "行動 → 割り当て",
    "activity → MQL": "行動 → MQL",
    "MQL → assignment": "MQL → 割り当て",
    "business": "営業時間",
    "wall-clock": "経過時間",
}


def _speed(part: str, measure: str, unit: str, q: Quantiles) -> dict[str, Any]:
    return {
        "part": part,
        "measure": measure,
        "unit": unit,
        "label_ja": f"{_SPEED_JA[part]}：{_SPEED_JA[measure]}（{_SPEED_JA[unit]}）",
        "count": q.count,
        "median_hours": q.median,
        "p90_hours": q.p90,
        "mean_hours": q.mean,
    }


def _limit(policies: tuple[SlaPolicy, ...], clock: str, department: Any, level: Any) -> sa.ColumnElement[Any]:
    """The clock's limit in seconds for the assignment's department and level (the first policy that
    applies, as :func:`leadrelay.domain.sla.policy_for` picks it), as SQL; NULL without one. Only the
    policies that time an MQL's answer: a Pre-SQL policy starts no clock at an MQL's assignment."""
    whens = []
    for policy in policies:
        if policy.stage != Stage.MQL:
            continue
        conditions: list[sa.ColumnElement[bool]] = []
        if policy.departments:
            conditions.append(department.in_(sorted(policy.departments)))
        if policy.levels:
            conditions.append(level.in_(sorted(policy.levels)))
        applies = sa.and_(sa.true(), *conditions)
        limit = policy.limits().get(clock)
        whens.append((applies, sa.literal(limit / timedelta(seconds=1) if limit is not None else None, sa.Float)))
    if not whens:
        return sa.cast(sa.null(), sa.Float)
    return sa.case(*whens, else_=sa.cast(sa.null(), sa.Float))


@dataclass(frozen=True, slots=True)
class Columns:
    """The period's assignments as columns: moments in epoch seconds (NaN: none) and, for the text
    columns (rep, department, period), integer codes into ``labels``."""

    values: dict[str, np.ndarray[Any, Any]]
    labels: dict[str, list[str]]

    def __getitem__(self, name: str) -> np.ndarray[Any, Any]:
        return self.values[name]

    def masks(self, name: str) -> dict[str, np.ndarray[Any, Any]]:
        """Each label of a text column → the rows that have it."""
        codes = self.values[name]
        return {label: codes == i for i, label in enumerate(self.labels[name])}


def _rows(ctx: ReportContext) -> Columns:
    """One row per assignment in the period, as columns: moments in epoch seconds (NaN: none).

    Read from the assignments summary (``summary_assignments``: each decision's end, answer, first
    touches and MQL, kept with the facts): a range of its time index. Its first touch-type activity
    is the one of the touch types it was derived with; when those are not the playbook's (a
    playbook put to use without ``leadrelay summaries --rebuild`` since), it is found here instead,
    one seek of the activities' (lead_id, type, occurred_at) index per type."""
    tx, pb = ctx.tx, ctx.playbook
    s = summary_assignments
    touch_types = tuple(sorted(pb.sales.touch_types))
    if tx.summary_touch_types() == touch_types:
        touch_activity: sa.ColumnElement[Any] = s.c.touch_activity_at
    else:
        seeks = summaries.touch_activity_seeks(s.c.lead_id, s.c.decided_at, s.c.until, touch_types)
        touch_activity = summaries.earliest(seeks)
    moments = {
        "assigned": s.c.decided_at,
        "answered": s.c.answered_at,
        "touched": s.c.touched_at,
        "leaving": s.c.leaving_at,
        "until": s.c.until,
        "touch_activity": touch_activity,
        "mql": s.c.mql_at,
        "activity": s.c.activity_at,
    }
    outer: list[sa.ColumnElement[Any]] = [
        s.c.rep_id.label("rep"),
        s.c.department.label("department"),
        bucket_of(s.c.decided_at, ctx.buckets()).label("period"),
        *[epoch_seconds(tx.dialect, column).label(name) for name, column in moments.items()],
        _limit(pb.sla, "accept", s.c.department, s.c.level).label("accept_limit"),
        _limit(pb.sla, "touch", s.c.department, s.c.level).label("touch_limit"),
    ]
    statement = sa.select(*outer).where(
        in_period(s.c.decided_at, ctx.period),
        s.c.at_mql.is_(True),  # a reassigned SAL or SQL lead starts no SLA clock
        ctx.visible(s.c.rep_id, s.c.department),
    )
    texts = ("rep", "department", "period")
    types = [pa.string() if c.name in texts else pa.float64() for c in outer]
    read = read_columns(tx, statement, types)
    out: dict[str, np.ndarray[Any, Any]] = {}
    labels: dict[str, list[str]] = {}
    for column, values in zip(outer, read, strict=True):
        if column.name in texts:  # as codes into its labels: groups are masks over integers
            encoded = pc.dictionary_encode(values)
            labels[column.name] = [str(v) for v in encoded.dictionary.to_pylist()]
            out[column.name] = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False))
        else:
            out[column.name] = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    return Columns(out, labels)


def _business(ctx: ReportContext, columns: Columns, ends: list[FloatArray]) -> list[FloatArray]:
    """Business seconds from the assignment to each of ``ends``, on each department's calendar (NaN
    where the department has no calendar)."""
    assigned = columns["assigned"]
    out = [np.full(assigned.shape, np.nan) for _ in ends]
    routing = ctx.playbook.routing
    if routing is None or assigned.size == 0:
        return out
    stacked = np.concatenate([assigned, *ends])
    stacked = stacked[~np.isnan(stacked)]
    first = datetime.fromtimestamp(float(stacked.min()), UTC).astimezone(ctx.tz).date() - timedelta(days=1)
    last = datetime.fromtimestamp(float(stacked.max()), UTC).astimezone(ctx.tz).date() + timedelta(days=1)
    for department_id, mask in columns.masks("department").items():
        department = routing.departments.get(department_id)
        if department is None or department.calendar is None:
            continue
        index = BusinessIndex.build(department.calendar, first, last)
        for result, end in zip(out, ends, strict=True):
            result[mask] = index.elapsed(assigned[mask], end[mask])
    return out


def _clock(
    name: str,
    mask: np.ndarray[Any, Any],
    limit: FloatArray,
    answer_bh: FloatArray,
    answer_wall: FloatArray,
    stop_bh: FloatArray,
    running: np.ndarray[Any, Any],
) -> ClockFigures:
    has = mask & ~np.isnan(limit)
    answered = ~np.isnan(answer_bh)
    with np.errstate(invalid="ignore"):
        met = has & answered & (answer_bh < limit)
        breached = has & ~met & (stop_bh >= limit)
    still = has & ~met & ~breached & running
    stopped = has & ~met & ~breached & ~running
    n_met, n_breached = int(met.sum()), int(breached.sum())
    return ClockFigures(
        clock=name,
        with_policy=int(has.sum()),
        met=n_met,
        breached=n_breached,
        open=int(still.sum()),
        stopped=int(stopped.sum()),
        within_sla=share(n_met, n_met + n_breached),
        business_hours=quantiles(answer_bh[mask], HOUR),
        wall_hours=quantiles(answer_wall[mask], HOUR),
    )


def run(ctx: ReportContext) -> SlaReport:
    c = _rows(ctx)
    now = ctx.now.timestamp()
    assigned = c["assigned"]
    first_touch = np.fmin(np.fmin(c["answered"], c["touched"]), c["touch_activity"])
    ended = np.fmin(c["leaving"], c["until"])  # the clock's end without an answer (NaN: runs on)

    def stop(answer: FloatArray) -> FloatArray:
        return np.where(~np.isnan(answer), answer, np.where(np.isnan(ended), now, ended))

    accept_bh, touch_bh, accept_stop_bh, touch_stop_bh = _business(
        ctx, c, [c["answered"], first_touch, stop(c["answered"]), stop(first_touch)]
    )
    running = np.isnan(ended)
    system = assigned - np.where(np.isnan(c["activity"]), c["mql"], c["activity"])
    to_mql = c["mql"] - c["activity"]
    to_assignment = assigned - c["mql"]
    rep = first_touch - assigned

    def group(key: str | None, mask: np.ndarray[Any, Any]) -> SlaGroup:
        return SlaGroup(
            key=key,
            assignments=int(mask.sum()),
            accept=_clock(
                "accept",
                mask,
                c["accept_limit"],
                accept_bh,
                c["answered"] - assigned,
                accept_stop_bh,
                running & np.isnan(c["answered"]),
            ),
            touch=_clock(
                "touch",
                mask,
                c["touch_limit"],
                touch_bh,
                rep,
                touch_stop_bh,
                running & np.isnan(first_touch),
            ),
            system_hours=quantiles(system[mask], HOUR),
            activity_to_mql_hours=quantiles(to_mql[mask], HOUR),
            mql_to_assignment_hours=quantiles(to_assignment[mask], HOUR),
            rep_hours=quantiles(rep[mask], HOUR),
        )

    everything = np.ones(assigned.shape, dtype=bool)

    def by(column: str) -> list[SlaGroup]:
        return [group(key, mask) for key, mask in sorted(c.masks(column).items())]

    by_step = c.masks("period")
    nowhere = np.zeros(assigned.shape, dtype=bool)
    periods = [group(b.key, by_step.get(b.key, nowhere)) for b in ctx.buckets()]
    return SlaReport(
        **ctx.base(),
        overall=group(None, everything),
        by_period=periods,
        by_department=by("department"),
        by_rep=by("rep"),
    )


SPEC = ReportSpec(
    name="sla",
    title=("SLA compliance and speed to lead", "SLA遵守率とリード対応スピード"),
    description=(
        "Share answered and touched within SLA, time to answer and to first touch (business and wall-clock hours), "
        "breaches by rep and department, and the delay split into the system's part and the rep's.",
        "SLA内に回答・初回接触した割合、回答と初回接触までの時間（営業時間と実時間）、担当者・部署別のSLA超過、"
        "遅延のシステム側と担当者側の内訳。",
    ),
    run=run,
    model=SlaReport,
    by=("week", "month", "day"),
)
