"""Routing from several OS processes at once against one PostgreSQL database.

Every routing transaction takes the routing lock, reads what is pending *after* it, and stores
its turns, so processes routing at the same time must leave the same result as one process
routing alone: no lead assigned twice, no rep over capacity, round-robin turns that stay fair
along the serialised decision log, and leads no rep can take waiting in the fallback queue.

The workers are spawned processes (a fresh interpreter each, like separate app servers or cron
jobs). They meet at a barrier, and a gate (an exclusive lock on ``rep_status``, the first table a
routing transaction reads after taking the routing lock) holds them until every one of them is
waiting on a lock: with the routing lock they are let through one at a time; without it they
would all read the same turns and the same pending leads at once, and these tests fail.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from leadrelay import FakeClock, LeadRelay
from leadrelay.adapters.store import campaign_reach, summaries
from leadrelay.adapters.store.tables import leads, routing_decisions
from tests.conftest import NOW

pytestmark = pytest.mark.postgres

FALLBACK = "marketing"
INSIDE = [f"is-{n}" for n in ("aoki", "baba", "chiba", "doi", "endo")]  # round robin, capacity not binding
INSIDE_CAPACITY = 1000
CORPORATE = {"rep-fujita": 12, "rep-goto": 10, "rep-hara": 8, "rep-ito": 6, "rep-kato": 4}  # load balanced
HAND_RAISES = ("contact_requested", "demo_requested")

_INSIDE_REPS = "".join(f"        - {{id: {r}, capacity: {INSIDE_CAPACITY}}}\n" for r in INSIDE)
_CORPORATE_REPS = "".join(f"        - {{id: {r}, capacity: {c}}}\n" for r, c in CORPORATE.items())
PLAYBOOK = f"""\
id: routing-concurrency
name: Routing concurrency test
version: "1"
timezone: Asia/Tokyo
hand_raisers:
  rules:
    - id: hand_raise
      activity: [{", ".join(HAND_RAISES)}]
routing:
  open_stages: [mql, sal, sql]
  departments:
    - id: {FALLBACK}
      label: {{en: Marketing, ja: マーケティング部}}
    - id: inside
      label: {{en: Inside Sales, ja: インサイドセールス}}
      reps:
{_INSIDE_REPS}\
    - id: corporate
      label: {{en: Corporate Sales, ja: 法人営業部}}
      reps:
{_CORPORATE_REPS}\
  rules:
    - id: level4_corporate
      label: Level 4 → Corporate Sales
      when: {{field: level, op: gte, value: 4}}
      department: corporate
      strategy: load_balanced
    - id: others_inside
      label: Other MQLs → Inside Sales
      when: {{field: level, op: lt, value: 4}}
      department: inside
      strategy: round_robin
  fallback: {FALLBACK}
"""

# the route() race: leads there before the workers start, then two feeders add more while
# routing and two routers call route() in a loop until the feeders are done
INITIAL_LEADS = 120
FEEDERS, ROUTERS = 2, 2
ROUNDS, BATCH = 8, 12
TIMEOUT = 120  # seconds a worker may take before the test gives up on it
GATE_TIMEOUT = 30  # seconds for every worker to reach routing


@pytest.fixture
def routed_db(postgres_url: str, tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL database with the test playbook active."""
    path = tmp_path / "routing.yaml"
    path.write_text(PLAYBOOK, encoding="utf-8")
    with LeadRelay.open(postgres_url, clock=FakeClock(NOW)) as relay:
        relay.use_playbook(path)
    yield postgres_url


def insert_mqls(engine: sa.Engine, prefix: str, count: int, start: int = 0) -> None:
    """MQLs without an owner, straight into the lead table: every third one is level 4."""
    moment = NOW - timedelta(hours=1)
    rows = []
    for n in range(start, start + count):
        level = 4 if n % 3 == 0 else 2
        rows.append(
            {
                "email": f"{prefix}-{n}@corp{n % 50}.example.co.jp",
                "list_source": "house",
                "custom": {},
                "created_at": moment,
                "updated_at": moment,
                "stage": "mql",
                "stage_at": moment,
                "anchor_stage": "mql",
                "anchor_at": moment,
                "anchor_check": False,
                "level": level,
                "fit_score": 30.0,
                "engagement_score": 60.0,
                "total_score": 90.0,
                "fit_passed": True,
                "mql_rule": "mql_test",
                "mql_at": moment + timedelta(seconds=n),
                "priority": False,
                "recycled_count": 0,
            }
        )
    with engine.begin() as connection:
        connection.execute(sa.insert(leads), rows)


# --- workers (module level: spawned processes import this module to find them) -----------------


def _run_worker(results: Any, name: str, body: Callable[[], Any]) -> None:
    try:
        results.put((name, "ok", body()))
    except BaseException:
        results.put((name, "error", traceback.format_exc()))


def _feeder(url: str, name: str, start: Any, done: Any, results: Any) -> None:
    def body() -> int:
        routed = 0
        with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
            start.wait(TIMEOUT)
            routed += len(relay.route(actor=name))
            for round_ in range(ROUNDS):
                insert_mqls(relay.store.engine, name, BATCH, round_ * BATCH)
                routed += len(relay.route(actor=name))
        return routed

    try:
        _run_worker(results, name, body)
    finally:
        with done.get_lock():
            done.value += 1


def _router(url: str, name: str, start: Any, done: Any, results: Any) -> None:
    def body() -> int:
        routed = 0
        with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
            start.wait(TIMEOUT)
            finished = False
            while not finished:
                finished = done.value == FEEDERS  # then one more call sees all they added
                routed += len(relay.route(actor=name))
        return routed

    _run_worker(results, name, body)


def _hand_raiser(url: str, name: str, emails: list[str], activity: str, start: Any, results: Any) -> None:
    def body() -> list[str]:
        with LeadRelay.open(url, clock=FakeClock(NOW)) as relay:
            records = [
                {
                    "email": email,
                    "type": activity,
                    "occurred_at": (NOW - timedelta(minutes=30)).isoformat(),
                    "source_id": f"{activity}-{email}",
                    "campaign": "spring-fair",  # both processes' activities: one campaign, one day
                }
                for email in emails
            ]
            start.wait(TIMEOUT)
            result = relay.record_activities(records)
        assert not result.rejected, result.rejected
        return [r.lead for r in result.routed]

    _run_worker(results, name, body)


def run_processes(url: str, targets: list[tuple[Callable[..., None], tuple[Any, ...]]], results: Any) -> dict[str, Any]:
    """Start the workers behind the gate, open it once every one of them waits on a lock, collect
    one result from each, and fail with any worker's traceback."""
    ctx = multiprocessing.get_context("spawn")
    processes = [ctx.Process(target=target, args=args) for target, args in targets]
    outcomes: dict[str, Any] = {}
    errors = []
    try:
        with routing_gate(url) as all_waiting:
            for process in processes:
                process.start()
            lined_up = all_waiting(len(processes))
        for _ in processes:
            name, status, value = results.get(timeout=TIMEOUT)
            if status == "ok":
                outcomes[name] = value
            else:
                errors.append(f"{name}:\n{value}")
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    assert not errors, "\n".join(errors)
    assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]
    assert lined_up, "the workers never all waited at the gate: their routing may not have overlapped"
    return outcomes


@contextmanager
def routing_gate(url: str) -> Iterator[Callable[[int], bool]]:
    """Hold the first table a routing transaction reads after its lock (``rep_status``) so that
    every worker gets as far as routing and waits: on the routing lock, or, without that lock, all
    on this table, to be let go at the same moment. Yields a wait for ``n`` backends waiting on a
    lock (polled on a second connection: ``pg_stat_activity`` is a snapshot per transaction)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as holder, engine.connect().execution_options(isolation_level="AUTOCOMMIT") as probe:
            holder.execute(sa.text("LOCK TABLE rep_status IN ACCESS EXCLUSIVE MODE"))
            me = holder.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            waiting = sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> :me"
            )

            def all_waiting(n: int) -> bool:
                deadline = time.monotonic() + GATE_TIMEOUT
                while time.monotonic() < deadline:
                    if probe.execute(waiting, {"me": me}).scalar_one() >= n:
                        return True
                    time.sleep(0.05)
                return False

            yield all_waiting
            holder.rollback()
    finally:
        engine.dispose()


def decision_log(engine: sa.Engine) -> list[Any]:
    query = sa.select(routing_decisions).order_by(routing_decisions.c.id)
    with engine.connect() as connection:
        return list(connection.execute(query))


def lead_owners(engine: sa.Engine) -> dict[int, Any]:
    query = sa.select(
        leads.c.id, leads.c.email, leads.c.level, leads.c.stage, leads.c.owner_rep, leads.c.owner_department
    )
    with engine.connect() as connection:
        return {row.id: row for row in connection.execute(query.order_by(leads.c.id))}


def assert_one_owner_each(owners: dict[int, Any], log: list[Any]) -> None:
    """A lead with a rep was routed to a rep exactly once, to that rep, and never again after."""
    by_lead: dict[int, list[Any]] = defaultdict(list)
    for row in log:
        by_lead[row.lead_id].append(row)
    for lead_id, lead in owners.items():
        decisions = by_lead[lead_id]
        assert decisions, f"lead {lead.email} was never routed"
        to_reps = [d for d in decisions if d.rep_id is not None]
        if lead.owner_rep is None:
            assert not to_reps, f"lead {lead.email} lost its rep: {[(d.id, d.rep_id) for d in to_reps]}"
            continue
        assert len(to_reps) == 1, (
            f"lead {lead.email} assigned {len(to_reps)} times (decision, actor, rep, previous rep): "
            f"{[(d.id, d.actor, d.rep_id, d.previous_rep) for d in to_reps]}"
        )
        assert to_reps[0].rep_id == lead.owner_rep
        assert decisions[-1].id == to_reps[0].id, f"lead {lead.email} decided again after it was assigned"
        assert all(d.previous_rep is None for d in decisions), f"lead {lead.email} was re-routed"


def assert_one_decision_each(owners: dict[int, Any], log: list[Any]) -> None:
    counts = Counter(row.lead_id for row in log)
    twice = {
        owners[i].email: [(r.id, r.actor, r.rep_id) for r in log if r.lead_id == i] for i, n in counts.items() if n > 1
    }
    assert not twice, f"leads routed more than once (decision, actor, rep): {twice}"
    assert set(counts) == set(owners), "leads never routed"


def assert_round_robin_fair(log: list[Any], reps: list[str]) -> None:
    """Along the decision log (routing is serialised, so ids follow the order of decisions), the
    round-robin counts differ by at most one at every point, not only at the end."""
    seen = Counter({rep: 0 for rep in reps})
    for row in log:
        if row.strategy == "round_robin":
            seen[row.rep_id] += 1
            assert max(seen.values()) - min(seen.values()) <= 1, f"unfair after decision {row.id}: {dict(seen)}"


def test_processes_routing_at_once_assign_each_lead_once_within_capacity_and_in_turn(routed_db: str) -> None:
    with LeadRelay.open(routed_db, clock=FakeClock(NOW)) as relay:
        insert_mqls(relay.store.engine, "initial", INITIAL_LEADS)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(FEEDERS + ROUTERS)
    done = ctx.Value("i", 0)  # feeders finished
    results = ctx.Queue()
    targets: list[tuple[Callable[..., None], tuple[Any, ...]]] = [
        (_feeder, (routed_db, f"feeder-{i}", start, done, results)) for i in range(FEEDERS)
    ]
    targets += [(_router, (routed_db, f"router-{i}", start, done, results)) for i in range(ROUTERS)]
    outcomes = run_processes(routed_db, targets, results)
    assert set(outcomes) == {name for _, (_, name, *_) in targets}

    with LeadRelay.open(routed_db, clock=FakeClock(NOW)) as relay:
        assert relay.route(actor="final") == []  # nothing left: queued leads stay quietly queued
        engine = relay.store.engine
        owners = lead_owners(engine)
        log = decision_log(engine)
        reps = {row.rep: row for row in relay.reps()}

    total = INITIAL_LEADS + FEEDERS * ROUNDS * BATCH
    assert len(owners) == total
    assert {row.kind for row in log} == {"route"}
    assert_one_owner_each(owners, log)
    assert_one_decision_each(owners, log)  # a queued lead stays quietly queued: one decision too
    assert not [o.email for o in owners.values() if o.owner_department is None], "leads left unrouted"

    counts = Counter(o.owner_rep for o in owners.values() if o.owner_rep is not None)
    for rep, row in reps.items():
        assert counts[rep] == row.open
        assert row.capacity is not None and row.open <= row.capacity, f"{rep} over capacity: {row.open}/{row.capacity}"

    level4 = [o for o in owners.values() if o.level == 4]
    others = [o for o in owners.values() if o.level != 4]
    # more level-4 leads than Corporate Sales can hold: every rep there is full, the rest wait
    assert len(level4) > sum(CORPORATE.values())
    assert {rep: counts[rep] for rep in CORPORATE} == CORPORATE
    queued = [o for o in owners.values() if o.owner_rep is None]
    assert len(queued) == len(level4) - sum(CORPORATE.values())
    assert all(o.level == 4 and o.owner_department == FALLBACK for o in queued)
    queued_ids = {o.id for o in queued}
    assert all(
        row.rep_id is None and row.department == FALLBACK and row.rule_id is None
        for row in log
        if row.lead_id in queued_ids
    )
    # capacity never binds in Inside Sales: round robin alone decides, fair at every point
    assert all(o.owner_department == "inside" for o in others)
    inside = [counts[rep] for rep in INSIDE]
    assert sum(inside) == len(others) and max(inside) - min(inside) <= 1, inside
    assert_round_robin_fair(log, INSIDE)


@pytest.mark.parametrize("same_activity", [True, False], ids=["redelivered", "two-hand-raises"])
def test_hand_raisers_recorded_by_two_processes_at_once_get_one_owner_each(routed_db: str, same_activity: bool) -> None:
    """Two processes record hand-raises for the same leads at once (a redelivered batch, or a
    contact request and a demo request); a third records hand-raises of other leads meanwhile.
    The first two also wait for each other on the lead rows they both update; the third shares
    nothing with them but the turns, so only the routing lock keeps its turns from clashing."""
    shared = [f"person{n}@maker{n}.example.co.jp" for n in range(32)]
    other = [f"buyer{n}@shop{n}.example.co.jp" for n in range(23)]  # counts that are not multiples of 5
    with LeadRelay.open(routed_db, clock=FakeClock(NOW)) as relay:
        relay.add_leads({"email": e, "company": {"name": e.split("@")[1]}} for e in shared + other)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(3)
    results = ctx.Queue()
    second = HAND_RAISES[0] if same_activity else HAND_RAISES[1]
    targets: list[tuple[Callable[..., None], tuple[Any, ...]]] = [
        (_hand_raiser, (routed_db, "sender-0", shared, HAND_RAISES[0], start, results)),
        (_hand_raiser, (routed_db, "sender-1", shared, second, start, results)),
        (_hand_raiser, (routed_db, "sender-other", other, HAND_RAISES[0], start, results)),
    ]
    outcomes = run_processes(routed_db, targets, results)

    routed = outcomes["sender-0"] + outcomes["sender-1"]
    assert sorted(routed) == sorted(shared), "each lead must be routed by exactly one of the two processes"
    assert sorted(outcomes["sender-other"]) == sorted(other)
    with LeadRelay.open(routed_db, clock=FakeClock(NOW)) as relay:
        owners = lead_owners(relay.store.engine)
        log = decision_log(relay.store.engine)
    assert {o.email for o in owners.values()} == set(shared + other)
    assert all(o.stage == "mql" and o.owner_department == "inside" for o in owners.values())
    assert_one_owner_each(owners, log)
    assert_one_decision_each(owners, log)
    counts = Counter(o.owner_rep for o in owners.values())
    assert sorted(counts) == sorted(INSIDE) and max(counts.values()) - min(counts.values()) <= 1, counts
    assert_round_robin_fair(log, INSIDE)
    with LeadRelay.open(routed_db, clock=FakeClock(NOW)) as relay, relay.store.engine.connect() as connection:
        twice = connection.execute(  # each lead qualified once: no move written twice
            sa.text("SELECT lead_id FROM transitions WHERE to_stage = 'mql' GROUP BY lead_id HAVING COUNT(*) > 1")
        ).all()
        # the summaries each process kept in its own transactions: one loop per lead, as a recount gives
        loops = summaries.stored(connection, summaries.LOOPS)
        assert loops == summaries.recount(connection, summaries.LOOPS)
        # and the campaign reach: each lead reached by the campaign once, on that day
        reach = campaign_reach.stored(connection)
        assert reach == campaign_reach.recount(connection)
    assert len(loops) == len(shared + other)
    assert [n for *_, n in reach] == [len(shared + other)]
    assert twice == []
