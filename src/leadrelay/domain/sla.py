"""SLA clocks: how long sales has to answer a lead, counted in business time.

A policy applies to leads routed to some departments (and levels); from the moment a lead is
assigned to a rep, two clocks may run on the department's business calendar:

- ``accept``: sales accepts or rejects the lead within ``accept_within`` business time;
- ``touch``: sales first touches the lead (accepts, rejects, or records a touch activity such as a
  connected call) within ``first_touch_within``.

A policy times one stage's answer: ``mql`` (the default: the rep routing gave a qualified lead)
or ``pre_sql`` (the field rep inside sales handed a Pre-SQL to). Each clock warns at ``warn_at``
of its time and is breached at its end. Pure functions of the
policy, the calendar and the moments; the service (:mod:`leadrelay.services.sla`) stores the timers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from leadrelay.domain.calendar import BusinessCalendar
from leadrelay.domain.lifecycle import Stage

CLOCKS: dict[str, tuple[str, str]] = {
    "accept": ("accept or reject", "受入/差し戻し"),
    "touch": ("first touch", "初回接触"),
}
BREACH_ACTIONS = ("escalate", "reassign")


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    id: str
    label: str
    departments: frozenset[str]  # empty: every department
    levels: frozenset[int]  # empty: every level
    accept_within: timedelta | None
    first_touch_within: timedelta | None
    warn_at: float  # share of the time, e.g. 0.75
    on_breach: str  # escalate (tell the manager) or reassign (route again without the rep)
    stage: Stage = Stage.MQL  # the stage whose answer it times: mql or pre_sql

    def applies(self, department: str, level: int | None, stage: Stage = Stage.MQL) -> bool:
        if stage != self.stage:
            return False
        if self.departments and department not in self.departments:
            return False
        return not self.levels or (level is not None and level in self.levels)

    def limits(self) -> dict[str, timedelta]:
        out = {}
        if self.accept_within is not None:
            out["accept"] = self.accept_within
        if self.first_touch_within is not None:
            out["touch"] = self.first_touch_within
        return out


#: The stages an SLA policy may time (``sla.policies[].stage``).
SLA_STAGES = (Stage.MQL, Stage.PRE_SQL)


def clock_stage(stage: Stage) -> Stage:
    """The stage whose policies time a lead given to a rep in ``stage``: a Pre-SQL's own, else the
    MQL policies (a lead reassigned in SAL or later gets them too; its clocks stop at once)."""
    return Stage.PRE_SQL if stage == Stage.PRE_SQL else Stage.MQL


def policy_for(
    policies: tuple[SlaPolicy, ...], department: str, level: int | None, stage: Stage = Stage.MQL
) -> SlaPolicy | None:
    """The first policy that applies to a lead of ``level`` in ``department`` waiting in ``stage``."""
    return next((p for p in policies if p.applies(department, level, stage)), None)


@dataclass(frozen=True, slots=True)
class SlaClock:
    """One running clock of one assignment."""

    policy: str
    kind: str  # accept | touch
    started: datetime
    warn_at: datetime
    due_at: datetime
    limit: timedelta


def clocks_for(policy: SlaPolicy, calendar: BusinessCalendar, assigned_at: datetime) -> list[SlaClock]:
    """The clocks an assignment at ``assigned_at`` starts, with their warning and due moments."""
    out = []
    for kind, limit in policy.limits().items():
        out.append(
            SlaClock(
                policy.id,
                kind,
                assigned_at,
                calendar.add(assigned_at, limit * policy.warn_at),
                calendar.add(assigned_at, limit),
                limit,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class ClockReading:
    state: str  # ok, warning, breached
    used: timedelta  # business time since the assignment
    left: timedelta  # business time until due (negative once breached)


def read(clock: SlaClock, calendar: BusinessCalendar, now: datetime) -> ClockReading:
    """Where a clock stands at ``now``."""
    used = calendar.elapsed(clock.started, now) if now > clock.started else timedelta(0)
    left = clock.limit - used
    if now >= clock.due_at:
        state = "breached"
    elif now >= clock.warn_at:
        state = "warning"
    else:
        state = "ok"
    return ClockReading(state, used, left)
