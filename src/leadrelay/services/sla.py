"""SLA clocks at work: the worker's warning and breach timers, and ``leadrelay sla``.

The timer handlers are :data:`fire_warning` (kind ``sla_warning``) and :data:`fire_breach`
(``sla_breach``); :func:`leadrelay.bootstrap.timer_handlers` gives them to the worker.

:func:`leadrelay.services.routing.start_clocks` schedules two timers per clock when a lead is given to a
rep. When one fires, this module checks the clock still runs — the same rep still has the lead
from the same assignment and has not answered (accepted, rejected, or for the first-touch clock,
touched it) — and only then tells the rep (warning) or the rep and the manager (breach); a
``reassign`` policy also routes the lead again, to anyone but that rep.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

import sqlalchemy as sa
from pydantic import Field, field_serializer

from leadrelay.adapters.store.outbox import Timer
from leadrelay.adapters.store.sql_store import StoreTx
from leadrelay.adapters.store.tables import activities, leads
from leadrelay.domain.identity import lead_key
from leadrelay.domain.lifecycle import AWAITING_ANSWER, Stage
from leadrelay.domain.playbook import Playbook
from leadrelay.domain.sla import ClockReading, SlaClock, clock_stage, clocks_for, policy_for, read
from leadrelay.services.notifications import NotificationContext, notify
from leadrelay.services.read_models import Moment, ReadModel, local
from leadrelay.services.routing import route_leads
from leadrelay.services.timers import TimerHandler

_AWAITING = sorted(s.value for s in AWAITING_ANSWER)
# Asked once per timer fired: built once, with bound parameters (no building nor cache key each time).
_CLOCK_OF = sa.select(leads.c.stage, leads.c.owner_rep, leads.c.assigned_at).where(leads.c.id == sa.bindparam("lead"))
_TOUCH_ACTIVITIES = (
    sa.select(activities.c.lead_id)
    .where(
        activities.c.lead_id.in_(sa.bindparam("ids", expanding=True)),
        activities.c.type.in_(sa.bindparam("types", expanding=True)),
        activities.c.occurred_at >= sa.bindparam("since", type_=activities.c.occurred_at.type),
    )
    .distinct()
)


def _still_running(tx: StoreTx, playbook: Playbook, lead_id: int, kind: str, rep: str, assigned_at: datetime) -> bool:
    row = tx.execute(_CLOCK_OF, {"lead": lead_id}).one_or_none()
    if row is None or row.owner_rep != rep or row.assigned_at != assigned_at or Stage(row.stage) not in AWAITING_ANSWER:
        return False  # reassigned, answered (accepted or rejected), recycled: the clock stopped
    return not (kind == "touch" and touched_since(tx, playbook, [lead_id], assigned_at))


def touched_since(tx: StoreTx, playbook: Playbook, lead_ids: list[int], since: datetime) -> set[int]:
    """Those of the leads with a touch since ``since``: a touch sales recorded (call, meeting,
    e-mail; ``leadrelay lead touch``), or a touch activity (the playbook's ``sales.touch_types``)."""
    if not lead_ids:
        return set()
    touched = tx.touched_leads(lead_ids, since)
    if not playbook.sales.touch_types:
        return touched
    params = {"ids": lead_ids, "types": sorted(playbook.sales.touch_types), "since": since}
    return touched | set(tx.execute(_TOUCH_ACTIVITIES, params).scalars())


def _fire(breach: bool) -> TimerHandler:
    def handler(tx: StoreTx, timer: Timer, now: datetime, playbook: Playbook) -> None:
        payload = timer.payload
        lead_id = timer.lead_id
        if lead_id is None:
            return
        rep, kind = str(payload["rep_id"]), str(payload["clock"])
        assigned_at = datetime.fromisoformat(str(payload["assigned_at"]))
        if not _still_running(tx, playbook, lead_id, kind, rep, assigned_at):
            return
        policy = next((p for p in playbook.sla if p.id == payload.get("policy")), None)
        label = policy.label if policy else str(payload.get("policy"))
        what = "accept or reject" if kind == "accept" else "first touch"
        context = NotificationContext(
            lead_id=lead_id,
            rep_id=rep,
            department=str(payload["department"]),
            reason=f"{label}: {what}",
            due_at=datetime.fromisoformat(str(payload["due_at"])),
            ref=f"timer:{timer.key}",
        )
        notify(tx, playbook, "sla_breach" if breach else "sla_warning", context, now)
        if breach and policy is not None and policy.on_breach == "reassign":
            route_leads(
                tx, playbook, [lead_id], now, kind="reassign", actor=f"sla:{policy.id}", exclude=frozenset({rep})
            )

    return handler


#: ``sla_warning`` timers: tell the rep the clock is running out (if it still runs).
fire_warning: TimerHandler = _fire(breach=False)
#: ``sla_breach`` timers: tell the rep and the manager; a ``reassign`` policy routes the lead again.
fire_breach: TimerHandler = _fire(breach=True)


def _touched_since_assignment(tx: StoreTx, playbook: Playbook, lead_ids: Sequence[int] | None = None) -> set[int]:
    """Leads waiting for their rep's answer (MQL, Pre-SQL) that got a touch (recorded by sales, or a touch activity) since they were
    assigned: their first-touch clock is done. With ``lead_ids``, only those leads are looked at."""
    if lead_ids is not None and not lead_ids:
        return set()
    touched = tx.touched_leads(lead_ids, None)
    if not playbook.sales.touch_types:
        return touched
    query = (
        sa.select(leads.c.id)
        .join(activities, activities.c.lead_id == leads.c.id)
        .where(
            leads.c.stage.in_(_AWAITING),
            leads.c.owner_rep.is_not(None),
            activities.c.type.in_(sorted(playbook.sales.touch_types)),
            activities.c.occurred_at >= leads.c.assigned_at,
        )
        .distinct()
    )
    if lead_ids is not None:
        query = query.where(leads.c.id.in_(sorted(set(lead_ids))))
    return touched | set(tx.execute(query).scalars())


class SlaRow(ReadModel):
    """One running clock of a lead waiting for sales' answer, as ``leadrelay sla`` shows it
    (times in the playbook's zone)."""

    lead_id: int = Field(exclude=True)
    lead: str
    rep: str
    department: str
    policy: str
    clock: str  # accept | touch
    assigned_at: Moment
    warn_at: Moment
    due_at: Moment
    state: str  # ok | warning | breached
    business_hours_left: float  # negative once breached

    @field_serializer("business_hours_left")
    def _two_places(self, hours: float) -> float:
        return round(hours, 2)

    @classmethod
    def of(
        cls, lead_id: int, lead: str, rep: str, department: str, clock: SlaClock, reading: ClockReading, tz: tzinfo
    ) -> SlaRow:
        return cls(
            lead_id=lead_id,
            lead=lead,
            rep=rep,
            department=department,
            policy=clock.policy,
            clock=clock.kind,
            assigned_at=local(clock.started, tz),
            warn_at=local(clock.warn_at, tz),
            due_at=local(clock.due_at, tz),
            state=reading.state,
            business_hours_left=reading.left / timedelta(hours=1),
        )


def sla_rows(
    tx: StoreTx,
    playbook: Playbook,
    now: datetime,
    *,
    everything: bool = False,
    lead_ids: Sequence[int] | None = None,
) -> list[SlaRow]:
    """The running clocks of leads waiting for sales' answer: near or past breach (or all); with
    ``lead_ids``, only those leads' clocks."""
    if not playbook.sla or playbook.routing is None:
        return []
    query = sa.select(
        leads.c.id,
        leads.c.email,
        leads.c.external_id,
        leads.c.owner_rep,
        leads.c.owner_department,
        leads.c.assigned_at,
        leads.c.level,
        leads.c.stage,
    ).where(leads.c.stage.in_(_AWAITING), leads.c.owner_rep.is_not(None), leads.c.assigned_at.is_not(None))
    if lead_ids is not None:
        query = query.where(leads.c.id.in_(sorted(set(lead_ids))))
    rows = list(tx.execute(query))
    tz = playbook.timezone
    touched = _touched_since_assignment(tx, playbook, None if lead_ids is None else [row.id for row in rows])
    out: list[SlaRow] = []
    for row in rows:
        department = playbook.routing.departments.get(row.owner_department)
        policy = policy_for(playbook.sla, row.owner_department, row.level, clock_stage(Stage(row.stage)))
        if department is None or department.calendar is None or policy is None:
            continue
        for clock in clocks_for(policy, department.calendar, row.assigned_at):
            if clock.kind == "touch" and row.id in touched:
                continue
            reading = read(clock, department.calendar, now)
            if everything or reading.state != "ok":
                key = lead_key(row.email, row.external_id)
                out.append(SlaRow.of(row.id, key, row.owner_rep, row.owner_department, clock, reading, tz))
    out.sort(key=lambda r: (r.due_at, r.lead))
    return out
