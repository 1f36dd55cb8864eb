"""``leadrelay demo`` as live operation: the generated quarter played through a simulated clock.

The clock runs from ``end - days`` to ``end`` (the run's ``now``), event by event:

- **intake**: the generated activities arrive in rounds of :data:`INTAKE_EVERY` (as an MA tool's
  sync would bring them): each round is recorded with ``now`` = its last activity's time, each
  activity keeping its own ``occurred_at``; a person's lead is added in the round of their first
  activity (people with none are a list imported at the start). The engine scores, qualifies and
  routes at that time.
- **the worker**: the real :class:`~leadrelay.entrypoints.worker.Worker` on a simulated clock fires
  due timers (SLA warnings, breaches, reassignment) at the next :data:`WORKER_EVERY` mark after
  they fall due, and delivers the outbox at each of those rounds (and every :data:`SWEEP_EVERY`) —
  to nowhere: :class:`NowhereDeliverer` sends nothing and the messages are recorded as sent at the
  simulated time; every :data:`SWEEP_EVERY` it recycles the leads sales left idle.
- **the reps** (:func:`rep_behaviours`, the ground truth of how each works): when a lead is given
  to a rep, the rep follows it or never does; touches it after a personal delay in business
  hours; accepts or rejects it with one of the playbook's reason codes at a rate by level; works
  accepted leads to SQL, Opportunity and Won or Lost with amounts in JPY over weeks — or lets
  them go idle, and the worker recycles them. One rep is on leave for two weeks (set via the
  API, so routing skips them). Every call goes through the :class:`LeadRelay` Python API with
  ``now`` = the simulated time.
- **Pre-SQL** (seed 001, when the playbook has the stage): inside sales' answer to an MQL it holds
  is *qualify* (MQL → Pre-SQL); the engine hands the lead to field sales by the playbook's
  ``pre_sql`` rules, and the field rep it went to touches and answers it at their own pace and
  rates, as any lead given to them (accept → SAL → SQL → Opportunity → Won/Lost, or reject).
- **inside sales' re-work** (seed 001): some rejected and recycled leads are called again by inside
  sales weeks later; a call that collects BANT makes the lead an MQL again, inside sales
  qualifies it, and field sales takes it on: the dependency report's nurture path.

Everything the simulation did is kept in :class:`SimulationTruth`. The run is a pure function of
``(seed, now, size)``: the same inputs give the same database contents.
"""

from __future__ import annotations

import gc
import heapq
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa

from leadrelay import bootstrap
from leadrelay.adapters.clock import FakeClock
from leadrelay.adapters.playbook.loader import LoadedPlaybook
from leadrelay.adapters.store.outbox import Backoff, Delivery, OutboxMessage
from leadrelay.adapters.store.tables import leads, timers
from leadrelay.domain.calendar import BusinessCalendar
from leadrelay.domain.playbook import Playbook
from leadrelay.entrypoints.api import LeadRelay
from leadrelay.entrypoints.demo.ground_truth import Action, LeadTruth, RepBehaviour, SimulationTruth
from leadrelay.entrypoints.demo.synthetic import DemoData
from leadrelay.entrypoints.worker import Worker, WorkerSettings
from leadrelay.services.sales import recycle_inactive

__all__ = [
    "INTAKE_EVERY",
    "SWEEP_EVERY",
    "WORKER_EVERY",
    "NowhereDeliverer",
    "SimulationStats",
    "rep_behaviours",
    "simulate",
]

INTAKE_EVERY = timedelta(hours=1)
WORKER_EVERY = timedelta(hours=1)
SWEEP_EVERY = timedelta(days=1)

#: Inside sales re-works this share of the leads rejected with a recyclable reason, or recycled idle.
REWORK_SHARE = 0.35
#: ... and this share of its calls collects BANT (the lead qualifies again).
REWORK_BANT = 0.7
#: Accept rates are the rep's own times this factor by the lead's level (None: qualified by score).
LEVEL_FACTOR: dict[int | None, float] = {4: 1.0, 3: 1.15, 2: 0.8, 1: 0.7, None: 0.9}
#: Reject reasons by weight (those the playbook has), for inside sales and for field sales.
INSIDE_REASONS = {
    "not_ready": 30,
    "bad_timing": 20,
    "no_budget": 14,
    "no_authority": 14,
    "existing_contract": 6,
    "wrong_person": 8,
    "duplicate": 4,
    "other": 4,
}
FIELD_REASONS = {
    "not_ready": 22,
    "no_authority": 20,
    "no_budget": 20,
    "existing_contract": 15,
    "bad_timing": 12,
    "wrong_person": 6,
    "other": 5,
}
OTHER_TEXTS = ("子会社経由で検討中とのこと", "海外本社の決定待ち", "学生ではないが個人利用")
LOST_REASONS = ("price", "competitor_chosen", "no_decision", "timing", "budget_cut")
INSIDE_SALES = "hq_inside_sales"
#: The stages in which a lead waits for its rep's answer: an MQL, or a Pre-SQL inside sales handed over.
WAITING = ("mql", "pre_sql")
#: The simulation's actions that send a lead away from sales (into Rejected or Recycled).
BREAKS = ("reject", "recycle", "recycled_idle")
#: When SQL opportunities convert: (P(SQL → opportunity), P(opportunity → won)); re-worked leads get the second pair.
PIPELINE = ((0.6, 0.4), (0.85, 0.5))

_DAY = 9 * 60  # business minutes in a business day (the default calendar: 09:00-18:00)


@dataclass(slots=True)
class SimulationStats:
    intake_rounds: int = 0
    worker_ticks: int = 0
    timers_fired: int = 0
    recycled_by_worker: int = 0
    messages_sent: int = 0
    assignments_seen: int = 0


def rep_behaviours(playbook: Playbook, start: datetime, days: int) -> dict[str, RepBehaviour]:
    """How each rep of the playbook works: the default playbook's reps by name (fast, steady, slow,
    one on leave for two weeks from the Monday after 40 % of the period), any other rep steady."""
    if playbook.routing is None:
        return {}
    first = (start + timedelta(days=days * 0.4)).astimezone(playbook.timezone).date()
    leave_from = first + timedelta(days=(7 - first.weekday()) % 7)
    leave = (leave_from, leave_from + timedelta(days=13))
    table: dict[str, dict[str, Any]] = {
        "is-kobayashi": {"pace": "fast", "touch": (5, 50), "answer": (10, 180), "follows": 1.0, "accepts": 0.5, "keeps_up": 0.85},
        "is-yamamoto": {"pace": "steady", "touch": (20, 200), "answer": (60, 400), "follows": 1.0, "accepts": 0.42, "keeps_up": 0.7},
        "is-nakamura": {"pace": "slow", "touch": (150, 2 * _DAY), "answer": (_DAY, 2 * _DAY), "follows": 0.9, "accepts": 0.35, "keeps_up": 0.5},
        "rep-tanaka": {"pace": "fast", "touch": (10, 120), "answer": (30, 360), "follows": 1.0, "accepts": 0.8, "keeps_up": 0.9},
        "rep-suzuki": {"pace": "steady", "touch": (60, 480), "answer": (120, 2 * _DAY), "follows": 1.0, "accepts": 0.7, "keeps_up": 0.8},
        "rep-takahashi": {"pace": "steady", "touch": (30, 360), "answer": (60, _DAY), "follows": 1.0, "accepts": 0.75, "keeps_up": 0.8, "away": leave},
        "rep-watanabe": {"pace": "slow", "touch": (_DAY, 5 * _DAY), "answer": (_DAY, 4 * _DAY), "follows": 0.65, "accepts": 0.6, "keeps_up": 0.5},
        "rep-nishimura": {"pace": "fast", "touch": (15, 180), "answer": (30, 480), "follows": 1.0, "accepts": 0.75, "keeps_up": 0.85},
        "rep-okada": {"pace": "slow", "touch": (240, 3 * _DAY), "answer": (_DAY, 3 * _DAY), "follows": 0.8, "accepts": 0.65, "keeps_up": 0.6},
    }  # fmt: skip
    steady = {
        "pace": "steady",
        "touch": (30, 360),
        "answer": (60, _DAY),
        "follows": 1.0,
        "accepts": 0.6,
        "keeps_up": 0.75,
    }
    out: dict[str, RepBehaviour] = {}
    for rep_id in sorted(playbook.routing.reps):
        rep = playbook.routing.reps[rep_id]
        spec = table.get(rep_id, steady)
        out[rep_id] = RepBehaviour(
            rep_id=rep_id,
            department=rep.department,
            pace=spec["pace"],
            touch_minutes=spec["touch"],
            answer_minutes=spec["answer"],
            follows=spec["follows"],
            accepts=spec["accepts"],
            keeps_up=spec["keeps_up"],
            working_days=tuple(sorted(rep.working_days)),
            away=spec.get("away"),
        )
    return out


class NowhereDeliverer:
    """Delivers nothing: every message is recorded as sent (the demo's outbox leaves no trace outside)."""

    def deliver(self, message: OutboxMessage, now: datetime) -> Delivery:
        return Delivery(message.id)

    def close(self) -> None:
        return None


class _NoWakeup:
    """The simulated worker is called, never left waiting."""

    def prime(self) -> None:
        return None

    def wait(self, seconds: float, stop: object) -> bool:
        return False

    def reset(self) -> None:
        return None

    def close(self) -> None:
        return None


def _worker_settings() -> WorkerSettings:
    return WorkerSettings(
        worker_id="demo-simulation",
        timer_batch=1000,
        message_batch=2000,
        poll=1.0,
        lease=timedelta(minutes=30),
        concurrency=64,
        backoff=Backoff(30, 3600, 8),
        timer_backoff=Backoff(30, 3600, 8),
        outage_retry=Backoff(1, 30, 0),
    )


@dataclass(frozen=True, slots=True)
class _Round:
    at: datetime
    leads: list[dict[str, Any]]
    activities: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    email: str
    stage: str
    owner_rep: str | None
    owner_department: str | None
    assigned_at: datetime | None
    level: int | None


_ROW = (
    leads.c.id,
    leads.c.email,
    leads.c.stage,
    leads.c.owner_rep,
    leads.c.owner_department,
    leads.c.assigned_at,
    leads.c.level,
)
#: The simulation's own reads, built once (it makes thousands of them).
_LEAD = sa.select(*_ROW).where(leads.c.id == sa.bindparam("id"))
_ASSIGNED_SINCE = (
    sa.select(*_ROW)
    .where(leads.c.assigned_at >= sa.bindparam("since"), leads.c.owner_rep.is_not(None))
    .order_by(leads.c.assigned_at, leads.c.id)
)
_NEXT_TIMER = sa.select(sa.func.min(timers.c.due_at)).where(timers.c.fired_at.is_(None), timers.c.failed_at.is_(None))


def _rounds(
    leads_in: Sequence[dict[str, Any]], activities: Sequence[dict[str, Any]], data: DemoData, start: datetime
) -> list[_Round]:
    """The intake rounds: activities by :data:`INTAKE_EVERY` slot, each person's lead record riding
    on their first activity (an activity may carry its ``lead``); people without activity in a
    first round at ``start``."""
    step = INTAKE_EVERY.total_seconds()
    profile = {lead["email"]: lead for lead in leads_in}
    slots: dict[int, list[tuple[datetime, dict[str, Any]]]] = {}
    for moment, record in zip((a["occurred_at"] for a in data.activities), activities, strict=True):
        person = profile.pop(record["email"], None)
        if person is not None:
            record = {**record, "lead": person}
        slots.setdefault(math.floor(moment.timestamp() / step), []).append((moment, record))
    silent = [lead for lead in leads_in if lead["email"] in profile]
    out = [_Round(start, silent, [])] if silent else []
    described: set[str] = set()
    for slot in sorted(slots):
        items = slots[slot]
        at = max(max(m for m, _ in items), start)
        out.append(_Round(at, [], [_campaign_once(record, described) for _, record in items]))
    return out


def _campaign_once(record: dict[str, Any], described: set[str]) -> dict[str, Any]:
    """The activity with its campaign's name, channel and kind the first time the campaign comes,
    and its code only after that: the campaign is stored by then, and the same details again would
    only be written over themselves in every round."""
    campaign = record.get("campaign")
    if not isinstance(campaign, dict):
        return record
    code = str(campaign["code"])
    if code not in described:
        described.add(code)
        return record
    return {**record, "campaign": code}


def simulate(
    relay: LeadRelay,
    data: DemoData,
    leads_in: Sequence[dict[str, Any]],
    activities: Sequence[dict[str, Any]],
    *,
    seed: int,
    end: datetime,
    days: int,
) -> tuple[SimulationTruth, SimulationStats]:
    """Play ``days`` of live operation ending at ``end`` (see the module's doc); the ground truth
    and the counts of what the simulated worker did."""
    _commit_without_fsync(relay)
    run = _Simulation(_PinnedPlaybook(relay), data, seed=seed, end=end, days=days)
    rounds = _rounds(leads_in, activities, data, run.start)
    gc.collect()
    gc.freeze()  # the data set lives to the end: the collector need not look at it again and again
    try:
        run.run(rounds)
    finally:
        gc.unfreeze()
    return run.truth, run.stats


class _PinnedPlaybook(LeadRelay):
    """The relay the simulation plays through: the same store and clock, and the playbook active
    when it starts held for the whole run (nothing in the simulation changes it), so each of its
    thousands of calls does not read the active playbook from the database again."""

    def __init__(self, relay: LeadRelay) -> None:
        super().__init__(relay.store, relay.clock)
        self._pinned = relay.playbook()

    def playbook(self) -> LoadedPlaybook:
        return self._pinned


def _commit_without_fsync(relay: LeadRelay) -> None:
    """SQLite: ``synchronous=NORMAL`` and a page cache the size of the whole demo database on the
    demo's connections. In WAL mode a commit still survives
    the process dying at any line (only a power cut may take the latest commits back); the thousands
    of small commits of a simulated quarter then do not each wait for the disk."""
    engine = relay.store.engine
    if engine.dialect.name != "sqlite":
        return

    def normal(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages: the demo's whole database
        cursor.execute("PRAGMA wal_autocheckpoint=50000")
        cursor.close()

    sa.event.listen(engine, "connect", normal)
    engine.dispose()  # the pooled connections are opened again, with the setting


class _Simulation:
    def __init__(self, relay: LeadRelay, data: DemoData, *, seed: int, end: datetime, days: int) -> None:
        self.relay = relay
        self.playbook = relay.playbook().playbook
        self.end = end
        self.start = end - timedelta(days=days)
        self.rng = random.Random(f"leadrelay-demo-simulation:{seed}")
        self.clock = FakeClock(self.start)
        self.worker = Worker(
            relay.store,
            lambda: self.playbook,
            self.clock,
            NowhereDeliverer(),
            _worker_settings(),
            bootstrap.timer_handlers(),
            wakeup=_NoWakeup(),
        )
        self.reps = rep_behaviours(self.playbook, self.start, days)
        self.truth = SimulationTruth(
            seed=seed,
            start=self.start,
            end=end,
            reps=self.reps,
            leads={email: LeadTruth(email, persona) for email, persona in data.truth.items()},
        )
        self.stats = SimulationStats()
        self.campaigns = {c["code"]: {k: v for k, v in c.items() if v is not None} for c in data.campaigns}
        self.heap: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self.seq = 0
        self.seen: set[tuple[int, datetime]] = set()
        self.watermark = self.start
        self.rework_due: set[str] = set()  # e-mails inside sales called back into MQL: qualified when assigned
        self.rework_calls = 0

    # --- the clock ------------------------------------------------------------------------

    def at(self, when: datetime, action: Callable[[datetime], None]) -> None:
        if when <= self.end:
            heapq.heappush(self.heap, (when, self.seq, action))
            self.seq += 1

    def run(self, rounds: list[_Round]) -> None:
        for item in rounds:
            self.at(item.at, partial(self.intake, item))
        for behaviour in self.reps.values():
            if behaviour.away is not None:
                told = datetime.combine(behaviour.away[0] - timedelta(days=7), time(9), tzinfo=self.playbook.timezone)
                self.at(max(told, self.start), partial(self.announce_leave, behaviour))
        next_sweep = _ceil(self.start, SWEEP_EVERY)
        next_timer = self.next_timer()
        latest = self.start
        while True:
            work = min(next_sweep, _ceil(next_timer, WORKER_EVERY)) if next_timer else next_sweep
            work = max(work, latest)  # time only moves on: a timer due before the last event fires now
            if self.heap and self.heap[0][0] <= work:
                when, _, action = heapq.heappop(self.heap)
                latest = max(latest, when)
                action(latest)
                continue
            if work > self.end:
                break
            latest = work
            self.tick(work, sweep=work >= next_sweep)
            if work >= next_sweep:
                next_sweep += SWEEP_EVERY
            next_timer = self.next_timer()
        self.tick(self.end, sweep=True)  # the state as of the end: everything due has been done

    def tick(self, now: datetime, *, sweep: bool) -> None:
        self.clock.set(now)
        self.stats.worker_ticks += 1
        moved = False
        while True:
            fired = self.worker.fire_timers().fired
            self.stats.timers_fired += fired
            if not fired:
                break
            moved = True
        if sweep:
            self.recycle_idle(now)
        self.stats.messages_sent += self.worker.deliver_messages().sent
        if moved:  # a breach may have reassigned leads
            self.assignments(now)

    def recycle_idle(self, now: datetime) -> None:
        """The worker's inactivity sweep (the same service call, in the worker's batches), keeping
        in the ground truth which leads it sent back to marketing."""
        batch = self.worker.settings.timer_batch
        while True:
            with self.relay.store.transaction() as tx:
                done = recycle_inactive(tx, self.playbook, now, limit=batch)
            for feedback in done:
                self.note(feedback.lead, Action(now, "recycled_idle", None))
            self.stats.recycled_by_worker += len(done)
            if len(done) < batch:
                return

    def next_timer(self) -> datetime | None:
        with self.relay.store.reading() as tx:
            due: datetime | None = tx.execute(_NEXT_TIMER).scalar()
        return None if due is None else _aware(due)

    # --- intake ---------------------------------------------------------------------------

    def intake(self, item: _Round, now: datetime) -> None:
        self.stats.intake_rounds += 1
        if item.leads:
            self.relay.add_leads(item.leads, now=now)
        if item.activities and self.relay.record_activities(item.activities, now=now).routed:
            self.assignments(now)

    def assignments(self, now: datetime) -> None:
        """React to every lead given to a rep since the last look (routing, SLA reassignment)."""
        with self.relay.store.reading() as tx:
            rows = [_Row(**r._mapping) for r in tx.execute(_ASSIGNED_SINCE, {"since": self.watermark})]
        self.watermark = now
        for row in rows:
            assert row.assigned_at is not None
            assigned = _aware(row.assigned_at)
            if (row.id, assigned) in self.seen or row.stage not in WAITING:
                continue
            self.seen.add((row.id, assigned))
            self.stats.assignments_seen += 1
            detail = {"department": row.owner_department or "", "stage": row.stage}
            if row.level is not None:
                detail["level"] = str(row.level)
            self.note(row.email, Action(assigned, "assigned", row.owner_rep, detail))
            self.assigned(replace(row, assigned_at=assigned))

    def lead(self, lead_id: int) -> _Row:
        with self.relay.store.reading() as tx:
            row = _Row(**tx.execute(_LEAD, {"id": lead_id}).one()._mapping)
        return replace(row, assigned_at=_aware(row.assigned_at) if row.assigned_at else None)

    # --- the reps ---------------------------------------------------------------------------

    def calendar(self, department: str | None) -> BusinessCalendar | None:
        routing = self.playbook.routing
        found = routing.departments.get(department) if routing and department else None
        return found.calendar if found else None

    def later(self, behaviour: RepBehaviour, start: datetime, minutes: tuple[float, float]) -> datetime:
        """``start`` plus a delay drawn between ``minutes`` (log scale), in the rep's business time."""
        lo, hi = minutes
        delay = timedelta(minutes=lo * (hi / lo) ** self.rng.random())
        return self.on_duty(behaviour, self.business_add(behaviour.department, start, delay))

    def business_add(self, department: str | None, start: datetime, delay: timedelta) -> datetime:
        calendar = self.calendar(department)
        return calendar.add(start, delay) if calendar else start + delay

    def on_duty(self, behaviour: RepBehaviour, when: datetime) -> datetime:
        """``when``, or the rep's next working moment: part-timers work their days only, and
        nobody works on leave."""
        tz = self.playbook.timezone
        calendar = self.calendar(behaviour.department)
        for _ in range(60):
            day = when.astimezone(tz).date()
            away = behaviour.away is not None and behaviour.away[0] <= day <= behaviour.away[1]
            if day.weekday() in behaviour.working_days and not away:
                return when
            morning = datetime.combine(day + timedelta(days=1), time(9), tzinfo=tz)
            when = calendar.next_open(morning) if calendar else morning
        return when

    def announce_leave(self, behaviour: RepBehaviour, now: datetime) -> None:
        assert behaviour.away is not None
        self.relay.set_rep(behaviour.rep_id, away=behaviour.away, note="有給休暇 (demo)", now=now)

    def behaviour(self, rep_id: str) -> RepBehaviour:
        found = self.reps.get(rep_id)
        if found is None:  # a rep not in the playbook the simulation started with
            found = RepBehaviour(rep_id, "", "steady", (30, 360), (60, _DAY), 1.0, 0.6, 0.75)
            self.reps[rep_id] = found
        return found

    def note(self, email: str, action: Action) -> None:
        self.truth.leads[email].actions.append(action)

    def assigned(self, row: _Row) -> None:
        assert row.owner_rep is not None and row.assigned_at is not None
        behaviour = self.behaviour(row.owner_rep)
        rework = row.email in self.rework_due
        if not rework and self.rng.random() >= behaviour.follows:
            self.note(row.email, Action(row.assigned_at, "ignored", row.owner_rep))
            return
        when = self.later(behaviour, row.assigned_at, behaviour.touch_minutes)
        self.at(when, lambda now: self.first_touch(row, now))

    def still_theirs(self, row: _Row) -> bool:
        now = self.lead(row.id)
        return now.stage == row.stage and now.owner_rep == row.owner_rep and now.assigned_at == row.assigned_at

    def touch(self, email: str, rep: str, now: datetime, kind: str, outcome: str) -> None:
        self.relay.touch(email, kind=kind, outcome=outcome, actor=rep, now=now)
        self.note(email, Action(now, "touch", rep, {"kind": kind, "outcome": outcome}))

    def first_touch(self, row: _Row, now: datetime) -> None:
        if not self.still_theirs(row):
            return  # reassigned meanwhile (an SLA breach), or the lead moved on
        assert row.owner_rep is not None
        roll = self.rng.random()
        if roll < 0.6:
            kind, outcome = "call", _weighted(self.rng, {"connected": 55, "no_answer": 30, "voicemail": 15})
        elif roll < 0.93:
            kind, outcome = "email", "sent"
        else:
            kind, outcome = "meeting", "held"
        self.touch(row.email, row.owner_rep, now, kind, outcome)
        behaviour = self.behaviour(row.owner_rep)
        self.at(self.later(behaviour, now, behaviour.answer_minutes), lambda later: self.answer(row, later))

    def answer(self, row: _Row, now: datetime) -> None:
        if not self.still_theirs(row):
            return
        assert row.owner_rep is not None
        rep, email = row.owner_rep, row.email
        behaviour = self.behaviour(rep)
        rework = email in self.rework_due
        accepts = 0.9 if rework else min(0.95, behaviour.accepts * LEVEL_FACTOR.get(row.level, 0.9))
        qualifies = row.stage == "mql" and self.inside_sales(row.owner_department)
        if self.rng.random() < accepts:
            if qualifies:
                self.inside_sales_qualify(row, now)  # the field rep it goes to answers next
                return
            self.rework_due.discard(email)
            if row.owner_department == INSIDE_SALES:  # a playbook without Pre-SQL: inside sales takes it on
                self.relay.accept(email, actor=rep, note="BANT checked by inside sales", now=now)
                self.note(email, Action(now, "accept", rep))
                self.relay.advance(email, "sql", actor=rep, now=now)
                self.note(email, Action(now, "sql", rep, {"path": self.path(email, "sql")}))
                self.pipeline(row, "sql", now, rework=rework)
            else:
                self.relay.accept(email, actor=rep, now=now)
                self.note(email, Action(now, "accept", rep))
                self.pipeline(row, "sal", now, rework=rework)
            return
        self.rework_due.discard(email)
        weights = INSIDE_REASONS if qualifies or row.owner_department == INSIDE_SALES else FIELD_REASONS
        known = self.playbook.sales.reject_reasons
        reason = _weighted(
            self.rng, {code: w for code, w in weights.items() if code in known} or dict.fromkeys(known, 1)
        )
        text = self.rng.choice(OTHER_TEXTS) if known[reason].needs_text else None
        self.relay.reject(email, reason, text=text, actor=rep, now=now)
        self.note(email, Action(now, "reject", rep, {"reason": reason}))
        if known[reason].recycle:
            self.maybe_rework(row, now)

    def inside_sales(self, department: str | None) -> bool:
        """Whether ``department``'s answer to an MQL is *qualify* (the playbook's Pre-SQL stage)."""
        policy = self.playbook.pre_sql
        return policy is not None and department in policy.inside_sales

    def inside_sales_qualify(self, row: _Row, now: datetime) -> None:
        """Inside sales' "qualify" answer (seed 001): BANT checked, MQL → Pre-SQL, and the engine
        hands the lead to field sales by the playbook's ``pre_sql`` rules. The field rep it went to
        then touches and answers it at their own pace (:meth:`assignments` sees the handoff)."""
        assert row.owner_rep is not None
        handed = self.relay.qualify(row.email, actor=row.owner_rep, note="BANT checked by inside sales", now=now)
        to = handed.handoff
        detail = {"department": to.department, "rule": to.rule or "", "path": self.path(row.email, "qualify")}
        if to.rep is not None:
            detail["to"] = to.rep
        if row.email in self.rework_due:
            detail["rework"] = "true"
        self.note(row.email, Action(now, "qualify", row.owner_rep, detail))
        self.assignments(now)

    def path(self, email: str, step: str) -> str:
        """The path of a step (``qualify``: into Pre-SQL, ``sql``, ``opportunity``) the lead takes
        now, as docs/reports/dependency.md defines it, from the simulation's own record: *nurture*
        when sales rejected or recycled it since its last step of the same kind (or its beginning),
        else *direct*."""
        for action in reversed(self.truth.leads[email].actions):
            if action.what == step:
                break
            if action.what in BREAKS:
                return "nurture"
        return "direct"

    def pipeline(self, row: _Row, stage: str, now: datetime, *, rework: bool) -> None:
        """What the rep does next with a lead they accepted: work it on, or let it go idle."""
        assert row.owner_rep is not None
        behaviour = self.behaviour(row.owner_rep)
        if not rework and self.rng.random() >= behaviour.keeps_up:
            # left idle: the worker recycles it after the playbook's inactive days; inside sales may re-work it then
            idle = self.playbook.sales.inactive_days or 30
            self.at(now + timedelta(days=idle + self.rng.uniform(3, 20)), lambda later: self.maybe_rework(row, later))
            return
        if stage == "sal":
            self.at(
                self.later(behaviour, now, (2 * _DAY, 10 * _DAY)), lambda later: self.step(row, "sal", later, rework)
            )
        else:
            self.at(
                self.later(behaviour, now, (5 * _DAY, 18 * _DAY)), lambda later: self.step(row, "sql", later, rework)
            )

    def step(self, row: _Row, stage: str, now: datetime, rework: bool) -> None:
        """Move a lead on from ``stage`` after a meeting: SAL → SQL, SQL → Opportunity (or let go),
        Opportunity → Won or Lost."""
        assert row.owner_rep is not None
        if self.lead(row.id).stage != stage:
            return  # recycled meanwhile (no activity for the playbook's inactive days)
        rep, email = row.owner_rep, row.email
        behaviour = self.behaviour(rep)
        to_opportunity, to_won = PIPELINE[1 if rework else 0]
        self.touch(email, rep, now, "meeting", "held")
        if stage == "sal":
            self.relay.advance(email, "sql", actor=rep, now=now)
            self.note(email, Action(now, "sql", rep, {"path": self.path(email, "sql")}))
            self.at(
                self.later(behaviour, now, (5 * _DAY, 18 * _DAY)), lambda later: self.step(row, "sql", later, rework)
            )
        elif stage == "sql":
            if self.rng.random() >= to_opportunity:
                self.relay.recycle(email, reason="no project for now", actor=rep, now=now)
                self.note(email, Action(now, "recycle", rep, {"reason": "no project for now"}))
                self.maybe_rework(row, now)
                return
            amount = _amount(self.rng)
            self.relay.advance(email, "opportunity", amount=str(amount), currency="JPY", actor=rep, now=now)
            path = self.path(email, "opportunity")
            self.note(email, Action(now, "opportunity", rep, {"amount": str(amount), "path": path}))
            close = self.later(behaviour, now, (10 * _DAY, 40 * _DAY))
            self.at(close, lambda later: self.close(row, later, amount, to_won))

    def close(self, row: _Row, now: datetime, amount: int, to_won: float) -> None:
        assert row.owner_rep is not None
        if self.lead(row.id).stage != "opportunity":
            return
        rep, email = row.owner_rep, row.email
        if self.rng.random() < to_won:
            final = round(amount * self.rng.uniform(0.8, 1.1), -4)
            self.relay.advance(email, "won", amount=str(int(final)), currency="JPY", actor=rep, now=now)
            self.note(email, Action(now, "won", rep, {"amount": str(int(final))}))
        else:
            reason = self.rng.choice(LOST_REASONS)
            self.relay.advance(
                email, "lost", amount=str(amount), currency="JPY", lost_reason=reason, actor=rep, now=now
            )
            self.note(email, Action(now, "lost", rep, {"lost_reason": reason, "amount": str(amount)}))

    # --- inside sales' re-work (seed 001) ----------------------------------------------------

    def maybe_rework(self, row: _Row, now: datetime) -> None:
        """A rejected or recycled lead: inside sales takes some of them up again weeks later."""
        if self.rng.random() >= REWORK_SHARE:
            return
        callers = sorted(r for r, b in self.reps.items() if b.department == INSIDE_SALES and b.pace != "slow")
        if not callers:
            return
        caller = self.rng.choice(callers)
        behaviour = self.reps[caller]
        when = self.on_duty(
            behaviour, self.business_add(INSIDE_SALES, now, timedelta(minutes=self.rng.uniform(10, 30) * _DAY))
        )
        self.at(when, lambda later: self.rework(row, caller, later))

    def rework(self, row: _Row, caller: str, now: datetime) -> None:
        if self.lead(row.id).stage not in ("recycled", "nurture"):
            return  # it came back by itself (new activity), or is with sales
        self.rework_calls += 1
        n = self.rework_calls
        call: dict[str, Any] = {
            "email": row.email,
            "type": "call_connected",
            "occurred_at": now.isoformat(),
            "source_id": f"demo-rework-{n:05d}-call",
            "properties": {"caller": caller, "duration_seconds": self.rng.randint(300, 1500), "rework": True},
        }
        campaign = self.campaigns.get("is-outbound")
        if campaign:
            call["campaign"] = campaign
        records = [(now, "rework_call", call)]
        if self.rng.random() < REWORK_BANT:
            done = now + timedelta(minutes=self.rng.uniform(5, 25))
            bant = {
                **call,
                "type": "bant_collected",
                "occurred_at": done.isoformat(),
                "source_id": f"demo-rework-{n:05d}-bant",
                "properties": {
                    "budget": self.rng.choice(("approved", "planned")),
                    "authority": self.rng.choice(("decision_maker", "influencer")),
                    "need": "営業データの可視化",
                    "timeline": "within_3_months",
                },
            }
            records.append((done, "rework_bant", bant))
        self.at(records[-1][0], lambda later: self.rework_recorded(row.email, caller, records, later))

    def rework_recorded(
        self, email: str, caller: str, records: list[tuple[datetime, str, dict[str, Any]]], now: datetime
    ) -> None:
        """Inside sales' call (and BANT) recorded as activities: BANT makes the lead an MQL again."""
        routed = self.relay.record_activities([record for _, _, record in records], now=now).routed
        self.truth.leads[email].reworked = True
        for at, what, _ in records:
            self.note(email, Action(at, what, caller))
        if records[-1][1] == "rework_bant":
            self.rework_due.add(email)
        if routed:
            self.assignments(now)


def _ceil(moment: datetime, step: timedelta) -> datetime:
    seconds = step.total_seconds()
    stamp = math.ceil(moment.timestamp() / seconds) * seconds
    return datetime.fromtimestamp(stamp, tz=UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    items = list(weights)
    return rng.choices(items, weights=[weights[i] for i in items])[0]


def _amount(rng: random.Random) -> int:
    """An opportunity's amount in JPY: about 3 million, from 0.5 to 20 million, in 10,000s."""
    value = math.exp(rng.gauss(math.log(3_000_000), 0.8))
    return int(round(min(max(value, 500_000), 20_000_000), -4))
